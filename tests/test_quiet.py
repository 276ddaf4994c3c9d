"""The command line's quiet start: no line on stderr that textlstm did not write."""

import re

import pytest

from fresh_process import run_python
from lm_corpus import tiny_flags, write_corpus

TENSORFLOW_LINES = [
    "WARNING: All log messages before absl::InitializeLog() is called are written to STDERR\n",
    "I0000 00:00:1712345678.123456   10232 port.cc:153] oneDNN custom operations are on. You may see ...\n",
    "E0000 00:00:1712345678.273070   10232 cuda_executor.cc:1228] failed call to cuInit: INTERNAL: CUDA error\n",
    "2024-01-02 03:04:05.678901: I tensorflow/core/util/port.cc:113] oneDNN custom operations are on.\n",
]


# What TensorFlow's C++ code and Python write to file descriptor 2 while it is imported (a fresh process, as
# pytest's own capture of sys.stderr would bypass the descriptor).
WRITER = f"""
import os, sys, warnings
from textlstm.quiet import TENSORFLOW_LOG_LINE, stderr_without
with stderr_without(TENSORFLOW_LOG_LINE):
    for line in {TENSORFLOW_LINES!r}:
        os.write(2, line.encode())
    warnings.warn_explicit("a Python warning", UserWarning, "module.py", 7)
    os.write(2, b"I0000 is how a line of ours may begin\\nlast line, without a newline")
"""


def test_tensorflow_log_lines_are_dropped_and_every_other_line_is_kept_in_order():
    completed = run_python(["-c", WRITER])
    assert completed.returncode == 0 and completed.stderr == (
        "module.py:7: UserWarning: a Python warning\n"
        "I0000 is how a line of ours may begin\nlast line, without a newline")


@pytest.mark.slow  # four fresh processes, one of which trains: about 40 s
def test_commands_print_no_line_on_stderr_that_textlstm_did_not_write(tmp_path):
    for arguments, shown in ((["train.py", "lm", "--help"], "--bptt"), (["-m", "textlstm", "--help"], "predict")):
        completed = run_python(arguments)
        assert completed.returncode == 0 and completed.stderr == "" and shown in completed.stdout, completed.stderr
    data, run = write_corpus(tmp_path), tmp_path / "run"
    completed = run_python(["train.py", *tiny_flags(data, run, "--epochs", "1")])
    assert completed.returncode == 0 and completed.stderr == "", completed.stderr
    completed = run_python(["-m", "textlstm", "predict", "--model", str(run), "the cat"])
    assert completed.returncode == 0 and completed.stderr == "" and completed.stdout.startswith("the cat\t")


@pytest.mark.slow  # two fresh processes: about 10 s
def test_a_users_own_log_level_lets_every_tensorflow_line_through():
    def lines(arguments):
        completed = run_python(arguments, TF_CPP_MIN_LOG_LEVEL="0")
        return [re.sub(r"\d", "0", line) for line in completed.stderr.splitlines()]

    alone = lines(["-c", "import tensorflow"])
    assert lines(["-m", "textlstm", "--help"]) == alone
