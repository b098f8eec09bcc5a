"""A test-only function whose init (module code) is CPU-bound, so capping init visibly slows it."""

_total = 0
for _i in range(1_500_000):
    _total += _i * _i % 7


def lambda_handler(event, context):
    return {"total": _total}
