"""Summarization pairs encoded once into id arrays on disk, read back memory-mapped.

Through the encoding layer (`textlstm.corpus`): the train and valid
splits are tokenized once into Arrow files of (source tokens, target
tokens) training pairs; the vocabulary is counted from the training pairs,
and every pair's ids are written as fixed-width rows of int32 files, one
per model input (`train.source.ids`, ...), padded with 0. The test split's
usable pairs are kept as text (`test_pairs.json`): they are scored through
the exported SavedModel. The entry is cached under a key of the data's
content and the settings that decide the ids, so a second run on the same
data reads nothing else.

Words are cut by `textlstm.summarize.data.SummaryWords` (TensorFlow's ops as
in the SavedModel, run in this process: TensorFlow's runtime does not
survive the fork of `map`'s worker processes); characters and subwords as
the language model cuts them, a subword model being learnt first from the
training documents and summaries and kept in the entry (`tokenizer.model`).
"""

import dataclasses
import json
import os

import numpy as np

from textlstm.corpus import Source, cached_entry, column_names, count_tokens, entry_key, file_batches, map_batches
from textlstm.corpus.tokenizers import SUBWORD_MODEL_FILE, Subwords
from textlstm.summarize.data import (SINGLE_FILE_SEED, Pairs, check_columns, encode_extended_sources, encode_sources,
                                     encode_targets, no_usable_example, pick_fields, summary_tokenizer, usable_pairs,
                                     usable_rows)
from textlstm.vocab import VOCAB_FILE, Vocabulary

TRAINING_SPLITS = ("train", "valid")
META_FILE = "meta.json"
TEST_FILE = "test_pairs.json"
BATCH_ROWS = 1_000  # rows per `map` batch and per batch of encoded rows


@dataclasses.dataclass
class EncodedPairs:
    """The id arrays of the train and valid pairs, memory-mapped, with what describes the data.

    Attributes:
        path: The cache entry holding them.
        tokenizer: The tokenizer that cut the text (`summary_tokenizer`).
        vocab: The `Vocabulary` of the training pairs.
        arrays: {split: {name: read-only int32 2-D array}} for "train" and "valid"; names "source",
            "decoder_input", "labels" and, for a copying model, "source_extended". Rows are padded with 0 to
            the split's longest row.
        fields: The (source, target) column names used.
        lists: The columns among them that hold lists.
        documents: {split: usable documents}.
        skipped: {split: rows left out for an empty document or summary}.
        label_tokens: {split: labels that are not padding}, the targets the loss sees.
        lead_words: Mean words of the training documents' first summaries (the Lead baseline's length).
        lead_characters: Their mean characters but white space (the Lead baseline's length for text scored
            on characters: `textlstm.seq2seq.rouge`).
        test: The test split's `Pairs` (text).
    """

    path: str
    tokenizer: object
    vocab: Vocabulary
    arrays: dict
    fields: tuple
    lists: tuple
    documents: dict
    skipped: dict
    label_tokens: dict
    lead_words: int
    lead_characters: int
    test: object


def encoded_pairs(config, log=None):
    """The pairs of `config.data` encoded under config's settings, from the cache or encoded now.

    Args:
        config: A `SummarizeConfig` (data, hub_streaming, fields, target_list, max_vocab, min_count, max
            lengths, copy).
        log: Called with one line when a damaged cache entry is encoded again.

    Returns:
        An `EncodedPairs`.

    Raises:
        UsageError: The data cannot be read, a column is missing, or a split has no usable row.
    """
    source = Source(config.data, shuffle_seed=SINGLE_FILE_SEED, streaming=config.hub_streaming)
    names = ("level", "source_field", "target_field", "target_list", "max_vocab", "min_count", "max_source_len",
             "max_target_len", "copy") + (("subword_model", "seed") if config.level == "subword" else ())
    settings = {name: getattr(config, name) for name in names}

    def fill(directory, scratch):
        _encode(source.splits(scratch), config, directory, scratch)

    return _open(cached_entry(entry_key("summarize", source.identity, settings), fill, log))


