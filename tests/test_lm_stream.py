"""The language model's corpus encoded to ids on disk: the same ids and windows as the in-memory path, cached safely."""

import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from lm_corpus import encode_lines, split_lines, write_corpus
from textlstm.corpus import cache_root
from textlstm.errors import UsageError
from textlstm.lm.config import LMConfig
from textlstm.lm.data import stream_windows, tokenize_lines, window_rows
from textlstm.lm.encoded import encoded_corpus
from textlstm.lm.train import prepare
from textlstm.vocab import Vocabulary


def ignore(message):
    """A log that keeps nothing."""


def in_memory(data, level="word", max_vocab=0, min_count=1):
    """The vocabulary and ids of every split as the whole-corpus Python lists give them."""
    lines = split_lines(data)
    vocab = Vocabulary.build(tokenize_lines(lines["train"], level), max_vocab, min_count)
    return vocab, {split: encode_lines(texts, level, vocab) for split, texts in lines.items()}


@pytest.mark.parametrize("level,max_vocab,min_count", [("word", 0, 1), ("word", 12, 2), ("char", 0, 1)])
def test_encoded_ids_equal_the_in_memory_encoding(corpus, level, max_vocab, min_count):
    vocab, ids = in_memory(str(corpus), level, max_vocab, min_count)
    encoded = encoded_corpus(str(corpus), level, max_vocab, min_count)
    assert encoded.vocab.tokens == vocab.tokens
    for split in ("train", "valid", "test"):
        np.testing.assert_array_equal(encoded.ids[split], ids[split])
    assert encoded.test_head[0] == tokenize_lines(split_lines(str(corpus))["test"][:1], level)[0]


def test_a_single_file_is_cut_into_the_same_splits(tmp_path):
    path = tmp_path / "all.txt"
    path.write_text("".join(f"line {index % 7} of {index % 3}\n\n" for index in range(60)))
    vocab, ids = in_memory(str(path))
    encoded = encoded_corpus(str(path), "word", 0, 1)
    assert encoded.vocab.tokens == vocab.tokens
    assert [len(encoded.ids[split]) for split in ("train", "valid", "test")] == [len(ids[split]) for split in ids]


