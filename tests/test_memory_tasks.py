import json
import math

import numpy as np
import pytest

from textlstm.__main__ import main as use_main
from textlstm.memory.tasks import (
    COPY_LENGTH,
    DELIMITER,
    adding_batch,
    copy_baseline_loss,
    copy_batch,
)


def test_adding_batch_marks_one_value_in_each_half_and_sums_them():
    inputs, targets = adding_batch(np.random.default_rng(0), 500, 9)
    values, markers = inputs[..., 0], inputs[..., 1]
    assert inputs.shape == (500, 9, 2) and targets.shape == (500, 1)
    assert values.min() >= 0 and values.max() <= 1
    assert set(np.unique(markers)) == {0.0, 1.0}
    assert (markers[:, :4].sum(axis=1) == 1).all() and (markers[:, 4:].sum(axis=1) == 1).all()  # halves of T = 9
    np.testing.assert_allclose(targets[:, 0], (values * markers).sum(axis=1), rtol=1e-6)
    # Every position of each half gets the marker about equally often.
    counts = np.bincount(markers.argmax(axis=1), minlength=9)[:4]
    assert counts.min() > 0.15 * 500


def test_adding_baseline_of_predicting_one_is_one_sixth():
    _, targets = adding_batch(np.random.default_rng(1), 200_000, 20)
    assert np.mean((targets - 1.0) ** 2) == pytest.approx(1 / 6, abs=0.003)
    assert np.mean(targets) == pytest.approx(1.0, abs=0.005)


def test_copy_batch_lays_out_symbols_blanks_delimiter_and_targets():
    length = 7
    inputs, targets = copy_batch(np.random.default_rng(0), 300, length)
    classes = inputs.argmax(axis=-1)
    assert inputs.shape == (300, length + 20, 10) and (inputs.sum(axis=-1) == 1).all()
    symbols = classes[:, :COPY_LENGTH]
    assert symbols.min() == 1 and symbols.max() == 8
    assert (classes[:, COPY_LENGTH: COPY_LENGTH + length - 1] == 0).all()  # T - 1 blanks
    assert (classes[:, COPY_LENGTH + length - 1] == DELIMITER).all()
    assert (classes[:, COPY_LENGTH + length:] == 0).all()  # 10 blanks while the answer is given
    assert (targets[:, : length + COPY_LENGTH] == 0).all()
    np.testing.assert_array_equal(targets[:, -COPY_LENGTH:], symbols)
    assert np.bincount(symbols.ravel(), minlength=9)[1:].min() > 0.1 * symbols.size  # near 1/8 each


def test_copy_baseline_is_the_loss_of_blanks_then_uniform_guesses():
    length = 30
    _, targets = copy_batch(np.random.default_rng(2), 50, length)
    probabilities = np.where(targets == 0, 1.0, 1 / 8)  # sure of the blanks, uniform on the copied symbols
    probabilities[:, : length + COPY_LENGTH] = 1.0
    assert np.mean(-np.log(probabilities)) == pytest.approx(copy_baseline_loss(length), rel=1e-12)
    assert copy_baseline_loss(length) == pytest.approx(10 * math.log(8) / 50)


@pytest.mark.parametrize("task,keys", [("adding", {"test_mse", "baseline_mse"}),
                                       ("copy", {"test_loss", "baseline_loss", "test_accuracy"})])
def test_memory_task_command_writes_the_metrics(tmp_path, task, keys):
    out = tmp_path / task
    flags = ["memory-task", task, "--cell", "gru", "--length", "4", "--steps", "3", "--batch-size", "8",
             "--units", "4", "--test-size", "16", "--eval-every", "2", "--out", str(out)]
    assert use_main(flags) == 0
    metrics = json.loads((out / "metrics.json").read_text())
    assert keys <= set(metrics)
    assert all(math.isfinite(metrics[key]) for key in keys)
    assert [point["step"] for point in metrics["curve"]] == [0, 2, 3]
    assert metrics["steps"] == 3 and metrics["cell"] == "gru" and metrics["length"] == 4
    if task == "adding":
        assert metrics["baseline_mse"] == pytest.approx(1 / 6)
    else:
        assert metrics["baseline_loss"] == pytest.approx(10 * math.log(8) / 24)
        assert 0 <= metrics["test_accuracy"] <= 1


@pytest.mark.slow
def test_memory_task_runs_are_reproducible(tmp_path):
    flags = ["memory-task", "adding", "--cell", "lstm", "--length", "5", "--steps", "2", "--batch-size", "4",
             "--units", "4", "--test-size", "8"]
    assert use_main(flags + ["--out", str(tmp_path / "a")]) == 0
    assert use_main(flags + ["--out", str(tmp_path / "b")]) == 0
    first, second = (json.loads((tmp_path / name / "metrics.json").read_text()) for name in "ab")
    assert first["test_mse"] == second["test_mse"]


@pytest.mark.parametrize("flags,message", [
    (["memory-task", "adding", "--cell", "transformer"], "cell must be one of lstm, peephole"),
    (["memory-task", "multiply"], "task must be one of adding, copy"),
    (["memory-task", "copy", "--length", "1"], "length must be an integer >= 2"),
    (["memory-task", "adding", "--steps", "0"], "steps must be a positive integer"),
])
def test_memory_task_bad_input_is_one_line(tmp_path, capsys, flags, message):
    assert use_main(flags + ["--out", str(tmp_path / "out")]) == 2
    error = capsys.readouterr().err.strip().splitlines()
    assert len(error) == 1 and error[0].startswith("error: ") and message in error[0], error
    assert not (tmp_path / "out").exists()


TINY = ["--cell", "simple", "--length", "4", "--steps", "5", "--batch-size", "8", "--units", "4", "--test-size", "16",
        "--eval-every", "1"]


def test_memory_task_refuses_an_out_it_cannot_write_before_training(tmp_path, capsys):
    (tmp_path / "a_file").write_text("x")
    for out, message in [(tmp_path / "a_file", "a_file is a file, not a directory"),
                         (tmp_path / "a_file" / "out", "a_file is a file, not a directory"),
                         ("/proc/textlstm-test", "out /proc/textlstm-test is not writable")]:
        assert use_main(["memory-task", "adding", *TINY, "--out", str(out)]) == 2
        captured = capsys.readouterr()
        assert captured.out == ""  # no training step was logged
        error = captured.err.strip().splitlines()
        assert len(error) == 1 and error[0].startswith("error: ") and message in error[0], error
    assert sorted(path.name for path in tmp_path.iterdir()) == ["a_file"]


def test_a_memory_task_that_diverges_exits_1_with_one_line_and_keeps_the_curve(tmp_path, capsys):
    out = tmp_path / "out"
    assert use_main(["memory-task", "adding", *TINY, "--lr", "1e30", "--global-clipnorm", "0", "--out", str(out)]) == 1
    error = capsys.readouterr().err.strip().splitlines()
    assert len(error) == 1 and error[0].startswith("error: training diverged: test_mse became inf at step 1; "
                                                   "lower --lr (it is 1e+30) or turn on clipping"), error
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["diverged_at_step"] == 1 and "test_mse" not in metrics
    assert [point["test_mse"] for point in metrics["curve"]] == [pytest.approx(3.2637, abs=1e-4), None]
