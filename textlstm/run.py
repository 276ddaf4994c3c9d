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
from the last epoch it recorded, with that epoch's optimizer state. Every
file is built in memory first (`textlstm.model_files`) and then written
with plain writes, so a full disk is one `OSError` and leaves the earlier
files as they were.

A run is where its directory is: config.json records the paths absolute,
`out` and `export` are not settings, so a moved or copied run directory
continues, and `runs/lm/` is `runs/lm`.
"""

import dataclasses
import functools
import math
import os
import shutil

from textlstm.config import check_field, config_from
from textlstm.corpus.tokenizers import SUBWORD_MODEL_FILE
from textlstm.errors import UsageError, first_line
from textlstm.files import check_writable, lock_file, read_json, write_atomically, write_json
from textlstm.model_files import checkpoint_problem, model_bytes, weights_bytes
from textlstm.tasks import TASKS
from textlstm.vocab import VOCAB_FILE, Vocabulary

MARKER = ".textlstm-run"
LOCK_FILE = ".lock"
CONFIG_FILE = "config.json"
METRICS_FILE = "metrics.json"
CHECKPOINT_DIR = "checkpoints"
BEST_MODEL_FILE = "best.keras"
LOG_DIR = "logs"
EXPORT_DIR = "saved_model"
# The keys of metrics.json that only matter while the run is unfinished.
CHECKPOINT_KEYS = ("checkpoint", "best_checkpoint", "stop")
# What a run writes; --overwrite removes these and nothing else.
RUN_FILES = (CONFIG_FILE, VOCAB_FILE, SUBWORD_MODEL_FILE, METRICS_FILE, CHECKPOINT_DIR, BEST_MODEL_FILE, LOG_DIR,
             EXPORT_DIR, MARKER)
# The config fields that are paths: config.json holds them absolute.
PATH_KEYS = ("data", "out", "export")
# The config fields that say where the run's files go, or how to start it, not what it trains.
NOT_SETTINGS = ("out", "export", "overwrite")
# The settings an unfinished run may continue with changed: where training stops. config.json records the new value.
CONTINUABLE = ("epochs",)


def export_path(config):
    """Where the SavedModel of a run goes: --export, or saved_model/ in the run directory."""
    return config.export or os.path.join(config.out, EXPORT_DIR)


def separate_export(config):
    """The --export of config if it is not the run directory's own saved_model/, else None."""
    if config.export and normalised_path(config.export) != normalised_path(os.path.join(config.out, EXPORT_DIR)):
        return config.export
    return None


def normalised_path(path):
    """path made absolute and normalised; a hub name (`hf:...`) and "" stay as they are.

    Example:

    >>> normalised_path("/runs/lm/") == normalised_path("/runs/./lm") == "/runs/lm"
    True
    """
    return path if not path or path.startswith("hf:") else os.path.abspath(path)


def recorded_settings(config, task):
    """What config.json holds for a run of task with config: every field, paths absolute, and the task.

    An --export that is the run directory's own saved_model/ is recorded as
    "" (the default), so that the run finds it wherever the directory moves.
    """
    values = {"task": task, **dataclasses.asdict(config), "export": separate_export(config) or ""}
    return {key: normalised_path(value) if key in PATH_KEYS else value for key, value in values.items()}


def _predated(values, config_class):
    """The fields a run's config.json values predate, with the value each stands for (`config_from`)."""
    try:
        filled = dataclasses.asdict(config_from(values, config_class))
    except (TypeError, ValueError):  # values that are not a config: the comparison names them
        return {}
    return {key: value for key, value in filled.items() if key not in values}


def checkpoint_name(epoch):
    """The checkpoint file of an epoch (1-based), relative to the run directory, as metrics.json names it."""
    return os.path.join(CHECKPOINT_DIR, f"epoch-{epoch}.weights.h5")