@pytest.mark.parametrize("batch_size,bptt", [(3, 4), (4, 7), (5, 1)])
def test_window_rows_are_the_rows_of_stream_windows(batch_size, bptt):
    ids = np.arange(1, 60, dtype=np.int32)
    inputs, targets, weights = stream_windows(ids, batch_size, bptt)
    for window in range(len(inputs) // batch_size):
        rows = slice(window * batch_size, (window + 1) * batch_size)
        whole = window_rows(ids, batch_size, bptt, window)
        for got, expected in zip(whole, (inputs[rows], targets[rows], weights[rows])):
            np.testing.assert_array_equal(got, expected)
        halves = [window_rows(ids, batch_size, bptt, window, first, count)
                  for first, count in ((0, batch_size // 2), (batch_size // 2, batch_size - batch_size // 2))]
        for part in range(3):
            np.testing.assert_array_equal(np.concatenate([half[part] for half in halves]), whole[part])


def dataset_arrays(dataset):
    """A dataset of (x, y, w) batches as three arrays of all its rows."""
    parts = list(zip(*[tuple(tensor.numpy() for tensor in batch) for batch in dataset]))
    return [np.concatenate(part) for part in parts]


def test_batches_of_each_split_are_stream_windows_and_replica_slices_add_up(corpus):
    config = LMConfig(data=str(corpus), batch_size=4, bptt=5)
    data = prepare(config, log=ignore)
    _, ids = in_memory(str(corpus), config.level, config.max_vocab, config.min_count)
    for split in ("train", "valid", "test"):
        expected = stream_windows(ids[split], config.batch_size, config.bptt)
        got = dataset_arrays(data.batches(split))
        for part in range(3):
            np.testing.assert_array_equal(got[part], expected[part])
        assert data.steps(split) == len(expected[0]) // config.batch_size
    whole = list(data.batches("valid"))
    first, second = list(data.batches("valid", 0, 1)), list(data.batches("valid", 1, 3))
    for batch, one, three in zip(whole, first, second):
        for part in range(3):
            np.testing.assert_array_equal(np.concatenate([one[part], three[part]]), batch[part])
    assert data.train_tokens == len(ids["train"]) - 1


def test_steps_per_epoch_takes_the_next_batches_of_endless_passes(corpus):
    config = LMConfig(data=str(corpus), batch_size=4, bptt=5)
    whole = dataset_arrays(prepare(config, log=ignore).batches("train"))[0].reshape(-1, 4, 5)
    config.steps_per_epoch = len(whole) - 2
    data = prepare(config, log=ignore)
    epochs = [dataset_arrays(data.batches("train", epoch=epoch))[0].reshape(-1, 4, 5) for epoch in range(3)]
    assert data.steps("train") == len(epochs[0]) == len(epochs[2]) == len(whole) - 2
    np.testing.assert_array_equal(np.concatenate(epochs), np.concatenate([whole] * 3)[: 3 * (len(whole) - 2)])
    assert data.steps("valid") == prepare(LMConfig(data=str(corpus), batch_size=4, bptt=5), log=ignore).steps("valid")


def test_a_second_run_reads_the_cache_and_a_change_encodes_again(corpus, monkeypatch):
    notes = []
    first = prepare(LMConfig(data=str(corpus)), log=notes.append)
    entry = notes[0].removeprefix("encoded corpus: ")
    assert os.path.dirname(entry) == cache_root() and os.path.isfile(os.path.join(entry, "train.ids"))

    def no_reading(*args, **kwargs):
        raise AssertionError("the corpus was read again")

    with monkeypatch.context() as patched:
        patched.setattr("textlstm.corpus.Source.splits", no_reading)
        again = prepare(LMConfig(data=str(corpus)), log=notes.append)
    assert notes[1] == notes[0] and again.vocab.tokens == first.vocab.tokens
    prepare(LMConfig(data=str(corpus), max_vocab=10), log=notes.append)
    assert notes[2] != notes[0]
    with open(corpus / "valid.txt", "a", encoding="utf-8") as file:
        file.write("a brand new line .\n")
    changed = prepare(LMConfig(data=str(corpus)), log=notes.append)
    assert notes[3] != notes[0] and changed.steps("valid") >= first.steps("valid")
    assert len(encoded_corpus(str(corpus), "word", 10000, 1).ids["valid"]) == len(in_memory(str(corpus))[1]["valid"])


@pytest.mark.slow  # about 10 s: a process killed while encoding
def test_a_run_killed_while_encoding_leaves_no_entry_that_is_used(tmp_path, monkeypatch):
    monkeypatch.setenv("TEXTLSTM_CACHE", str(tmp_path / "cache"))
    corpus = write_corpus(tmp_path)
    killed = textwrap.dedent(f"""
        import os, signal
        import textlstm.lm.encoded as encoded
        write = encoded.write_ids
        def write_then_die(*args):
            written = write(*args)
            os.kill(os.getpid(), signal.SIGKILL)  # the train split is on disk, the rest is not
        encoded.write_ids = write_then_die
        encoded.encoded_corpus({str(corpus)!r}, "word", 0, 1)
    """)
    result = subprocess.run([sys.executable, "-c", killed], env={**os.environ, "PYTHONPATH": os.getcwd()})
    assert result.returncode == -9
    left = os.listdir(cache_root())
    assert len(left) == 1 and left[0].startswith(".lm-") and ".partial-" in left[0]
    assert os.path.isfile(os.path.join(cache_root(), left[0], "train.ids"))
    vocab, ids = in_memory(str(corpus))
    encoded = encoded_corpus(str(corpus), "word", 0, 1)
    for split in ids:
        np.testing.assert_array_equal(encoded.ids[split], ids[split])


def test_parallel_workers_give_the_same_ids(corpus, monkeypatch):
    monkeypatch.setattr("textlstm.corpus.sources.PARALLEL_ROWS", 10)
    vocab, ids = in_memory(str(corpus))
    encoded = encoded_corpus(str(corpus), "word", 0, 1)
    assert encoded.vocab.tokens == vocab.tokens
    for split in ids:
        np.testing.assert_array_equal(encoded.ids[split], ids[split])


def test_words_split_on_the_white_space_python_splits_on(tmp_path):
    # Arrow splits the words of the encoded corpus; the in-memory path and serving split with str.split().
    lines = [" a\tb  c ", "d\u3000e\x1cf", "g\u00a0h\u2028i", "naïve\u2003café", "j\x0bk\x0cl\x85m"] * 8
    for split in ("train", "valid", "test"):
        (tmp_path / f"{split}.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
    vocab, ids = in_memory(str(tmp_path))
    encoded = encoded_corpus(str(tmp_path), "word", 0, 1)
    assert encoded.vocab.tokens == vocab.tokens and "café" in vocab.tokens
    for split in ids:
        np.testing.assert_array_equal(encoded.ids[split], ids[split])


def test_a_cache_location_that_cannot_be_written_is_one_clear_error(corpus, tmp_path, monkeypatch):
    blocker = tmp_path / "a_file"
    blocker.write_text("not a directory")
    monkeypatch.setenv("TEXTLSTM_CACHE", str(blocker / "cache"))
    with pytest.raises(UsageError, match="cannot write the encoded-corpus cache.*TEXTLSTM_CACHE"):
        encoded_corpus(str(corpus), "word", 100, 1)
