"""Continuing, refusing or replacing an unfinished run: path spellings, changed data, broken files, --overwrite."""

import json
import os
import shutil

import pytest

import train
from conftest import assert_one_line_error
from killed_runs import Interrupt, InterruptAfterEpoch
from lm_corpus import tiny_flags, write_corpus
from textlstm.lm.config import LMConfig
from textlstm.lm.train import train_language_model


def interrupt_after_first_epoch(data, out):
    """Trains the run of `tiny_flags(data, out)` (2 epochs) and stops it like a crash once epoch 1 is recorded."""
    config = LMConfig(data=str(data), out=str(out), num_layers=1, units=8, embedding_dim=8, bptt=5, batch_size=4,
                      epochs=2, dropout=0.0, seed=3)  # as tiny_flags
    with pytest.raises(Interrupt):
        train_language_model(config, verbose=0, callbacks=[InterruptAfterEpoch(1)], log=None)
    return json.loads((out / "metrics.json").read_text())


@pytest.fixture(scope="module")
def pristine_run(tmp_path_factory):
    """A corpus and a run of it interrupted after epoch 1 of 2, trained once, and a copy of both to restore them."""
    place = tmp_path_factory.mktemp("interrupted")
    (place / "corpus").mkdir()
    write_corpus(place / "corpus")
    metrics = interrupt_after_first_epoch(place / "corpus", place / "run")
    backup = tmp_path_factory.mktemp("backup") / "interrupted"
    shutil.copytree(place, backup)
    return place, backup, metrics


@pytest.fixture
def interrupted_run(pristine_run):
    """(data, run directory with epoch 1 of 2 recorded, its metrics), as they were after the interruption."""
    place, backup, metrics = pristine_run
    shutil.rmtree(place)
    shutil.copytree(backup, place)  # modification times kept: the encoded corpus stays cached
    return place / "corpus", place / "run", metrics


def read_metrics(out):
    return json.loads((out / "metrics.json").read_text())


@pytest.mark.slow
def test_a_moved_run_continues_with_other_spellings_of_its_paths(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "corpus").mkdir()
    write_corpus(tmp_path / "corpus")
    first = interrupt_after_first_epoch("corpus", tmp_path / "runs" / "unf")
    os.rename(tmp_path / "runs", tmp_path / "moved")
    # A trailing slash, an absolute --data and another directory: the same run.
    assert train.main(tiny_flags(tmp_path / "corpus", "moved/unf/")) == 0
    metrics = read_metrics(tmp_path / "moved" / "unf")
    assert metrics["finished"] and metrics["epochs"][0] == first["epochs"][0]  # continued, not retrained
    config = json.loads((tmp_path / "moved" / "unf" / "config.json").read_text())
    assert config["data"] == str(tmp_path / "corpus") and config["out"] == str(tmp_path / "moved" / "unf")


def test_a_run_whose_data_changed_is_refused_before_its_files_change(interrupted_run, capsys):
    data, out, _ = interrupted_run
    with open(data / "train.txt", "a", encoding="utf-8") as file:
        file.write("a zebra sees the moon .\n")
    before = {name: (out / name).read_text() for name in ("config.json", "vocab.json", "metrics.json")}
    assert train.main(tiny_flags(data, out)) == 2
    assert_one_line_error(capsys, "the data changed since the run in")
    assert {name: (out / name).read_text() for name in before} == before


def one_line_error(capsys):
    """The one `error: ...` line on stderr, without its prefix."""
    err = capsys.readouterr().err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and "Traceback" not in err, err
    return lines[0][len("error: "):]


@pytest.mark.parametrize("name, content", [("config.json", "{not json"), ("config.json", "[1, 2]"),
                                           ("metrics.json", '{"epochs": 3}')])
def test_a_run_file_that_cannot_be_read_is_named_with_the_way_out(interrupted_run, capsys, name, content):
    data, out, _ = interrupted_run
    (out / name).write_text(content)
    assert train.main(tiny_flags(data, out)) == 2
    message = one_line_error(capsys)
    assert message.startswith(f"cannot read {out / name}: ") and message.endswith("; pass --overwrite to start the "
                                                                                  "run again"), message
    assert (out / name).read_text() == content


