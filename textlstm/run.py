"""The run directory: what it holds, how a run starts, continues or is refused, and how a finished one is read.

Every task's run directory has the same layout:

    out/
      .textlstm-run    the marker: a directory is only ever cleared (--overwrite) if it holds one
      .lock            locked while a process trains in the directory
      config.json      every setting of the run, and its "task"
      vocab.json       the vocabulary
      metrics.json     one record per finished epoch and the checkpoints they left; at the end the
                       task's scores and "finished": true
      checkpoints/     epoch-N.weights.h5 (model and optimizer) of the last and of the best epoch,
                       removed when the run is finished
      best.keras       the model of the best epoch (`textlstm.load_model`)
      logs/            TensorBoard
      saved_model/     the SavedModel (or wherever --export says)

metrics.json is written (atomically) after each epoch's checkpoint, so it
always names complete checkpoints: a run killed at any moment continues
from the last epoch it recorded, with that epoch's optimizer state.
"""

import dataclasses
import fcntl
import functools
import os
import shutil

from textlstm.config import config_from
from textlstm.corpus.tokenizers import SUBWORD_MODEL_FILE
from textlstm.errors import UsageError
from textlstm.files import check_writable, read_json, write_json
from textlstm.vocab import VOCAB_FILE, Vocabulary

MARKER = ".textlstm-run"
LOCK_FILE = ".lock"
CONFIG_FILE = "config.json"
METRICS_FILE = "metrics.json"
CHECKPOINT_DIR = "checkpoints"
BEST_MODEL_FILE = "best.keras"
LOG_DIR = "logs"
EXPORT_DIR = "saved_model"
TASK_NAMES = {"lm": "a language-model", "summarize": "a summarization"}
# The keys of metrics.json that only matter while the run is unfinished.
CHECKPOINT_KEYS = ("checkpoint", "best_checkpoint", "stop")
# What a run writes; --overwrite removes these and nothing else.
RUN_FILES = (CONFIG_FILE, VOCAB_FILE, SUBWORD_MODEL_FILE, METRICS_FILE, CHECKPOINT_DIR, BEST_MODEL_FILE, LOG_DIR,
             EXPORT_DIR, MARKER)


def export_path(config):
    """Where the SavedModel of a run goes: --export, or saved_model/ in the run directory."""
    return config.export or os.path.join(config.out, EXPORT_DIR)


class RunDirectory:
    """A run directory of any task, for the trainer that writes it.

    Args:
        path: The directory (`--out`).

    Example:

    >>> RunDirectory("runs/lm").checkpoint_path(3)
    'runs/lm/checkpoints/epoch-3.weights.h5'
    """

    def __init__(self, path):
        self.path = path
        self._lock = None

    def file(self, name):
        return os.path.join(self.path, name)

    def checkpoint_path(self, epoch):
        return os.path.join(self.path, CHECKPOINT_DIR, f"epoch-{epoch}.weights.h5")

    def is_run(self):
        """True if the directory holds textlstm's marker."""
        return os.path.isfile(self.file(MARKER))

    def metrics(self):
        return read_json(self.file(METRICS_FILE)) or {"epochs": []}

    def check(self, config):
        """Raises `UsageError` if training into this directory (and config's export) could not work.

        Writes nothing: an --out that is a file, empty, read-only, or a
        non-empty directory that is not a textlstm run, and an --export that
        is a file or a directory of something else, are all found here.
        """
        if os.path.exists(self.path) and not os.path.isdir(self.path):
            raise UsageError(f"out {self.path} is a file, not a run directory")
        check_writable(self.path, "out")
        if os.path.isdir(self.path) and set(os.listdir(self.path)) - {LOCK_FILE} and not self.is_run():
            raise UsageError(f"out {self.path} is not empty and is not a textlstm run directory (it has no "
                             f"{MARKER} marker); choose another --out")
        check_export_path(export_path(config))

    def lock(self):
        """Creates the directory and takes its lock; refuses if another process holds it.

        The lock (`flock` on `.lock`) is released when the process ends, however it ends.
        """
        try:
            os.makedirs(self.path, exist_ok=True)
            handle = open(self.file(LOCK_FILE), "a+")
        except OSError as error:
            raise UsageError(f"cannot create run directory {self.path}: {error.strerror or error}") from None
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "another process"
            handle.close()
            raise UsageError(f"run directory {self.path} is in use by {holder}; wait for it to finish or "
                             "choose another --out") from None
        handle.seek(0)
        handle.truncate()
        handle.write(f"process {os.getpid()}\n")
        handle.flush()
        self._lock = handle
        return self

    def unlock(self):
        if self._lock is not None:
            self._lock.close()
            self._lock = None

    def begin(self, config, task):
        """Starts or continues a run of task with config; call with the lock held.

        A finished run is refused (or, with `config.overwrite`, cleared); an
        unfinished one continues if its settings are the same and is refused
        (or cleared) otherwise. Clearing removes only what a run writes.

        Returns:
            True if an unfinished run is being continued.
        """
        settings = {"task": task, **{key: value for key, value in dataclasses.asdict(config).items()
                                     if key != "overwrite"}}
        if self.is_run():
            previous = read_json(self.file(CONFIG_FILE)) or {}
            previous.pop("overwrite", None)
            changed = sorted(key for key in set(settings) | set(previous) if previous.get(key) != settings.get(key))
            if config.overwrite:
                self.clear()
            elif self.metrics().get("finished"):
                raise UsageError(f"run directory {self.path} already holds a finished run; "
                                 "pass --overwrite to replace it or choose another --out")
            elif changed:
                details = ", ".join(f"{key}: {previous.get(key)!r} -> {settings.get(key)!r}" for key in changed)
                raise UsageError(f"run directory {self.path} holds an unfinished run with other settings "
                                 f"({details}); repeat its command to continue it, or pass --overwrite")
        resume = self.is_run()
        write_json(self.file(MARKER), {"task": task})
        write_json(self.file(CONFIG_FILE), {"task": task, **dataclasses.asdict(config)})
        return resume

    def clear(self):
        """Removes what a run writes (`RUN_FILES`), nothing else."""
        for name in RUN_FILES:
            path = self.file(name)
            if os.path.isdir(path):
                shutil.rmtree(path)
            elif os.path.exists(path):
                os.remove(path)

    def training_done(self, config):
        """True once the recorded epochs reach `config.epochs` or early stopping ended training."""
        metrics = self.metrics()
        return bool(metrics.get("stop")) or len(metrics["epochs"]) >= config.epochs

    def restore(self, model):
        """Loads the last recorded checkpoint (weights and optimizer state) into model.

        Returns:
            The number of epochs it finished: fit's `initial_epoch`.
        """
        metrics = self.metrics()
        if not metrics.get("checkpoint"):
            return 0
        if model.optimizer is not None and not model.optimizer.built:
            model.optimizer.build(model.trainable_variables)
        model.load_weights(self.file(metrics["checkpoint"]))
        return len(metrics["epochs"])

    def save_best(self, model):
        """Loads the best epoch's checkpoint into model and writes it as best.keras; False if no epoch finished."""
        best = self.metrics().get("best_checkpoint")
        if not best:
            return False
        if model.optimizer is not None and not model.optimizer.built:
            model.optimizer.build(model.trainable_variables)
        model.load_weights(self.file(best))
        temporary = self.file(f"best.tmp-{os.getpid()}.keras")
        model.save(temporary)
        os.replace(temporary, self.file(BEST_MODEL_FILE))
        return True

    def finish(self, metrics):
        """Records the final metrics with `finished: true`, then removes the checkpoints (they are the run's own)."""
        recorded = {key: value for key, value in self.metrics().items() if key not in CHECKPOINT_KEYS}
        write_json(self.file(METRICS_FILE), {**recorded, **metrics, "finished": True})
        shutil.rmtree(self.file(CHECKPOINT_DIR), ignore_errors=True)


