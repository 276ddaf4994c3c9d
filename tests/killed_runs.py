"""Interrupting train.py runs: a real `kill -9` of a subprocess, or an exception raised from a callback."""

import os
import signal
import subprocess
import sys
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


class Interrupt(Exception):
    """Raised by a test callback to stop training as a crash would."""


def kill_after_first_backup(flags, out, timeout):
    """Runs `train.py flags` and kills it with SIGKILL once the backup of an epoch exists in out (or after timeout s)."""
    process = subprocess.Popen([sys.executable, os.path.join(REPO, "train.py"), *flags], cwd=REPO,
                               env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2"), stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
    metadata = out / "backup" / "training_metadata.json"
    deadline = time.time() + timeout
    while not metadata.exists() and process.poll() is None and time.time() < deadline:
        time.sleep(0.05)
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
