"""The Keras callbacks of a training run: epoch checkpoints, resumed monitors, the non-finite guard, state resets."""

import math
import os
import time

import keras

from textlstm.errors import TrainingDiverged
from textlstm.files import write_json
from textlstm.run import CHECKPOINT_DIR, METRICS_FILE, best_epoch, checkpoint_name


def run_callbacks(run, monitor, monitors, history, train_tokens, hint):
    """The callbacks that make a run resumable, in the order they must run at the end of an epoch.

    First the guard against a non-finite loss; then `monitors` (plateau,
    early stopping: already earlier in the list, they get back their memory
    of the earlier epochs after a resume); then the epoch checkpoint, after
    any learning-rate change, so that a continued run starts from it; then
    TensorBoard.

    Args:
        run: The `RunDirectory`.
        monitor: The validation metric to minimise, such as "val_loss".
        monitors: The Keras callbacks that watch `monitor`.
        history: The earlier epochs' values of `monitor` (None where there was none).
        train_tokens: Training tokens per epoch, for the throughput in metrics.json.
        hint: What to try when the loss stops being finite, for the error message.
    """
    return [
        StopOnNonFinite(monitor, hint),
        RestoreMonitors(monitors, history),
        EpochCheckpoint(run, monitor, train_tokens),
        keras.callbacks.TensorBoard(run.file("logs"), write_graph=False),
    ]


class EpochCheckpoint(keras.callbacks.Callback):
    """Saves model and optimizer after every epoch, then records the epoch in metrics.json.

    The record holds the epoch's logs, its learning rate, its seconds and
    tokens per second, and the checkpoints of the last and of the best epoch
    (`checkpoint`, `best_checkpoint`) and whether training is to stop
    (`stop`, set by early stopping). Writing metrics.json is the last step,
    so it only ever names complete checkpoints; older checkpoint files are
    removed after it.

    Args:
        run: The `RunDirectory`.
        monitor: Log key to minimise, which picks the best epoch.
        tokens_per_epoch: Real training tokens in one epoch.
    """

    def __init__(self, run, monitor, tokens_per_epoch):
        super().__init__()
        self.run = run
        self.monitor = monitor
        self.tokens_per_epoch = tokens_per_epoch

    def on_epoch_begin(self, epoch, logs=None):
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
        self.run.save_checkpoint(self.model, epoch + 1)

        metrics = self.run.metrics()
        epochs = metrics["epochs"][:epoch] + [record]
        best = (best_epoch(epochs, self.monitor) or record)["epoch"]
        metrics.update(epochs=epochs, checkpoint=checkpoint_name(epoch + 1), best_checkpoint=checkpoint_name(best),
                       stop=bool(self.model.stop_training))
        write_json(self.run.file(METRICS_FILE), metrics)
        keep = {os.path.basename(checkpoint_name(number)) for number in (epoch + 1, best)}
        for name in os.listdir(self.run.file(CHECKPOINT_DIR)):
            if name.startswith("epoch-") and name.endswith(".weights.h5") and name not in keep:
                os.remove(self.run.file(os.path.join(CHECKPOINT_DIR, name)))


class RestoreMonitors(keras.callbacks.Callback):
    """After a resume, gives the plateau and early-stopping callbacks back their memory of earlier epochs.

    Keras's `ReduceLROnPlateau` and `EarlyStopping` forget their best value
    in `on_train_begin`; this callback, placed after them, sets `best` and
    `wait` from the history that metrics.json kept.

    Args:
        callbacks: The monitor callbacks to restore.
        history: Earlier values of the monitored quantity, one per epoch (None where it was not finite).
    """

    def __init__(self, callbacks, history):
        super().__init__()
        self.callbacks = callbacks
        self.history = [value for value in history if value is not None]

    def on_train_begin(self, logs=None):
        if not self.history:
            return
        best = min(self.history)
        wait = len(self.history) - 1 - self.history.index(best)
        for callback in self.callbacks:
            callback.best = best
            callback.wait = wait


class StopOnNonFinite(keras.callbacks.Callback):
    """Raises `TrainingDiverged` as soon as the training loss, or the monitored validation value, is nan or infinite.

    Raised before the epoch is recorded, so the run directory keeps only
    epochs that ended with finite numbers.

    Args:
        monitor: The validation log key to check at the end of an epoch.
        hint: What to try, appended to the message.
    """

    def __init__(self, monitor, hint):
        super().__init__()
        self.monitor = monitor
        self.hint = hint

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch = epoch

    def on_train_batch_end(self, batch, logs=None):
        loss = (logs or {}).get("loss")
        if loss is not None and not math.isfinite(float(loss)):
            raise TrainingDiverged(f"the training loss became {float(loss)} at epoch {self.epoch + 1}, "
                                   f"step {batch + 1}; {self.hint}")

    def on_epoch_end(self, epoch, logs=None):
        value = (logs or {}).get(self.monitor)
        if value is not None and not math.isfinite(float(value)):
            raise TrainingDiverged(f"{self.monitor} became {float(value)} at epoch {epoch + 1}; {self.hint}")


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
