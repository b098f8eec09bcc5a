"""The CrossGuard pack run by `pulumi preview --policy-pack policies`; its rules live in rules.py.

Never import this module from tests: constructing PolicyPack starts the analyzer's gRPC server and blocks.
"""

from pulumi_policy import EnforcementLevel, PolicyPack
from rules import POLICIES

PolicyPack(name="serverless-crud-guardrails", enforcement_level=EnforcementLevel.MANDATORY, policies=POLICIES)
