"""A test-only function that reports what it sees: its Python, its environment and its context object."""

import os
import sys


def lambda_handler(event, context):
    return {
        "version": sys.version,
        "path": sys.path,
        "cwd": os.getcwd(),
        "environ": dict(os.environ),
        "context": {
            "aws_request_id": context.aws_request_id,
            "function_name": context.function_name,
            "function_version": context.function_version,
            "invoked_function_arn": context.invoked_function_arn,
            "memory_limit_in_mb": context.memory_limit_in_mb,
            "log_group_name": context.log_group_name,
            "log_stream_name": context.log_stream_name,
            "remaining_ms": context.get_remaining_time_in_millis(),
        },
    }
