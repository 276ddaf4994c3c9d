"""The run directory: what --overwrite may delete, checks before anything is written, resume, lock, divergence."""

import json
import os
import shutil
import subprocess
import sys

import keras
import numpy as np
import pytest

import textlstm
import train
from conftest import assert_one_line_error
from killed_runs import REPO, Interrupt, InterruptAfterEpoch
from lm_corpus import REGULARIZED, tiny_flags
from textlstm import export as export_module
from textlstm.callbacks import StopOnNonFinite
from textlstm.errors import TrainingDiverged
from textlstm.files import write_json
from textlstm.__main__ import main as use_main
from textlstm.lm.config import LMConfig
from textlstm.lm.train import train_language_model
from textlstm.run import RunDirectory, recorded_settings, separate_export


def strict_json(path):
    """The JSON in path, refusing NaN and Infinity (which Python's json reads by default)."""
    def refuse(constant):
        raise ValueError(f"{path} holds {constant}, which is not JSON")
    return json.loads(path.read_text(), parse_constant=refuse)


def test_overwrite_never_deletes_a_directory_that_is_not_a_run(corpus, tmp_path, capsys):
    out = tmp_path / "x"
    (out / "src").mkdir(parents=True)
    (out / "config.json").write_text("{}")
    (out / "src" / "code.py").write_text("keep")
    assert train.main(tiny_flags(corpus, out, "--overwrite")) == 2
    assert_one_line_error(capsys, "is not a textlstm run directory")
    assert train.main(tiny_flags(corpus, out)) == 2
    message = capsys.readouterr().err
    assert "not a textlstm run directory" in message and "unfinished" not in message and "--overwrite" not in message
    assert (out / "src" / "code.py").read_text() == "keep" and sorted(os.listdir(out)) == ["config.json", "src"]


@pytest.mark.slow
def test_overwrite_removes_only_what_a_run_wrote(corpus, tmp_path):
    out = tmp_path / "run"
    assert train.main(tiny_flags(corpus, out, "--epochs", "1")) == 0
    (out / "notes.txt").write_text("mine")
    assert train.main(tiny_flags(corpus, out, "--epochs", "1", "--overwrite")) == 0
    assert (out / "notes.txt").read_text() == "mine"
    assert strict_json(out / "metrics.json")["finished"]


@pytest.mark.parametrize("flag, value, message", [
    ("--seed", "-1", "seed must be an integer >= 0. Received: seed=-1"),
    ("--seed", str(2**32), "seed must be an integer <= 4294967295"),
    ("--lr", "nan", "lr must be a finite number"),
    ("--lr", "inf", "lr must be a finite number"),
    ("--dropout", "1", "dropout must be in [0, 1)"),
])
def test_bad_settings_are_refused_before_anything_is_written(corpus, tmp_path, capsys, flag, value, message):
    out = tmp_path / "run"
    assert train.main(tiny_flags(corpus, out, flag, value)) == 2
    assert_one_line_error(capsys, message)
    assert not out.exists()


def test_out_and_export_that_cannot_be_written_are_refused_before_training(corpus, tmp_path, capsys):
    (tmp_path / "some_file").write_text("x")
    cases = [
        (["--out", ""], "out must not be empty"),
        (["--out", str(tmp_path / "some_file" / "run")], "some_file is a file, not a directory"),
        (["--out", str(tmp_path / "some_file")], "is a file, not a run directory"),
        (["--out", "/proc/textlstm-test/run"], "out /proc/textlstm-test/run is not writable"),
        (["--export", "/proc/textlstm-test/export"], "export /proc/textlstm-test/export is not writable"),
        (["--export", str(tmp_path / "some_file")], "is a file, not a SavedModel directory"),
    ]
    for flags, message in cases:
        arguments = tiny_flags(corpus, tmp_path / "run") + flags
        assert train.main(arguments) == 2, flags
        assert_one_line_error(capsys, message)
        assert not (tmp_path / "run").exists()


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only directories")
def test_a_read_only_out_is_refused(corpus, tmp_path, capsys):
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o555)
    assert train.main(tiny_flags(corpus, locked / "run")) == 2
    assert_one_line_error(capsys, "is not writable")


@pytest.mark.slow  # about 7 s: two runs trained
def test_clipnorm_alone_turns_the_global_default_off(corpus, tmp_path, capsys):
    assert LMConfig().global_clipnorm == 0.25 and LMConfig(clipnorm=1.0).global_clipnorm == 0.0
    out = tmp_path / "run"
    assert train.main(tiny_flags(corpus, out, "--epochs", "1", "--clipnorm", "1")) == 0
    config = json.loads((out / "config.json").read_text())
    assert (config["clipnorm"], config["global_clipnorm"]) == (1.0, 0.0)
    assert train.main(tiny_flags(corpus, tmp_path / "other", "--clipnorm", "1", "--global-clipnorm", "2")) == 2
    assert_one_line_error(capsys, "use clipnorm or global-clipnorm, not both")


