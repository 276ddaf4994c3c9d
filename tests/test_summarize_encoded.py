"""The summarizer's pairs encoded to id arrays on disk: the arrays of the in-memory encoding, cached."""

import json

import numpy as np
import pytest

from summarize_data import write_jsonl, write_sample
from textlstm.errors import UsageError
from textlstm.seq2seq.rouge import mean_length
from textlstm.summarize import encoded
from textlstm.summarize.config import SummarizeConfig
from textlstm.summarize.data import load_pairs, tokenize
from textlstm.summarize.encoded import encoded_pairs, pair_arrays
from textlstm.vocab import Vocabulary


def in_memory(config):
    """The vocabulary and {split: arrays} of the pairs, encoded from Python lists of the whole splits."""
    pairs, _ = load_pairs(config.data, config.source_field, config.target_field)
    tokens = {split: [tokenize(texts) for texts in pairs[split].training_pairs(config.target_list)]
              for split in ("train", "valid")}
    vocab = Vocabulary.build(tokens["train"][0] + tokens["train"][1], config.max_vocab, config.min_count)
    return pairs, vocab, {split: pair_arrays(*tokens[split], vocab, config) for split in tokens}


def write_awkward(directory):
    """Sample e-mails with empty rows, list-valued summaries and words outside a small vocabulary."""
    write_sample(directory, train=40, valid=9, test=4)
    rows = [json.loads(line) for line in (directory / "train.jsonl").read_text().splitlines()]
    for index in range(7, 14):  # a whole batch of 7 unusable rows
        rows[index]["text" if index % 2 else "summary"] = " "
    rows[20]["summary"] = ["first subject", "", "second Subject!"]
    rows[21]["summary"] = [""]
    write_jsonl(directory / "train.jsonl", rows)
    return directory


@pytest.mark.parametrize("settings", [
    {},
    {"copy": False, "max_source_len": 5, "max_target_len": 3},
    {"max_vocab": 30, "min_count": 2, "target_list": "each"},
])
def test_encoded_arrays_equal_the_in_memory_encoding(tmp_path, monkeypatch, settings):
    monkeypatch.setattr(encoded, "BATCH_ROWS", 7)  # many `map` batches, one of them with no usable row
    config = SummarizeConfig(data=str(write_awkward(tmp_path)), **settings)
    pairs, vocab, expected = in_memory(config)
    got = encoded_pairs(config)
    assert got.vocab.tokens == vocab.tokens
    for split in ("train", "valid"):
        assert sorted(got.arrays[split]) == sorted(expected[split])
        for name, values in expected[split].items():
            np.testing.assert_array_equal(got.arrays[split][name], values, err_msg=f"{split} {name}")
        assert got.documents[split] == len(pairs[split].source) and got.skipped[split] == pairs[split].skipped
        assert got.label_tokens[split] == int((expected[split]["labels"] != 0).sum())
    assert got.skipped["train"] == 8 and got.lists == ("summary",)
    assert got.lead_words == mean_length(pairs["train"].target)
    assert got.test.source == pairs["test"].source and got.test.references == pairs["test"].references


def test_a_second_run_reads_the_cache_and_other_settings_encode_again(tmp_path, monkeypatch):
    config = SummarizeConfig(data=str(write_sample(tmp_path, train=20, valid=4, test=4)))
    first = encoded_pairs(config)
    monkeypatch.setattr(encoded, "_encode", lambda *arguments: pytest.fail("encoded again"))
    again = encoded_pairs(config)
    assert again.path == first.path
    np.testing.assert_array_equal(again.arrays["train"]["labels"], first.arrays["train"]["labels"])
    monkeypatch.undo()
    other = encoded_pairs(SummarizeConfig(data=config.data, max_source_len=4))
    assert other.path != first.path and other.arrays["train"]["source"].shape[1] == 5


def test_a_split_with_no_usable_row_is_one_message_and_leaves_no_entry(tmp_path):
    write_sample(tmp_path, train=10, valid=2, test=2)
    write_jsonl(tmp_path / "valid.jsonl", [{"text": "", "summary": "x"}, {"text": "y", "summary": " "}])
    with pytest.raises(UsageError, match="valid split .* no usable example .*all 2 rows have an empty"):
        encoded_pairs(SummarizeConfig(data=str(tmp_path)))
    write_jsonl(tmp_path / "valid.jsonl", [{"text": "y", "body": "x"}])
    with pytest.raises(UsageError, match="valid split .* has no column summary; its columns are text, body"):
        encoded_pairs(SummarizeConfig(data=str(tmp_path)))


def assert_same_pairs(streamed, loaded):
    assert streamed.path != loaded.path and streamed.vocab.tokens == loaded.vocab.tokens
    for split in ("train", "valid"):
        assert sorted(streamed.arrays[split]) == sorted(loaded.arrays[split])
        for name, values in loaded.arrays[split].items():
            np.testing.assert_array_equal(streamed.arrays[split][name], values, err_msg=f"{split} {name}")
    for attribute in ("fields", "lists", "documents", "skipped", "label_tokens", "lead_words", "test"):
        assert getattr(streamed, attribute) == getattr(loaded, attribute), attribute


@pytest.mark.parametrize("target_list", ["first", "each"])
def test_a_streamed_hub_dataset_gives_the_arrays_of_the_loaded_one(tmp_path, monkeypatch, target_list):
    monkeypatch.setattr(encoded, "BATCH_ROWS", 7)
    data = f"hf:{write_awkward(tmp_path)}"  # `hf:` takes a local folder as NAME
    loaded = encoded_pairs(SummarizeConfig(data=data, target_list=target_list))
    streamed = encoded_pairs(SummarizeConfig(data=data, target_list=target_list, hub_streaming=True))
    assert_same_pairs(streamed, loaded)
    assert streamed.skipped["train"] == 8 and streamed.lists == ("summary",)
    again = encoded_pairs(SummarizeConfig(data=data, target_list=target_list, hub_streaming=True))
    assert again.path == streamed.path


def test_a_stream_without_valid_and_test_is_cut_as_the_loaded_dataset_is(tmp_path):
    write_sample(tmp_path, train=30, valid=4, test=4)
    (tmp_path / "valid.jsonl").unlink()
    (tmp_path / "test.jsonl").unlink()
    data = f"hf:{tmp_path}"
    loaded = encoded_pairs(SummarizeConfig(data=data))
    assert_same_pairs(encoded_pairs(SummarizeConfig(data=data, hub_streaming=True)), loaded)
    assert loaded.documents == {"train": 27, "valid": 1} and len(loaded.test.source) == 2
    with pytest.raises(UsageError, match="hub-streaming reads hf:NAME"):
        SummarizeConfig(data=str(tmp_path), hub_streaming=True).validate()
