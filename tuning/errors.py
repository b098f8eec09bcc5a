"""The errors every runner raises when a tuning run produced no result (the CLI prints them, no traceback)."""


class TuningError(RuntimeError):
    """A tuning run that did not produce a result; the message says why (status and cause). Exit code 1."""


class InterruptedRunError(TuningError):
    """Ctrl-C stopped the run before it had a result; the message says what may still be running. Exit 130,
    the shell's code for a SIGINT, so scripts can tell an interruption from a failed run."""
