"""Pulumi ComponentResources of the serverless-crud stack, one capability each, plus the stack's settings."""
