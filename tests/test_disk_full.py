"""A disk that fills up while a checkpoint or the SavedModel is written: one line, nothing half written, resumable.

The run directory and the export are on a small tmpfs, mounted for the
test (root only; skipped otherwise), which the test fills at the chosen moment.
"""

import json
import os
import subprocess

import keras
import pytest

import train
from conftest import assert_one_line_error
from lm_corpus import tiny_flags
from textlstm import training
from textlstm.lm import export as lm_export
from textlstm.model_files import checkpoint_problem

MESSAGE = "no space left on the device of {}; free space and run the same command again, which continues the run"


@pytest.fixture
def small_disk(tmp_path):
    """A 16 MB tmpfs; the filler file that `fill` writes on it is removed at the end, with the mount."""
    if os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root")
    disk = tmp_path / "disk"
    disk.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=16m", "tmpfs", str(disk)], capture_output=True,
                             text=True)
    if mounted.returncode:
        pytest.skip(f"cannot mount a tmpfs: {mounted.stderr.strip()}")
    yield disk
    subprocess.run(["umount", str(disk)], check=True)


def fill(disk, leave=0):
    """Fills disk's file system with a file `filler`, then frees about `leave` bytes of it."""
    path = disk / "filler"
    with open(path, "wb", buffering=0) as file:
        try:
            while True:
                file.write(bytes(1 << 16))
        except OSError:
            pass
    os.truncate(path, max(os.path.getsize(path) - leave, 0))


def contents(directory):
    """Every file under directory, by its relative path, with its bytes."""
    return {os.path.relpath(os.path.join(root, name), directory): open(os.path.join(root, name), "rb").read()
            for root, _, files in os.walk(directory) for name in files}


def leftovers(directory):
    """Every temporary or partial file or directory under directory."""
    return [os.path.join(root, name) for root, directories, files in os.walk(directory)
            for name in directories + files if ".tmp-" in name or ".partial-" in name or ".old-" in name]


class FillAtSecondEpoch(keras.callbacks.Callback):
    """Fills the disk at the start of epoch 2, leaving half the room the first epoch's checkpoint took."""

    def __init__(self, disk, out):
        super().__init__()
        self.disk, self.out = disk, out

    def on_epoch_begin(self, epoch, logs=None):
        if epoch == 1:
            fill(self.disk, leave=os.path.getsize(self.out / "checkpoints" / "epoch-1.weights.h5") // 2)


@pytest.mark.slow
def test_a_full_disk_while_a_checkpoint_is_written(small_disk, corpus, capsys, monkeypatch):
    out = small_disk / "run"
    flags = tiny_flags(corpus, out)
    run_callbacks = training.run_callbacks
    with monkeypatch.context() as patch:
        patch.setattr(training, "run_callbacks",
                      lambda *args: [FillAtSecondEpoch(small_disk, out)] + run_callbacks(*args))
        assert train.main(flags) == 2
    assert_one_line_error(capsys, MESSAGE.format(out / "checkpoints" / "epoch-2.weights.h5"))
    assert leftovers(out) == []
    metrics = json.loads((out / "metrics.json").read_text())
    assert len(metrics["epochs"]) == 1 and metrics["checkpoint"] == "checkpoints/epoch-1.weights.h5"
    assert checkpoint_problem(str(out / metrics["checkpoint"])) is None

    os.remove(small_disk / "filler")
    assert train.main(flags) == 0
    resumed = json.loads((out / "metrics.json").read_text())
    assert resumed["finished"] and resumed["epochs"][0] == metrics["epochs"][0]


@pytest.mark.slow
def test_a_full_disk_while_the_saved_model_is_written(small_disk, corpus, capsys, monkeypatch):
    export = small_disk / "model"
    assert train.main(tiny_flags(corpus, small_disk / "first", "--export", str(export))) == 0
    earlier = contents(export)
    flags = tiny_flags(corpus, small_disk / "second", "--export", str(export), "--seed", "4")
    write_saved_model = lm_export.write_saved_model

    def filling_first(path, save):
        def save_on_a_full_disk(directory):
            fill(small_disk)
            save(directory)
        write_saved_model(path, save_on_a_full_disk)

    with monkeypatch.context() as patch:
        patch.setattr(lm_export, "write_saved_model", filling_first)
        assert train.main(flags) == 2
    assert_one_line_error(capsys, MESSAGE.format(export))
    assert leftovers(small_disk) == [] and contents(export) == earlier
    metrics = json.loads((small_disk / "second" / "metrics.json").read_text())
    assert len(metrics["epochs"]) == 2 and not metrics.get("finished")

    os.remove(small_disk / "filler")
    assert train.main(flags) == 0
    finished = json.loads((small_disk / "second" / "metrics.json").read_text())
    assert finished["finished"] and finished["epochs"] == metrics["epochs"]
    assert contents(export) != earlier
