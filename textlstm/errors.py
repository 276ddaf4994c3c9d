"""The exceptions the command-line tools turn into one line and a non-zero exit."""


class UsageError(ValueError):
    """A problem with the user's input: a flag, a file, a prompt or a run directory.

    The CLIs print it as `error: <message>` and exit with status 2, without a
    traceback; library callers can catch it as a `ValueError`.
    """


class TrainingDiverged(RuntimeError):
    """The training loss stopped being a finite number.

    The CLIs print it as `error: <message>` and exit with status 1; the run
    directory keeps the epochs finished before it.
    """


def first_line(error):
    """An exception's message cut to its first line, or its type's name when it has none: for a one-line error.

    Example:

    >>> first_line(OSError("no such file\\nmore detail")), first_line(KeyError())
    ('no such file', 'KeyError')
    """
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__
