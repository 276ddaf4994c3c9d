import math

import numpy as np
import pytest

from textlstm.__main__ import main as use_main
from textlstm.memory.gradient_flow import COLUMNS, gradient_norms, measure_gradient_flow, read_csv, write_csv
from textlstm.memory.tasks import MemoryTaskConfig, adding_batch, build_task_model


def weights(model):
    cell, head = model.get_layer("recurrent").cell, model.get_layer("head")
    kernel, bias = (np.asarray(value, dtype=np.float64) for value in head.get_weights())
    return [np.asarray(value, dtype=np.float64) for value in cell.get_weights()], kernel, bias


def randomized_model(cell, length, units):
    """A model for the adding problem with weights far from zero, so that every path carries gradient."""
    model = build_task_model(MemoryTaskConfig(cell=cell, length=length, units=units, seed=4))
    rng = np.random.default_rng(5)
    for layer in (model.get_layer("recurrent"), model.get_layer("head")):
        layer.set_weights([rng.normal(0, 0.6, value.shape).astype("float32") for value in layer.get_weights()])
    return model


def test_two_step_simple_rnn_matches_the_chain_rule_by_hand():
    model = randomized_model("simple", length=2, units=3)
    inputs, targets = adding_batch(np.random.default_rng(0), 5, 2)
    (kernel, recurrent_kernel, bias), head_kernel, head_bias = weights(model)
    x = inputs.astype(np.float64)
    h1 = np.tanh(x[:, 0] @ kernel + bias)
    h2 = np.tanh(x[:, 1] @ kernel + h1 @ recurrent_kernel + bias)
    y = h2 @ head_kernel + head_bias
    d_h2 = 2 * (y - targets) @ head_kernel.T  # (batch, units): each sequence's own squared error
    d_h1 = (d_h2 * (1 - h2**2)) @ recurrent_kernel.T  # through h2 = tanh(... + h1 U + ...) only
    expected = [np.linalg.norm(d_h1, axis=1).mean(), np.linalg.norm(d_h2, axis=1).mean()]
    np.testing.assert_allclose(gradient_norms(model, inputs, targets), expected, rtol=1e-5)


def sigmoid(z):
    return 1 / (1 + np.exp(-z))


def lstm_step(h, c, x, cell_weights):
    """One LSTM step in float64 with Keras's weight layout (gate order i, f, g, o)."""
    kernel, recurrent_kernel, bias = cell_weights
    z_i, z_f, z_g, z_o = np.split(x @ kernel + h @ recurrent_kernel + bias, 4)
    c = sigmoid(z_f) * c + sigmoid(z_i) * np.tanh(z_g)
    return sigmoid(z_o) * np.tanh(c), c


def test_lstm_gradient_norms_match_finite_differences_of_the_total_derivative():
    length, units, epsilon = 3, 4, 1e-6
    model = randomized_model("lstm", length=length, units=units)
    inputs, targets = adding_batch(np.random.default_rng(1), 3, length)
    cell_weights, head_kernel, head_bias = weights(model)
    x = inputs.astype(np.float64)

    def loss_from(h, c, row, start):  # one sequence's squared error, run on from the states after step start - 1
        for step in range(start, length):
            h, c = lstm_step(h, c, x[row, step], cell_weights)
        return float(((h @ head_kernel + head_bias - targets[row]) ** 2).sum())

    expected = np.zeros(length)
    for row in range(len(x)):
        h, c = np.zeros(units), np.zeros(units)
        for step in range(length):
            h, c = lstm_step(h, c, x[row, step], cell_weights)
            # h moved, c held: the total derivative with respect to h_t, through every later step.
            gradient = [(loss_from(h + epsilon * unit, c, row, step + 1)
                         - loss_from(h - epsilon * unit, c, row, step + 1)) / (2 * epsilon) for unit in np.eye(units)]
            expected[step] += np.linalg.norm(gradient) / len(x)
    np.testing.assert_allclose(gradient_norms(model, inputs, targets), expected, rtol=1e-4)


def test_gradient_flow_csv_has_the_columns_and_finite_norms_at_every_distance(tmp_path):
    rows = measure_gradient_flow(["gru"], length=5, steps=1, units=4, log=None)
    write_csv(rows, tmp_path / "gradient_flow.csv")
    assert (tmp_path / "gradient_flow.csv").read_text().splitlines()[0] == "cell,distance,grad_norm,stage"
    assert read_csv(tmp_path / "gradient_flow.csv") == rows  # the norms round-trip exactly
    for stage in ("init", "trained"):
        assert sorted(row["distance"] for row in rows if row["stage"] == stage) == list(range(5))
    assert all(math.isfinite(row["grad_norm"]) and row["grad_norm"] > 0 for row in rows)


@pytest.mark.slow
def test_gradient_flow_command_writes_csv_with_finite_norms_and_a_plot(tmp_path):
    out = tmp_path / "flow"
    assert use_main(["gradient-flow", "--cells", "simple,lstm", "--length", "6", "--steps", "2", "--units", "4",
                     "--out", str(out)]) == 0
    header = (out / "gradient_flow.csv").read_text().splitlines()[0]
    assert header.split(",") == list(COLUMNS) == ["cell", "distance", "grad_norm", "stage"]
    rows = read_csv(out / "gradient_flow.csv")
    assert len(rows) == 2 * 2 * 6
    for cell in ("simple", "lstm"):
        for stage in ("init", "trained"):
            distances = sorted(row["distance"] for row in rows if row["cell"] == cell and row["stage"] == stage)
            assert distances == list(range(6))
    assert all(math.isfinite(row["grad_norm"]) and row["grad_norm"] >= 0 for row in rows)
    assert (out / "gradient_flow.png").stat().st_size > 1000


@pytest.mark.parametrize("flags,message", [
    (["--cells", "simple,rnn"], "cells must be among"),
    (["--length", "1"], "length must be an integer >= 2"),
    (["--cells", ","], "cells must name at least one cell"),
])
def test_gradient_flow_bad_input_is_one_line(tmp_path, capsys, flags, message):
    assert use_main(["gradient-flow", "--out", str(tmp_path / "out"), "--steps", "1", *flags]) == 2
    error = capsys.readouterr().err.strip().splitlines()
    assert len(error) == 1 and error[0].startswith("error: ") and message in error[0], error


def test_gradient_flow_refuses_an_out_it_cannot_write_before_measuring(tmp_path, capsys):
    (tmp_path / "a_file").write_text("x")
    assert use_main(["gradient-flow", "--cells", "gru", "--length", "3", "--steps", "1", "--units", "2",
                     "--out", str(tmp_path / "a_file")]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""  # nothing was measured
    error = captured.err.strip().splitlines()
    assert len(error) == 1 and error[0].startswith("error: ") and "a_file is a file, not a directory" in error[0]
    assert sorted(path.name for path in tmp_path.iterdir()) == ["a_file"]
