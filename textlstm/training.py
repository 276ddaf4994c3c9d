"""Pieces of a resumable `model.fit` run: the run directory, its callbacks and metrics.json.

Shared by the language-model and summarization trainers. A run
directory holds `config.json`, `metrics.json`, the best model, TensorBoard
logs under `logs/`, and while training is under way `backup/`, where
`keras.callbacks.BackupAndRestore` keeps the last finished epoch (weights,
optimizer state including the learning rate, epoch number) so that the same
command continues a killed run.
"""

import dataclasses
import json
import os
import shutil
import time

import keras

from textlstm.errors import UsageError
from textlstm.files import write_json

CONFIG_FILE = "config.json"
METRICS_FILE = "metrics.json"
BEST_MODEL_FILE = "best.keras"
BACKUP_DIR = "backup"
LOG_DIR = "logs"
VOCAB_FILE = "vocab.json"
EXPORT_DIR = "saved_model"
OPTIMIZERS = {"sgd": keras.optimizers.SGD, "adam": keras.optimizers.Adam}


def export_path(config):
    """Returns where the SavedModel of a run goes: --export, or saved_model/ in the run directory."""
    return config.export or os.path.join(config.out, EXPORT_DIR)


def check_export_path(path):
    """Raises `UsageError` if path exists and is not an empty directory or an earlier SavedModel."""
    if not os.path.exists(path):
        return
    if not os.path.isdir(path):
        raise UsageError(f"export {path} is a file, not a SavedModel directory")
    if os.listdir(path) and not os.path.exists(os.path.join(path, "saved_model.pb")):
        raise UsageError(f"export {path} is a non-empty directory that is not a SavedModel; refusing to replace it")


def check_optimizer_settings(config):
    """Raises `UsageError` for a learning rate or clipping setting that the Keras optimizer would reject or misuse."""
    if config.lr <= 0:
        raise UsageError(f"lr must be positive. Received: lr={config.lr}")
    if config.clipnorm < 0 or config.global_clipnorm < 0:
        raise UsageError(f"clipnorm and global-clipnorm must be >= 0. "
                         f"Received: clipnorm={config.clipnorm}, global-clipnorm={config.global_clipnorm}")
    if config.clipnorm and config.global_clipnorm:
        raise UsageError("use clipnorm or global-clipnorm, not both. "
                         f"Received: clipnorm={config.clipnorm}, global-clipnorm={config.global_clipnorm}")


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


def read_json(path):
    """Returns the JSON value in path, or None if the file does not exist."""
    if not os.path.exists(path):
        return None
    with open(path, encoding="utf-8") as file:
        return json.load(file)


def read_run_config(run_dir):
    """Returns the values in run_dir's config.json.

    Raises:
        UsageError: run_dir is not a run directory (it holds no config.json).
    """
    values = read_json(os.path.join(run_dir, CONFIG_FILE)) if os.path.isdir(run_dir) else None
    if values is None:
        raise UsageError(f"model {run_dir} is not a run directory (no {CONFIG_FILE})")
    return values


def config_from(values, config_class):
    """A `config_class` dataclass from a run's config.json values; keys it does not know are ignored."""
    fields = {field.name for field in dataclasses.fields(config_class)}
    return config_class(**{key: value for key, value in values.items() if key in fields})


def load_export(run_dir, config):
    """Loads the SavedModel of the run in run_dir with `tf.saved_model.load`, after checking it exists."""
    import tensorflow as tf

    path = export_path(dataclasses.replace(config, out=run_dir))
    if not os.path.exists(os.path.join(path, "saved_model.pb")):
        raise UsageError(f"model {run_dir} has no SavedModel at {path}; is the run finished?")
    return tf.saved_model.load(path)


def run_callbacks(out, monitor, monitors, val_history, train_tokens):
    """The callbacks every run ends its list with, in the order they must run at the end of an epoch.

    `monitors` (plateau, early stopping) get back their memory of the earlier
    epochs after a resume; the epoch's record goes to metrics.json; then the
    backup is written, after any learning-rate change, so that a resumed run
    starts from it; then the best model by `monitor` is kept.

    Args:
        out: The run directory.
        monitor: The validation metric to minimise, such as "val_loss".
        monitors: The Keras callbacks that watch `monitor`, already in the list before these.
        val_history: `monitor` of the epochs finished before a resume (empty for a new run).
        train_tokens: Training tokens per epoch, for the throughput in metrics.json.
    """
    return [
        RestoreMonitors(monitors, val_history),
        MetricsLog(os.path.join(out, METRICS_FILE), train_tokens),
        keras.callbacks.BackupAndRestore(os.path.join(out, BACKUP_DIR)),
        KeepBest(os.path.join(out, BEST_MODEL_FILE), monitor, best=min(val_history) if val_history else None),
        keras.callbacks.TensorBoard(os.path.join(out, LOG_DIR), write_graph=False),
    ]


