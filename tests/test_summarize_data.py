import json

import pandas as pd
import pytest

from summarize_data import write_jsonl, write_sample
from textlstm.corpus import load_splits
from textlstm.errors import UsageError
from textlstm.summarize.config import SummarizeConfig
from textlstm.summarize.data import encode_sources, load_pairs, load_single_file, pick_fields, tokenize
from textlstm.summarize.train import prepare
from textlstm.vocab import Vocabulary


def test_directory_of_jsonl_splits_with_recognised_fields(tmp_path):
    write_sample(tmp_path, train=20, valid=3, test=4)
    pairs, fields = load_pairs(str(tmp_path))
    assert fields == ("text", "summary")
    assert [len(pairs[split].source) for split in ("train", "valid", "test")] == [20, 3, 4]
    assert [pairs[split].skipped for split in ("train", "valid", "test")] == [0, 0, 0]


def test_dev_file_is_the_validation_split_and_email_fields_are_recognised(tmp_path):
    for split in ("train", "dev", "test"):
        write_jsonl(tmp_path / f"{split}.jsonl", [{"id": 1, "email_body": f"{split} body", "subject": "hello"}])
    (tmp_path / "LICENSE.md").write_text("not data")
    pairs, fields = load_pairs(str(tmp_path))
    assert fields == ("email_body", "subject")
    assert pairs["valid"].source == ["dev body"]


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
    pairs, fields = load_pairs(str(path))
    assert fields == ("article", "title")
    sizes = [len(pairs[split].source) for split in ("train", "valid", "test")]
    assert sizes == [36, 2, 2]
    assert pairs == load_pairs(str(path))[0]
    everything = sorted(source for split in pairs.values() for source in split.source)
    assert everything == sorted(row["article"] for row in rows)


def test_explicit_fields_override_the_common_names(tmp_path):
    path = write_jsonl(tmp_path / "all.jsonl", [{"text": "a", "body": f"body {i}", "headline": "h"} for i in range(5)])
    pairs = load_single_file(str(path), "body", "headline")
    assert pairs.source[0] == "body 0"


def test_missing_field_names_the_columns_there_are():
    with pytest.raises(UsageError, match="the columns are id, body, heading"):
        pick_fields(["id", "body", "heading"])
    with pytest.raises(UsageError, match="source-field 'mail' is not a column.*id, body"):
        pick_fields(["id", "body"], source_field="mail")


def test_empty_sources_and_targets_are_skipped_and_counted(tmp_path):
    write_sample(tmp_path, train=10, valid=2, test=2)
    rows = [json.loads(line) for line in (tmp_path / "train.jsonl").read_text().splitlines()]
    rows[0]["text"] = "   "
    rows[1]["summary"] = ""
    rows[2]["summary"] = None
    write_jsonl(tmp_path / "train.jsonl", rows)
    pairs, _ = load_pairs(str(tmp_path))
    assert pairs["train"].skipped == 3 and len(pairs["train"].source) == 7


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
    with pytest.raises(UsageError, match="line 2 of .*data.jsonl is not JSON"):
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


def write_list_valued(directory):
    """A SciTLDR-like set: each document a list of sentences, each with one to three reference summaries."""
    for split, count in (("train", 12), ("valid", 3), ("test", 3)):
        rows = [{"source": [f"sentence one of paper {index} .", f"we study topic {index} ."],
                 "target": [f"tldr {index} first", f"tldr {index} second"][: 1 + index % 2]} for index in range(count)]
        write_jsonl(directory / f"{split}.jsonl", rows)
    return directory


def test_list_valued_fields_become_joined_documents_and_several_references(tmp_path):
    pairs, fields = load_pairs(str(write_list_valued(tmp_path)), "source", "target")
    assert fields == ("source", "target") and pairs["train"].lists == ("source", "target")
    assert pairs["train"].source[1] == "sentence one of paper 1 . we study topic 1 ."
    assert pairs["train"].references[1] == ["tldr 1 first", "tldr 1 second"] and pairs["train"].target[1] == "tldr 1 first"
    documents, summaries = pairs["train"].training_pairs("each")
    assert len(documents) == len(summaries) == 18 and summaries[1:3] == ["tldr 1 first", "tldr 1 second"]


def test_training_on_lists_never_sees_their_python_spelling(tmp_path):
    data = write_list_valued(tmp_path)
    notes = []
    config = SummarizeConfig(data=str(data), source_field="source", target_field="target", target_list="each")
    prepared = prepare(config, notes.append)
    assert not {"[", "'", "]"} & set(prepared.vocab.tokens)
    assert training_examples(prepared) == 18
    assert "target holds lists of summaries: training on each of them (--target-list each)" in "\n".join(notes)
    assert "source holds lists of sentences" in "\n".join(notes)
    config = SummarizeConfig(data=str(data), source_field="source", target_field="target")
    assert training_examples(prepare(config, notes.append)) == 12


def training_examples(prepared):
    """The real (weight 1) rows of one epoch of training batches."""
    return int(sum((weights.numpy().sum(axis=1) > 0).sum() for _, _, weights in prepared.batches("train")))


def test_a_header_only_csv_split_is_named(tmp_path):
    for split in ("train", "valid", "test"):
        (tmp_path / f"{split}.csv").write_text("text,summary\n" + ("a mail,a subject\n" if split != "test" else ""))
    with pytest.raises(UsageError, match="data file .*test.csv has no rows"):
        load_pairs(str(tmp_path))


def test_headline_is_a_summary_column():
    assert pick_fields(["text", "headline", "id"]) == ("text", "headline")


def test_an_unreachable_hub_fails_in_seconds_with_one_message(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "0")
    monkeypatch.setenv("HF_ENDPOINT", "http://127.0.0.1:9")  # the discard port: nothing listens
    with pytest.raises(UsageError, match="the hub 127.0.0.1 is out of reach .*set HF_HUB_OFFLINE=1"):
        load_splits("hf:someone/some_dataset")
