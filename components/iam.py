"""IAM policy documents as plain dicts (values may be Outputs): tests parse exactly what is deployed."""

from __future__ import annotations

from typing import Any

import pulumi

# The only CRUD calls the handler makes; no BatchWriteItem, Query or table-level actions.
TABLE_ACTIONS = [
    "dynamodb:GetItem",
    "dynamodb:PutItem",
    "dynamodb:UpdateItem",
    "dynamodb:DeleteItem",
    "dynamodb:Scan",
]
# Idempotency records: written inside the create's transaction (a TransactWriteItems Put is authorised as
# PutItem) and read back after a repeat; never updated, deleted (TTL sweeps them) or scanned.
RECORD_ACTIONS = ["dynamodb:GetItem", "dynamodb:PutItem"]
LOG_ACTIONS = ["logs:CreateLogStream", "logs:PutLogEvents"]
# X-Ray has no resource-level permissions for these two actions: "*" is the narrowest Resource AWS accepts.
XRAY_ACTIONS = ["xray:PutTraceSegments", "xray:PutTelemetryRecords"]


def assume_role_policy(service: str) -> dict[str, Any]:
    """Trust policy letting one AWS service principal (e.g. lambda.amazonaws.com) assume the role."""
    return {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Principal": {"Service": service}, "Action": "sts:AssumeRole"}],
    }


def function_policy(
    *, table_arn: Any, records_table_arn: Any, log_group_arn: Any, tracing: bool
) -> dict[str, Any]:
    """The function role's only policy: CRUD on its table, its idempotency records, writes to its own log
    group, X-Ray when tracing."""
    statements: list[dict[str, Any]] = [
        {"Sid": "CrudOnItsTable", "Effect": "Allow", "Action": TABLE_ACTIONS, "Resource": table_arn},
        {
            "Sid": "ItsIdempotencyRecords",
            "Effect": "Allow",
            "Action": RECORD_ACTIONS,
            "Resource": records_table_arn,
        },
        # Streams are addressed as <log group ARN>:log-stream:<name>; ":*" covers this group's streams only.
        {
            "Sid": "WriteItsLogs",
            "Effect": "Allow",
            "Action": LOG_ACTIONS,
            "Resource": [pulumi.Output.concat(log_group_arn, ":*")],
        },
    ]
    if tracing:
        statements.append({"Sid": "WriteTraces", "Effect": "Allow", "Action": XRAY_ACTIONS, "Resource": "*"})
    return {"Version": "2012-10-17", "Statement": statements}
