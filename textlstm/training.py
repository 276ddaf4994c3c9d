"""What every task's training run does: check, prepare the data, fit (resumably), then evaluate and export once.

A task (`textlstm.lm.train`, `textlstm.summarize.train`) supplies its data,
its model, its callbacks and its evaluation; `train` runs them in the same
order for both, against the same run directory (`textlstm.run`).
"""

import dataclasses
import time

import keras

from textlstm.callbacks import run_callbacks
from textlstm.errors import TrainingDiverged
from textlstm.run import VOCAB_FILE, RunDirectory
from textlstm.vocab import Vocabulary

OPTIMIZERS = {"sgd": keras.optimizers.SGD, "adam": keras.optimizers.Adam}


def make_optimizer(config):
    """The configured Keras optimizer; clipping goes through it.

    Args:
        config: A task config with `optimizer` ("sgd" or "adam"), `lr`,
            `clipnorm` (each gradient tensor on its own; 0 is off) and
            `global_clipnorm` (all gradients together; 0 is off).

    Returns:
        A `keras.optimizers.Optimizer`.
    """
    return OPTIMIZERS[config.optimizer](
        learning_rate=config.lr,
        clipnorm=config.clipnorm or None,
        global_clipnorm=config.global_clipnorm or None,
    )


@dataclasses.dataclass
class TaskData:
    """What a task's data preparation hands to `train`.

    Attributes:
        vocab: The vocabulary built from the training split.
        batches: (split, first_row=0, num_rows=None, epoch=0) -> a
            `tf.data.Dataset` of `(x, y, sample_weight)` tuples, element k
            holding rows [first_row, first_row + num_rows) (None: all) of the
            epoch's global batch k, a global batch being `batch_size` rows.
            The rows of a global batch are the same whichever slice is asked
            for, so replicas that each take their own rows together see
            the single-device batch. Sample weights are per target token:
            1 on real targets, 0 on padding and on the rows that fill up
            the last batch of a pass.
        steps: split -> global batches in one epoch (for "train", `--steps-per-epoch` if given).
        train_tokens: Real training tokens in one epoch.
        splits: Whatever else the task's evaluation needs (test data, ...).
    """

    vocab: Vocabulary
    batches: callable
    steps: callable
    train_tokens: int
    splits: dict


@dataclasses.dataclass
class Task:
    """The parts of a training run that differ between tasks.

    Attributes:
        name: "lm" or "summarize", recorded in config.json.
        prepare: config -> `TaskData`: reads, tokenizes and encodes the data; writes nothing.
        build_model: (config, data) -> the compiled, built Keras model.
        monitor: The validation log key that picks the best epoch.
        callbacks: config -> (callbacks, monitors): the task's own callbacks
            (schedules, early stopping) and those of them that watch `monitor`.
        finish: (model with the best epoch's weights, config, data, run) -> dict:
            evaluates and exports; the dict joins metrics.json.
    """

    name: str
    prepare: callable
    build_model: callable
    monitor: str
    callbacks: callable
    finish: callable


def divergence_hint(config):
    """What to try when the loss stops being finite."""
    clipping = ("" if config.clipnorm or config.global_clipnorm
                else " or turn on clipping (--global-clipnorm 1)")
    return f"lower --lr (it is {config.lr}){clipping}; the run directory keeps the epochs finished before"


def train(task, config, verbose=1, callbacks=()):
    """Trains, evaluates and exports one run of task as `train.py` does.

    Every setting is checked, and the run directory and the export location
    with it, before anything is written; the data is read before the run
    directory is touched. A run killed at any moment continues when started
    again with the same config: from its last recorded epoch while training,
    from the evaluation and export after it.

    Args:
        task: The `Task`.
        config: Its config.
        verbose: Keras verbosity: 1 progress bar, 2 one line per epoch, 0 silent.
        callbacks: More Keras callbacks, run after textlstm's own.

    Returns:
        The final metrics, as written to metrics.json.

    Raises:
        UsageError: A bad setting, unreadable data, or a run directory that
            cannot be used.
        TrainingDiverged: The loss stopped being finite.
    """
    started = time.perf_counter()
    config.validate()
    run = RunDirectory(config.out)
    run.check(config)
    data = task.prepare(config)
    run.lock()
    try:
        run.begin(config, task.name)
        data.vocab.save(run.file(VOCAB_FILE))
        earlier_seconds = sum(epoch["epoch_seconds"] for epoch in run.metrics()["epochs"])
        keras.utils.set_random_seed(config.seed)
        model = task.build_model(config, data)
        if not run.training_done(config):
            initial_epoch = run.restore(model)
            own, monitors = task.callbacks(config)
            resumable = run_callbacks(run, task.monitor, monitors, data.train_tokens, divergence_hint(config))
            try:
                model.fit(training_batches(data, initial_epoch, config.epochs), steps_per_epoch=data.steps("train"),
                          validation_data=data.batches("valid"), shuffle=False, epochs=config.epochs,
                          initial_epoch=initial_epoch,
                          callbacks=own + resumable + list(callbacks), verbose=verbose)
            except TrainingDiverged:
                run.save_best(model)
                raise
        run.save_best(model)
        metrics = summary_of_epochs(run.metrics()["epochs"], task.monitor, data.train_tokens)
        metrics.update(task.finish(model, config, data, run))
        metrics["wall_time_seconds"] = round(time.perf_counter() - started + earlier_seconds, 1)
        run.finish(metrics)
    finally:
        run.unlock()
    return run.metrics()


def training_batches(data, first_epoch, epochs):
    """The training batches of epochs [first_epoch, epochs) end to end, for one `fit` with `steps_per_epoch`.

    Keras keeps reading the same iterator from epoch to epoch when
    `steps_per_epoch` is given, so epoch e gets `data.batches("train", epoch=e)`.
    """
    dataset = data.batches("train", epoch=first_epoch)
    for epoch in range(first_epoch + 1, epochs):
        dataset = dataset.concatenate(data.batches("train", epoch=epoch))
    return dataset


def summary_of_epochs(epochs, monitor, train_tokens):
    """The best epoch (1-based, by monitor), the training tokens per epoch and the mean training throughput."""
    scores = [(epoch[monitor], index) for index, epoch in enumerate(epochs) if epoch.get(monitor) is not None]
    seconds = sum(epoch["train_seconds"] for epoch in epochs)
    return {"best_epoch": min(scores)[1] + 1 if scores else None, "train_tokens": train_tokens,
            "tokens_per_second": round(train_tokens * len(epochs) / seconds, 1) if seconds else None}
