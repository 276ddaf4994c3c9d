"""Ctrl-C: one line and exit status 130 for every verb; an interrupted training run continues with the same command."""

import json
import os
import signal
import subprocess
import sys

import pytest

import train
from conftest import assert_one_line_error
from killed_runs import REPO, recorded_epochs, wait_for
from lm_corpus import tiny_flags, write_corpus
from textlstm.cli import build_parser, run_handler

MESSAGE = "error: interrupted; run the same command again to continue"


@pytest.mark.parametrize("argv", [
    ["train", "lm"],
    ["predict", "--model", "run", "the cat"],
    ["generate", "--model", "run", "the cat"],
    ["summarize", "--model", "run"],
    ["evaluate", "--model", "run", "--data", "data"],
    ["inspect", "--model", "run", "--text", "the cat"],
    ["memory-task", "adding", "--out", "out"],
    ["gradient-flow", "--out", "out"],
])
def test_ctrl_c_in_any_verb_is_one_line_and_status_130(argv, capsys):
    args = build_parser().parse_args(argv)

    def interrupted(args):
        raise KeyboardInterrupt

    args.handler = interrupted
    assert run_handler(args) == 130
    assert_one_line_error(capsys, MESSAGE[len("error: "):])


def interrupt_when(flags, condition, what):
    """Runs `train.py flags`, sends SIGINT (Ctrl-C) once condition() holds; returns (exit status, stderr)."""
    # Ctrl-C's default action in the child even when the tests run in a background job, which ignores SIGINT.
    process = subprocess.Popen([sys.executable, os.path.join(REPO, "train.py"), *flags], cwd=REPO,
                               env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2"), stdout=subprocess.DEVNULL,
                               stderr=subprocess.PIPE, text=True,
                               preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    wait_for(process, condition, 240, what)
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=120)
    return process.returncode, stderr


def assert_interrupted(status, stderr):
    assert status == 130, stderr
    assert stderr.strip().splitlines()[-1] == MESSAGE and "Traceback" not in stderr, stderr  # TensorFlow may log before


@pytest.fixture
def long_corpus(tmp_path):
    data = tmp_path / "corpus"
    data.mkdir()
    return write_corpus(data, train_lines=3000)


@pytest.mark.slow
def test_ctrl_c_while_training_is_one_line_and_the_run_continues(long_corpus, tmp_path):
    out = tmp_path / "run"
    flags = tiny_flags(long_corpus, out)
    assert_interrupted(*interrupt_when(flags, lambda: recorded_epochs(out) >= 1, "a finished epoch"))
    first = json.loads((out / "metrics.json").read_text())
    assert not first.get("finished")

    assert train.main(flags) == 0
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["finished"] and metrics["epochs"][: len(first["epochs"])] == first["epochs"]


@pytest.mark.slow
def test_ctrl_c_while_exporting_is_one_line_and_the_run_finishes_without_training(long_corpus, tmp_path):
    out = tmp_path / "run"
    flags = tiny_flags(long_corpus, out, "--epochs", "1")

    def exporting():
        return out.exists() and any(name.startswith(".saved_model.partial-") for name in os.listdir(out))

    assert_interrupted(*interrupt_when(flags, exporting, "export under way"))
    trained = json.loads((out / "metrics.json").read_text())
    assert not [name for name in os.listdir(out) if ".partial-" in name or ".tmp-" in name]

    assert train.main(flags) == 0
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["finished"] and metrics["epochs"] == trained["epochs"]
