"""A language-model corpus encoded once into token ids on disk, read back memory-mapped.

Through the encoding layer (`textlstm.corpus`): the splits' text column,
without blank lines, is tokenized once into Arrow files; the vocabulary is
built from the training tokens' counts; and each split's ids are written
end to end into one int32 file (`train.ids`, ...), each line's ids followed
by `<eos>`. The entry is cached under a key of the data's content and the
vocabulary settings, so a second run on the same data reads the ids
without tokenizing again. `encoded_text` encodes the text `textlstm
evaluate` scores, with the vocabulary of the run evaluated.
"""

import dataclasses
import json
import os

import numpy as np

from textlstm.corpus import SPLITS, Source, cached_entry, count_tokens, entry_key, file_batches, tokenize_split
from textlstm.corpus.encoding import ended_ids
from textlstm.corpus.sources import file_fingerprint, find_split_files, read_file
from textlstm.errors import UsageError
from textlstm.lm.data import split_words, text_only
from textlstm.vocab import EOS, VOCAB_FILE, Vocabulary

TEST_HEAD_FILE = "test_head.json"
TEXT_IDS_FILE = "text.ids"  # the ids of an `encoded_text` entry
TEST_HEAD_LINES = 100  # test lines kept as text, for the samples generated after training


@dataclasses.dataclass
class EncodedCorpus:
    """The token ids of every split, memory-mapped, with the vocabulary that made them.

    Attributes:
        path: The cache entry holding it.
        vocab: The `Vocabulary` of the training split.
        ids: {split: read-only int32 `np.memmap`}, the split's lines end to end, each ending in `<eos>`.
        test_head: The first test lines as token lists (raw tokens, `<eos>` last), for samples.
    """

    path: str
    vocab: Vocabulary
    ids: dict
    test_head: list


def encoded_corpus(data, level, max_vocab, min_count, hub_streaming=False, log=None):
    """The corpus `data` encoded with a vocabulary built by these settings, from the cache or encoded now.

    Args:
        data: As `--data`: a directory, one text file or `hf:NAME[:CONFIG]`.
        level: "word" or "char".
        max_vocab: Largest vocabulary, special tokens included; 0 means no limit.
        min_count: Tokens seen fewer times in training become `<unk>`.
        hub_streaming: Read `hf:` data with `streaming=True`, each stream
            once, with the same ids and vocabulary as loading it.
        log: Called with one line when a damaged cache entry is encoded again.

    Returns:
        An `EncodedCorpus`.

    Raises:
        UsageError: The data cannot be read, or a split has no text.
    """
    source = Source(data, lines=True, prepare=text_only, streaming=hub_streaming)
    settings = {"level": level, "max_vocab": max_vocab, "min_count": min_count}

    def fill(directory, scratch):
        _encode_corpus(source.splits(scratch), data, settings, directory, scratch)

    return open_entry(cached_entry(entry_key("lm", source.identity, settings), fill, log))


def open_entry(path):
    """Reads the `EncodedCorpus` of a cache entry (the ids stay on disk)."""
    vocab = Vocabulary.load(os.path.join(path, VOCAB_FILE))
    with open(os.path.join(path, TEST_HEAD_FILE), encoding="utf-8") as file:
        test_head = json.load(file)
    ids = {split: _ids(os.path.join(path, f"{split}.ids")) for split in SPLITS}
    return EncodedCorpus(path=path, vocab=vocab, ids=ids, test_head=test_head)


def _ids(path):
    return np.memmap(path, dtype=np.int32, mode="r")


