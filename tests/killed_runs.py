"""Interrupting train.py runs: a real `kill -9` of a subprocess, or an exception raised from a callback."""

import json
import os
import signal
import subprocess
import sys
import time

import keras

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


class Interrupt(Exception):
    """Raised by a test callback to stop training as a crash would."""


class InterruptAfterEpoch(keras.callbacks.Callback):
    """Stops training like a crash at the end of the given epoch (1-based), after the epoch was recorded."""

    def __init__(self, epoch):
        super().__init__()
        self.epoch = epoch

    def on_epoch_end(self, epoch, logs=None):
        if epoch + 1 == self.epoch:
            raise Interrupt()


def start_training(flags):
    """Starts `train.py flags` in a subprocess (output discarded); returns the `subprocess.Popen`."""
    return subprocess.Popen([sys.executable, os.path.join(REPO, "train.py"), *flags], cwd=REPO,
                            env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2"), stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)


def wait_for(process, condition, timeout, what):
    """Waits until condition() holds; fails the test if the process ends or timeout seconds pass first."""
    deadline = time.time() + timeout
    while not condition():
        if process.poll() is not None:
            raise AssertionError(f"train.py ended (status {process.returncode}) before {what}")
        if time.time() > deadline:
            process.kill()
            raise AssertionError(f"no {what} after {timeout} s")
        time.sleep(0.05)


def recorded_epochs(out):
    """The number of epochs metrics.json records (0 if it is not there yet)."""
    try:
        return len(json.loads((out / "metrics.json").read_text())["epochs"])
    except (OSError, ValueError, KeyError):
        return 0


def kill_after_first_epoch(flags, out, timeout):
    """Runs `train.py flags` and kills it with SIGKILL once metrics.json records a finished epoch."""
    process = start_training(flags)
    wait_for(process, lambda: recorded_epochs(out) >= 1, timeout, "finished epoch")
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
