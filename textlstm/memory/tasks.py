"""The long-memory problems of Arjovsky, Shah & Bengio 2016, adding and copy memory: data, model, training.

Both are trained on freshly generated batches, one per step, and scored on
a fixed test set that is the same for every cell, length and seed
(`TEST_SEED`), so that runs compare on the same sequences.
"""

import dataclasses
import math
import os
import time

import keras
import numpy as np

from textlstm.config import MAX_STATE_SIZE, check_fields, option
from textlstm.errors import TrainingDiverged
from textlstm.files import check_writable_directory, write_json
from textlstm.layers import LAYERS_BY_NAME

TASKS = ("adding", "copy")
TEST_SEED = 20160101
ADDING_BASELINE_MSE = 1 / 6  # predicting 1 always: the variance of the sum of two uniforms, 2 * 1/12
COPY_SYMBOLS = 8  # the symbols to remember are 1..8
COPY_LENGTH = 10  # how many of them
BLANK, DELIMITER = 0, COPY_SYMBOLS + 1  # the other two input classes
COPY_INPUT_CLASSES = COPY_SYMBOLS + 2  # blank, 8 symbols, delimiter: one-hot input width
COPY_OUTPUT_CLASSES = COPY_SYMBOLS + 1  # blank or a symbol: the delimiter is never a target
OPTIMIZERS = {"adam": keras.optimizers.Adam, "rmsprop": keras.optimizers.RMSprop}


def adding_batch(rng, batch_size, length):
    """A batch of the adding problem (Hochreiter & Schmidhuber 1997; as set by Arjovsky et al. 2016).

    Each sequence has two channels: values uniform in [0, 1], and markers,
    0 everywhere but one 1 in each half of the sequence. The target is the
    sum of the two marked values. Always predicting 1 has a mean squared
    error of 1/6 (`ADDING_BASELINE_MSE`).

    Args:
        rng: A `numpy.random.Generator`.
        batch_size: Number of sequences.
        length: Time steps T, at least 2.

    Returns:
        `(inputs, targets)`: float32 (batch, T, 2) and (batch, 1).

    Example:

    >>> inputs, targets = adding_batch(np.random.default_rng(0), 3, 10)
    >>> inputs.shape, targets.shape, inputs[..., 1].sum(axis=1).tolist()
    ((3, 10, 2), (3, 1), [2.0, 2.0, 2.0])
    """
    rows = np.arange(batch_size)
    values = rng.uniform(0.0, 1.0, (batch_size, length))
    half = length // 2
    first = rng.integers(0, half, batch_size)  # one marker in [0, T/2)
    second = rng.integers(half, length, batch_size)  # and one in [T/2, T)
    markers = np.zeros((batch_size, length))
    markers[rows, first] = 1.0
    markers[rows, second] = 1.0
    targets = values[rows, first] + values[rows, second]
    inputs = np.stack([values, markers], axis=-1)  # (batch, T, 2)
    return inputs.astype("float32"), targets[:, None].astype("float32")


def copy_batch(rng, batch_size, length):
    """A batch of the copy memory problem, as in Arjovsky et al. 2016.

    The input, T + 20 steps: 10 symbols drawn uniformly from 1..8, T - 1
    blanks, the delimiter, 10 more blanks. The target: T + 10 blanks, then
    the 10 symbols. A model that outputs blanks and then guesses uniformly
    has a cross-entropy of 10 log 8 / (T + 20) per step (`copy_baseline_loss`).

        input   s1 .. s10  0 .. 0   9   0 .. 0
        target  0  ..  0   0 .. 0   0   s1 .. s10
                  10       T - 1    1     10

    Args:
        rng: A `numpy.random.Generator`.
        batch_size: Number of sequences.
        length: The delay T, at least 2.

    Returns:
        `(inputs, targets)`: one-hot float32 (batch, T + 20, 10) and int32
        class ids (batch, T + 20) (0 blank, 1..8 the symbols).

    Example:

    >>> inputs, targets = copy_batch(np.random.default_rng(0), 1, 3)
    >>> inputs.shape, targets.shape, inputs[0].argmax(-1)[10:14].tolist(), targets[0, :13].tolist()
    ((1, 23, 10), (1, 23), [0, 0, 9, 0], [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0])
    """
    symbols = rng.integers(1, COPY_SYMBOLS + 1, (batch_size, COPY_LENGTH))
    steps = length + 2 * COPY_LENGTH
    classes = np.full((batch_size, steps), BLANK)
    classes[:, :COPY_LENGTH] = symbols
    classes[:, COPY_LENGTH + length - 1] = DELIMITER  # after T - 1 blanks
    targets = np.full((batch_size, steps), BLANK)
    targets[:, -COPY_LENGTH:] = symbols
    inputs = np.eye(COPY_INPUT_CLASSES, dtype="float32")[classes]  # (batch, T + 20, 10)
    return inputs, targets.astype("int32")


