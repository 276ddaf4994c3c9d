"""Summarization data: (source, target) pairs read through `datasets`, tokenized, padded into id arrays.

Tokenization is the same TensorFlow function in training and in the exported
SavedModel (`tokenize_graph`), so serving sees exactly the tokens training saw.
"""

import os

import numpy as np

from textlstm.errors import UsageError
from textlstm.lm.data import SPLITS, check_text_file, find_split_files, load_hub_splits
from textlstm.vocab import BOS, EOS

SOURCE_FIELDS = ("text", "document", "article", "email_body")
TARGET_FIELDS = ("summary", "highlights", "subject", "title")
# File extension -> (`datasets` builder, its extra arguments).
FORMATS = {".jsonl": ("json", {}), ".json": ("json", {}), ".csv": ("csv", {}), ".tsv": ("csv", {"delimiter": "\t"}),
           ".parquet": ("parquet", {})}
# A single file is shuffled with a fixed seed, then cut: 90% train, 5% valid, 5% test.
SINGLE_FILE_FRACTIONS = (0.9, 0.05, 0.05)
SINGLE_FILE_SEED = 0
# ASCII punctuation, split off the words around it (RE2 and Python `re` read this class alike).
PUNCTUATION = r"([!-/:-@\[-`{-~])"


def tokenize_graph(text):
    """Tokenizes a batch of strings with TensorFlow ops: lowercase, punctuation split off, whitespace split.

    Used in training (eagerly) and inside the exported SavedModel.

    Args:
        text: String tensor, (batch,).

    Returns:
        A `tf.RaggedTensor` of strings, (batch, tokens).

    Example:

    >>> tokenize_graph(tf.constant(["Re: the Q3 budget, again!"])).to_list()
    [[b're', b':', b'the', b'q3', b'budget', b',', b'again', b'!']]
    """
    import tensorflow as tf

    text = tf.strings.lower(text, encoding="utf-8")
    return tf.strings.split(tf.strings.regex_replace(text, PUNCTUATION, r" \1 "))


def tokenize(texts):
    """Returns one list of token strings per text, as `tokenize_graph` splits them."""
    import tensorflow as tf

    tokens = []
    for start in range(0, len(texts), 4096):  # bounded memory for large splits
        ragged = tokenize_graph(tf.constant(texts[start: start + 4096], dtype=tf.string))
        tokens += [[token.decode("utf-8") for token in row] for row in ragged.to_list()]
    return tokens


def _read_file(path, split="train"):
    """Reads one JSON Lines / JSON / CSV / TSV / Parquet file into a `datasets.Dataset`."""
    import datasets

    datasets.disable_progress_bars()
    extension = os.path.splitext(path)[1].lower()
    if extension not in FORMATS:
        raise UsageError(f"data file {path} has an unsupported type; use one of {', '.join(FORMATS)}")
    if extension == ".parquet":
        if not os.path.isfile(path):
            raise UsageError(f"data file {path} does not exist")
    else:
        check_text_file(path)
    builder, options = FORMATS[extension]
    try:
        return datasets.load_dataset(builder, data_files={split: path}, split=split, **options)
    except Exception as error:  # pyarrow and datasets raise many types; the user needs the message
        message = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise UsageError(f"cannot read data file {path}: {message}") from None


def _read_splits(data):
    """Returns {split: datasets.Dataset} for train / valid / test, from a directory, a file or the hub."""
    import datasets

    datasets.disable_progress_bars()
    if data.startswith("hf:"):
        splits = load_hub_splits(data)
        if len(splits) < 3:
            return {**_cut(splits["train"], data), **{key: value for key, value in splits.items() if key != "train"}}
        return splits
    if os.path.isdir(data):
        return {split: _read_file(path, split) for split, path in find_split_files(data).items()}
    if not os.path.exists(data):
        raise UsageError(f"data path {data} does not exist")
    return _cut(_read_file(data), data)


def _cut(dataset, source):
    """Shuffles a dataset with a fixed seed and cuts it into train / valid / test."""
    if len(dataset) < 3:
        raise UsageError(f"data {source} has {len(dataset)} rows; it needs at least 3 to make train, valid "
                         "and test splits")
    order = np.random.RandomState(SINGLE_FILE_SEED).permutation(len(dataset))
    valid_start = max(1, int(len(dataset) * SINGLE_FILE_FRACTIONS[0]))
    test_start = min(max(valid_start + 1, int(len(dataset) * sum(SINGLE_FILE_FRACTIONS[:2]))), len(dataset) - 1)
    blocks = {"train": order[:valid_start], "valid": order[valid_start:test_start], "test": order[test_start:]}
    return {split: dataset.select(indices) for split, indices in blocks.items()}


