"""The command line's quiet start: no line on stderr before a command's own output that textlstm did not write.

TensorFlow's C++ code logs a few lines while it is imported (`WARNING: All
log messages before absl::InitializeLog() ...`, `I0000 ... port.cc:153]
oneDNN custom operations are on ...`, and without a GPU, with the full
`tensorflow` wheel, `E0000 ... failed call to cuInit ...`). They are written
before absl's logging reads `TF_CPP_MIN_LOG_LEVEL`, so the level alone does
not hide them: `start_quietly` imports TensorFlow with file descriptor 2
pointed at a temporary file, then copies to stderr every captured line that
is not such a log line (a Python warning still shows).

Only the command line calls it; a program that imports textlstm keeps
TensorFlow's own behaviour.
"""

import contextlib
import logging
import os
import re
import sys
import tempfile

LOG_LEVEL_VARIABLE = "TF_CPP_MIN_LOG_LEVEL"
# A line of TensorFlow's C++ logging: absl's `I0000 00:00:1712345678.123456   12345 port.cc:153] ...`, the
# older `2024-01-02 03:04:05.678901: I tensorflow/core/util/port.cc:113] ...`, and absl's notice that it
# writes to stderr until it is initialised.
TENSORFLOW_LOG_LINE = re.compile(
    r"([IWEF]\d{4} [\d:.]+ +\d+ \S+:\d+\] "
    r"|\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d+: [IWEF] \S+:\d+\] "
    r"|WARNING: All log messages before absl::InitializeLog\(\) is called are written to STDERR$)")


def start_quietly():
    """Imports TensorFlow for the command line, keeping its C++ start-up log lines off stderr.

    With `TF_CPP_MIN_LOG_LEVEL` unset, sets it to 3, so that TensorFlow's
    later log lines stay off too (an error also raises the exception that
    the command line reports), and drops the start-up log lines; a user who
    sets it gets every line TensorFlow writes at that level. The
    `datasets` file readers' error lines are always dropped: they log a
    file they cannot read and raise, and the command line names the error
    in one line of its own.
    """
    logging.getLogger("datasets.packaged_modules").setLevel(logging.CRITICAL)
    if LOG_LEVEL_VARIABLE in os.environ:
        return
    os.environ[LOG_LEVEL_VARIABLE] = "3"
    with stderr_without(TENSORFLOW_LOG_LINE):
        import tensorflow as tf

        tf.config.list_physical_devices()  # a GPU build looks for its devices here, and logs when it finds none


@contextlib.contextmanager
def stderr_without(pattern):
    """Captures what is written to file descriptor 2 inside the block; then writes out the lines pattern does not match.

    Args:
        pattern: A compiled regular expression; a line it matches at its start is dropped.
    """
    sys.stderr.flush()
    try:
        saved = os.dup(2)
    except OSError:  # no stderr to capture
        yield
        return
    with tempfile.TemporaryFile() as captured:
        os.dup2(captured.fileno(), 2)
        try:
            yield
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)
            captured.seek(0)
            lines = captured.read().decode("utf-8", "replace").splitlines(keepends=True)
            sys.stderr.write("".join(line for line in lines if not pattern.match(line)))
            sys.stderr.flush()
