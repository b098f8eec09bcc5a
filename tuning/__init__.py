"""Power tuning of the CRUD function: Power Tuning's arithmetic, AWS and local runners, results, the CLI.

Submodules are imported on demand (``from tuning import pricing``) so the light pure parts stay importable
without pandas, boto3 or the emulator.
"""
