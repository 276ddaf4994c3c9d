import json
import shutil

import pytest

import train
from conftest import assert_one_line_error
from summarize_data import tiny_flags, write_jsonl, write_sample
from textlstm.__main__ import main as use_main


@pytest.fixture
def sample(tmp_path):
    return write_sample(tmp_path / "data", train=20, valid=3, test=3)


def test_missing_fields_name_the_fields_that_exist(tmp_path, capsys):
    for split in ("train", "valid", "test"):
        write_jsonl(tmp_path / f"{split}.jsonl", [{"id": 1, "body": "some mail", "heading": "x"}])
    assert train.main(tiny_flags(tmp_path, tmp_path / "out")) == 2
    assert_one_line_error(capsys, "the columns are id, body, heading")
    assert not (tmp_path / "out").exists()
    assert train.main(tiny_flags(tmp_path, tmp_path / "out", "--source-field", "mail")) == 2
    assert_one_line_error(capsys, "source-field 'mail' is not a column")


def test_non_utf8_bytes(sample, tmp_path, capsys):
    with open(sample / "train.jsonl", "ab") as file:
        file.write(b'{"text": "caf\xe9 au lait", "summary": "coffee"}\n')
    assert train.main(tiny_flags(sample, tmp_path / "out")) == 2
    assert_one_line_error(capsys, "not UTF-8")


def test_a_test_split_with_no_rows(sample, tmp_path, capsys):
    (sample / "test.jsonl").write_text("")
    assert train.main(tiny_flags(sample, tmp_path / "out")) == 2
    assert_one_line_error(capsys, "test.jsonl is empty")
    assert not (tmp_path / "out").exists()


def test_nothing_left_after_skipping_empty_rows(sample, tmp_path, capsys):
    write_jsonl(sample / "train.jsonl", [{"text": " ", "summary": "a"}, {"text": "b", "summary": ""}])
    assert train.main(tiny_flags(sample, tmp_path / "out")) == 2
    assert_one_line_error(capsys, "all 2 rows have an empty text or summary")


def test_bad_settings_name_the_flag(sample, tmp_path, capsys):
    assert train.main(tiny_flags(sample, tmp_path / "out", "--min-len", "9", "--max-len", "6")) == 2
    assert_one_line_error(capsys, "min-len=9, max-len=6")
    assert train.main(tiny_flags(sample, tmp_path / "out", "--label-smoothing", "1.5")) == 2
    assert_one_line_error(capsys, "label-smoothing=1.5")
    assert train.main(tiny_flags(sample, tmp_path / "out", "--attention", "dot")) == 2
    assert_one_line_error(capsys, "attention must be one of")


def test_a_finished_run_is_not_damaged(finished_summarize_run, tmp_path, capsys):
    data, run, _ = finished_summarize_run
    sample, out = tmp_path / "data", tmp_path / "run"
    shutil.copytree(data, sample)
    shutil.copytree(run, out)
    flags = tiny_flags(sample, out, "--epochs", "2", "--label-smoothing", "0.1")
    before = {name: (out / name).read_text() for name in ("metrics.json", "config.json", "vocab.json")}
    assert train.main(flags) == 2
    assert_one_line_error(capsys, "already holds a finished run")
    (sample / "test.jsonl").write_text("")  # bad data with --overwrite: refused before the run is touched
    assert train.main(flags + ["--overwrite"]) == 2
    assert_one_line_error(capsys, "test.jsonl is empty")
    assert {name: (out / name).read_text() for name in before} == before
    assert json.loads(before["metrics.json"])["finished"]

    documents = tmp_path / "bad.txt"
    documents.write_bytes(b"fine\ncaf\xe9\n")
    assert use_main(["summarize", "--model", str(out), str(documents)]) == 2
    assert_one_line_error(capsys, "not UTF-8 text (bad byte at line 2)")
    documents.write_text('{"text": "a"}\n{"body": "b"}\n')
    assert use_main(["summarize", "--model", str(out), "--source-field", "text", str(documents)]) == 2
    assert_one_line_error(capsys, "line 2 of")
    documents.write_text("fine\n")
    assert use_main(["summarize", "--model", str(out), "--beam-size", "0", str(documents)]) == 2
    assert_one_line_error(capsys, "beam-size=0")


def test_model_that_is_not_a_run(tmp_path, capsys):
    assert use_main(["summarize", "--model", str(tmp_path)]) == 2
    assert_one_line_error(capsys, "is not a run directory")


@pytest.mark.slow  # a fresh process, so that stderr is what a user sees: about 10 s
def test_malformed_json_lines_given_to_evaluate_are_one_line_and_only_that(finished_summarize_run, tmp_path):
    from fresh_process import run_python

    data, run, _ = finished_summarize_run
    bad = tmp_path / "bad.jsonl"
    bad.write_text((data / "test.jsonl").read_text().splitlines()[0] + '\n{"text": "broken\n', encoding="utf-8")
    completed = run_python(["-m", "textlstm", "evaluate", "--model", str(run), "--data", str(bad)])
    assert completed.returncode == 2
    assert completed.stderr.splitlines() == [f"error: line 2 of {bad} is not JSON: Unterminated string starting at: "
                                             "line 1 column 10 (char 9)"]
