"""The vanishing gradient, measured: ‖∂L_T/∂h_t‖ against T − t, at initialization and after training.

The loss L_T is the squared error of the adding problem, read from the last
state h_T. A gradient taken with respect to the layer's stacked output
sequence would see only the direct path from each h_t to the loss (none but
for h_T), so the cell is stepped here one time step at a time under one
`tf.GradientTape`: each h_t is then its own tensor, the next step reads it as
h_prev, and `tape.gradient(L_T, [h_1 ... h_T])` is the total derivative,
every path through the later steps included:

    ∂L_T/∂h_t = ∂L_T/∂h_{t+1} · ∂h_{t+1}/∂h_t (+ through c_{t+1} for the LSTM)
"""

import csv
import os

import numpy as np
import tensorflow as tf

from textlstm.errors import UsageError
from textlstm.files import write_atomically
from textlstm.layers import LAYERS_BY_NAME
from textlstm.memory.tasks import MemoryTaskConfig, build_task_model, fixed_test_set, train_memory_task

COLUMNS = ("cell", "distance", "grad_norm", "stage")
MEASURED_SEQUENCES = 64  # test sequences the norms are averaged over


def gradient_norms(model, inputs, targets):
    """‖∂L/∂h_t‖ for every step t of an adding-problem model, averaged over the sequences.

    L is each sequence's own squared error (y − ŷ)², so the norm is taken
    per sequence, then averaged; the batch mean of the loss would only
    divide every norm by the batch size.

    Args:
        model: A model of `build_task_model` for the adding problem (layers
            `recurrent` and `head`).
        inputs: (batch, T, 2) sequences.
        targets: (batch, 1) their targets.

    Returns:
        float64 array (T,): entry t is the mean norm at time step t + 1, so
        the last entry is at distance T − t = 0.
    """
    cell, head = model.get_layer("recurrent").cell, model.get_layer("head")
    inputs = tf.convert_to_tensor(inputs)
    states = cell.get_initial_state(inputs.shape[0])
    hidden = []
    with tf.GradientTape() as tape:
        for step in range(inputs.shape[1]):
            h, states = cell(inputs[:, step], states, training=False)  # states[0] is h itself: the next h_prev
            hidden.append(h)
        loss = tf.reduce_sum((head(h) - targets) ** 2)  # a sum, so each row of a gradient is one sequence's
    gradients = tape.gradient(loss, hidden)  # T tensors (batch, units)
    return np.array([np.linalg.norm(gradient.numpy(), axis=-1).mean() for gradient in gradients])


def measure_gradient_flow(cells, length, steps=1000, units=128, seed=1, log=print):
    """‖∂L_T/∂h_t‖ against T − t for each cell, at initialization and after training on the adding problem.

    Args:
        cells: Names of textlstm cells, e.g. `["simple", "gru", "lstm"]`.
        length: T, at least 2.
        steps: Training steps on the adding problem at length T (the
            defaults of `MemoryTaskConfig` otherwise).
        units: Size of the recurrent state.
        seed: Seed of the initial weights and the training batches.
        log: Called with one line per cell and stage; None is silent.

    Returns:
        A list of rows (dicts with `COLUMNS` as keys): stage `"init"` or
        `"trained"`, distance T − t from 0 to T − 1, grad_norm the mean norm
        over `MEASURED_SEQUENCES` test sequences.

    Raises:
        UsageError: An unknown cell, or a length, steps, units or seed out of `MemoryTaskConfig`'s range;
            checked before anything runs.
    """
    log = log or (lambda message: None)
    for cell in cells:
        if cell not in LAYERS_BY_NAME:
            raise UsageError(f"cells must be among {', '.join(LAYERS_BY_NAME)}. Received: cell {cell!r}")
    configs = [MemoryTaskConfig(task="adding", cell=cell, length=length, steps=steps, units=units, seed=seed,
                                eval_every=steps, test_size=MEASURED_SEQUENCES) for cell in cells]
    for config in configs:
        config.validate()
    rows = []
    for cell, config in zip(cells, configs):
        inputs, targets = fixed_test_set(config)
        for stage in ("init", "trained"):
            if stage == "init":
                model = build_task_model(config)
            else:  # the same seed: training starts from the weights just measured
                model, metrics = train_memory_task(config, log=None)
                log(f"{cell}: test MSE {metrics['test_mse']:.4f} after {steps} steps (baseline 0.167)")
            norms = gradient_norms(model, inputs, targets)
            log(f"{cell} {stage}: ‖∂L/∂h_t‖ {norms[-1]:.3g} at T − t = 0, {norms[0]:.3g} at {length - 1}")
            rows += [{"cell": cell, "distance": length - 1 - step, "grad_norm": float(norm), "stage": stage}
                     for step, norm in enumerate(norms)]
    return rows


def write_csv(rows, path):
    """Writes the rows of `measure_gradient_flow` as CSV with the header `COLUMNS`."""
    lines = [",".join(COLUMNS)] + [f"{row['cell']},{row['distance']},{row['grad_norm']!r},{row['stage']}"
                                   for row in rows]
    write_atomically(path, "\n".join(lines) + "\n")


def read_csv(path):
    """Reads a CSV written by `write_csv` back into rows."""
    with open(path, encoding="utf-8", newline="") as file:
        return [{"cell": row["cell"], "distance": int(row["distance"]), "grad_norm": float(row["grad_norm"]),
                 "stage": row["stage"]} for row in csv.DictReader(file)]


def plot(rows, path):
    """‖∂L_T/∂h_t‖ against T − t, log scale: one colour per cell, dashed at initialization, solid trained."""
    from textlstm.memory.figures import pyplot

    plt = pyplot()
    figure, axis = plt.subplots(figsize=(7, 4))
    cells = list(dict.fromkeys(row["cell"] for row in rows))
    for number, cell in enumerate(cells):
        for stage, style in (("init", "--"), ("trained", "-")):
            points = sorted((row["distance"], row["grad_norm"]) for row in rows
                            if row["cell"] == cell and row["stage"] == stage)
            if points:
                axis.plot(*zip(*points), style, color=f"C{number}", label=f"{cell}, {stage}")
    axis.set_yscale("log")
    axis.set_xlabel("T − t (steps back from the loss)")
    axis.set_ylabel("mean ‖∂L_T / ∂h_t‖")
    axis.set_title("Gradient reaching h_t from the adding problem's loss")
    axis.legend(fontsize=8, ncol=2)
    figure.tight_layout()
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    figure.savefig(path, dpi=110)
    plt.close(figure)
