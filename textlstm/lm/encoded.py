"""A language-model corpus encoded once into token ids on disk, read back memory-mapped.

The splits are read through `datasets` (Arrow files, memory-mapped); the
training tokens are counted and every split is encoded by
`Dataset.map(batched=True, num_proc=...)`, and the ids of each split are
written end to end into one int32 file (`train.ids`, ...), each line's ids
followed by `<eos>`. Nothing holds the whole corpus in memory. The result
is cached (`textlstm.corpus_cache`) under a key of the data files and the
vocabulary settings, so a second run on the same data reads the ids
without tokenizing again. With `hub_streaming`, a hub dataset is read as a
stream instead and encoded as it arrives (`textlstm.lm.streamed`), keyed
by the hash `datasets` gives its builder. `encoded_text` encodes the text
`textlstm evaluate` scores, with the vocabulary of the run evaluated.
"""

import collections
import dataclasses
import json
import os
import shutil

import numpy as np

from textlstm.corpus import SPLITS, find_split_files, load_hub_streams, load_splits, read_file, workers
from textlstm.corpus_cache import cache_key, data_files, describe_files, find_entry, write_entry
from textlstm.errors import UsageError
from textlstm.lm.data import split_words, text_only, tokenize
from textlstm.lm.streamed import encode_streams
from textlstm.vocab import EOS, Vocabulary

VOCAB_FILE = "vocab.json"
TEST_HEAD_FILE = "test_head.json"
TEXT_IDS_FILE = "text.ids"  # the ids of an `encoded_text` entry
TEST_HEAD_LINES = 100  # test lines kept as text, for the samples generated after training
BATCH_LINES = 10_000  # lines per `map` batch


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


def encoded_corpus(data, level, max_vocab, min_count, hub_streaming=False):
    """The corpus `data` encoded with a vocabulary built by these settings, from the cache or encoded now.

    Args:
        data: As `--data`: a directory, one text file or `hf:NAME[:CONFIG]`.
        level: "word" or "char".
        max_vocab: Largest vocabulary, special tokens included; 0 means no limit.
        min_count: Tokens seen fewer times in training become `<unk>`.
        hub_streaming: Read `hf:` data with `streaming=True` and encode it as
            it arrives (`textlstm.lm.streamed`), with the same ids and vocabulary.

    Returns:
        An `EncodedCorpus`.

    Raises:
        UsageError: The data cannot be read, or a split has no text.
    """
    settings = {"level": level, "max_vocab": max_vocab, "min_count": min_count}
    files = data_files(data)
    splits = streams = None
    if hub_streaming:  # nothing is read yet: the builder's hash stands for the data
        streams, builder_hash = load_hub_streams(data)
        source = {"data": data, "streamed": builder_hash}
    elif files is None:  # a hub dataset: `datasets` fingerprints what it loaded
        splits = _load(data)
        source = {"data": data, "fingerprints": {split: splits[split]._fingerprint for split in SPLITS}}
    else:
        source = describe_files(files)
    key = cache_key("lm", source, settings)
    path = find_entry(key)
    if path is None and hub_streaming:
        path = write_entry(key, lambda directory: _write_vocab_and_head(
            directory, *encode_streams(streams, data, settings, directory, TEST_HEAD_LINES)))
    elif path is None:
        splits = splits or _load(data)
        path = write_entry(key, lambda directory: _encode_splits(splits, data, settings, directory))
    return open_entry(path)


def open_entry(path):
    """Reads the `EncodedCorpus` of a cache entry (the ids stay on disk)."""
    vocab = Vocabulary.load(os.path.join(path, VOCAB_FILE))
    with open(os.path.join(path, TEST_HEAD_FILE), encoding="utf-8") as file:
        test_head = json.load(file)
    ids = {split: np.memmap(os.path.join(path, f"{split}.ids"), dtype=np.int32, mode="r") for split in SPLITS}
    return EncodedCorpus(path=path, vocab=vocab, ids=ids, test_head=test_head)


def encoded_text(data, split, vocab, level):
    """The token ids of the text a run is evaluated on, encoded with that run's vocabulary, from the cache or now.

    A text file is read whole (as lines, whatever its extension); a
    directory gives its split file and a hub dataset its split, read as
    `encoded_corpus` reads them. The cache key covers that file (path, size,
    modification time) or the split's `datasets` fingerprint, the level and
    every token of the vocabulary, so two runs share an entry only if their
    vocabularies are the same; a directory's split and the same file given
    alone share one too.

    Args:
        data: As `--data`: a text file, a directory or `hf:NAME[:CONFIG]`.
        split: "train", "valid" or "test"; not used for a single file.
        vocab: The run's `Vocabulary`; tokens outside it become `<unk>`.
        level: The run's level, "word" or "char".

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
    else:  # a hub dataset, or a path that is not there (`load_splits` says so)
        dataset = _load(data)[split]
    source = describe_files([file]) if file else {"data": data, "split": split, "fingerprint": dataset._fingerprint}
    key = cache_key("lm-eval", source, {"level": level, "vocab": vocab.tokens})
    path = find_entry(key)
    if path is None:
        dataset = dataset if dataset is not None else text_only(read_file(file, lines=True), name)
        path = write_entry(key, lambda directory: _encode_text(dataset, vocab, level, directory))
    return path, np.memmap(os.path.join(path, TEXT_IDS_FILE), dtype=np.int32, mode="r")


def _encode_text(dataset, vocab, level, directory):
    scratch = os.path.join(directory, "scratch")  # `map`'s Arrow file, removed once the ids are written
    os.makedirs(scratch)
    encode_to_file(dataset, vocab, level, os.path.join(directory, TEXT_IDS_FILE), os.path.join(scratch, "text"))
    shutil.rmtree(scratch)


def _load(data):
    return load_splits(data, lines=True, prepare=text_only)


def _encode_splits(splits, data, settings, directory):
    """Counts the training tokens, builds the vocabulary and writes every split's ids into directory."""
    level = settings["level"]
    scratch = os.path.join(directory, "scratch")  # `map`'s Arrow files, removed once the ids are written
    os.makedirs(scratch)
    vocab = Vocabulary.from_counts(count_tokens(splits["train"], level, scratch), settings["max_vocab"],
                                   settings["min_count"])
    for split in SPLITS:
        if not encode_to_file(splits[split], vocab, level, os.path.join(directory, f"{split}.ids"),
                              os.path.join(scratch, split)):
            raise UsageError(f"the {split} split of {data} has no text")
    shutil.rmtree(scratch)
    head = splits["test"].select(range(min(TEST_HEAD_LINES, len(splits["test"]))))["text"]
    _write_vocab_and_head(directory, vocab, [tokenize(line, level) + [EOS] for line in head])


