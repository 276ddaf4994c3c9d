"""Training on several devices: the same updates as one device, clipping after the sum, and bad settings.

Logical devices must be made before TensorFlow starts, so the runs on two
devices (and their one-device references) are subprocesses (`distributed.py`).
"""

import json
import os
import signal
import socket
import subprocess
import sys

import numpy as np
import pytest

import train
from conftest import assert_one_line_error
from fresh_process import run_python
from killed_runs import recorded_epochs, wait_for
from lm_corpus import REGULARIZED, UNREGULARIZED, as_flags, write_corpus
from summarize_data import write_sample

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
HELPER = os.path.join(REPO, "tests", "distributed.py")
LR, CLIP = 1.0, 0.01  # SGD with a global norm so low that every step is clipped
LM_FLAGS = ["--num-layers", "1", "--units", "8", "--embedding-dim", "8", "--bptt", "5", "--batch-size", "4",
            "--epochs", "1", "--seed", "3", "--optimizer", "sgd", "--lr", str(LR), "--global-clipnorm", str(CLIP),
            *as_flags(UNREGULARIZED)]  # Keras's fit, compared below, draws other masks


def run_helper(tmp_path, name, *arguments):
    """Runs distributed.py in a subprocess; returns what it recorded."""
    output = tmp_path / f"{name}.npz"
    completed = subprocess.run([sys.executable, HELPER, str(output), *arguments], cwd=REPO, capture_output=True,
                               text=True, env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2"))
    assert completed.returncode == 0, completed.stderr[-3000:]
    return dict(np.load(output))


def assert_same_training(one, two):
    np.testing.assert_allclose(two["losses"], one["losses"], rtol=1e-5)
    for key in one:
        if key.startswith(("first_", "last_")):
            np.testing.assert_allclose(two[key], one[key], rtol=1e-5, atol=1e-6, err_msg=key)


def largest_difference(a, b, when):
    return max(np.abs(a[key] - b[key]).max() for key in a if key.startswith(when))


def free_ports(count):
    sockets = [socket.socket() for _ in range(count)]
    for each in sockets:
        each.bind(("127.0.0.1", 0))
    ports = [each.getsockname()[1] for each in sockets]
    for each in sockets:
        each.close()
    return ports


@pytest.fixture(scope="module")
def lm_corpus(tmp_path_factory):
    return write_corpus(tmp_path_factory.mktemp("corpus"), train_lines=60, eval_lines=10)


@pytest.mark.slow
def test_two_devices_make_the_updates_of_one_device_and_clip_after_the_sum(lm_corpus, tmp_path):
    flags = ["--data", str(lm_corpus), *LM_FLAGS]
    one = run_helper(tmp_path, "one", "lm", *flags, "--out", str(tmp_path / "one"))
    two = run_helper(tmp_path, "two", "lm", *flags, "--out", str(tmp_path / "two"), "--strategy", "mirrored",
                     "--devices", "2")
    # Every step was clipped: with SGD each update's global norm is lr x the threshold.
    np.testing.assert_allclose(one["update_norms"], LR * CLIP, rtol=1e-3)
    np.testing.assert_allclose(two["update_norms"], LR * CLIP, rtol=1e-3)
    assert len(one["losses"]) > 10
    assert_same_training(one, two)

    # Keras's own fit does this first step the same way on one device, but not on two: it clips each
    # replica's gradients before summing them, so the update is up to twice as long.
    keras_one = run_helper(tmp_path, "keras_one", "keras-fit-lm", "1", *flags, "--out", str(tmp_path / "k1"))
    keras_two = run_helper(tmp_path, "keras_two", "keras-fit-lm", "2", *flags, "--out", str(tmp_path / "k2"))
    assert largest_difference(keras_one, one, "first_") < 1e-6
    assert keras_two["update_norms"][0] > 1.5 * LR * CLIP
    assert largest_difference(keras_two, one, "first_") > 100 * largest_difference(two, one, "first_")


@pytest.mark.slow
def test_the_summarizer_on_two_devices_makes_the_updates_of_one_device(tmp_path):
    data = write_sample(tmp_path / "data", train=24, valid=8, test=4)
    flags = ["--data", str(data), "--units", "8", "--embedding-dim", "8", "--batch-size", "8", "--epochs", "2",
             "--dropout", "0.3", "--weight-drop", "0.2", "--beam-size", "1", "--max-len", "4", "--seed", "3",
             "--optimizer", "sgd", "--lr", str(LR), "--global-clipnorm", str(CLIP)]
    one = run_helper(tmp_path, "one", "summarize", *flags, "--out", str(tmp_path / "one"))
    two = run_helper(tmp_path, "two", "summarize", *flags, "--out", str(tmp_path / "two"), "--strategy", "mirrored",
                     "--devices", "2")
    np.testing.assert_allclose(one["update_norms"], LR * CLIP, rtol=1e-3)
    assert_same_training(one, two)


@pytest.mark.slow  # about 5 s: a mirrored strategy started
def test_a_batch_that_does_not_split_over_the_replicas_is_refused(lm_corpus, tmp_path):
    completed = subprocess.run(
        [sys.executable, "train.py", "lm", "--data", str(lm_corpus), "--out", str(tmp_path / "run"), *LM_FLAGS,
         "--strategy", "mirrored", "--devices", "2", "--batch-size", "5"],
        cwd=REPO, capture_output=True, text=True, env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2"))
    assert completed.returncode == 2
    assert "error: batch-size must be a multiple of the 2 replicas" in completed.stderr
    assert "Traceback" not in completed.stderr and not (tmp_path / "run").exists()


def test_more_devices_than_the_machine_has_are_refused(lm_corpus, tmp_path, capsys):
    assert train.main(["lm", "--data", str(lm_corpus), "--out", str(tmp_path / "run"), *LM_FLAGS,
                       "--strategy", "mirrored", "--devices", "4096"]) == 2
    assert_one_line_error(capsys, "devices must be at most")
    assert not (tmp_path / "run").exists()


def test_devices_without_the_mirrored_strategy_are_refused(lm_corpus, tmp_path, capsys):
    assert train.main(["lm", "--data", str(lm_corpus), "--out", str(tmp_path / "run"), "--devices", "2"]) == 2
    assert_one_line_error(capsys, "devices is for --strategy mirrored")


@pytest.mark.parametrize("tf_config, expected", [
    (None, "strategy multiworker needs the TF_CONFIG environment variable"),
    ("{not json", "TF_CONFIG must be JSON with cluster.worker"),
    (json.dumps({"cluster": {"worker": ["127.0.0.1"]}, "task": {"type": "worker", "index": 0}}),
     "cluster.worker holds an invalid address '127.0.0.1': it must be host:port"),
    (json.dumps({"cluster": {"worker": []}, "task": {"type": "worker", "index": 0}}),
     "cluster.worker must be a non-empty list of host:port"),
    (json.dumps({"cluster": {"worker": ["127.0.0.1:2222"]}, "task": {"type": "worker", "index": 3}}),
     "task.index must be an integer in [0, 1)"),
    (json.dumps({"cluster": {"worker": ["127.0.0.1:2222"], "ps": ["127.0.0.1:2223"]},
                 "task": {"type": "ps", "index": 0}}), "names only workers"),
    (json.dumps({"cluster": {"worker": ["localhost:99999", "127.0.0.1:2223"]}, "task": {"type": "worker", "index": 0}}),
     "cluster.worker holds an invalid address 'localhost:99999': it must be host:port with a port in [1, 65535]"),
    (json.dumps({"cluster": {"worker": [":2222", "127.0.0.1:2223"]}, "task": {"type": "worker", "index": 1}}),
     "invalid address ':2222'"),
])
def test_a_malformed_tf_config_is_refused(lm_corpus, tmp_path, capsys, monkeypatch, tf_config, expected):
    if tf_config is None:
        monkeypatch.delenv("TF_CONFIG", raising=False)
    else:
        monkeypatch.setenv("TF_CONFIG", tf_config)
    assert train.main(["lm", "--data", str(lm_corpus), "--out", str(tmp_path / "run"), *LM_FLAGS,
                       "--strategy", "multiworker"]) == 2
    assert_one_line_error(capsys, expected)
    assert not (tmp_path / "run").exists()


def test_a_worker_whose_own_port_is_taken_is_refused_before_anything_starts(lm_corpus, tmp_path, capsys,
                                                                           monkeypatch):
    with socket.create_server(("127.0.0.1", 0)) as taken:
        workers = [f"127.0.0.1:{taken.getsockname()[1]}", "127.0.0.1:2223"]
        monkeypatch.setenv("TF_CONFIG", json.dumps({"cluster": {"worker": workers},
                                                    "task": {"type": "worker", "index": 0}}))
        assert train.main(["lm", "--data", str(lm_corpus), "--out", str(tmp_path / "run"), *LM_FLAGS,
                           "--strategy", "multiworker"]) == 2
    assert_one_line_error(capsys, f"worker 0 cannot listen at {workers[0]} of TF_CONFIG: Address already in use")
    assert not (tmp_path / "run").exists()


@pytest.mark.slow
def test_a_worker_that_cannot_reach_its_peers_stops_with_one_line_and_status_2(lm_corpus, tmp_path):
    workers = [f"127.0.0.1:{port}" for port in free_ports(2)]  # nothing listens on the second
    tf_config = {"cluster": {"worker": workers}, "task": {"type": "worker", "index": 0}}
    completed = run_python(["train.py", "lm", "--data", str(lm_corpus), "--out", str(tmp_path / "run"), *LM_FLAGS,
                            "--strategy", "multiworker"], TF_CONFIG=json.dumps(tf_config), TEXTLSTM_PEER_TIMEOUT="3")
    assert completed.returncode == 2 and completed.stderr.splitlines() == [
        f"error: worker 0 ({workers[0]}) could not reach the other workers of TF_CONFIG ({workers[1]}) within 3 s; "
        "start the same command on each of them (TEXTLSTM_PEER_TIMEOUT sets the wait)"], completed.stderr
    assert not (tmp_path / "run").exists()


@pytest.mark.slow
def test_a_worker_lost_during_training_is_one_line_naming_it(corpus, tmp_path):
    out, workers = tmp_path / "cluster", [f"127.0.0.1:{port}" for port in free_ports(2)]
    environment = {key: value for key, value in os.environ.items() if key != "TF_CPP_MIN_LOG_LEVEL"}

    def start(index):
        tf_config = {"cluster": {"worker": workers}, "task": {"type": "worker", "index": index}}
        return subprocess.Popen([sys.executable, "train.py", "lm", "--data", str(corpus), *LM_FLAGS, "--epochs", "20",
                                 "--out", str(out), "--strategy", "multiworker"], cwd=REPO, stdout=subprocess.DEVNULL,
                                stderr=subprocess.PIPE, text=True,
                                env={**environment, "TF_CONFIG": json.dumps(tf_config), "TEXTLSTM_PEER_TIMEOUT": "60"})

    chief, worker = start(0), start(1)
    wait_for(chief, lambda: recorded_epochs(out) >= 1, 300, "finished epoch")
    os.kill(worker.pid, signal.SIGKILL)
    worker.wait()
    _, errors = chief.communicate(timeout=300)
    assert chief.returncode == 2 and len(errors.splitlines()) == 1, errors
    assert errors.startswith("error: lost worker 1 of TF_CONFIG (") and errors.rstrip().endswith(
        "); start the same command on each worker again to continue the run"), errors


@pytest.mark.slow
def test_two_workers_killed_and_restarted_finish_the_run_that_one_process_makes(corpus, tmp_path):
    flags = ["lm", "--data", str(corpus), *LM_FLAGS, "--epochs", "4", "--global-clipnorm", "0.25", "--optimizer", "adam",
             "--lr", "0.003", *as_flags(REGULARIZED)]  # every mask must be the one process's, after a restart too
    assert train.main([*flags, "--out", str(tmp_path / "single")]) == 0
    single = json.loads((tmp_path / "single" / "metrics.json").read_text())

    out = tmp_path / "cluster"
    workers = [f"127.0.0.1:{port}" for port in free_ports(2)]

    def start(index):
        tf_config = {"cluster": {"worker": workers}, "task": {"type": "worker", "index": index}}
        return subprocess.Popen([sys.executable, "train.py", *flags, "--out", str(out), "--strategy", "multiworker"],
                                cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                                env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2", TF_CONFIG=json.dumps(tf_config),
                                         TEXTLSTM_PEER_TIMEOUT="120"))

    chief, worker = start(0), start(1)
    wait_for(chief, lambda: recorded_epochs(out) >= 1, 300, "finished epoch")
    os.kill(worker.pid, signal.SIGKILL)  # the chief now fails or waits for it: stop it as well
    os.kill(chief.pid, signal.SIGKILL)
    chief.wait(), worker.wait()
    assert 1 <= recorded_epochs(out) < 4
    assert not (out / "saved_model").exists()

    chief, worker = start(0), start(1)
    for process in (chief, worker):
        _, errors = process.communicate(timeout=600)
        assert process.returncode == 0, errors[-3000:]
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["finished"] and len(metrics["epochs"]) == len(single["epochs"])
    for key in ("valid_perplexity", "test_perplexity"):
        assert metrics[key] == pytest.approx(single[key], rel=1e-4)
    assert (out / "saved_model").exists()


@pytest.mark.parametrize("value", ["soon", "0", "-5", "nan"])
def test_a_peer_timeout_that_is_not_a_positive_number_is_refused(lm_corpus, tmp_path, capsys, monkeypatch, value):
    monkeypatch.setenv("TF_CONFIG", json.dumps({"cluster": {"worker": ["127.0.0.1:2222", "127.0.0.1:2223"]},
                                                "task": {"type": "worker", "index": 0}}))
    monkeypatch.setenv("TEXTLSTM_PEER_TIMEOUT", value)
    assert train.main(["lm", "--data", str(lm_corpus), "--out", str(tmp_path / "run"), *LM_FLAGS,
                       "--strategy", "multiworker"]) == 2
    assert_one_line_error(capsys, "TEXTLSTM_PEER_TIMEOUT must be a number of seconds above 0")
    assert not (tmp_path / "run").exists()
