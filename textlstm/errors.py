"""The one exception the command-line tools turn into a one-line message."""


class UsageError(ValueError):
    """A problem with the user's input: a flag, a file, a prompt or a run directory.

    The CLIs print it as `error: <message>` and exit with status 2, without a
    traceback; library callers can catch it as a `ValueError`.
    """