def copy_baseline_loss(length):
    """Cross-entropy per step of blanks, then a uniform guess among the 8 symbols: 10 log 8 / (T + 20)."""
    return COPY_LENGTH * math.log(COPY_SYMBOLS) / (length + 2 * COPY_LENGTH)


BATCHES = {"adding": adding_batch, "copy": copy_batch}


@dataclasses.dataclass
class MemoryTaskConfig:
    """Settings of one memory-task run; each field is also a flag of `python -m textlstm memory-task`.

    Each field's help text (`dataclasses.fields(MemoryTaskConfig)[n].metadata["help"]`) feeds `--help`.
    """

    task: str = option("adding", "the problem", choices=TASKS)
    cell: str = option("lstm", "recurrent layer", choices=tuple(LAYERS_BY_NAME))
    length: int = option(50, "T: the adding problem's sequence length, the copy problem's delay", minimum=2,
                         maximum=10_000)
    steps: int = option(2000, "training steps, each on a freshly generated batch", minimum=1,
                        maximum=10_000_000)
    batch_size: int = option(64, "sequences per training step", minimum=1, maximum=4096)
    units: int = option(128, "size of the recurrent state", minimum=1, maximum=MAX_STATE_SIZE)
    optimizer: str = option("adam", "optimizer", choices=tuple(OPTIMIZERS))
    lr: float = option(0.01, "learning rate (the fastest of those tried on the adding problem: docs/memory.md)",
                       positive=True)
    global_clipnorm: float = option(1.0, "clip all gradients together to this global norm; 0 is off", minimum=0)
    test_size: int = option(2000, "sequences in the fixed test set", minimum=1, maximum=100_000)
    eval_every: int = option(250, "steps between evaluations on the test set (the curve in metrics.json)", minimum=1)
    seed: int = option(1, "seed of the initial weights and of the training batches", minimum=0, maximum=2**32 - 1)

    def validate(self):
        """Raises `UsageError` naming the first setting that is out of range."""
        check_fields(self)


def build_task_model(config):
    """The model of a memory task: one textlstm recurrent layer and a `Dense` head, compiled.

    Adding: the last `h` -> one number, mean squared error. Copy: every
    step's `h` -> logits over blank and the 8 symbols, cross-entropy
    averaged over all T + 20 steps, as Arjovsky et al. report it.

    Args:
        config: A `MemoryTaskConfig`.

    Returns:
        A compiled `keras.Model`; its layers are named `recurrent` and `head`.
    """
    keras.utils.set_random_seed(config.seed)
    layer_class = LAYERS_BY_NAME[config.cell]
    if config.task == "adding":
        inputs = keras.Input((config.length, 2))
        hidden = layer_class(config.units, name="recurrent")(inputs)
        outputs = keras.layers.Dense(1, name="head")(hidden)
        loss = "mean_squared_error"
    else:
        inputs = keras.Input((config.length + 2 * COPY_LENGTH, COPY_INPUT_CLASSES))
        hidden = layer_class(config.units, return_sequences=True, name="recurrent")(inputs)
        outputs = keras.layers.Dense(COPY_OUTPUT_CLASSES, name="head")(hidden)
        loss = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    model = keras.Model(inputs, outputs, name=f"{config.task}_{config.cell}")
    optimizer = OPTIMIZERS[config.optimizer](learning_rate=config.lr, global_clipnorm=config.global_clipnorm or None)
    model.compile(optimizer=optimizer, loss=loss)
    return model


