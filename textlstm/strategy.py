"""The `tf.distribute` strategy of `--strategy none|mirrored|multiworker`, checked before anything trains.

    none         the default strategy: one device
    mirrored     `MirroredStrategy` over this machine's GPUs (the first
                 `--devices`), or without GPUs over `--devices` logical CPUs
    multiworker  `MultiWorkerMirroredStrategy` over the machines that the
                 `TF_CONFIG` environment variable names, one process each

A strategy must exist before TensorFlow runs its first op (logical devices
cannot be added after), so `make_strategy` comes first in a run.
"""

import json
import os
import subprocess
import sys

import tensorflow as tf

from textlstm.errors import UsageError

# How long a worker waits for the others of its TF_CONFIG cluster to answer.
PEER_TIMEOUT_VARIABLE = "TEXTLSTM_PEER_TIMEOUT"
DEFAULT_PEER_TIMEOUT = 300.0


def make_strategy(name, devices=0):
    """The strategy called name; raises `UsageError` for devices or a cluster that cannot be used.

    Args:
        name: "none", "mirrored" or "multiworker".
        devices: For "mirrored", how many devices (0: every GPU, or one CPU).

    Returns:
        A `tf.distribute.Strategy`.
    """
    if name == "none":
        return tf.distribute.get_strategy()
    if name == "mirrored":
        return tf.distribute.MirroredStrategy(_local_devices(devices))
    return _multiworker()


def _local_devices(count):
    gpus = tf.config.list_physical_devices("GPU")
    if gpus:
        if count > len(gpus):
            raise UsageError(f"devices must be at most the {len(gpus)} GPU(s) of this machine. "
                             f"Received: devices={count}")
        return [f"/gpu:{index}" for index in range(count or len(gpus))]
    count = count or 1
    cores = os.cpu_count() or 1
    if count > cores:
        raise UsageError(f"devices must be at most {cores} on this machine without GPUs (one logical device per "
                         f"CPU core). Received: devices={count}")
    cpu = tf.config.list_physical_devices("CPU")[0]
    try:
        tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * count)
    except RuntimeError:
        # TensorFlow already started in this process: its logical devices are fixed.
        if len(tf.config.list_logical_devices("CPU")) < count:
            raise UsageError(f"devices={count} splits the CPU, which must happen before TensorFlow starts; "
                             "run it in a new process") from None
    return [f"/cpu:{index}" for index in range(count)]


def read_tf_config():
    """The cluster and this worker's index from `TF_CONFIG`; raises `UsageError` naming what is wrong.

    Returns:
        (worker addresses, this worker's index).
    """
    text = os.environ.get("TF_CONFIG")
    if not text:
        raise UsageError("strategy multiworker needs the TF_CONFIG environment variable, such as "
                         '{"cluster": {"worker": ["host1:12345", "host2:12345"]}, "task": {"type": "worker", '
                         '"index": 0}}')
    try:
        settings = json.loads(text)
        workers = settings["cluster"]["worker"]
        kind, index = settings["task"]["type"], settings["task"]["index"]
    except (ValueError, KeyError, TypeError) as error:
        raise UsageError(f"TF_CONFIG must be JSON with cluster.worker (a list of host:port) and task.type / "
                         f"task.index; {type(error).__name__}: {error}. Received: TF_CONFIG={text!r}") from None
    if (not isinstance(workers, list) or not workers
            or not all(isinstance(address, str) and address.rpartition(":")[2].isdigit() for address in workers)):
        raise UsageError(f"TF_CONFIG's cluster.worker must be a non-empty list of host:port. Received: {workers!r}")
    if set(settings["cluster"]) != {"worker"} or kind != "worker":
        raise UsageError(f"TF_CONFIG for strategy multiworker names only workers (the first is the chief). "
                         f"Received: cluster {sorted(settings['cluster'])}, task type {kind!r}")
    if not isinstance(index, int) or not 0 <= index < len(workers):
        raise UsageError(f"TF_CONFIG's task.index must be an integer in [0, {len(workers)}). Received: {index!r}")
    return workers, index


# Run beside a worker while it waits for its peers: kills it with one line if the wait outlasts the timeout.
WATCHDOG = """
import os, signal, sys, time
parent, deadline = os.getppid(), time.monotonic() + float(sys.argv[1])
while time.monotonic() < deadline:
    time.sleep(0.2)
    if os.getppid() != parent:
        sys.exit(0)
sys.stderr.write(sys.argv[2] + "\\n")
os.kill(parent, signal.SIGKILL)
"""


def peer_timeout():
    """Seconds a worker waits for its peers: `$TEXTLSTM_PEER_TIMEOUT`, else 300; raises `UsageError` if not above 0."""
    text = os.environ.get(PEER_TIMEOUT_VARIABLE, str(DEFAULT_PEER_TIMEOUT))
    try:
        timeout = float(text)
    except ValueError:
        timeout = 0.0
    if not timeout > 0:  # also refuses nan
        raise UsageError(f"{PEER_TIMEOUT_VARIABLE} must be a number of seconds above 0. Received: {text!r}")
    return timeout


def _multiworker():
    workers, index = read_tf_config()
    timeout = peer_timeout()
    others = ", ".join(address for number, address in enumerate(workers) if number != index)
    message = (f"error: worker {index} ({workers[index]}) could not reach the other workers of TF_CONFIG "
               f"({others}) within {timeout:g} s; start the same command on each of them ({PEER_TIMEOUT_VARIABLE} "
               "sets the wait)")
    # The strategy waits for every worker without a limit, in TensorFlow's C++ code, holding the interpreter
    # and ignoring SIGTERM: only another process can end the wait.
    watchdog = subprocess.Popen([sys.executable, "-c", WATCHDOG, str(timeout), message])
    try:
        strategy = tf.distribute.MultiWorkerMirroredStrategy(
            communication_options=tf.distribute.experimental.CommunicationOptions(timeout_seconds=timeout))
    except tf.errors.OpError as error:
        raise UsageError(f"worker {index} could not start at {workers[index]}: {error.message}") from None
    finally:
        watchdog.kill()
        watchdog.wait()
    return strategy


def is_chief(strategy):
    """True for the process that writes the run directory: every single-machine run, and worker 0 of a cluster."""
    resolver = getattr(strategy, "cluster_resolver", None)
    return resolver is None or resolver.task_type is None or resolver.task_id == 0


def check_batch_size(strategy, batch_size):
    """Raises `UsageError` unless batch_size splits evenly over the strategy's replicas."""
    replicas = strategy.num_replicas_in_sync
    if batch_size % replicas:
        raise UsageError(f"batch-size must be a multiple of the {replicas} replicas, so that each takes the same "
                         f"share of a batch. Received: batch-size={batch_size}")
