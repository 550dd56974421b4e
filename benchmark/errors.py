"""User-facing errors: one line that says what went wrong and what to do.

The CLI prints `error: <message>` and exits non-zero; a traceback appears only with --debug.
"""


class UserError(Exception):
    """An error caused by input the user can fix (bad name, missing corpus, bad file...)."""


class Interrupted(KeyboardInterrupt):
    """Ctrl-C, caught where the command knows how to continue; the message says how. A
    KeyboardInterrupt subclass, so that callers that stop on Ctrl-C still stop."""