def pick_fields(columns, source_field="", target_field=""):
    """Returns the (source, target) column names: the given ones, checked, or the first common names present.

    Args:
        columns: Column names of the data.
        source_field: Column of the documents, or "" to pick the first of `SOURCE_FIELDS` present.
        target_field: Column of the summaries, or "" to pick the first of `TARGET_FIELDS` present.

    Raises:
        UsageError: A named column is missing or no common name is present; the message lists the columns.

    Example:

    >>> pick_fields(["id", "email_body", "subject"])
    ('email_body', 'subject')
    """
    columns = list(columns)
    picked = []
    for flag, given, common in (("source-field", source_field, SOURCE_FIELDS),
                                ("target-field", target_field, TARGET_FIELDS)):
        if given:
            if given not in columns:
                raise UsageError(f"{flag} {given!r} is not a column of the data. Received: {flag}={given!r}; "
                                 f"the columns are {', '.join(columns)}")
            picked.append(given)
            continue
        present = [name for name in common if name in columns]
        if not present:
            raise UsageError(f"cannot tell which column holds the {'documents' if flag == 'source-field' else 'summaries'}"
                             f" (none of {', '.join(common)}); the columns are {', '.join(columns)}; "
                             f"pass --{flag}")
        picked.append(present[0])
    if picked[0] == picked[1]:
        raise UsageError(f"source-field and target-field must differ. Received: both {picked[0]!r}")
    return tuple(picked)


def _text(value):
    return value if isinstance(value, str) else "" if value is None else str(value)


def load_pairs(data, source_field="", target_field=""):
    """Reads (document, summary) pairs of train / valid / test through the `datasets` library.

    Rows whose document or summary is empty (or missing) are skipped and counted.

    Args:
        data: A directory with train / valid (or dev, validation) / test files,
            one file (shuffled with a fixed seed and cut 90% / 5% / 5%), or
            `hf:NAME[:CONFIG]`. Files are JSON Lines, JSON, CSV, TSV or Parquet.
        source_field: Column of the documents; "" picks a common name.
        target_field: Column of the summaries; "" picks a common name.

    Returns:
        `(pairs, fields, skipped)`: pairs maps "train", "valid", "test" to
        {"source": [str], "target": [str]}; fields is the (source, target)
        column names used; skipped maps each split to the number of rows left out.

    Raises:
        UsageError: Unreadable data, a missing column (the message names the
            columns there are), or a split with no usable row.
    """
    splits = _read_splits(data)
    fields = pick_fields(splits["train"].column_names, source_field, target_field)
    pairs, skipped = {}, {}
    for split in SPLITS:
        pairs[split], skipped[split] = _usable_pairs(splits[split], fields, f"the {split} split of {data}")
    return pairs, fields, skipped


def load_single_file(path, source_field="", target_field=""):
    """Reads every (document, summary) pair of one file, as `load_pairs` reads a split.

    Returns:
        `(pairs, skipped)`: {"source": [str], "target": [str]} and the number of rows left out.
    """
    dataset = _read_file(path)
    fields = pick_fields(dataset.column_names, source_field, target_field)
    return _usable_pairs(dataset, fields, f"data file {path}")


def _usable_pairs(dataset, fields, name):
    """Returns ({"source": [...], "target": [...]}, rows skipped) of the rows with both fields non-empty."""
    missing = [field for field in fields if field not in dataset.column_names]
    if missing:
        raise UsageError(f"{name} has no column {', '.join(missing)}; its columns are "
                         f"{', '.join(dataset.column_names)}")
    sources, targets = [], []
    for source, target in zip(dataset[fields[0]], dataset[fields[1]]):
        source, target = _text(source), _text(target)
        if source.strip() and target.strip():
            sources.append(source)
            targets.append(target)
    if not sources:
        detail = f"all {len(dataset)} rows have an empty {' or '.join(fields)}" if len(dataset) else "no rows"
        raise UsageError(f"{name} has no usable example ({detail})")
    return {"source": sources, "target": targets}, len(dataset) - len(sources)


def encode_sources(token_lists, vocab, max_source_len):
    """Ids of the sources, cut to max_source_len tokens, each ending in `<eos>`, padded with 0.

    Returns:
        int32 array, (examples, longest source + 1).

    Example:

    >>> from textlstm.vocab import Vocabulary
    >>> vocab = Vocabulary.build([["a", "b"]])
    >>> encode_sources([["a", "b", "a"], []], vocab, max_source_len=2).tolist()
    [[4, 5, 2], [2, 0, 0]]
    """
    rows = [vocab.encode(tokens[:max_source_len] + [EOS]) for tokens in token_lists]
    return _pad(rows)


def encode_targets(token_lists, vocab, max_target_len):
    """Teacher-forcing pairs: decoder inputs `<bos> y` and labels `y <eos>`, y cut to max_target_len.

    Returns:
        `(decoder_input, labels)`, int32 arrays (examples, longest target + 1), padded with 0.

    Example:

    >>> from textlstm.vocab import Vocabulary
    >>> vocab = Vocabulary.build([["a", "b"]])
    >>> decoder_input, labels = encode_targets([["a", "b"]], vocab, max_target_len=5)
    >>> decoder_input.tolist(), labels.tolist()
    ([[3, 4, 5]], [[4, 5, 2]])
    """
    cut = [tokens[:max_target_len] for tokens in token_lists]
    return _pad([vocab.encode([BOS] + tokens) for tokens in cut]), _pad([vocab.encode(tokens + [EOS]) for tokens in cut])


def _pad(rows):
    array = np.zeros((len(rows), max(len(row) for row in rows)), dtype=np.int32)
    for index, row in enumerate(rows):
        array[index, : len(row)] = row
    return array
