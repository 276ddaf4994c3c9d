"""A language-model corpus encoded once into token ids on disk, read back memory-mapped.

Through the encoding layer (`textlstm.corpus`): the splits' text column,
without blank lines, is cut into tokens (words, characters, or the pieces
of a subword model learnt from the training split first); the vocabulary
is built from the training tokens' counts (a subword model's pieces are
its vocabulary); and each split's ids are written end to end into one
int32 file (`train.ids`, ...), each line's ids followed by `<eos>`. The entry also holds the subword model (`tokenizer.model`) and,
in `meta.json`, each split's characters and `<unk>` tokens, for bits per
character. It is cached under a key of the data's content and the
tokenization settings, so a second run on the same data reads the ids
without tokenizing again. `encoded_text` encodes the text `textlstm
evaluate` scores, with the tokenizer and vocabulary of the run evaluated.
"""

import dataclasses
import json
import os

import numpy as np

from textlstm.corpus import SPLITS, Source, cached_entry, count_tokens, entry_key, file_batches
from textlstm.corpus.encoding import ended_ids, map_batches
from textlstm.corpus.sources import file_fingerprint, find_split_files, read_file
from textlstm.corpus.tokenizers import SUBWORD_MODEL_FILE, Subwords, load_tokenizer, tokenizer_identity
from textlstm.errors import UsageError
from textlstm.lm.data import text_only
from textlstm.vocab import EOS, VOCAB_FILE, Vocabulary

TEST_HEAD_FILE = "test_head.json"
META_FILE = "meta.json"
TEXT_IDS_FILE = "text.ids"  # the ids of an `encoded_text` entry
TEST_HEAD_LINES = 100  # test lines kept as text, for the samples generated after training


@dataclasses.dataclass
class EncodedCorpus:
    """The token ids of every split, memory-mapped, with the vocabulary that made them.

    Attributes:
        path: The cache entry holding it.
        tokenizer: The `Words`, `Characters` or `Subwords` that cut the text.
        vocab: The `Vocabulary` of the training split.
        ids: {split: read-only int32 `np.memmap`}, the split's lines end to end, each ending in `<eos>`.
        characters: {split: characters of its lines, one more per line for its end}.
        lines: {split: its lines (and `<eos>` ids)}.
        unknown: {split: ids that are `<unk>`}.
        test_head: The first test lines as token lists (raw tokens, `<eos>` last), for samples.
    """

    path: str
    tokenizer: object
    vocab: Vocabulary
    ids: dict
    characters: dict
    lines: dict
    unknown: dict
    test_head: list


def encoded_corpus(data, level, max_vocab, min_count, hub_streaming=False, log=None, subword_model="unigram",
                   seed=1):
    """The corpus `data` encoded with a vocabulary built by these settings, from the cache or encoded now.

    Args:
        data: As `--data`: a directory, one text file or `hf:NAME[:CONFIG]`.
        level: "word", "char" or "subword".
        max_vocab: Largest vocabulary, special tokens included (for subwords, the number of pieces); 0 means no
            limit (words and characters only).
        min_count: Words or characters seen fewer times in training become `<unk>`.
        hub_streaming: Read `hf:` data with `streaming=True`, each stream
            once, with the same ids and vocabulary as loading it.
        log: Called with one line when a damaged cache entry is encoded again.
        subword_model: "unigram" or "bpe", for the subword level.
        seed: The subword model's sample of the training lines.

    Returns:
        An `EncodedCorpus`.

    Raises:
        UsageError: The data cannot be read, or a split has no text.
    """
    source = Source(data, lines=True, prepare=text_only, streaming=hub_streaming)
    settings = {"level": level, "max_vocab": max_vocab, "min_count": min_count}
    if level == "subword":
        settings.update(subword_model=subword_model, seed=seed)

    def fill(directory, scratch):
        _encode_corpus(source.splits(scratch), data, settings, directory, scratch)

    return open_entry(cached_entry(entry_key("lm", source.identity, settings), fill, log))


def open_entry(path):
    """Reads the `EncodedCorpus` of a cache entry (the ids stay on disk)."""
    with open(os.path.join(path, META_FILE), encoding="utf-8") as file:
        meta = json.load(file)
    with open(os.path.join(path, TEST_HEAD_FILE), encoding="utf-8") as file:
        test_head = json.load(file)
    return EncodedCorpus(path=path, tokenizer=load_tokenizer(meta["level"], path),
                         vocab=Vocabulary.load(os.path.join(path, VOCAB_FILE)),
                         ids={split: _ids(os.path.join(path, f"{split}.ids")) for split in SPLITS},
                         characters=meta["characters"], lines=meta["lines"], unknown=meta["unknown"],
                         test_head=test_head)


def _ids(path):
    return np.memmap(path, dtype=np.int32, mode="r")


