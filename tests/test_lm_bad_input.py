import json
import shutil

import pytest

import train
from conftest import assert_one_line_error
from lm_corpus import tiny_flags, write_corpus
from textlstm.__main__ import main as use_main


@pytest.fixture
def finished_run(finished_lm_run):
    return finished_lm_run


def test_missing_data_path(tmp_path, capsys):
    assert train.main(tiny_flags(tmp_path / "nowhere", tmp_path / "out")) == 2
    assert_one_line_error(capsys, "does not exist")
    assert not (tmp_path / "out").exists()


def test_empty_file(tmp_path, capsys):
    (tmp_path / "empty.txt").write_text("")
    assert train.main(tiny_flags(tmp_path / "empty.txt", tmp_path / "out")) == 2
    assert_one_line_error(capsys, "is empty")


def test_directory_without_training_file(tmp_path, capsys):
    (tmp_path / "valid.txt").write_text("a b\n")
    assert train.main(tiny_flags(tmp_path, tmp_path / "out")) == 2
    assert_one_line_error(capsys, "no training file")


def test_non_utf8_bytes(tmp_path, capsys):
    write_corpus(tmp_path)
    with open(tmp_path / "train.txt", "ab") as file:
        file.write(b"caf\xe9 au lait\n")
    assert train.main(tiny_flags(tmp_path, tmp_path / "out")) == 2
    assert_one_line_error(capsys, "not UTF-8")


def test_corpus_shorter_than_one_batch_window(tmp_path, capsys):
    write_corpus(tmp_path, train_lines=2, eval_lines=2)
    assert train.main(tiny_flags(tmp_path, tmp_path / "out", "--batch-size", "20", "--bptt", "35")) == 2
    assert_one_line_error(capsys, "fewer than one batch window")


def test_unknown_cell(tmp_path, capsys):
    assert train.main(tiny_flags(tmp_path, tmp_path / "out", "--cell", "transformer")) == 2
    assert_one_line_error(capsys, "cell must be one of")


def test_tie_weights_with_mismatched_sizes(tmp_path, capsys):
    write_corpus(tmp_path)
    assert train.main(tiny_flags(tmp_path, tmp_path / "out", "--units", "8", "--embedding-dim", "6",
                                 "--tie-weights")) == 2
    assert_one_line_error(capsys, "units=8, embedding-dim=6")


def test_finished_run_is_not_overwritten(finished_run, capsys):
    data, out = finished_run
    before = (out / "metrics.json").read_text()
    assert train.main(tiny_flags(data, out, "--epochs", "1")) == 2
    assert_one_line_error(capsys, "already holds a finished run")
    assert (out / "metrics.json").read_text() == before
    assert json.loads(before)["finished"]


def test_prompt_of_only_unknown_words(finished_run, capsys):
    _, out = finished_run
    assert use_main(["predict", "--model", str(out), "zebra quantum"]) == 2
    assert_one_line_error(capsys, "only words outside the vocabulary")


def test_empty_prompt(finished_run, capsys):
    _, out = finished_run
    assert use_main(["generate", "--model", str(out), "   "]) == 2
    assert_one_line_error(capsys, "prompt '   ' is empty")


@pytest.mark.slow  # about 3 s: a run trained
def test_overwrite_replaces_a_finished_run(finished_run, tmp_path, capsys):
    data, out = finished_run
    copy = tmp_path / "copy"
    shutil.copytree(out, copy)
    assert train.main(tiny_flags(data, copy, "--epochs", "1", "--overwrite")) == 0
    assert json.loads((copy / "metrics.json").read_text())["finished"]
