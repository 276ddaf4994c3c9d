"""`textlstm evaluate` on a language model: the text encoded through the cache gives the in-memory numbers."""

import os

import numpy as np
import pytest
import tensorflow as tf

import train
from conftest import assert_one_line_error
from lm_corpus import encode_lines, split_lines, tiny_flags, write_corpus
from textlstm.__main__ import main as use_main
from textlstm.corpus import cache_root
from textlstm.corpus.tokenizers import load_tokenizer
from textlstm.lm.data import stream_windows
from textlstm.lm.encoded import encoded_text
from textlstm.lm.inference import evaluate_run
from textlstm.lm.model import compile_language_model
from textlstm.lm.perplexity import evaluate_perplexity
from textlstm.run import load_run
from textlstm.vocab import Vocabulary

# Words the training corpus never has, blank and white-space lines, and spaces around words.
OTHER_LINES = ["the cat sees a zebra near the tree .", "", "  my friend likes quantum food  ", "   ",
               "a dog takes the big box in the park .", "zebra zebra ."]


@pytest.fixture(scope="module")
def finished_run(finished_lm_run):
    return load_run(str(finished_lm_run[1]))


@pytest.fixture
def other_corpus(tmp_path):
    """A directory of train / valid / test files unlike the training corpus, each a little different."""
    directory = tmp_path / "other"
    directory.mkdir()
    for shift, split in enumerate(("train", "valid", "test")):
        lines = (OTHER_LINES[shift:] + OTHER_LINES[:shift]) * (3 + shift)
        (directory / f"{split}.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return directory


@pytest.fixture
def own_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("TEXTLSTM_CACHE", str(tmp_path / "cache"))


def evaluation_entries():
    return sorted(name for name in os.listdir(cache_root()) if name.startswith("lm-eval-"))


def in_memory_evaluation(run, lines):
    """What evaluate gave when it held the corpus in memory: every window laid out at once by `stream_windows`."""
    config = run.config
    ids = encode_lines(lines, config.level, run.vocab)
    model = compile_language_model(run.load_model(), config)
    windows = tf.data.Dataset.from_tensor_slices(stream_windows(ids, config.batch_size, config.bptt))
    return {"perplexity": evaluate_perplexity(model, windows.batch(config.batch_size)), "tokens": len(ids) - 1,
            "unknown_tokens": int((ids == run.vocab.unk_id).sum())}


def assert_same_evaluation(got, expected):
    assert got["tokens"] == expected["tokens"] and got["unknown_tokens"] == expected["unknown_tokens"]
    assert got["perplexity"] == expected["perplexity"]  # the same batches in the same order: the same floats


def test_a_single_file_is_scored_whole_as_in_memory(finished_run, other_corpus, own_cache):
    path = other_corpus / "test.txt"
    expected = in_memory_evaluation(finished_run, path.read_text(encoding="utf-8").splitlines())
    assert expected["unknown_tokens"] > 0
    assert_same_evaluation(evaluate_run(finished_run, str(path), split="train"), expected)  # a file ignores the split


def test_a_directory_is_scored_on_its_split_as_in_memory(finished_run, other_corpus, own_cache):
    expected = in_memory_evaluation(finished_run, split_lines(str(other_corpus))["valid"])
    assert_same_evaluation(evaluate_run(finished_run, str(other_corpus), split="validation"), expected)
    assert evaluate_run(finished_run, str(other_corpus), split="test")["tokens"] != expected["tokens"]


def test_a_hub_dataset_is_scored_on_its_split_as_in_memory(finished_run, other_corpus, own_cache):
    os.rename(other_corpus / "valid.txt", other_corpus / "validation.txt")  # the hub's name for it
    expected = in_memory_evaluation(finished_run, split_lines(f"hf:{other_corpus}")["valid"])
    assert_same_evaluation(evaluate_run(finished_run, f"hf:{other_corpus}", split="valid"), expected)
    assert len(evaluation_entries()) == 1
    assert_same_evaluation(evaluate_run(finished_run, f"hf:{other_corpus}", split="valid"), expected)
    assert len(evaluation_entries()) == 1


def test_a_second_evaluate_reads_the_cache_entry(finished_run, other_corpus, own_cache, monkeypatch):
    first = evaluate_run(finished_run, str(other_corpus), split="valid")
    entries = evaluation_entries()
    assert len(entries) == 1

    def no_reading(*args, **kwargs):
        raise AssertionError("the text was read again")

    with monkeypatch.context() as patched:
        patched.setattr("textlstm.lm.encoded.read_file", no_reading)
        patched.setattr("textlstm.lm.encoded.write_ids", no_reading)
        assert evaluate_run(finished_run, str(other_corpus), split="valid") == first
        # The directory's split and the same file alone are one text, so one entry.
        assert evaluate_run(finished_run, str(other_corpus / "valid.txt")) == first
    assert evaluation_entries() == entries
    with open(other_corpus / "valid.txt", "a", encoding="utf-8") as file:
        file.write("one more zebra .\n")
    changed = evaluate_run(finished_run, str(other_corpus), split="valid")
    assert changed["tokens"] == first["tokens"] + 5 and changed["unknown_tokens"] == first["unknown_tokens"] + 3
    assert len(evaluation_entries()) == 2


def test_another_vocabulary_or_level_encodes_again(other_corpus, own_cache):
    path = str(other_corpus / "test.txt")
    small, large = Vocabulary(Vocabulary.build([]).tokens + ["the"]), Vocabulary.build([["the", "zebra", "cat"]])
    entries = {encoded_text(path, "test", vocab, load_tokenizer(level)).path for vocab in (small, large)
               for level in ("word", "char")}
    assert len(entries) == 4 and len(evaluation_entries()) == 4
    lines = split_lines(str(other_corpus))["test"]
    for vocab in (small, large):
        np.testing.assert_array_equal(encoded_text(path, "test", vocab, load_tokenizer("word")).ids,
                                      encode_lines(lines, "word", vocab))


@pytest.mark.parametrize("make_data,split,message", [
    (lambda directory: directory / "missing.txt", "test", "does not exist"),
    (lambda directory: directory / "blank.txt", "test", "has no text"),
    (lambda directory: directory / "latin1.txt", "test", "is not UTF-8 text (bad byte at line 2)"),
    (lambda directory: directory, "bogus", "split must be train, valid (or validation, dev) or test"),
    (lambda directory: directory, "train", "has no valid or test file next to its training file"),
])
def test_bad_data_is_one_clear_line(finished_run, tmp_path, own_cache, capsys, make_data, split, message):
    (tmp_path / "blank.txt").write_text("\n   \n\t\n", encoding="utf-8")
    (tmp_path / "latin1.txt").write_bytes("a line\ncaf\u00e9\n".encode("latin-1"))
    (tmp_path / "train.txt").write_text("the cat .\n", encoding="utf-8")
    data = make_data(tmp_path)
    assert use_main(["evaluate", "--model", finished_run.path, "--data", str(data), "--split", split]) == 2
    assert_one_line_error(capsys, message)
