"""Summarization pairs encoded once into id arrays on disk, read back memory-mapped.

The train and valid splits are tokenized by `Dataset.map(batched=True)`
into an Arrow file of (source tokens, target tokens) training pairs; the
vocabulary is counted from the training pairs, and every pair's ids are
written as fixed-width rows of int32 files, one per model input
(`train.source.ids`, ...), padded with 0. Nothing holds a split in memory.
The entry is cached (`textlstm.corpus_cache`) under a key of the data
files and the settings that decide the ids, so a second run on the same
data reads the arrays without tokenizing again. With `hub_streaming` the
splits are `datasets` streams, keyed by the hash of their builder: each is
tokenized as it is read and its pairs written to the Arrow file directly.
The test split stays text: it is scored through the exported SavedModel.

Tokenization is `textlstm.summarize.data.tokenize`, TensorFlow's ops as in
the SavedModel, run in this process: TensorFlow's runtime does not survive
the fork of `map`'s worker processes.
"""

import collections
import dataclasses
import json
import os
import shutil

import numpy as np

from textlstm.corpus import SPLITS, column_names, load_hub_streams, load_splits
from textlstm.corpus_cache import cache_key, data_files, describe_files, find_entry, write_entry
from textlstm.errors import UsageError
from textlstm.lm.encoded import file_batches
from textlstm.summarize.data import (SINGLE_FILE_SEED, check_columns, encode_extended_sources, encode_sources,
                                     encode_targets, no_usable_example, pick_fields, tokenize, usable_pairs,
                                     usable_rows)
from textlstm.vocab import Vocabulary

TRAINING_SPLITS = ("train", "valid")
VOCAB_FILE = "vocab.json"
META_FILE = "meta.json"
BATCH_ROWS = 1_000  # rows per `map` batch and per batch of encoded rows


@dataclasses.dataclass
class EncodedPairs:
    """The id arrays of the train and valid pairs, memory-mapped, with what describes the data.

    Attributes:
        path: The cache entry holding them.
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
        test: The test split's `Pairs` (text).
    """

    path: str
    vocab: Vocabulary
    arrays: dict
    fields: tuple
    lists: tuple
    documents: dict
    skipped: dict
    label_tokens: dict
    lead_words: int
    test: object


def encoded_pairs(config):
    """The pairs of `config.data` encoded under config's settings, from the cache or encoded now.

    Args:
        config: A `SummarizeConfig` (data, fields, target_list, max_vocab, min_count, max lengths, copy).

    Returns:
        An `EncodedPairs`.

    Raises:
        UsageError: The data cannot be read, a column is missing, or a split has no usable row.
    """
    if config.hub_streaming:  # nothing is read yet: the builder's hash stands for the data
        splits, builder_hash = load_hub_streams(config.data)
        missing = [split for split in SPLITS if split not in splits]
        if missing:
            raise UsageError(f"hub-streaming needs train, valid and test splits; {config.data} has no "
                             f"{' or '.join(missing)} split (without --hub-streaming it is cut from train)")
        source = {"data": config.data, "builder": builder_hash}
    else:
        splits = load_splits(config.data, shuffle_seed=SINGLE_FILE_SEED)
        files = data_files(config.data)
        if files is None:  # a hub dataset: `datasets` fingerprints what it loaded
            source = {"data": config.data, "fingerprints": {split: splits[split]._fingerprint for split in splits}}
        else:
            source = describe_files(files)
    fields = pick_fields(column_names(splits["train"]), config.source_field, config.target_field)
    test = usable_pairs(splits["test"], fields, f"the test split of {config.data}")
    settings = {"fields": fields, "target_list": config.target_list, "max_vocab": config.max_vocab,
                "min_count": config.min_count, "max_source_len": config.max_source_len,
                "max_target_len": config.max_target_len, "copy": config.copy}
    key = cache_key("summarize", source, settings)
    path = find_entry(key) or write_entry(key, lambda directory: _encode(splits, fields, config, directory))
    return _open(path, test)


def _open(path, test):
    """The `EncodedPairs` of a cache entry (the arrays stay on disk), with the test split's pairs."""
    with open(os.path.join(path, META_FILE), encoding="utf-8") as file:
        meta = json.load(file)
    arrays = {split: {name: _array(os.path.join(path, f"{split}.{name}.ids"), meta["rows"][split], *widths)
                      for name, widths in meta["widths"][split].items()}
              for split in TRAINING_SPLITS}
    return EncodedPairs(path=path, vocab=Vocabulary.load(os.path.join(path, VOCAB_FILE)), arrays=arrays,
                        fields=tuple(meta["fields"]), lists=tuple(meta["lists"]), documents=meta["documents"],
                        skipped=meta["skipped"], label_tokens=meta["label_tokens"], lead_words=meta["lead_words"],
                        test=test)


def _array(path, rows, width, used):
    """The first `used` columns of a file of rows of `width` int32 ids, memory-mapped."""
    return np.memmap(path, dtype=np.int32, mode="r", shape=(rows, width))[:, :used]


