"""The error every runner raises when a tuning run produced no result (the CLI prints it and exits 1)."""


class TuningError(RuntimeError):
    """A tuning run that did not produce a result; the message says why (status and cause)."""