@pytest.mark.slow
def test_overwrite_replaces_a_run_whose_config_json_is_garbage(interrupted_run):
    data, out, _ = interrupted_run
    (out / "config.json").write_text("{not json")
    assert train.main(tiny_flags(data, out, "--overwrite")) == 0
    assert read_metrics(out)["finished"]


@pytest.mark.slow
def test_a_missing_last_checkpoint_falls_back_to_the_best_epochs(interrupted_run, capsys):
    data, out, first = interrupted_run
    # A second epoch, worse than the first, whose checkpoint is gone: epoch 1 stays the best.
    worse = {**first["epochs"][0], "epoch": 2, "val_perplexity": first["epochs"][0]["val_perplexity"] * 2}
    (out / "metrics.json").write_text(json.dumps({**first, "epochs": first["epochs"] + [worse],
                                                  "checkpoint": "checkpoints/epoch-2.weights.h5"}))
    assert train.main(tiny_flags(data, out)) == 0
    printed = capsys.readouterr().out
    assert f"note: checkpoint {out / 'checkpoints' / 'epoch-2.weights.h5'} cannot be read (it is missing); " \
           "continuing from epoch 1" in printed
    metrics = read_metrics(out)
    assert metrics["finished"] and metrics["epochs"][0] == first["epochs"][0] and metrics["epochs"][1] != worse


def test_a_truncated_checkpoint_without_an_intact_best_is_named(interrupted_run, capsys):
    data, out, first = interrupted_run
    checkpoint = out / first["checkpoint"]
    checkpoint.write_bytes(checkpoint.read_bytes()[:1000])
    assert train.main(tiny_flags(data, out)) == 2
    message = one_line_error(capsys)
    assert message.startswith(f"checkpoint {checkpoint} cannot be read (") and message.endswith(
        "; pass --overwrite to start the run again"), message


@pytest.mark.slow
def test_overwrite_starts_again_a_run_whose_checkpoint_is_truncated(interrupted_run, capsys):
    data, out, first = interrupted_run
    checkpoint = out / first["checkpoint"]
    checkpoint.write_bytes(checkpoint.read_bytes()[:1000])
    assert train.main(tiny_flags(data, out, "--overwrite")) == 0
    metrics = read_metrics(out)
    assert metrics["finished"] and len(metrics["epochs"]) == 2 and metrics["epochs"][0] != first["epochs"][0]


@pytest.mark.slow
def test_overwrite_continues_an_unfinished_run_with_the_same_settings(interrupted_run):
    data, out, first = interrupted_run
    assert train.main(tiny_flags(data, out, "--overwrite")) == 0
    metrics = read_metrics(out)
    assert metrics["finished"] and metrics["epochs"][0] == first["epochs"][0]  # continued, not retrained


@pytest.mark.slow  # about 3 s: a run trained
def test_an_unfinished_run_that_predates_a_setting_continues_with_it_as_it_trained(interrupted_run, capsys):
    data, out, first = interrupted_run
    config = json.loads((out / "config.json").read_text())
    for key in ("weight_drop", "embedding_dropout", "ar", "tar", "state_reset", "nonmono", "level", "subword_model"):
        config.pop(key)  # as a run written before these settings existed
    (out / "config.json").write_text(json.dumps(config))
    # The settings it lacks take the values that mean "off"; the language model's defaults have changed since.
    assert train.main(tiny_flags(data, out, "--epochs", "2", "--state-reset", "0")) == 2
    assert_one_line_error(capsys, "weight_drop: 0.0 -> 0.2")
    assert train.main(tiny_flags(data, out, "--epochs", "2", "--state-reset", "0", "--weight-drop", "0",
                                 "--embedding-dropout", "0", "--ar", "0", "--tar", "0")) == 0, capsys.readouterr().err
    metrics = read_metrics(out)
    assert metrics["finished"] and metrics["epochs"][0] == first["epochs"][0]  # continued, not retrained
