"""A handler that does nothing: its Duration is the Runtime API round trip alone (bench/runtime_api.py)."""


def lambda_handler(event, context):
    return None