@pytest.mark.slow
def test_a_second_process_on_the_same_run_directory_is_refused(corpus, tmp_path, capsys):
    out = tmp_path / "run"
    holder = subprocess.Popen(
        [sys.executable, "-c", "import sys; from textlstm.run import RunDirectory; run = RunDirectory(sys.argv[1]).lock(); "
         "print('locked', flush=True); sys.stdin.read()", str(out)],
        cwd=REPO, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "locked"
        assert train.main(tiny_flags(corpus, out)) == 2
        assert_one_line_error(capsys, f"is in use by process {holder.pid}")
        assert sorted(os.listdir(out)) == [".lock"]
    finally:
        holder.communicate("")
    assert train.main(tiny_flags(corpus, out, "--epochs", "1")) == 0  # the lock went with the process


def test_a_diverging_run_stops_with_one_line(corpus, tmp_path, capsys):
    # SGD at 1e12 without clipping: the validation perplexity overflows in the first epoch.
    out = tmp_path / "run"
    flags = tiny_flags(corpus, out, "--optimizer", "sgd", "--lr", "1e12", "--global-clipnorm", "0", "--epochs", "3")
    assert train.main(flags) == 1
    assert_one_line_error(capsys, "became inf at epoch 1")
    assert not (out / "metrics.json").exists()  # no epoch ended with finite numbers


class Diverge(keras.callbacks.Callback):
    """Makes the second epoch diverge: SGD at a learning rate of 1e12."""

    def on_epoch_begin(self, epoch, logs=None):
        if epoch == 1:
            self.model.optimizer.learning_rate.assign(1e12)


def test_divergence_keeps_the_finished_epochs_and_the_best_model(corpus, tmp_path):
    config = LMConfig(data=str(corpus), out=str(tmp_path / "run"), num_layers=1, units=8, embedding_dim=8, bptt=5,
                      batch_size=4, epochs=3, dropout=0.0, optimizer="sgd", lr=1.0, global_clipnorm=0.0, seed=3)
    with pytest.raises(TrainingDiverged, match="at epoch 2"):
        train_language_model(config, verbose=0, callbacks=[Diverge()])
    metrics = strict_json(tmp_path / "run" / "metrics.json")
    assert [epoch["epoch"] for epoch in metrics["epochs"]] == [1] and not metrics.get("finished")
    best = textlstm.load_model(tmp_path / "run" / "best.keras")
    assert all(np.isfinite(weight).all() for weight in best.get_weights())


def test_a_nan_training_loss_is_reported_with_its_epoch_and_step():
    guard = StopOnNonFinite("val_loss", "lower --lr")
    guard.on_epoch_begin(2)
    guard.on_train_batch_end(6, {"loss": 2.5})
    with pytest.raises(TrainingDiverged, match="the training loss became nan at epoch 3, step 8; lower --lr"):
        guard.on_train_batch_end(7, {"loss": float("nan")})


def test_metrics_json_writes_non_finite_values_as_null_with_a_note(tmp_path):
    write_json(tmp_path / "metrics.json", {"loss": float("nan"), "epochs": [{"val": float("inf")}, {"val": 1.5}]})
    metrics = strict_json(tmp_path / "metrics.json")
    assert metrics["loss"] is None and [epoch["val"] for epoch in metrics["epochs"]] == [None, 1.5]
    assert "not a finite number" in metrics["note"]


def plateau_config(corpus, out):
    # A learning rate so large that validation soon stops improving and the plateau schedule divides it; every
    # regularizer on, so that a resumed run must draw the masks an uninterrupted one draws.
    return LMConfig(data=str(corpus), out=str(out), num_layers=1, units=8, embedding_dim=8, bptt=5, batch_size=4,
                    epochs=5, optimizer="sgd", lr=30.0, patience=0, seed=3, **REGULARIZED)


def history(metrics):
    return [(epoch["learning_rate"], round(epoch["val_perplexity"], 3)) for epoch in metrics["epochs"]]


@pytest.mark.slow
def test_an_interrupted_run_makes_the_same_epochs_as_an_uninterrupted_one(corpus, tmp_path):
    whole = train_language_model(plateau_config(corpus, tmp_path / "whole"), verbose=0)
    assert len({rate for rate, _ in history(whole)}) > 1  # the plateau schedule did divide the rate
    config = plateau_config(corpus, tmp_path / "cut")
    with pytest.raises(Interrupt):
        train_language_model(config, verbose=0, callbacks=[InterruptAfterEpoch(3)])
    first = json.loads((tmp_path / "cut" / "metrics.json").read_text())["epochs"]
    resumed = train_language_model(config, verbose=0)
    assert resumed["epochs"][:3] == first  # kept, not retrained
    assert history(resumed) == history(whole)


@pytest.mark.slow
def test_a_run_interrupted_during_export_finishes_without_training_again(corpus, tmp_path, monkeypatch):
    config = plateau_config(corpus, tmp_path / "run")

    def interrupted(temporary, path):
        raise Interrupt()

    with monkeypatch.context() as patch:
        patch.setattr(export_module, "replace_directory", interrupted)
        with pytest.raises(Interrupt):
            train_language_model(config, verbose=0)
    partial = [name for name in os.listdir(tmp_path / "run") if name.startswith(".saved_model.partial-")]
    assert partial  # what the interrupted export left
    trained = json.loads((tmp_path / "run" / "metrics.json").read_text())["epochs"]
    metrics = train_language_model(config, verbose=0)
    assert metrics["epochs"] == trained and metrics["finished"]
    names = os.listdir(tmp_path / "run")
    assert not [name for name in names if "partial" in name or ".tmp-" in name or ".old-" in name], names
    assert "checkpoints" not in names and "saved_model" in names


@pytest.mark.parametrize("out, export", [
    ("run", "run"),
    ("run", "run/model"),
    ("run", "run/saved_model/../logs"),
    ("exports/run", "exports"),  # replacing the export would delete the run
])
def test_an_export_in_or_around_the_run_directory_is_refused_before_anything_is_written(corpus, tmp_path, capsys,
                                                                                         out, export):
    assert train.main(tiny_flags(corpus, tmp_path / out, "--export", str(tmp_path / export))) == 2
    message = capsys.readouterr().err
    assert message.startswith("error: export ") and "Traceback" not in message and len(message.splitlines()) == 1
    assert sorted(os.listdir(tmp_path)) == ["corpus"]


def test_the_run_directory_own_saved_model_may_be_given_as_export(tmp_path):
    out = tmp_path / "run"
    config = LMConfig(out=str(out), export=str(out / "saved_model" / "."))
    RunDirectory(str(out)).check(config)  # no error
    assert separate_export(config) is None  # the run's own lock covers it
    assert recorded_settings(config, "lm")["export"] == ""  # found wherever the run directory moves


@pytest.mark.parametrize("key, value, message", [
    ("units", "abc", "units must be an integer. Received: units='abc'"),
    ("max_vocab", 1.5, "max_vocab must be an integer. Received: max_vocab=1.5"),
    ("copy", "yes", "copy must be true or false. Received: copy='yes'"),
    ("dropout", 2, "dropout must be in [0, 1). Received: dropout=2"),
    ("attention", "dot", "attention must be one of luong, bahdanau. Received: attention='dot'"),
])
def test_a_bad_value_in_config_json_is_named_by_every_verb(finished_summarize_run, tmp_path, capsys, key, value,
                                                          message):
    data, out, _ = finished_summarize_run
    copy = tmp_path / "run"
    shutil.copytree(out, copy)
    config = json.loads((copy / "config.json").read_text())
    (copy / "config.json").write_text(json.dumps({**config, key: value}))
    for verb in (["evaluate", "--data", str(data)], ["inspect", "--text", "hello there", "--out",
                                                     str(tmp_path / "report.html")], ["summarize", "-"]):
        assert use_main([verb[0], "--model", str(copy), *verb[1:]]) == 2, verb
        assert_one_line_error(capsys, f"{copy / 'config.json'} holds a bad setting: {message}")
    assert not (tmp_path / "report.html").exists()


def test_a_checkpoint_built_in_memory_restores_what_save_weights_restores(tmp_path):
    def model():
        built = keras.Sequential([keras.Input((5, 3)), textlstm.LSTM(4), keras.layers.Dense(2)])
        built.compile(optimizer="adam", loss="mse")
        built.optimizer.build(built.trainable_variables)
        return built

    trained = model()
    trained.fit(np.ones((8, 5, 3)), np.ones((8, 2)), verbose=0)
    run = RunDirectory(str(tmp_path / "run"))
    run.save_checkpoint(trained, 1)
    trained.save_weights(tmp_path / "keras.weights.h5")
    ours, theirs = model(), model()
    ours.load_weights(run.checkpoint_path(1))
    theirs.load_weights(tmp_path / "keras.weights.h5")
    for expected, restored, reference in zip(trained.weights + trained.optimizer.variables,
                                             ours.weights + ours.optimizer.variables,
                                             theirs.weights + theirs.optimizer.variables):
        np.testing.assert_array_equal(restored.numpy(), expected.numpy())
        np.testing.assert_array_equal(restored.numpy(), reference.numpy())
    assert int(ours.optimizer.iterations.numpy()) == 1
