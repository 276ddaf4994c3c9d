import json

import pandas as pd
import pytest

from summarize_data import write_jsonl, write_sample
from textlstm.errors import UsageError
from textlstm.summarize.data import encode_sources, load_pairs, load_single_file, pick_fields, tokenize
from textlstm.vocab import Vocabulary


def test_directory_of_jsonl_splits_with_recognised_fields(tmp_path):
    write_sample(tmp_path, train=20, valid=3, test=4)
    pairs, fields, skipped = load_pairs(str(tmp_path))
    assert fields == ("text", "summary")
    assert [len(pairs[split]["source"]) for split in ("train", "valid", "test")] == [20, 3, 4]
    assert skipped == {"train": 0, "valid": 0, "test": 0}


def test_dev_file_is_the_validation_split_and_email_fields_are_recognised(tmp_path):
    for split in ("train", "dev", "test"):
        write_jsonl(tmp_path / f"{split}.jsonl", [{"id": 1, "email_body": f"{split} body", "subject": "hello"}])
    (tmp_path / "LICENSE.md").write_text("not data")
    pairs, fields, _ = load_pairs(str(tmp_path))
    assert fields == ("email_body", "subject")
    assert pairs["valid"]["source"] == ["dev body"]


@pytest.mark.parametrize("suffix", ["csv", "tsv", "parquet", "json", "jsonl"])
def test_single_file_of_each_format_is_cut_deterministically(tmp_path, suffix):
    rows = [{"article": f"document number {index}", "title": f"title {index}"} for index in range(40)]
    path = tmp_path / f"data.{suffix}"
    frame = pd.DataFrame(rows)
    if suffix == "csv":
        frame.to_csv(path, index=False)
    elif suffix == "tsv":
        frame.to_csv(path, index=False, sep="\t")
    elif suffix == "parquet":
        frame.to_parquet(path)
    elif suffix == "json":
        path.write_text(json.dumps(rows))
    else:
        write_jsonl(path, rows)
    pairs, fields, _ = load_pairs(str(path))
    assert fields == ("article", "title")
    sizes = [len(pairs[split]["source"]) for split in ("train", "valid", "test")]
    assert sizes == [36, 2, 2]
    assert pairs == load_pairs(str(path))[0]
    everything = sorted(source for split in pairs.values() for source in split["source"])
    assert everything == sorted(row["article"] for row in rows)


def test_explicit_fields_override_the_common_names(tmp_path):
    path = write_jsonl(tmp_path / "all.jsonl", [{"text": "a", "body": f"body {i}", "headline": "h"} for i in range(5)])
    pairs, _ = load_single_file(str(path), "body", "headline")
    assert pairs["source"][0] == "body 0"


def test_missing_field_names_the_columns_there_are():
    with pytest.raises(UsageError, match="the columns are id, body, headline"):
        pick_fields(["id", "body", "headline"])
    with pytest.raises(UsageError, match="source-field 'mail' is not a column.*id, body"):
        pick_fields(["id", "body"], source_field="mail")


def test_empty_sources_and_targets_are_skipped_and_counted(tmp_path):
    write_sample(tmp_path, train=10, valid=2, test=2)
    rows = [json.loads(line) for line in (tmp_path / "train.jsonl").read_text().splitlines()]
    rows[0]["text"] = "   "
    rows[1]["summary"] = ""
    rows[2]["summary"] = None
    write_jsonl(tmp_path / "train.jsonl", rows)
    pairs, _, skipped = load_pairs(str(tmp_path))
    assert skipped["train"] == 3 and len(pairs["train"]["source"]) == 7


def test_a_split_with_nothing_left_is_an_error(tmp_path):
    write_sample(tmp_path, train=10, valid=2, test=2)
    write_jsonl(tmp_path / "valid.jsonl", [{"text": "", "summary": "x"}, {"text": "y", "summary": " "}])
    with pytest.raises(UsageError, match="valid split .* no usable example .*all 2 rows have an empty"):
        load_pairs(str(tmp_path))


def test_a_test_split_with_no_rows_is_an_error(tmp_path):
    write_sample(tmp_path, train=10, valid=2, test=2)
    (tmp_path / "test.jsonl").write_text("")
    with pytest.raises(UsageError, match="test"):
        load_pairs(str(tmp_path))


def test_non_utf8_bytes_are_reported_with_their_line(tmp_path):
    write_sample(tmp_path, train=10, valid=2, test=2)
    with open(tmp_path / "train.jsonl", "ab") as file:
        file.write(b'{"text": "caf\xe9", "summary": "x"}\n')
    with pytest.raises(UsageError, match="not UTF-8 text \\(bad byte at line 11\\)"):
        load_pairs(str(tmp_path))


def test_malformed_json_is_a_usage_error(tmp_path):
    (tmp_path / "data.jsonl").write_text('{"text": "a", "summary": "b"}\n{not json\n')
    with pytest.raises(UsageError, match="cannot read data file"):
        load_pairs(str(tmp_path / "data.jsonl"))


def test_unsupported_file_type(tmp_path):
    (tmp_path / "data.xml").write_text("<a/>")
    with pytest.raises(UsageError, match="unsupported type"):
        load_pairs(str(tmp_path / "data.xml"))


def test_tokenize_lowercases_and_splits_punctuation():
    assert tokenize(["Re: Q3 budget, again!", ""]) == [["re", ":", "q3", "budget", ",", "again", "!"], []]
    assert tokenize(["café <eos>"]) == [["café", "<", "eos", ">"]]  # text never spells a special token


def test_sources_are_cut_and_end_in_eos():
    vocab = Vocabulary.build([["a", "b"]])
    source = encode_sources([["a"] * 50, ["b"]], vocab, max_source_len=3)
    assert source.tolist() == [[4, 4, 4, 2], [5, 2, 0, 0]]