def prepare_run_directory(out, config, overwrite=False):
    """Creates, resumes or (with overwrite) clears a run directory, then writes config.json.

    Args:
        out: Run directory.
        config: Dict of the run's settings, as saved in config.json.
        overwrite: Replace a finished run, or an unfinished one with other settings.

    Returns:
        True if an unfinished run with the same settings is being continued.

    Raises:
        UsageError: out holds a finished run, a run with other settings, or
            files that are not a run's, and overwrite is False.
    """
    if os.path.exists(out) and not os.path.isdir(out):
        raise UsageError(f"out {out} is a file, not a run directory")
    resume = False
    if os.path.isdir(out) and os.listdir(out):
        previous_config = read_json(os.path.join(out, CONFIG_FILE))
        metrics = read_json(os.path.join(out, METRICS_FILE)) or {}
        settings = {key: value for key, value in config.items() if key != "overwrite"}
        if overwrite:
            if previous_config is None and not os.path.exists(os.path.join(out, METRICS_FILE)):
                raise UsageError(f"out {out} is not empty and is not a run directory; refusing to overwrite it")
            shutil.rmtree(out)
        elif previous_config is None:
            raise UsageError(f"out {out} is not empty and holds no {CONFIG_FILE}; choose another --out")
        elif metrics.get("finished"):
            raise UsageError(f"run directory {out} already holds a finished run; "
                             "pass --overwrite to replace it or choose another --out")
        else:
            changed = sorted(key for key in settings if previous_config.get(key) != settings[key])
            if changed:
                details = ", ".join(f"{key}: {previous_config.get(key)!r} -> {settings[key]!r}" for key in changed)
                raise UsageError(f"run directory {out} holds an unfinished run with other settings ({details}); "
                                 "repeat its command to continue it, or pass --overwrite")
            resume = True
    os.makedirs(out, exist_ok=True)
    write_json(os.path.join(out, CONFIG_FILE), config)
    return resume


class ResetStates(keras.callbacks.Callback):
    """Clears stateful recurrent layers at the start of every epoch and every evaluation."""

    def _reset(self):
        for layer in self.model.layers:
            if isinstance(layer, keras.layers.RNN) and layer.stateful:
                layer.reset_state()

    def on_epoch_begin(self, epoch, logs=None):
        self._reset()

    def on_test_begin(self, logs=None):
        self._reset()


class KeepBest(keras.callbacks.Callback):
    """Saves the model as a `.keras` file whenever the monitored value improves; temporary file, then rename.

    Args:
        path: Destination `.keras` file.
        monitor: Log key to minimize, e.g. `val_perplexity`.
        best: Best value seen before (when a run is resumed), or None.
    """

    def __init__(self, path, monitor, best=None):
        super().__init__()
        self.path = path
        self.monitor = monitor
        self.best = best

    def on_epoch_end(self, epoch, logs=None):
        current = (logs or {}).get(self.monitor)
        if current is None or (self.best is not None and current >= self.best):
            return
        self.best = current
        temporary = f"{self.path[: -len('.keras')]}.tmp-{os.getpid()}.keras"
        self.model.save(temporary)
        os.replace(temporary, self.path)


class MetricsLog(keras.callbacks.Callback):
    """Writes metrics.json after every epoch: the epoch's logs, learning rate, tokens per second, time.

    Args:
        path: The metrics.json file; epochs already in it (a resumed run) are kept.
        tokens_per_epoch: Real training tokens in one epoch.
    """

    def __init__(self, path, tokens_per_epoch):
        super().__init__()
        self.path = path
        self.tokens_per_epoch = tokens_per_epoch
        self.metrics = read_json(path) or {"epochs": []}

    def on_epoch_begin(self, epoch, logs=None):
        self.metrics["epochs"] = self.metrics["epochs"][:epoch]  # a resumed run repeats an unfinished epoch
        self.learning_rate = float(keras.ops.convert_to_numpy(self.model.optimizer.learning_rate))
        self.epoch_start = self.train_end = time.perf_counter()

    def on_test_begin(self, logs=None):
        self.train_end = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        end = time.perf_counter()
        train_seconds = (self.train_end if self.train_end > self.epoch_start else end) - self.epoch_start
        record = {"epoch": epoch + 1, "learning_rate": self.learning_rate}
        record.update({key: float(value) for key, value in (logs or {}).items() if key != "learning_rate"})
        record.update({"train_seconds": round(train_seconds, 3), "epoch_seconds": round(end - self.epoch_start, 3),
                       "tokens_per_second": round(self.tokens_per_epoch / max(train_seconds, 1e-9), 1)})
        self.metrics["epochs"].append(record)
        write_json(self.path, self.metrics)


class RestoreMonitors(keras.callbacks.Callback):
    """After a resume, gives the plateau and early-stopping callbacks back their memory of earlier epochs.

    Keras's `ReduceLROnPlateau` and `EarlyStopping` forget their best value
    in `on_train_begin`; this callback, placed after them, sets `best` and
    `wait` from the history that metrics.json kept.

    Args:
        callbacks: The monitor callbacks to restore.
        history: Earlier values of the monitored quantity, one per epoch.
    """

    def __init__(self, callbacks, history):
        super().__init__()
        self.callbacks = callbacks
        self.history = history

    def on_train_begin(self, logs=None):
        if not self.history:
            return
        best = min(self.history)
        wait = len(self.history) - 1 - self.history.index(best)
        for callback in self.callbacks:
            callback.best = best
            callback.wait = wait


def best_so_far(metrics_path, monitor):
    """Returns the values of monitor over the epochs recorded in metrics_path."""
    metrics = read_json(metrics_path) or {"epochs": []}
    return [epoch[monitor] for epoch in metrics["epochs"] if monitor in epoch]
