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
import re
import socket
import subprocess
import sys
import time

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
    if not isinstance(workers, list) or not workers or not all(isinstance(address, str) for address in workers):
        raise UsageError(f"TF_CONFIG's cluster.worker must be a non-empty list of host:port. Received: {workers!r}")
    for address in workers:
        host, _, port = address.rpartition(":")
        if not host or not port.isdigit() or not 1 <= int(port) <= 65535:
            raise UsageError(f"TF_CONFIG's cluster.worker holds an invalid address {address!r}: it must be host:port "
                             "with a port in [1, 65535]")
    if set(settings["cluster"]) != {"worker"} or kind != "worker":
        raise UsageError(f"TF_CONFIG for strategy multiworker names only workers (the first is the chief). "
                         f"Received: cluster {sorted(settings['cluster'])}, task type {kind!r}")
    if not isinstance(index, int) or not 0 <= index < len(workers):
        raise UsageError(f"TF_CONFIG's task.index must be an integer in [0, {len(workers)}). Received: {index!r}")
    return workers, index


# Run beside a worker while TensorFlow connects it to its peers, which were all reachable a moment before:
# kills it with one line if one of them went away and the connection outlasts the timeout.
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
    unreachable = wait_for_peers(workers, index, timeout)
    others = ", ".join(unreachable or [address for number, address in enumerate(workers) if number != index])
    message = (f"worker {index} ({workers[index]}) could not reach the other workers of TF_CONFIG ({others}) "
               f"within {timeout:g} s; start the same command on each of them ({PEER_TIMEOUT_VARIABLE} sets the wait)")
    if unreachable:
        raise UsageError(message)
    # The strategy waits for every worker without a limit, in TensorFlow's C++ code, holding the interpreter
    # and ignoring SIGTERM: only another process can end the wait.
    watchdog = subprocess.Popen([sys.executable, "-c", WATCHDOG, str(timeout), f"error: {message}"])
    try:
        strategy = tf.distribute.MultiWorkerMirroredStrategy(
            communication_options=tf.distribute.experimental.CommunicationOptions(timeout_seconds=timeout))
    except tf.errors.OpError as error:
        raise UsageError(f"worker {index} could not start at {workers[index]}: {error.message}") from None
    finally:
        watchdog.kill()
        watchdog.wait()
    return strategy


def wait_for_peers(workers, index, timeout):
    """Listens at this worker's port and connects to the others' until each has answered once, or timeout.

    Each worker of a cluster starting at the same time does the same, so
    every one of them finds the others here, where a wait can end with one
    line, rather than inside TensorFlow's connection, which waits without
    a limit (a peer that is already training answers on its TensorFlow port).

    Args:
        workers: The addresses (host:port) of TF_CONFIG.
        index: This worker's.
        timeout: Seconds to wait.

    Returns:
        The addresses that never answered; empty when all did.

    Raises:
        UsageError: This worker's port cannot be listened at (another process holds it).
    """
    port = int(workers[index].rpartition(":")[2])
    dual_stack = socket.has_dualstack_ipv6()
    try:
        listener = socket.create_server(("", port), family=socket.AF_INET6 if dual_stack else socket.AF_INET,
                                        dualstack_ipv6=dual_stack)
    except OSError as error:
        reason = os.strerror(error.errno) if error.errno else str(error)
        raise UsageError(f"worker {index} cannot listen at {workers[index]} of TF_CONFIG: {reason}") from None
    waiting = [address for number, address in enumerate(workers) if number != index]
    deadline = time.monotonic() + timeout
    with listener:
        listener.settimeout(0.2)
        while waiting and time.monotonic() < deadline:
            waiting = [address for address in waiting if not _answers(address)]
            try:
                listener.accept()[0].close()  # the others' probes, so that they never fill the queue
            except (TimeoutError, OSError):
                pass
    return waiting


def _answers(address):
    host, _, port = address.rpartition(":")
    try:
        socket.create_connection((host.strip("[]"), int(port)), timeout=1).close()
        return True
    except OSError:
        return False


def lost_peer_message(error, strategy=None):
    """One line for a collective operation that failed because a worker went away: which one and why.

    Args:
        error: The `tf.errors.UnavailableError` or `DeadlineExceededError`.
        strategy: The strategy it ran under, so that this worker's own index is not taken for the lost one.

    Example:

    >>> error = tf.errors.UnavailableError(None, None, "Graph execution error:\\n\\nCollective ops is aborted by: "
    ...     "recvmsg:Connection reset by peer\\nAdditional GRPC error information from remote target "
    ...     "/job:worker/replica:0/task:1 while calling /tensorflow.WorkerService/RecvBuf:")
    >>> lost_peer_message(error).split(";")[0]
    'lost worker 1 of TF_CONFIG (recvmsg:Connection reset by peer)'
    """
    text = error.message
    own = getattr(getattr(strategy, "cluster_resolver", None), "task_id", None)
    peers = [index for index in re.findall(r"/job:worker/(?:replica:\d+/)?task:(\d+)", text) if index != str(own)]
    reason = re.search(r"aborted by: (.+)", text) or re.search(r'grpc_message:"([^"]+)"', text)
    lines = [line for line in text.splitlines() if line.strip() and not line.endswith(":")]
    reason = reason.group(1).rstrip(":") if reason else (lines or [type(error).__name__])[0]
    return (f"lost {f'worker {peers[0]}' if peers else 'the other workers'} of TF_CONFIG ({reason}); "
            "start the same command on each worker again to continue the run")


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
