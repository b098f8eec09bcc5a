"""Power tuning for the CRUD function: Power Tuning's arithmetic, the AWS and local runners, results and
the CLI.

Submodules are imported on demand (``from tuning import pricing``) so the light pure parts stay importable
without
pandas, boto3 or the emulator.
"""