def _write_vocab_and_head(directory, vocab, head):
    """Writes the vocabulary and the first test lines (token lists) into an entry."""
    vocab.save(os.path.join(directory, VOCAB_FILE))
    with open(os.path.join(directory, TEST_HEAD_FILE), "w", encoding="utf-8") as file:
        json.dump(head, file, ensure_ascii=False)


def count_tokens(dataset, level, scratch):
    """How often each token occurs in the `text` column of dataset, counted by `map` (in workers when large).

    Each batch of lines gives one row per distinct token; only these
    (token, count) rows come back to this process.

    Returns:
        A `collections.Counter`.
    """
    import pyarrow
    import pyarrow.compute

    def count_batch(batch):
        if level == "word":
            counts = pyarrow.compute.value_counts(pyarrow.compute.list_flatten(split_words(batch["text"])))
            return pyarrow.table({"token": counts.field("values"), "count": counts.field("counts")})
        counts = collections.Counter(batch_tokens(batch["text"].to_pylist(), level))
        return pyarrow.table({"token": list(counts), "count": list(counts.values())})

    counted = dataset.with_format("arrow").map(
        count_batch, batched=True, batch_size=BATCH_LINES, remove_columns=dataset.column_names,
        num_proc=workers(dataset), cache_file_name=os.path.join(scratch, "train-counts.arrow"),
        new_fingerprint=f"count-{level}-{dataset._fingerprint}")
    totals = collections.Counter()
    for batch in record_batches(counted):
        for token, count in zip(batch.column("token").to_pylist(), batch.column("count").to_pylist()):
            totals[token] += count
    return totals


def encode_to_file(dataset, vocab, level, path, scratch):
    """Writes the ids of dataset's lines end to end (each followed by `<eos>`) to path as raw int32.

    Returns:
        The number of ids written.
    """
    import datasets
    import pyarrow
    import pyarrow.compute

    get, unknown, end = vocab.ids.get, vocab.unk_id, vocab.eos_id
    tokens = pyarrow.array(vocab.tokens)

    def encode_batch(batch):
        # One row per batch of lines: its ids end to end. An Arrow table goes to the file as it is (a dict of
        # NumPy arrays would be inspected object by object, which also starts TensorFlow's runtime).
        if level == "word":
            words = split_words(batch["text"]).combine_chunks()
            ids = pyarrow.compute.index_in(words.flatten(), value_set=tokens).fill_null(unknown).to_numpy()
            line_ends = words.offsets.to_numpy()[1:] - words.offsets[0].as_py()
            ids = np.insert(ids.astype(np.int32), line_ends, end)
        else:
            ids = np.array([get(token, unknown) for token in batch_tokens(batch["text"].to_pylist(), level, EOS)],
                           dtype=np.int32)
        return pyarrow.table({"ids": pyarrow.ListArray.from_arrays([0, len(ids)], ids)})

    encoded = dataset.with_format("arrow").map(
        encode_batch, batched=True, batch_size=BATCH_LINES, remove_columns=dataset.column_names,
        features=datasets.Features({"ids": datasets.Sequence(datasets.Value("int32"))}),
        num_proc=workers(dataset), cache_file_name=f"{scratch}-ids.arrow",
        new_fingerprint=f"encode-{os.path.basename(path)}-{dataset._fingerprint}")
    written = 0
    with open(path, "wb") as file:
        for batch in record_batches(encoded):
            values = pyarrow.compute.list_flatten(batch.column("ids")).to_numpy()
            file.write(values.astype(np.int32, copy=False).tobytes())
            written += len(values)
    return written


def batch_tokens(lines, level, end=None):
    """The tokens of lines end to end, each line followed by end if given (as `tokenize` splits one line).

    Example:

    >>> batch_tokens(["ab ", "c"], "char", "<eos>")
    ['a', 'b', '<eos>', 'c', '<eos>']
    """
    tokens = []
    for line in lines:
        tokens += tokenize(line, level)
        if end:
            tokens.append(end)
    return tokens


def record_batches(dataset):
    """The Arrow record batches of a fresh `map` result, read from its files in order without memory-mapping.

    Memory-mapped pages, once read, count in the process's resident memory
    until the kernel needs them back; plain reads of one batch at a time do
    not, so a corpus of any size is read in a bounded space.
    """
    return file_batches([cache_file["filename"] for cache_file in dataset.cache_files])


def file_batches(paths):
    """The record batches of Arrow stream files, in order, read with plain reads (see `record_batches`)."""
    import pyarrow

    for path in paths:
        with pyarrow.OSFile(path) as source:
            yield from pyarrow.ipc.open_stream(source)
