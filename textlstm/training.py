"""What every task's training run does: check, prepare the data, fit (resumably), then evaluate and export once.

A task (`textlstm.lm.train`, `textlstm.summarize.train`) supplies its data,
its model, its callbacks and its evaluation; `train` runs them in the same
order for both, against the same run directory (`textlstm.run`).
"""

import dataclasses
import errno
import time

import keras
import tensorflow as tf

from textlstm.callbacks import RestoreMonitors, StopOnNonFinite, run_callbacks
from textlstm.corpus.tokenizers import save_tokenizer
from textlstm.errors import TrainingDiverged, UsageError
from textlstm.loop import TrainingLoop
from textlstm.ntasgd import AveragedSGD
from textlstm.run import RunDirectory, best_epoch, separate_export
from textlstm.strategy import check_batch_size, is_chief, lost_peer_message, make_strategy
from textlstm.vocab import Vocabulary

OPTIMIZERS = {"sgd": keras.optimizers.SGD, "adam": keras.optimizers.Adam, "ntasgd": AveragedSGD}


def make_optimizer(config):
    """The configured Keras optimizer; clipping goes through it.

    Args:
        config: A task config with `optimizer` ("sgd", "adam" or "ntasgd",
            which needs the task's `ntasgd.AverageWhenStalled` callback), `lr`,
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
        tokenizer: The tokenizer that made the vocabulary's tokens; a
            subword model is saved in the run directory beside the vocabulary.
    """

    vocab: Vocabulary
    batches: callable
    steps: callable
    train_tokens: int
    splits: dict
    tokenizer: object = None


@dataclasses.dataclass
class Task:
    """The parts of a training run that differ between tasks.

    Attributes:
        name: "lm" or "summarize", recorded in config.json.
        prepare: config -> `TaskData`: reads, tokenizes and encodes the data; writes nothing.
        build_model: (config, data) -> the compiled, built Keras model that trains.
        loss: config -> (y_true, y_pred, sample_weight) -> (sum of the weighted
            token losses, sum of the weights) over some rows: the model's
            loss is their ratio over a whole global batch.
        monitor: The validation log key that picks the best epoch.
        callbacks: config -> (callbacks, monitors): the task's own callbacks
            (schedules, early stopping) and those of them that watch `monitor`.
        finish: (model with the best epoch's weights, config, data, run) -> dict:
            evaluates and exports; the dict joins metrics.json.
        carry_states: The model takes and returns each replica's states (`TrainingLoop`).
        state_reset: config -> the probability that a carried stream restarts
            from zero states at a training step; None: never.
        perplexity: Log perplexity beside the loss.
        saved_model: (config, data, model) -> the model the run saves and
            `finish` gets, with model's weights; None: the training model.
        log: Called with one-line notes (where the data is cached, a checkpoint fallen back from).
    """

    name: str
    prepare: callable
    build_model: callable
    monitor: str
    callbacks: callable
    finish: callable
    loss: callable
    carry_states: bool = False
    state_reset: callable = None
    perplexity: bool = False
    saved_model: callable = None
    log: callable = print


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
        UsageError: A bad setting, unreadable data, a run directory that
            cannot be used, or a full disk (nothing half written is left).
        TrainingDiverged: The loss stopped being finite.
    """
    started = time.perf_counter()
    config.validate()
    strategy = make_strategy(config.strategy, config.devices)  # before any other TensorFlow op
    check_batch_size(strategy, config.batch_size)
    try:
        if not is_chief(strategy):
            return _train_worker(task, config, strategy)
        return _train_chief(task, config, strategy, verbose, callbacks, started)
    except (tf.errors.UnavailableError, tf.errors.DeadlineExceededError) as error:
        raise UsageError(lost_peer_message(error, strategy)) from None
    except OSError as error:
        if error.errno != errno.ENOSPC:
            raise
        raise UsageError(f"no space left on the device of {error.filename or config.out}; free space and run the "
                         "same command again, which continues the run") from None


def _train_chief(task, config, strategy, verbose, callbacks, started):
    """Everything `train` does on one machine, or on the chief of a cluster: the only writer of the run."""
    run = RunDirectory(config.out)
    run.check(config)
    data = task.prepare(config)
    run.lock(separate_export(config))
    try:
        run.begin(config, task.name, data.vocab, task.log)
        save_tokenizer(data.tokenizer, run.path)
        earlier_seconds = sum(epoch["epoch_seconds"] for epoch in run.metrics()["epochs"])
        keras.utils.set_random_seed(config.seed)
        with strategy.scope():
            model = task.build_model(config, data)
            loop = _loop(task, config, strategy, model, data)
        done = run.training_done(config)
        initial_epoch = 0 if done else run.restore(model)
        history = [epoch.get(task.monitor) for epoch in run.metrics()["epochs"]]
        done, initial_epoch, history = loop.share_from_chief(done, initial_epoch, history, config.epochs)
        if not done:
            own, monitors = task.callbacks(config)
            resumable = run_callbacks(run, task.monitor, monitors, history, data.train_tokens,
                                      divergence_hint(config))
            try:
                loop.fit(config.epochs, initial_epoch, own + resumable + list(callbacks), verbose,
                         data.steps("train"))
            except TrainingDiverged:
                run.save_best(_saved_model(task, config, data, model))
                raise
        model = _saved_model(task, config, data, model)
        run.save_best(model)
        metrics = summary_of_epochs(run.metrics()["epochs"], task.monitor, data.train_tokens)
        metrics.update(task.finish(model, config, data, run))
        metrics["wall_time_seconds"] = round(time.perf_counter() - started + earlier_seconds, 1)
        run.finish(metrics)
    finally:
        run.unlock()
    return run.metrics()


def _loop(task, config, strategy, model, data):
    return TrainingLoop(strategy, model, task.loss(config), data.batches, config.batch_size,
                        carry_states=task.carry_states, perplexity=task.perplexity,
                        state_reset=task.state_reset(config) if task.state_reset else 0.0, seed=config.seed)


def _saved_model(task, config, data, model):
    return task.saved_model(config, data, model) if task.saved_model else model


def _train_worker(task, config, strategy):
    """A worker other than the chief: trains in step with it, from the chief's weights and epoch, writing nothing.

    Returns:
        None: the chief writes the run directory and the metrics.
    """
    data = task.prepare(config)
    keras.utils.set_random_seed(config.seed)
    with strategy.scope():
        model = task.build_model(config, data)
        loop = _loop(task, config, strategy, model, data)
    done, initial_epoch, history = loop.share_from_chief(False, 0, [], config.epochs)
    if not done:
        own, monitors = task.callbacks(config)
        loop.fit(config.epochs, initial_epoch, own + [StopOnNonFinite(task.monitor, divergence_hint(config)),
                                                      RestoreMonitors(monitors, history)], verbose=0)
    return None


def summary_of_epochs(epochs, monitor, train_tokens):
    """The best epoch (1-based, by monitor), the training tokens per epoch and the mean training throughput."""
    best = best_epoch(epochs, monitor)
    seconds = sum(epoch["train_seconds"] for epoch in epochs)
    return {"best_epoch": best["epoch"] if best else None, "train_tokens": train_tokens,
            "tokens_per_second": round(train_tokens * len(epochs) / seconds, 1) if seconds else None}
