"""The encoded-corpus cache checks an entry before using it, and knows changed data by its content."""

import os
import pathlib
import subprocess
import sys

import numpy as np
import pytest

from lm_corpus import encode_lines, split_lines, write_corpus
from summarize_data import write_sample
from textlstm.corpus import cache_root
from textlstm.corpus.cache import PARTIAL_MARKER
from textlstm.lm.data import tokenize_lines
from textlstm.lm.encoded import encoded_corpus
from textlstm.summarize.config import SummarizeConfig
from textlstm.summarize.encoded import encoded_pairs
from textlstm.vocab import Vocabulary


def truncate(path):
    with open(path, "r+b") as file:
        file.truncate(1000)


def scramble(path):
    size = os.path.getsize(path)
    path.write_bytes(np.random.default_rng(0).integers(0, 256, size, dtype=np.uint8).tobytes())


def one_byte_short(path):
    with open(path, "r+b") as file:
        file.truncate(os.path.getsize(path) - 1)


def empty(path):
    path.write_bytes(b"")


def garbage(path):
    path.write_text("{not json")


@pytest.mark.parametrize("name,damage", [("train.ids", truncate), ("train.ids", scramble),
                                         ("valid.ids", one_byte_short), ("test_head.json", os.remove),
                                         ("test.ids", empty), ("vocab.json", garbage), ("entry.json", garbage)])
def test_a_damaged_entry_is_said_and_encoded_again(corpus, name, damage):
    entry = encoded_corpus(str(corpus), "word", 0, 1).path
    damage(pathlib.Path(entry) / name)
    notes = []
    again = encoded_corpus(str(corpus), "word", 0, 1, log=notes.append)
    assert len(notes) == 1 and f"the cached entry {entry} is damaged" in notes[0] and "encoding again" in notes[0]
    lines = split_lines(str(corpus))
    vocab = Vocabulary.build(tokenize_lines(lines["train"], "word"))
    assert again.path == entry and again.vocab.tokens == vocab.tokens
    for split in ("train", "valid", "test"):
        np.testing.assert_array_equal(again.ids[split], encode_lines(lines[split], "word", vocab))
    assert encoded_corpus(str(corpus), "word", 0, 1, log=notes.append).path == entry and len(notes) == 1


def test_a_damaged_summarization_entry_is_encoded_again(tmp_path):
    config = SummarizeConfig(data=str(write_sample(tmp_path, train=20, valid=4, test=4)))
    first = encoded_pairs(config)
    labels = np.array(first.arrays["train"]["labels"])
    scramble(pathlib.Path(first.path) / "meta.json")
    notes = []
    again = encoded_pairs(config, log=notes.append)
    assert len(notes) == 1 and "meta.json does not hold what was written" in notes[0]
    np.testing.assert_array_equal(again.arrays["train"]["labels"], labels)


def test_data_changed_with_its_size_and_time_kept_is_encoded_again(corpus):
    # As `cp -p`, `rsync -t` or `tar` leave it: other words, the same size and modification time.
    first = encoded_corpus(str(corpus), "word", 0, 1)
    path = corpus / "train.txt"
    status = os.stat(path)
    path.write_text(path.read_text().replace("cat", "cow"))
    os.utime(path, ns=(status.st_atime_ns, status.st_mtime_ns))
    assert os.stat(path).st_size == status.st_size
    changed = encoded_corpus(str(corpus), "word", 0, 1)
    assert changed.path != first.path and "cow" in changed.vocab.tokens and "cat" not in changed.vocab.tokens


def test_partial_entries_of_finished_processes_are_removed_and_live_ones_kept(corpus, tmp_path):
    root = cache_root()
    os.makedirs(root, exist_ok=True)
    finished = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    living = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        partials = {pid: os.path.join(root, f".lm-0123456789abcdef01234567.partial-{pid}")
                    for pid in (int(finished.stdout), living.pid)}
        for path in partials.values():
            os.makedirs(path)
            open(os.path.join(path, PARTIAL_MARKER), "w").close()
        unmarked = os.path.join(root, f".someone-else.partial-{int(finished.stdout)}")
        os.makedirs(unmarked)
        encoded_corpus(str(corpus), "word", 7, 1)
        assert not os.path.exists(partials[int(finished.stdout)])
        assert os.path.isdir(partials[living.pid]) and os.path.isdir(unmarked)
    finally:
        living.kill()
        living.wait()


@pytest.mark.parametrize("lines", [3, 4, 5, 10])
def test_a_single_file_of_a_few_lines_is_cut_into_three_splits(tmp_path, lines):
    path = tmp_path / "few.txt"
    path.write_text("".join(f"line {index} has words\n" for index in range(lines)))
    encoded = encoded_corpus(str(path), "word", 0, 1)
    assert all(len(encoded.ids[split]) >= 2 for split in ("train", "valid", "test"))
    assert sum(len(encoded.ids[split]) for split in ("train", "valid", "test")) == 5 * lines


@pytest.mark.slow  # about 6 s: a run trained
def test_a_corpus_of_a_few_lines_trains_end_to_end(tmp_path):
    import train
    from lm_corpus import tiny_flags

    path = tmp_path / "four.txt"
    path.write_text("the cat sees a dog\nthe dog sees a cat\na cat sees the dog\nthe dog is here\n")
    assert train.main(tiny_flags(path, tmp_path / "run", "--batch-size", "1", "--bptt", "2", "--epochs", "1")) == 0


def test_the_same_files_elsewhere_share_one_entry(tmp_path):
    entries = []
    for name in ("a", "b"):
        (tmp_path / name).mkdir()
        entries.append(encoded_corpus(str(write_corpus(tmp_path / name)), "char", 0, 1).path)
    assert entries[0] == entries[1]
