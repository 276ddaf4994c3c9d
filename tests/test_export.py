"""Writing a SavedModel beside its destination: partial directories of live and dead processes, the export lock."""

import json
import os
import signal
import subprocess
import sys

import pytest

import train
from conftest import assert_one_line_error
from killed_runs import start_training, wait_for
from lm_corpus import tiny_flags, write_corpus
from textlstm.export import PARTIAL_MARKER, write_saved_model


def write_pb(directory):
    with open(os.path.join(directory, "saved_model.pb"), "w") as file:
        file.write("new")


def partial(parent, suffix, marked=True):
    """Makes the directory `.model.partial-SUFFIX` in parent, with the marker if marked; returns its name."""
    path = parent / f".model.partial-{suffix}"
    path.mkdir()
    if marked:
        (path / PARTIAL_MARKER).write_text("")
    return path.name


def test_an_export_removes_only_the_partials_of_processes_that_are_gone(tmp_path):
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    alive = subprocess.Popen([sys.executable, "-c", "import sys; sys.stdin.read()"], stdin=subprocess.PIPE)
    try:
        partial(tmp_path, gone.pid)
        kept = [partial(tmp_path, alive.pid),  # still being written
                partial(tmp_path, 2**22 + 1, marked=False),  # no process has that id, but it is not marked as ours
                partial(tmp_path, "copy")]  # not named by a process id
        write_saved_model(str(tmp_path / "model"), write_pb)
    finally:
        alive.communicate(b"")
    assert sorted(os.listdir(tmp_path)) == sorted(kept + ["model"])
    assert (tmp_path / "model" / "saved_model.pb").read_text() == "new"


def test_a_failed_export_leaves_no_partial_and_the_earlier_export(tmp_path):
    write_saved_model(str(tmp_path / "model"), write_pb)

    def fail(directory):
        open(os.path.join(directory, "variables.data"), "w").close()
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        write_saved_model(str(tmp_path / "model"), fail)
    assert os.listdir(tmp_path) == ["model"] and os.listdir(tmp_path / "model") == ["saved_model.pb"]


@pytest.mark.slow
def test_a_second_run_with_the_same_export_is_refused_before_training(tmp_path, capsys):
    data = tmp_path / "corpus"
    data.mkdir()
    write_corpus(data, train_lines=3000)
    export = tmp_path / "exports" / "model"
    first = start_training(tiny_flags(data, tmp_path / "first", "--export", str(export), "--epochs", "20"))
    try:
        wait_for(first, lambda: (tmp_path / "first" / "config.json").exists(), 240, "training under way")
        assert train.main(tiny_flags(data, tmp_path / "second", "--export", str(export))) == 2
        assert_one_line_error(capsys, f"export {export} is in use by process {first.pid}, a run with the same "
                                      "--export; wait for it to finish or choose another --export")
        assert os.listdir(tmp_path / "second") == [".lock"]
    finally:
        os.kill(first.pid, signal.SIGKILL)
        first.wait()
    assert train.main(tiny_flags(data, tmp_path / "second", "--export", str(export))) == 0  # the lock went with it
    assert json.loads((tmp_path / "second" / "metrics.json").read_text())["finished"]
    assert (export / "saved_model.pb").exists()
