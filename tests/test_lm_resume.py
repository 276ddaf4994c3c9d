import json
import os
import signal
import subprocess
import sys

import keras
import pytest

import train
from killed_runs import REPO, Interrupt, kill_after_first_epoch, start_training, wait_for
from lm_corpus import tiny_flags, write_corpus
from textlstm.lm.config import LMConfig
from textlstm.lm.train import train_language_model

@pytest.mark.slow
def test_a_killed_run_continues_from_its_last_epoch_with_its_learning_rate(tmp_path):
    data = tmp_path / "corpus"
    data.mkdir()
    write_corpus(data, train_lines=3000)
    out = tmp_path / "run"
    # A fixed schedule that halves the rate after every epoch, so each epoch's rate tells which epoch it is.
    flags = tiny_flags(data, out, "--epochs", "4", "--schedule", "fixed", "--decay-start", "1", "--lr-decay",
                       "0.5", "--lr", "0.01")
    kill_after_first_epoch(flags, out, timeout=240)
    first = json.loads((out / "metrics.json").read_text())
    done = len(first["epochs"])
    assert 1 <= done < 4 and not first.get("finished")

    assert train.main(flags) == 0
    metrics = json.loads((out / "metrics.json").read_text())
    assert [epoch["epoch"] for epoch in metrics["epochs"]] == [1, 2, 3, 4]
    assert metrics["epochs"][0] == first["epochs"][0]  # kept, not retrained
    rates = [epoch["learning_rate"] for epoch in metrics["epochs"]]
    assert rates == pytest.approx([0.01, 0.005, 0.0025, 0.00125])
    assert metrics["finished"]


def test_an_unfinished_run_with_other_settings_is_refused(corpus, tmp_path, capsys):
    data = corpus
    out = tmp_path / "run"
    config = LMConfig(data=str(data), out=str(out), num_layers=1, units=8, embedding_dim=8, bptt=5, batch_size=4,
                      epochs=2, dropout=0.0, seed=3)  # as tiny_flags
    with pytest.raises(Interrupt):
        train_language_model(config, verbose=0, callbacks=[InterruptNow()])
    before = (out / "config.json").read_text()
    assert train.main(tiny_flags(data, out, "--units", "6", "--embedding-dim", "6")) == 2
    assert "holds an unfinished run with other settings (embedding_dim: 8 -> 6, units: 8 -> 6)" in capsys.readouterr().err
    assert (out / "config.json").read_text() == before


@pytest.mark.slow
def test_an_unfinished_run_continues_with_more_epochs(corpus, tmp_path):
    out = tmp_path / "run"
    config = LMConfig(data=str(corpus), out=str(out), num_layers=1, units=8, embedding_dim=8, bptt=5, batch_size=4,
                      epochs=2, dropout=0.0, seed=3)  # as tiny_flags
    with pytest.raises(Interrupt):
        train_language_model(config, verbose=0, callbacks=[InterruptAtSecondEpoch()])
    first = json.loads((out / "metrics.json").read_text())["epochs"]
    assert len(first) == 1

    assert train.main(tiny_flags(corpus, out, "--epochs", "3")) == 0
    metrics = json.loads((out / "metrics.json").read_text())
    assert [epoch["epoch"] for epoch in metrics["epochs"]] == [1, 2, 3] and metrics["finished"]
    assert metrics["epochs"][0] == first[0]  # kept, not retrained
    assert json.loads((out / "config.json").read_text())["epochs"] == 3


class InterruptAtSecondEpoch(keras.callbacks.Callback):
    def on_epoch_begin(self, epoch, logs=None):
        if epoch == 1:
            raise Interrupt()


class InterruptNow(keras.callbacks.Callback):
    def on_train_batch_end(self, batch, logs=None):
        raise Interrupt()


class InterruptAtPlateau(keras.callbacks.Callback):
    """Stops training like a crash at the end of the first epoch that did not improve validation perplexity,
    after that epoch's backup, which holds the learning rate the plateau callback just divided, was written."""

    def __init__(self):
        super().__init__()
        self.best = float("inf")

    def on_epoch_end(self, epoch, logs=None):
        if logs["val_perplexity"] >= self.best:
            raise Interrupt()
        self.best = logs["val_perplexity"]


@pytest.mark.slow  # about 7 s: runs trained, interrupted and resumed
def test_resume_restores_the_plateau_learning_rate_from_the_optimizer_state(tmp_path):
    data = tmp_path / "corpus"
    data.mkdir()
    write_corpus(data, train_lines=150, eval_lines=20)
    # A learning rate so large that validation soon stops improving and the plateau schedule divides it.
    config = LMConfig(data=str(data), out=str(tmp_path / "run"), num_layers=1, units=8, embedding_dim=8, bptt=5,
                      batch_size=4, epochs=6, dropout=0.0, optimizer="sgd", lr=30.0, patience=0, seed=3)
    with pytest.raises(Interrupt):
        train_language_model(config, verbose=0, callbacks=[InterruptAtPlateau()])
    first = json.loads((tmp_path / "run" / "metrics.json").read_text())["epochs"]
    assert 2 <= len(first) < 6

    metrics = train_language_model(config, verbose=0)
    epochs = metrics["epochs"]
    assert [epoch["epoch"] for epoch in epochs] == [1, 2, 3, 4, 5, 6] and epochs[: len(first)] == first
    # The next epoch runs at the rate the killed run's optimizer held: the last epoch's, divided by 4.
    assert epochs[len(first)]["learning_rate"] == pytest.approx(first[-1]["learning_rate"] * 0.25)


@pytest.mark.slow
def test_a_run_killed_during_its_export_finishes_without_training_again(corpus, tmp_path):
    out = tmp_path / "run"
    flags = tiny_flags(corpus, out)
    process = start_training(flags)
    wait_for(process, lambda: out.exists() and any(name.startswith(".saved_model.partial-") for name in os.listdir(out)),
             240, "export under way")
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    trained = json.loads((out / "metrics.json").read_text())
    assert len(trained["epochs"]) == 2 and not trained.get("finished")

    assert train.main(flags) == 0
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["epochs"] == trained["epochs"] and metrics["finished"]
    assert sorted(os.listdir(out)) == [".lock", ".textlstm-run", "best.keras", "config.json", "logs", "metrics.json",
                                       "saved_model", "vocab.json"]


@pytest.mark.slow
def test_two_runs_started_at_once_on_one_directory_one_trains_the_other_is_refused(corpus, tmp_path):
    out = tmp_path / "run"
    processes = [subprocess.Popen([sys.executable, os.path.join(REPO, "train.py"), *tiny_flags(corpus, out)], cwd=REPO,
                                  stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True) for _ in range(2)]
    results = sorted((process.wait(timeout=300), process.stderr.read()) for process in processes)
    assert [status for status, _ in results] == [0, 2], results
    last_line = results[1][1].strip().splitlines()[-1]  # TensorFlow may log to stderr before it
    assert last_line.startswith("error: ") and "is in use by process" in last_line, results[1][1]
    assert "Traceback" not in results[1][1]
    assert json.loads((out / "metrics.json").read_text())["finished"]
