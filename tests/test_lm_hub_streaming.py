"""`--hub-streaming`: a hub dataset encoded as it streams in gives the ids, vocabulary and test head of the loaded one.

`hf:` accepts a local folder as NAME, so a folder stands in for the hub.
"""

import json
import pathlib
import random

import numpy as np
import pytest

import train
from conftest import assert_one_line_error
from lm_corpus import tiny_flags, write_corpus
from textlstm.errors import UsageError
from textlstm.corpus import encoding, sources
from textlstm.lm import encoded
from textlstm.lm.encoded import encoded_corpus


def write_lines(path, count, seed):
    """Writes count lines of words drawn from a small set, with blank and white-space lines among them."""
    rng = random.Random(seed)
    words = ["the", "cat", "dog", "sees", "a", "ball", "é", "naïve", "<eos>", "x"]
    lines = []
    for index in range(count):
        lines.append(" ".join(rng.choice(words) for _ in range(rng.randint(1, 8))))
        if index % 5 == 0:
            lines.append(rng.choice(["", "   ", "\t"]))
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def text_folder(directory):
    for seed, (split, count) in enumerate((("train", 120), ("validation", 30), ("test", 30))):
        write_lines(directory / f"{split}.txt", count, seed)
    return directory


def jsonl_folder(directory):
    # Rows with a number, a list of sentences (joined with spaces) and a second text column the model ignores.
    rng = random.Random(4)
    for split, count in (("train", 80), ("validation", 20), ("test", 20)):
        rows = [{"id": index, "sentences": [f"s{rng.randint(0, 9)} w{rng.randint(0, 5)}" for _ in range(index % 3)],
                 "title": "ignored"} for index in range(count)]
        (directory / f"{split}.jsonl").write_text("".join(json.dumps(row) + "\n" for row in rows))
    return directory


def train_only_folder(directory):
    write_lines(directory / "train.txt", 150, 7)
    return directory


def assert_same_corpus(streamed_corpus, loaded_corpus):
    assert streamed_corpus.path != loaded_corpus.path
    assert streamed_corpus.vocab.tokens == loaded_corpus.vocab.tokens
    for split in ("train", "valid", "test"):
        np.testing.assert_array_equal(streamed_corpus.ids[split], loaded_corpus.ids[split])
    assert streamed_corpus.test_head == loaded_corpus.test_head


@pytest.mark.parametrize("write", [text_folder, jsonl_folder, train_only_folder])
@pytest.mark.parametrize("level,max_vocab,min_count", [("word", 0, 1), ("word", 8, 2), ("char", 0, 1)])
def test_streamed_ids_equal_the_loaded_ones(tmp_path, monkeypatch, write, level, max_vocab, min_count):
    # Small batches, so that lines cross their edges, and a test head shorter than the split.
    monkeypatch.setattr(sources, "STREAM_BATCH_ROWS", 7)
    monkeypatch.setattr(encoding, "BATCH_ROWS", 5)
    monkeypatch.setattr(encoded, "TEST_HEAD_LINES", 6)
    data = f"hf:{write(tmp_path)}"
    loaded = encoded_corpus(data, level, max_vocab, min_count)
    assert_same_corpus(encoded_corpus(data, level, max_vocab, min_count, hub_streaming=True), loaded)


def test_streaming_writes_no_arrow_copy_and_is_cached_until_the_data_changes(tmp_path, monkeypatch):
    hf_cache = tmp_path / "hf_datasets"
    monkeypatch.setenv("HF_DATASETS_CACHE", str(hf_cache))
    (tmp_path / "hub").mkdir()
    folder = text_folder(tmp_path / "hub")
    data = f"hf:{folder}"
    first = encoded_corpus(data, "word", 0, 1, hub_streaming=True)
    assert not list(hf_cache.rglob("*.arrow"))
    assert sorted(path.name for path in pathlib.Path(first.path).iterdir()) == [  # the scratch files are gone
        "entry.json", "meta.json", "test.ids", "test_head.json", "train.ids", "valid.ids", "vocab.json"]
    assert encoded_corpus(data, "word", 0, 1, hub_streaming=True).path == first.path
    with open(folder / "train.txt", "a", encoding="utf-8") as file:
        file.write("zebra crossing\n")
    changed = encoded_corpus(data, "word", 0, 1, hub_streaming=True)
    assert changed.path != first.path and "zebra" in changed.vocab.tokens


def test_a_train_only_stream_too_short_to_cut_is_one_line(tmp_path):
    (tmp_path / "train.txt").write_text("one line\n\ntwo lines\n")
    with pytest.raises(UsageError, match="has 2 non-empty rows; it needs at least 3"):
        encoded_corpus(f"hf:{tmp_path}", "word", 0, 1, hub_streaming=True)


def test_a_split_without_text_is_one_line(tmp_path):
    text_folder(tmp_path)
    (tmp_path / "test.txt").write_text("\n  \n")
    with pytest.raises(UsageError, match="the test split of hf:.* has no text"):
        encoded_corpus(f"hf:{tmp_path}", "word", 0, 1, hub_streaming=True)


def test_hub_streaming_on_other_data_is_one_line(tmp_path, capsys):
    data = write_corpus(tmp_path)
    assert train.main(tiny_flags(data, tmp_path / "out", "--hub-streaming")) == 2
    assert_one_line_error(capsys, "hub-streaming reads hf:NAME[:CONFIG] data only")
    assert not (tmp_path / "out").exists()


@pytest.mark.slow  # about 5 s: a run trained
def test_train_runs_on_a_streamed_hub_dataset(tmp_path):
    (tmp_path / "hub_folder").mkdir()
    data = write_corpus(tmp_path / "hub_folder", train_lines=120, eval_lines=20)
    out = tmp_path / "run"
    assert train.main(tiny_flags(f"hf:{data}", out, "--hub-streaming", "--epochs", "1")) == 0
    config = json.loads((out / "config.json").read_text())
    assert config["hub_streaming"] is True and config["data"] == f"hf:{data}"
    assert json.loads((out / "metrics.json").read_text())["test_perplexity"] > 0