def _open(path):
    """The `EncodedPairs` of a cache entry (the arrays stay on disk)."""
    with open(os.path.join(path, META_FILE), encoding="utf-8") as file:
        meta = json.load(file)
    with open(os.path.join(path, TEST_FILE), encoding="utf-8") as file:
        test = Pairs(**json.load(file))
    arrays = {split: {name: _array(os.path.join(path, f"{split}.{name}.ids"), meta["rows"][split], *widths)
                      for name, widths in meta["widths"][split].items()}
              for split in TRAINING_SPLITS}
    return EncodedPairs(path=path, tokenizer=summary_tokenizer(meta["level"], path),
                        vocab=Vocabulary.load(os.path.join(path, VOCAB_FILE)), arrays=arrays,
                        fields=tuple(meta["fields"]), lists=tuple(meta["lists"]), documents=meta["documents"],
                        skipped=meta["skipped"], label_tokens=meta["label_tokens"], lead_words=meta["lead_words"],
                        lead_characters=meta["lead_characters"],
                        test=test)


def _array(path, rows, width, used):
    """The first `used` columns of a file of rows of `width` int32 ids, memory-mapped."""
    return np.memmap(path, dtype=np.int32, mode="r", shape=(rows, width))[:, :used]


def _encode(splits, config, directory, scratch):
    """Tokenizes the train and valid pairs, builds the vocabulary and writes each split's arrays into directory."""
    fields = pick_fields(column_names(splits["train"]), config.source_field, config.target_field)
    test = usable_pairs(splits["test"], fields, f"the test split of {config.data}")
    for split in TRAINING_SPLITS:
        check_columns(splits[split], fields, f"the {split} split of {config.data}")
    if config.level == "subword":
        tokenizer = Subwords.train(_training_text(splits["train"], fields, config.target_list), config.max_vocab,
                                   config.subword_model, config.seed)
        tokenizer.save(os.path.join(directory, SUBWORD_MODEL_FILE))
    else:
        tokenizer = summary_tokenizer(config.level)
    tokenized, seen = {}, {"lists": set()}
    for split in TRAINING_SPLITS:
        tokenized[split] = _tokenize_split(splits[split], fields, config.target_list, tokenizer,
                                           os.path.join(scratch, f"{split}-pairs.arrow"), seen, split)
    if config.level == "subword":
        vocab = tokenizer.vocabulary()
    else:
        counts = count_tokens(tokenized["train"], _pair_tokens, os.path.join(scratch, "train-counts.arrow"))
        vocab = Vocabulary.from_counts(counts, config.max_vocab, config.min_count)
    meta = {"level": config.level, "fields": fields, "lists": [field for field in fields if field in seen["lists"]]}
    for split in TRAINING_SPLITS:
        written = _write_arrays(tokenized[split], vocab, config, os.path.join(directory, split))
        if not written["documents"]:
            raise no_usable_example(f"the {split} split of {config.data}", seen[split], fields)
        written["skipped"] = seen[split] - written["documents"]
        for name, value in written.items():
            meta.setdefault(name, {})[split] = value
    for unit in ("words", "characters"):
        meta[f"lead_{unit}"] = max(1, round(meta[f"first_{unit}"]["train"] / meta["documents"]["train"]))
    vocab.save(os.path.join(directory, VOCAB_FILE))
    for name, value in ((META_FILE, meta), (TEST_FILE, dataclasses.asdict(test))):
        with open(os.path.join(directory, name), "w", encoding="utf-8") as file:
            json.dump(value, file, ensure_ascii=False)


def _pair_tokens(batch):
    """The source and target tokens of a batch of tokenized pairs, end to end (`count_tokens`)."""
    import pyarrow
    import pyarrow.compute

    return pyarrow.chunked_array([*pyarrow.compute.list_flatten(batch["source"]).chunks,
                                  *pyarrow.compute.list_flatten(batch["target"]).chunks], pyarrow.string())


def _training_text(dataset, fields, target_list):
    """The documents and summaries of a split's training pairs, one after the other, a batch of rows at a time."""
    for batch in dataset.iter(batch_size=BATCH_ROWS):
        sources, targets = usable_rows(batch[fields[0]], batch[fields[1]], fields).training_pairs(target_list)
        yield from sources
        yield from targets