def _encode_corpus(splits, data, settings, directory, scratch):
    """Builds the vocabulary from the training split and writes every split's ids into directory."""
    level = settings["level"]
    if level == "subword":
        tokenizer = Subwords.train(_lines(splits["train"]), settings["max_vocab"], settings["subword_model"],
                                   settings["seed"])
        tokenizer.save(os.path.join(directory, SUBWORD_MODEL_FILE))
        vocab = tokenizer.vocabulary()
    else:
        tokenizer = load_tokenizer(level)
        counts = count_tokens(splits["train"], lambda batch: tokenizer.split(batch["text"]).flatten(),
                              os.path.join(scratch, "train-counts.arrow"), tokenizer.parallel)
        vocab = Vocabulary.from_counts(counts, settings["max_vocab"], settings["min_count"])
    meta = {"level": level, "characters": {}, "lines": {}, "unknown": {}}
    for split in SPLITS:
        written = write_ids(splits[split], tokenizer, vocab, os.path.join(directory, f"{split}.ids"),
                            os.path.join(scratch, split))
        if not written["ids"]:
            raise UsageError(f"the {split} split of {data} has no text")
        for name in ("characters", "lines", "unknown"):
            meta[name][split] = written[name]
    vocab.save(os.path.join(directory, VOCAB_FILE))
    head = splits["test"].select(range(min(TEST_HEAD_LINES, len(splits["test"]))))["text"]
    head = [tokens + [EOS] for tokens in tokenizer.split(list(head)).to_pylist()]
    for name, value in ((TEST_HEAD_FILE, head), (META_FILE, meta)):
        with open(os.path.join(directory, name), "w", encoding="utf-8") as file:
            json.dump(value, file, ensure_ascii=False)


def _lines(dataset):
    """The `text` column of dataset, line by line, a batch at a time."""
    for batch in dataset.with_format("arrow").iter(batch_size=10_000):
        yield from batch["text"].to_pylist()


def write_ids(dataset, tokenizer, vocab, path, scratch):
    """Writes the ids of the dataset's `text` lines end to end, each followed by `<eos>`, to path as raw int32.

    The ids are looked up by `map_batches` (in workers when the split is
    large), one row of ids per batch of lines, then written in order.

    Returns:
        {"ids": ids written, "characters": characters of the lines, one more for each line's end,
        "lines": lines, "unknown": ids that are `<unk>`}.
    """
    import datasets
    import pyarrow
    import pyarrow.compute

    def encode_batch(batch):
        # One row per batch: an Arrow table goes to the file as it is (a dict of NumPy arrays would be
        # inspected object by object, which also starts TensorFlow's runtime).
        ids = ended_ids(tokenizer.split(batch["text"]), vocab, vocab.eos_id)
        characters = pyarrow.compute.sum(pyarrow.compute.utf8_length(batch["text"])).as_py() + batch.num_rows
        return pyarrow.table({"ids": pyarrow.ListArray.from_arrays([0, len(ids)], ids),
                              "characters": [characters]})

    features = datasets.Features({"ids": datasets.List(datasets.Value("int32")), "characters": datasets.Value("int64")})
    encoded = map_batches(dataset, encode_batch, features, f"{scratch}-ids.arrow", tokenizer.parallel)
    written = {"ids": 0, "characters": 0, "lines": 0, "unknown": 0}
    with open(path, "wb") as file:
        for batch in file_batches(encoded):
            ids = pyarrow.compute.list_flatten(batch.column("ids")).to_numpy()
            file.write(ids.astype(np.int32, copy=False).tobytes())
            written["ids"] += len(ids)
            written["characters"] += int(pyarrow.compute.sum(batch.column("characters")).as_py() or 0)
            written["lines"] += int(np.count_nonzero(ids == vocab.eos_id))
            written["unknown"] += int(np.count_nonzero(ids == vocab.unk_id))
    return written


@dataclasses.dataclass
class EncodedText:
    """The ids of a text scored by `textlstm evaluate`, memory-mapped, and what bits per character need.

    Attributes:
        path: The cache entry holding them.
        ids: Read-only int32 `np.memmap`: the non-blank lines end to end, each ending in `<eos>`.
        characters: Characters of the lines, one more per line for its end.
        unknown: Ids that are `<unk>`.
    """

    path: str
    ids: np.ndarray
    characters: int
    unknown: int


def encoded_text(data, split, vocab, tokenizer, log=None):
    """The text a run is evaluated on, encoded with that run's tokenizer and vocabulary, from the cache or now.

    A text file is read whole (as lines, whatever its extension); a
    directory gives its split file and a hub dataset its split, read as
    `encoded_corpus` reads them. The cache key covers that file's content
    or the split's `datasets` fingerprint, the tokenizer (a subword model by
    the hash of its bytes) and every token of the vocabulary, so two runs
    share an entry only if they tokenize alike; a directory's split and the
    same file given alone share one too.

    Args:
        data: As `--data`: a text file, a directory or `hf:NAME[:CONFIG]`.
        split: "train", "valid" or "test"; not used for a single file.
        vocab: The run's `Vocabulary`; tokens outside it become `<unk>`.
        tokenizer: The run's tokenizer (`load_tokenizer`).
        log: Called with one line when a damaged cache entry is encoded again.

    Returns:
        An `EncodedText` of at least 2 ids.

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
        written = write_ids(text, tokenizer, vocab, os.path.join(directory, TEXT_IDS_FILE),
                            os.path.join(scratch, "text"))
        with open(os.path.join(directory, META_FILE), "w", encoding="utf-8") as file_:
            json.dump(written, file_)

    settings = {"tokenizer": tokenizer_identity(tokenizer), "vocab": vocab.tokens}
    path = cached_entry(entry_key("lm-eval", identity, settings), fill, log)
    with open(os.path.join(path, META_FILE), encoding="utf-8") as file:
        written = json.load(file)
    return EncodedText(path=path, ids=_ids(os.path.join(path, TEXT_IDS_FILE)), characters=written["characters"],
                       unknown=written["unknown"])