def fixed_test_set(config):
    """The fixed test set of a task and length: `(inputs, targets)` of `config.test_size` sequences."""
    return BATCHES[config.task](np.random.default_rng(TEST_SEED), config.test_size, config.length)


def evaluate(model, config, inputs, targets):
    """The test metrics of a memory-task model.

    Returns:
        Adding: `{"test_mse"}`. Copy: `{"test_loss", "test_accuracy"}`, the
        accuracy of the most likely class on the 10 copied symbols.
    """
    predictions = model.predict(inputs, batch_size=500, verbose=0)
    with np.errstate(over="ignore", invalid="ignore"):  # a diverged model's inf or nan: train_memory_task stops
        if config.task == "adding":
            return {"test_mse": float(np.mean((predictions - targets) ** 2))}
        logits = predictions - predictions.max(axis=-1, keepdims=True)
        log_probs = logits - np.log(np.exp(logits).sum(axis=-1, keepdims=True))
    target_log_probs = np.take_along_axis(log_probs, targets[..., None], axis=-1)
    copied = predictions[:, -COPY_LENGTH:].argmax(axis=-1) == targets[:, -COPY_LENGTH:]
    return {"test_loss": float(-target_log_probs.mean()), "test_accuracy": float(copied.mean())}


def baselines(config):
    """The memoryless baseline of a task: `{"baseline_mse"}` or `{"baseline_loss"}`."""
    if config.task == "adding":
        return {"baseline_mse": ADDING_BASELINE_MSE}
    return {"baseline_loss": copy_baseline_loss(config.length)}


def train_memory_task(config, out=None, log=print):
    """Trains a model on a memory task with fresh batches and scores it on the fixed test set.

    Args:
        config: A `MemoryTaskConfig`.
        out: Directory for `metrics.json`; None writes nothing.
        log: Called with one line per evaluation; None is silent.

    Returns:
        `(model, metrics)`. The metrics hold the config's fields, the test
        metrics (`test_mse` or `test_loss` and `test_accuracy`), the
        baseline (`baseline_mse` or `baseline_loss`), `curve` (the test
        metrics every `eval_every` steps, step 0 included) and
        `train_seconds`.

    Raises:
        UsageError: A setting out of range, or an out that cannot be written; checked before training.
        TrainingDiverged: The training loss stopped being finite. `metrics.json` is still written, without
            the final test metrics: the curve up to that step and `diverged_at_step`.
    """
    config.validate()
    if out is not None:
        check_writable_directory(out, "out")
    log = log or (lambda message: None)
    model = build_task_model(config)
    rng = np.random.default_rng([config.seed, 1])  # training batches: a stream apart from the initial weights
    inputs, targets = fixed_test_set(config)
    curve = [{"step": 0, **evaluate(model, config, inputs, targets)}]
    train_seconds, diverged = 0.0, None
    for step in range(1, config.steps + 1):
        batch_inputs, batch_targets = BATCHES[config.task](rng, config.batch_size, config.length)
        started = time.perf_counter()
        loss = float(model.train_on_batch(batch_inputs, batch_targets))
        train_seconds += time.perf_counter() - started
        if step % config.eval_every == 0 or step == config.steps:
            curve.append({"step": step, **evaluate(model, config, inputs, targets)})
            log(f"{config.task} {config.cell} T={config.length} step {step}: "
                + "  ".join(f"{key} {value:.4f}" for key, value in curve[-1].items() if key != "step"))
        diverged = next((f"{name} became {value} at step {step}" for name, value in
                         [("the training loss", loss), *curve[-1].items()] if not math.isfinite(value)), None)
        if diverged:
            break
    final = {"diverged_at_step": step} if diverged else {key: value for key, value in curve[-1].items()
                                                         if key != "step"}
    metrics = {**dataclasses.asdict(config), **final, **baselines(config), "curve": curve,
               "train_seconds": round(train_seconds, 1)}
    if out is not None:
        write_json(os.path.join(out, "metrics.json"), metrics)
    if diverged:
        clipping = "" if config.global_clipnorm else " or turn on clipping (--global-clipnorm 1)"
        written = f"; {os.path.join(out, 'metrics.json')} holds the curve up to it" if out is not None else ""
        raise TrainingDiverged(f"{diverged}; lower --lr (it is {config.lr}){clipping}{written}")
    return model, metrics