def _tokenize_split(dataset, fields, target_list, tokenizer, path, seen, split):
    """The training pairs of a split's usable rows as token lists, in Arrow files (`map_batches`).

    Columns: `source` and `target` (token lists); `first_words` and
    `first_characters`, the words and the characters but white space of the
    document's first summary on the document's first pair, 0 on the others (with `--target-list each`, a document gives a pair per summary;
    a usable summary has a word, so the non-zero rows count the documents).
    The batches run in this process, so they also note in seen the fields
    that held lists (`lists`) and the rows read (`seen[split]`).

    Returns:
        The `datasets.Dataset` of the pairs.
    """
    import datasets

    seen[split] = 0

    def tokenize_batch(batch):
        pairs = usable_rows(batch[fields[0]], batch[fields[1]], fields)
        seen["lists"].update(pairs.lists)
        seen[split] += len(batch[fields[0]])
        sources, targets = pairs.training_pairs(target_list)
        first_words, first_characters = [], []
        for references in pairs.references:
            padding = [0] * ((1 if target_list == "first" else len(references)) - 1)
            first_words += [len(references[0].split())] + padding
            first_characters += [len("".join(references[0].split()))] + padding
        return {"source": tokenizer.split(sources).to_pylist(), "target": tokenizer.split(targets).to_pylist(),
                "first_words": first_words, "first_characters": first_characters}

    tokens = datasets.List(datasets.Value("string"))
    features = datasets.Features({"source": tokens, "target": tokens, "first_words": datasets.Value("int64"),
                                  "first_characters": datasets.Value("int64")})
    return map_batches(dataset, tokenize_batch, features, path, parallel=False, batch_rows=BATCH_ROWS, arrow=False)


def _write_arrays(tokenized, vocab, config, prefix):
    """Writes the model inputs and labels of the tokenized pairs (Arrow files) as fixed-width int32 rows.

    Each goes to `prefix.NAME.ids`.

    Returns:
        A dict: `rows`; `widths`, {name: [row width on disk, longest row]}; `documents`; `first_words`;
        `first_characters`;
        `label_tokens` (labels that are not padding).
    """
    widths = {"source": config.max_source_len + 1, "decoder_input": config.max_target_len + 1,
              "labels": config.max_target_len + 1}
    if config.copy:
        widths["source_extended"] = widths["source"]
    longest = dict.fromkeys(widths, 1)
    written = {"rows": 0, "documents": 0, "first_words": 0, "first_characters": 0, "label_tokens": 0}
    files = {name: open(f"{prefix}.{name}.ids", "wb") for name in widths}
    try:
        for batch in file_batches(tokenized):
            if not batch.num_rows:
                continue
            arrays = pair_arrays(batch.column("source").to_pylist(), batch.column("target").to_pylist(), vocab,
                                 config)
            for name, values in arrays.items():
                longest[name] = max(longest[name], values.shape[1])
                padded = np.zeros((len(values), widths[name]), dtype=np.int32)
                padded[:, : values.shape[1]] = values
                files[name].write(padded.tobytes())
            written["rows"] += batch.num_rows
            first_words = batch.column("first_words").to_numpy()
            written["documents"] += int(np.count_nonzero(first_words))
            written["first_words"] += int(first_words.sum())
            written["first_characters"] += int(batch.column("first_characters").to_numpy().sum())
            written["label_tokens"] += int((arrays["labels"] != 0).sum())
    finally:
        for file in files.values():
            file.close()
    written["widths"] = {name: [widths[name], longest[name]] for name in widths}
    return written


def pair_arrays(sources, targets, vocab, config):
    """The model inputs and labels of tokenized (source, target) pairs, as int32 arrays padded with 0.

    A copying model also gets the sources' extended ids, and its labels use
    the temporary ids of the words it can copy.

    Returns:
        {"source", "decoder_input", "labels"[, "source_extended"]}: (pairs, longest row) each.
    """
    arrays = {"source": encode_sources(sources, vocab, config.max_source_len)}
    oovs = None
    if config.copy:
        arrays["source_extended"], oovs = encode_extended_sources(sources, vocab, config.max_source_len)
    arrays["decoder_input"], arrays["labels"] = encode_targets(targets, vocab, config.max_target_len, oovs)
    return arrays