def _encode_corpus(splits, data, settings, directory, scratch):
    """Tokenizes every split, builds the vocabulary from the training tokens and writes the ids into directory."""
    tokens = {split: tokenize_lines(splits[split], settings["level"], os.path.join(scratch, split))
              for split in SPLITS}
    vocab = Vocabulary.from_counts(count_tokens(tokens["train"], ["tokens"]), settings["max_vocab"],
                                   settings["min_count"])
    for split in SPLITS:
        if not write_ids(tokens[split], vocab, os.path.join(directory, f"{split}.ids")):
            raise UsageError(f"the {split} split of {data} has no text")
    vocab.save(os.path.join(directory, VOCAB_FILE))
    head = []
    for batch in file_batches(tokens["test"]):
        head += [line + [EOS] for line in batch.column("tokens").to_pylist()[: TEST_HEAD_LINES - len(head)]]
        if len(head) == TEST_HEAD_LINES:
            break
    with open(os.path.join(directory, TEST_HEAD_FILE), "w", encoding="utf-8") as file:
        json.dump(head, file, ensure_ascii=False)


def tokenize_lines(dataset, level, path):
    """Tokenizes the `text` column of dataset, a row of tokens per line, into Arrow files (`tokenize_split`)."""
    import datasets
    import pyarrow

    def tokenize_batch(batch):
        if level == "word":
            return pyarrow.table({"tokens": split_words(batch["text"])})
        characters = [list(line.strip()) for line in batch["text"].to_pylist()]
        return pyarrow.table({"tokens": pyarrow.array(characters, pyarrow.list_(pyarrow.string()))})

    features = datasets.Features({"tokens": datasets.List(datasets.Value("string"))})
    return tokenize_split(dataset, tokenize_batch, features, f"{path}-tokens.arrow")


def write_ids(token_files, vocab, path):
    """Writes the ids of the token rows in token_files end to end, each row followed by `<eos>`, as raw int32.

    Returns:
        The number of ids written.
    """
    written = 0
    with open(path, "wb") as file:
        for batch in file_batches(token_files):
            ids = ended_ids(batch.column("tokens"), vocab, vocab.eos_id)
            file.write(ids.tobytes())
            written += len(ids)
    return written


def encoded_text(data, split, vocab, level, log=None):
    """The token ids of the text a run is evaluated on, encoded with that run's vocabulary, from the cache or now.

    A text file is read whole (as lines, whatever its extension); a
    directory gives its split file and a hub dataset its split, read as
    `encoded_corpus` reads them. The cache key covers that file's content
    or the split's `datasets` fingerprint, the level and every token of the
    vocabulary, so two runs share an entry only if their vocabularies are
    the same; a directory's split and the same file given alone share one too.

    Args:
        data: As `--data`: a text file, a directory or `hf:NAME[:CONFIG]`.
        split: "train", "valid" or "test"; not used for a single file.
        vocab: The run's `Vocabulary`; tokens outside it become `<unk>`.
        level: The run's level, "word" or "char".
        log: Called with one line when a damaged cache entry is encoded again.

    Returns:
        (the entry's directory, a read-only int32 `np.memmap` of the ids):
        the non-blank lines end to end, each ending in `<eos>`, so at least 2 ids.

    Raises:
        UsageError: The data is missing, not UTF-8, has no text, or the
            directory has no file for one of the splits.
    """
    file, dataset = None, None
    if os.path.isfile(data):
        file, name = data, f"data file {data}"
    elif os.path.isdir(data):
        file, name = find_split_files(data)[split], f"the {split} split of {data}"
    else:  # a hub dataset, or a path that is not there (`Source` says so)
        dataset = Source(data, lines=True, prepare=text_only).splits()[split]
    identity = {"file": file_fingerprint(file)} if file else {"data": data, "split": split,
                                                               "fingerprint": dataset._fingerprint}

    def fill(directory, scratch):
        text = dataset if dataset is not None else text_only(read_file(file, lines=True), name)
        write_ids(tokenize_lines(text, level, os.path.join(scratch, "text")), vocab,
                  os.path.join(directory, TEXT_IDS_FILE))

    path = cached_entry(entry_key("lm-eval", identity, {"level": level, "vocab": vocab.tokens}), fill, log)
    return path, _ids(os.path.join(path, TEXT_IDS_FILE))