def best_epoch(epochs, monitor):
    """The record of the epoch with the lowest finite value of monitor (the first of equal ones), or None.

    Example:

    >>> epochs = [{"epoch": 1, "val_loss": 2.0}, {"epoch": 2, "val_loss": None}, {"epoch": 3, "val_loss": 1.5}]
    >>> best_epoch(epochs, "val_loss")["epoch"], best_epoch(epochs[:2], "loss")
    (3, None)
    """
    scored = [epoch for epoch in epochs if isinstance(epoch.get(monitor), (int, float))
              and math.isfinite(epoch[monitor])]
    return min(scored, key=lambda epoch: epoch[monitor]) if scored else None


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
        self._locks = []

    def file(self, name):
        return os.path.join(self.path, name)

    def checkpoint_path(self, epoch):
        return self.file(checkpoint_name(epoch))

    def is_run(self):
        """True if the directory holds textlstm's marker."""
        return os.path.isfile(self.file(MARKER))

    def metrics(self):
        """The contents of metrics.json; `{"epochs": []}` before the first epoch."""
        metrics = read_json(self.file(METRICS_FILE))
        if metrics is None:
            return {"epochs": []}
        if not isinstance(metrics, dict) or not isinstance(metrics.get("epochs"), list):
            raise UsageError(f"cannot read {self.file(METRICS_FILE)}: it holds no list of epochs")
        return metrics

    def check(self, config):
        """Raises `UsageError` if training into this directory (and config's export) could not work.

        Writes nothing: an --out that is a file, empty, read-only, or a
        non-empty directory that is not a textlstm run, and an --export that
        is a file, a directory of something else, the run directory, inside
        it (but its own saved_model/) or around it, are all found here.
        """
        if os.path.exists(self.path) and not os.path.isdir(self.path):
            raise UsageError(f"out {self.path} is a file, not a run directory")
        check_writable(self.path, "out")
        if os.path.isdir(self.path) and set(os.listdir(self.path)) - {LOCK_FILE} and not self.is_run():
            raise UsageError(f"out {self.path} is not empty and is not a textlstm run directory (it has no "
                             f"{MARKER} marker); choose another --out")
        export = separate_export(config)
        if export:
            out, inside = os.path.realpath(self.path), os.path.realpath(export)
            way_out = f"choose an --export outside it, or none for {os.path.join(self.path, EXPORT_DIR)}"
            if inside == out:
                raise UsageError(f"export {export} is the run directory --out; {way_out}")
            if os.path.commonpath([out, inside]) == out:
                raise UsageError(f"export {export} is inside the run directory {self.path}; {way_out}")
            if os.path.commonpath([out, inside]) == inside:
                raise UsageError(f"export {export} holds the run directory {self.path}, which replacing it "
                                 "would delete; choose another --export")
        check_export_path(export_path(config))

    def lock(self, export=None):
        """Creates the directory and takes its lock, and export's lock if given; refuses if another process holds one.

        The locks (`flock` on `.lock`, and on `.NAME.lock` beside an export
        NAME) are released by `unlock` or when the process ends, however it ends.

        Args:
            export: A SavedModel directory outside the run directory (`separate_export`), or None.
        """
        try:
            os.makedirs(self.path, exist_ok=True)
            self._locks.append(lock_file(self.file(LOCK_FILE), f"run directory {self.path} is in use by {{holder}}; "
                                                               "wait for it to finish or choose another --out"))
            if export:
                parent, name = os.path.split(os.path.abspath(export))
                os.makedirs(parent, exist_ok=True)
                self._locks.append(lock_file(os.path.join(parent, f".{name}.lock"),
                                             f"export {export} is in use by {{holder}}, a run with the same "
                                             "--export; wait for it to finish or choose another --export"))
        except OSError as error:
            self.unlock()
            raise UsageError(f"cannot lock {error.filename or self.path}: {error.strerror or error}") from None
        except UsageError:
            self.unlock()
            raise
        return self

    def unlock(self):
        while self._locks:
            self._locks.pop().close()

    def begin(self, config, task, vocab, log=print):
        """Starts, continues or replaces the run in this directory; call with the lock held.

        An unfinished run with the same settings continues (even with
        `config.overwrite`: the overwrite happened when that run began), from
        its last checkpoint, or from its best epoch's when the last one cannot
        be read (with a note to log). Any other run is refused, naming why
        and the way out, or with `config.overwrite` cleared (only what a run
        writes): a finished run, other settings, other data (its vocabulary
        differs from vocab.json), files that cannot be read.

        Args:
            config: The task's config.
            task: The task's name, recorded in config.json.
            vocab: The vocabulary built from the data now.
            log: Called with a one-line note.

        Returns:
            True if an unfinished run is being continued.
        """
        if self.is_run():
            refusal = self._refusal(config, task, vocab, log)
            if refusal and not config.overwrite:
                raise UsageError(refusal)
            if refusal:
                self.clear()
        resume = self.is_run()
        write_json(self.file(MARKER), {"task": task})
        write_json(self.file(CONFIG_FILE), recorded_settings(config, task))
        vocab.save(self.file(VOCAB_FILE))
        return resume

    def _refusal(self, config, task, vocab, log):
        """Why the run in this directory cannot be continued with config (and the way out), or None if it can."""
        again = "pass --overwrite to start the run again"
        try:
            previous, metrics = read_json(self.file(CONFIG_FILE)), self.metrics()
            if previous is not None and not isinstance(previous, dict):
                raise UsageError(f"cannot read {self.file(CONFIG_FILE)}: it holds no settings")
        except UsageError as error:
            return f"{error}; {again}"
        if metrics.get("finished"):
            return (f"run directory {self.path} already holds a finished run; pass --overwrite to replace it or "
                    "choose another --out")
        if previous is None:
            return f"run directory {self.path} has no {CONFIG_FILE}; {again}" if metrics["epochs"] else None
        settings = recorded_settings(config, task)
        previous = {**_predated(previous, type(config)), **previous}
        previous = {key: normalised_path(value) if key in PATH_KEYS and isinstance(value, str) else value
                    for key, value in previous.items()}
        changed = sorted(key for key in set(settings) | set(previous)
                         if key not in NOT_SETTINGS + CONTINUABLE and previous.get(key) != settings.get(key))
        if changed:
            details = ", ".join(f"{key}: {previous.get(key)!r} -> {settings.get(key)!r}" for key in changed)
            return (f"run directory {self.path} holds an unfinished run with other settings ({details}); "
                    "repeat its command to continue it, or pass --overwrite")
        if os.path.exists(self.file(VOCAB_FILE)):
            try:
                recorded = Vocabulary.load(self.file(VOCAB_FILE)).tokens
            except UsageError as error:
                return f"{error}; {again}"
            if recorded != vocab.tokens:
                return (f"the data changed since the run in {self.path} began: its vocabulary is not the run's "
                        f"{VOCAB_FILE}; give the run its own data again, or {again} on this data")
        return self._checkpoint_refusal(metrics, log)

    def _checkpoint_refusal(self, metrics, log):
        """Why the recorded checkpoints cannot continue the run, or None; falls back to the best epoch's if need be."""
        last, best = metrics.get("checkpoint"), metrics.get("best_checkpoint")
        problems = {name: checkpoint_problem(self.file(name)) for name in {last, best} if name}
        broken = {name: problem for name, problem in problems.items() if problem}
        if not broken:
            return None
        kept = next((number for number in range(1, len(metrics["epochs"]) + 1) if checkpoint_name(number) == best),
                    None)
        if last in broken and best not in broken and kept:
            metrics.update(epochs=metrics["epochs"][:kept], checkpoint=best, stop=False)
            write_json(self.file(METRICS_FILE), metrics)
            if os.path.exists(self.file(last)):
                os.remove(self.file(last))
            log(f"note: checkpoint {self.file(last)} cannot be read ({broken[last]}); continuing from epoch {kept}, "
                "the best one, whose checkpoint is intact")
            return None
        name = last if last in broken else best
        return f"checkpoint {self.file(name)} cannot be read ({broken[name]}); pass --overwrite to start the run again"

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

    def save_checkpoint(self, model, epoch):
        """Writes the checkpoint of epoch (1-based): model's weights and optimizer state."""
        write_atomically(self.checkpoint_path(epoch), weights_bytes(model))

    def restore(self, model):
        """Loads the last recorded checkpoint (weights and optimizer state) into model.

        Returns:
            The number of epochs it finished: fit's `initial_epoch`.
        """
        metrics = self.metrics()
        if not metrics.get("checkpoint"):
            return 0
        self._load(model, metrics["checkpoint"])
        return len(metrics["epochs"])

    def save_best(self, model):
        """Loads the best epoch's checkpoint into model and writes it as best.keras; False if no epoch finished."""
        best = self.metrics().get("best_checkpoint")
        if not best:
            return False
        self._load(model, best)
        write_atomically(self.file(BEST_MODEL_FILE), model_bytes(model))
        return True

    def _load(self, model, name):
        if model.optimizer is not None and not model.optimizer.built:
            model.optimizer.build(model.trainable_variables)
        try:
            model.load_weights(self.file(name))
        except Exception as error:  # Keras and h5py raise many types for a file they cannot load
            raise UsageError(f"cannot load checkpoint {self.file(name)} ({first_line(error)}); pass --overwrite "
                             "to start the run again") from None

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
        """The run's SavedModel, loaded with `tf.saved_model.load` (a subword model's after `import tensorflow_text`)."""
        import tensorflow as tf

        path = export_path(dataclasses.replace(self.config, out=self.path))
        if not os.path.exists(os.path.join(path, "saved_model.pb")):
            raise UsageError(f"model {self.path} has no SavedModel at {path}; is the run finished?")
        if self.config.level == "subword":
            import tensorflow_text  # noqa: F401  (registers the SentencePiece op the graph holds)
        return tf.saved_model.load(path)

    @functools.cached_property
    def tokenizer(self):
        """The tokenizer the run was trained with (its task's `tokenizer`: a subword model from the run directory)."""
        return TASKS[self.task].load().tokenizer(self.config.level, self.path)

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
            raise UsageError(f"{verb} needs {TASKS[task].kind} run; model {self.path} is {TASKS[self.task].kind} run")


