"""Names every part of the system agrees on: the Pulumi program creates them, the emulator imitates them,
tuning and analysis look them up."""

STAGE = "prod"  # the API Gateway stage: every URL is .../prod/...
API_KEY_HEADER = "x-api-key"  # the REST stage's usage-plan key header
ALIAS = "live"  # the alias API Gateway invokes and seeding goes through; Power Tuning adds RAM<size> aliases
DEFAULT_REGION = "us-east-1"  # the emulator's region, and the price region when none is known
LOCAL_FUNCTION_NAME = "serverless-crud-local"  # the local stack's function, and a private tuning run's
LOCAL_TABLE_NAME = f"{LOCAL_FUNCTION_NAME}-items"
LOCAL_ACCOUNT_ID = "123456789012"  # the account id moto and the local gateway put in ARNs
LAMBDA_RUNTIME = "python3.13"  # the function's Lambda runtime: deployed by the stack, emulated locally
# The function's list-cursor signing key variable (function/cursors.py reads it; function/ imports nothing
# of the repo, so a test ties the two spellings): a Pulumi secret on AWS, made at start by the local stack.
CURSOR_KEY_VARIABLE = "CURSOR_SIGNING_KEY"
HANDLER = "app.lambda_handler"  # module.function in the function folder: deployed and run locally alike
# The variable the function reads its idempotency records' table from (function/idempotency.py), and the
# name the emulator gives that table beside a table of items.
IDEMPOTENCY_TABLE_VARIABLE = "IDEMPOTENCY_TABLE_NAME"


def idempotency_table_name(table_name: str) -> str:
    return f"{table_name}-idempotency"
