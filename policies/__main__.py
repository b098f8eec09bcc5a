"""The CrossGuard pack run by `pulumi preview --policy-pack policies`; its rules live in rules.py.

Never import this module from tests: constructing PolicyPack starts the analyzer's gRPC server and blocks.
"""

import sys
from pathlib import Path

from pulumi_policy import EnforcementLevel, PolicyPack

sys.path.insert(0, str(Path(__file__).resolve().parent))  # rules.py sits next to this file
from rules import POLICIES

PolicyPack(name="serverless-crud-guardrails", enforcement_level=EnforcementLevel.MANDATORY, policies=POLICIES)