def load_run(path):
    """Reads a run directory: its task, config, vocabulary and metrics; the export loads on first use.

    Args:
        path: A run directory written by `train.py` (`--out`).

    Raises:
        UsageError: path is not a textlstm run directory, or a value of its
            config.json is not of its setting's type or range (the message names it).

    Example (with a finished run in runs/lm):

        run = load_run("runs/lm")
        run.task, run.config.units, len(run.vocab)
        run.export.signatures["serving_default"]
    """
    config_path = os.path.join(path, CONFIG_FILE)
    values = read_json(config_path) if os.path.isdir(path) else None
    if values is None:
        raise UsageError(f"model {path} is not a run directory (no {CONFIG_FILE})")
    task = values.get("task") if isinstance(values, dict) else None
    if not isinstance(task, str) or task not in TASKS:
        raise UsageError(f"model {path} is not a textlstm run directory: its {CONFIG_FILE} names no task "
                         f"(one of {', '.join(TASKS)}); was it written by an older textlstm?")
    config = config_from(values, TASKS[task].load().config_class)
    try:
        for field in dataclasses.fields(config):
            check_field(field, getattr(config, field.name), name=field.name)
        config.validate()
    except UsageError as error:
        raise UsageError(f"{config_path} holds a bad setting: {error}; correct it or train the run again") from None
    vocab = Vocabulary.load(os.path.join(path, VOCAB_FILE))
    metrics = read_json(os.path.join(path, METRICS_FILE)) or {}
    return Run(path=path, task=task, config=config, vocab=vocab, metrics=metrics)