def check_export_path(path):
    """Raises `UsageError` if the SavedModel could not be written to path.

    path may not exist yet, be an empty directory or hold an earlier
    SavedModel (replaced only once the new one is complete); a file, a
    directory of something else or an unwritable place is refused.
    """
    check_writable(path, "export")
    if not os.path.exists(path):
        return
    if not os.path.isdir(path):
        raise UsageError(f"export {path} is a file, not a SavedModel directory")
    if os.listdir(path) and not os.path.exists(os.path.join(path, "saved_model.pb")):
        raise UsageError(f"export {path} is a non-empty directory that is not a SavedModel; refusing to replace it")


@dataclasses.dataclass
class Run:
    """A finished (or at least started) run, as `load_run` reads it.

    Attributes:
        path: The run directory.
        task: "lm" or "summarize".
        config: The task's config (`LMConfig` or `SummarizeConfig`).
        vocab: The `Vocabulary`.
        metrics: The contents of metrics.json.
    """

    path: str
    task: str
    config: object
    vocab: Vocabulary
    metrics: dict

    @functools.cached_property
    def export(self):
        """The run's SavedModel, loaded with `tf.saved_model.load`."""
        import tensorflow as tf

        path = export_path(dataclasses.replace(self.config, out=self.path))
        if not os.path.exists(os.path.join(path, "saved_model.pb")):
            raise UsageError(f"model {self.path} has no SavedModel at {path}; is the run finished?")
        return tf.saved_model.load(path)

    def load_model(self, compile=False):
        """The model of the best epoch (best.keras)."""
        import textlstm

        path = os.path.join(self.path, BEST_MODEL_FILE)
        if not os.path.exists(path):
            raise UsageError(f"model {self.path} has no {BEST_MODEL_FILE}; is the run finished?")
        return textlstm.load_model(path, compile=compile)

    def require(self, task, verb):
        """Raises `UsageError` if this run is not of task, naming what verb needs."""
        if self.task != task:
            raise UsageError(f"{verb} needs {TASK_NAMES[task]} run; model {self.path} is {TASK_NAMES[self.task]} run")


def load_run(path):
    """Reads a run directory: its task, config, vocabulary and metrics; the export loads on first use.

    Args:
        path: A run directory written by `train.py` (`--out`).

    Raises:
        UsageError: path is not a textlstm run directory.

    Example (with a finished run in runs/lm):

        run = load_run("runs/lm")
        run.task, run.config.units, len(run.vocab)
        run.export.signatures["serving_default"]
    """
    from textlstm.lm.config import LMConfig
    from textlstm.summarize.config import SummarizeConfig

    config_classes = {"lm": LMConfig, "summarize": SummarizeConfig}
    values = read_json(os.path.join(path, CONFIG_FILE)) if os.path.isdir(path) else None
    if values is None:
        raise UsageError(f"model {path} is not a run directory (no {CONFIG_FILE})")
    task = values.get("task")
    if task not in config_classes:
        raise UsageError(f"model {path} is not a textlstm run directory: its {CONFIG_FILE} names no task "
                         f"(one of {', '.join(config_classes)}); was it written by an older textlstm?")
    vocab = Vocabulary.load(os.path.join(path, VOCAB_FILE))
    metrics = read_json(os.path.join(path, METRICS_FILE)) or {}
    return Run(path=path, task=task, config=config_from(values, config_classes[task]), vocab=vocab, metrics=metrics)