def _encode(splits, fields, config, directory):
    """Tokenizes the train and valid pairs, builds the vocabulary and writes each split's arrays into directory."""
    scratch = os.path.join(directory, "scratch")  # the tokenized pairs' Arrow files, removed once the ids are written
    os.makedirs(scratch)
    tokenized, seen = {}, {"lists": set()}
    for split in TRAINING_SPLITS:
        check_columns(splits[split], fields, f"the {split} split of {config.data}")
        tokenized[split] = _tokenize_split(splits[split], fields, config.target_list,
                                           os.path.join(scratch, f"{split}.arrow"), seen, split)
    vocab = Vocabulary.from_counts(_count_tokens(tokenized["train"]), config.max_vocab, config.min_count)
    meta = {"fields": fields, "lists": [field for field in fields if field in seen["lists"]]}
    for split in TRAINING_SPLITS:
        written = _write_arrays(tokenized[split], vocab, config, os.path.join(directory, split))
        if not written["documents"]:
            raise no_usable_example(f"the {split} split of {config.data}", seen[split], fields)
        written["skipped"] = seen[split] - written["documents"]
        for name, value in written.items():
            meta.setdefault(name, {})[split] = value
    meta["lead_words"] = max(1, round(meta["first_words"]["train"] / meta["documents"]["train"]))
    shutil.rmtree(scratch)
    vocab.save(os.path.join(directory, VOCAB_FILE))
    with open(os.path.join(directory, META_FILE), "w", encoding="utf-8") as file:
        json.dump(meta, file, ensure_ascii=False)


def _tokenize_split(dataset, fields, target_list, cache_file, seen, split):
    """The training pairs of a split's usable rows as token lists, in Arrow files written through `map`.

    Columns: `source` and `target` (token lists); `first_words`, the words
    of the document's first summary on the document's first pair, 0 on the
    others (with `--target-list each`, a document gives a pair per summary;
    a usable summary has a word, so the non-zero rows count the documents).
    `map` runs in this process,
    so the batches also note in seen the fields that held lists (`lists`)
    and the rows read (`seen[split]`). A stream (`datasets.IterableDataset`)
    is written to cache_file as it is read; a `datasets.Dataset` by `map` itself.

    Returns:
        The paths of the Arrow stream files, in order.
    """
    import datasets
    import pyarrow

    seen[split] = 0

    def tokenize_batch(batch):
        pairs = usable_rows(batch[fields[0]], batch[fields[1]], fields)
        seen["lists"].update(pairs.lists)
        seen[split] += len(batch[fields[0]])
        sources, targets = pairs.training_pairs(target_list)
        first_words = []
        for references in pairs.references:
            document_pairs = 1 if target_list == "first" else len(references)
            first_words += [len(references[0].split())] + [0] * (document_pairs - 1)
        return {"source": tokenize(sources), "target": tokenize(targets), "first_words": first_words}

    tokens = datasets.List(datasets.Value("string"))
    features = datasets.Features({"source": tokens, "target": tokens, "first_words": datasets.Value("int64")})
    options = {"batched": True, "batch_size": BATCH_ROWS, "remove_columns": column_names(dataset),
               "features": features}
    if isinstance(dataset, datasets.IterableDataset):
        with pyarrow.OSFile(cache_file, "wb") as sink, pyarrow.ipc.new_stream(sink, features.arrow_schema) as writer:
            for table in dataset.map(tokenize_batch, **options).with_format("arrow").iter(batch_size=BATCH_ROWS):
                writer.write_table(table.cast(features.arrow_schema))
        return [cache_file]
    mapped = dataset.map(tokenize_batch, cache_file_name=cache_file,
                         new_fingerprint=f"tokenize-{dataset._fingerprint}-{'-'.join(fields)}-{target_list}", **options)
    return [cache_file["filename"] for cache_file in mapped.cache_files]


def _count_tokens(tokenized):
    """How often each token occurs in the sources and targets of the training pairs (in Arrow files)."""
    import pyarrow.compute

    totals = collections.Counter()
    for batch in file_batches(tokenized):
        for column in ("source", "target"):
            counts = pyarrow.compute.value_counts(pyarrow.compute.list_flatten(batch.column(column)))
            for token, count in zip(counts.field("values").to_pylist(), counts.field("counts").to_pylist()):
                totals[token] += count
    return totals


def _write_arrays(tokenized, vocab, config, prefix):
    """Writes the model inputs and labels of the tokenized pairs (Arrow files) as fixed-width int32 rows.

    Each goes to `prefix.NAME.ids`.

    Returns:
        A dict: `rows`; `widths`, {name: [row width on disk, longest row]}; `documents`; `first_words`;
        `label_tokens` (labels that are not padding).
    """
    widths = {"source": config.max_source_len + 1, "decoder_input": config.max_target_len + 1,
              "labels": config.max_target_len + 1}
    if config.copy:
        widths["source_extended"] = widths["source"]
    longest = dict.fromkeys(widths, 1)
    written = {"rows": 0, "documents": 0, "first_words": 0, "label_tokens": 0}
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
