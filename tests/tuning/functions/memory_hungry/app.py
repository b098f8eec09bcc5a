"""A test-only function that needs about 150 MB for any event: over its memory at 128 MB, within it at 512."""

NEEDED_MB = 150


def lambda_handler(event, context):
    block = bytearray(NEEDED_MB * 1024 * 1024)
    for offset in range(0, len(block), 4096):  # touch every page so that it is resident
        block[offset] = 1
    return {"statusCode": 200, "body": "{}"}
