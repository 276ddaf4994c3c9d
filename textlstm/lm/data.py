"""Language-model data: read splits through `datasets`, tokenize, lay out stream-contiguous windows."""

import os
import re

import numpy as np

from textlstm.errors import UsageError
from textlstm.vocab import EOS

SPLITS = ("train", "valid", "test")
# A single file is cut into consecutive blocks: the first 90% of lines train, then 5% and 5%.
SINGLE_FILE_FRACTIONS = (0.9, 0.05, 0.05)
HF_SPLIT_NAMES = {"train": ("train",), "valid": ("validation", "valid", "dev"), "test": ("test",)}


def tokenize(line, level):
    """Splits one line into tokens: whitespace-separated words, or characters.

    Args:
        line: A line of text without its line break.
        level: "word" or "char".

    Returns:
        A list of strings, without the `<eos>` that ends the line.
    """
    if level == "word":
        return line.split()
    return list(line.strip())


def find_split_files(directory):
    """Returns {split: path} for the train / valid / test files of a directory.

    Accepts `train.txt`, `ptb.train.txt`, `wiki.valid.tokens` and the like:
    a file whose name has `train`, `valid` (or `validation`, `dev`) or `test`
    as a dot-separated part.
    """
    aliases = {"train": "train", "valid": "valid", "validation": "valid", "dev": "valid", "test": "test"}
    found = {}
    for name in sorted(os.listdir(directory)):
        path = os.path.join(directory, name)
        if not os.path.isfile(path):
            continue
        parts = [alias for alias in re.split(r"[._-]", name.lower()) if alias in aliases]
        if parts and aliases[parts[0]] not in found:
            found[aliases[parts[0]]] = path
    if "train" not in found:
        raise UsageError(f"data directory {directory} has no training file (train.txt, ptb.train.txt, ...)")
    missing = [split for split in SPLITS if split not in found]
    if missing:
        raise UsageError(f"data directory {directory} has no {' or '.join(missing)} file next to its training file")
    return found


def check_text_file(path):
    """Raises `UsageError` if path is missing, empty or not UTF-8."""
    if not os.path.isfile(path):
        raise UsageError(f"data file {path} does not exist")
    if os.path.getsize(path) == 0:
        raise UsageError(f"data file {path} is empty")
    with open(path, "rb") as file:
        content = file.read()
    try:
        content.decode("utf-8")
    except UnicodeDecodeError as error:
        line = content[: error.start].count(b"\n") + 1
        raise UsageError(f"data file {path} is not UTF-8 text (bad byte at line {line})") from None


def _text_column(dataset, source):
    import datasets

    if "text" in dataset.features:
        return "text"
    columns = [name for name, feature in dataset.features.items()
               if isinstance(feature, datasets.Value) and feature.dtype in ("string", "large_string")]
    if not columns:
        raise UsageError(f"dataset {source} has no text column. Received: columns {list(dataset.features)}")
    return columns[0]


def load_lines(data):
    """Reads the train / valid / test lines of a corpus through the `datasets` library.

    Args:
        data: A directory with train / valid / test files, a single text
            file (cut into 90% / 5% / 5% consecutive blocks), or
            `hf:NAME[:CONFIG]` for a Hugging Face hub dataset with a text column.

    Returns:
        A dict from "train", "valid" and "test" to lists of lines.

    Raises:
        UsageError: The path is missing, empty, not UTF-8, or holds no training file.
    """
    import datasets

    datasets.disable_progress_bars()
    if data.startswith("hf:"):
        return _load_hub(data)
    if os.path.isdir(data):
        files = find_split_files(data)
    elif os.path.exists(data):
        files = {"corpus": data}
    else:
        raise UsageError(f"data path {data} does not exist")
    for path in files.values():
        check_text_file(path)
    loaded = datasets.load_dataset("text", data_files=files)
    if "corpus" in loaded:
        return _cut(list(loaded["corpus"]["text"]), data)
    return {split: list(loaded[split]["text"]) for split in SPLITS}


def load_hub_splits(data):
    """Loads `hf:NAME[:CONFIG]` with `datasets.load_dataset(NAME, CONFIG)`.

    Returns:
        {split: datasets.Dataset} for the splits found among `HF_SPLIT_NAMES`;
        "train" is always there, "valid" and "test" may be missing.

    Raises:
        UsageError: The hub cannot load it, or it has no train split.
    """
    import datasets

    name, _, config = data[3:].partition(":")
    try:
        loaded = datasets.load_dataset(name, config or None)
    except Exception as error:  # the hub raises many types; the user needs the message
        raise UsageError(f"cannot load Hugging Face dataset {data}: {error}") from None
    splits = {}
    for split, candidates in HF_SPLIT_NAMES.items():
        found = [candidate for candidate in candidates if candidate in loaded]
        if found:
            splits[split] = loaded[found[0]]
    if "train" not in splits:
        raise UsageError(f"dataset {data} has no train split. Received: splits {list(loaded)}")
    return splits


def _load_hub(data):
    """Reads the text column of each split of `hf:NAME[:CONFIG]`."""
    splits = {split: list(dataset[_text_column(dataset, data)]) for split, dataset in load_hub_splits(data).items()}
    if len(splits) < 3:
        # Missing valid or test splits come from consecutive blocks of the training text.
        return {**_cut(splits["train"], data), **{split: lines for split, lines in splits.items() if split != "train"}}
    return splits


def _cut(lines, source):
    """Splits lines into consecutive train / valid / test blocks."""
    lines = [line for line in lines if line.strip()]
    if len(lines) < 3:
        raise UsageError(f"data {source} has {len(lines)} non-empty lines; it needs at least 3 to make "
                         "train, valid and test splits")
    valid_start = max(1, int(len(lines) * SINGLE_FILE_FRACTIONS[0]))
    test_start = max(valid_start + 1, int(len(lines) * sum(SINGLE_FILE_FRACTIONS[:2])))
    test_start = min(test_start, len(lines) - 1)
    return {"train": lines[:valid_start], "valid": lines[valid_start:test_start], "test": lines[test_start:]}


def tokenize_lines(lines, level):
    """Returns one token list per non-blank line, each ending in `<eos>`."""
    return [tokenize(line, level) + [EOS] for line in lines if line.strip()]


def encode_stream(token_lists, vocab):
    """Concatenates tokenized lines into one int32 array of ids."""
    ids = [index for tokens in token_lists for index in vocab.encode(tokens)]
    return np.asarray(ids, dtype=np.int32)


def stream_windows(ids, batch_size, bptt):
    """Lays a token stream out for truncated backpropagation through time.

    The inputs `ids[:-1]` and targets `ids[1:]` are cut into `batch_size`
    contiguous streams, stream b holding positions [b * L, (b + 1) * L) with
    L = ceil((len(ids) - 1) / batch_size). Each stream is cut into windows of
    `bptt` steps. Row `w * batch_size + b` of the result is window w of
    stream b, so batch w (rows w * batch_size ... + batch_size - 1) continues
    batch w - 1 row for row: a stateful model carries each stream's state
    from one batch to the next. Positions past the end of the data are
    padding (id 0) with weight 0; every real target has weight 1, once.

    Args:
        ids: 1-D int array, the whole split.
        batch_size: Number of streams.
        bptt: Steps per window.

    Returns:
        (inputs, targets, weights), each (num_windows * batch_size, bptt);
        weights are float32.

    Example:

    >>> inputs, targets, weights = stream_windows(np.arange(1, 12), batch_size=2, bptt=3)
    >>> inputs.tolist()
    [[1, 2, 3], [6, 7, 8], [4, 5, 0], [9, 10, 0]]
    >>> targets.tolist()
    [[2, 3, 4], [7, 8, 9], [5, 6, 0], [10, 11, 0]]
    """
    ids = np.asarray(ids, dtype=np.int32)
    num_targets = len(ids) - 1
    if num_targets < 1:
        raise UsageError(f"a split needs at least 2 tokens. Received: {len(ids)} token(s)")
    stream_length = -(-num_targets // batch_size)
    num_windows = -(-stream_length // bptt)

    def layout(values):
        padded = np.zeros(batch_size * stream_length, dtype=values.dtype)
        padded[: len(values)] = values
        streams = np.zeros((batch_size, num_windows * bptt), dtype=values.dtype)
        streams[:, :stream_length] = padded.reshape(batch_size, stream_length)
        windows = streams.reshape(batch_size, num_windows, bptt).transpose(1, 0, 2)  # (window, stream, bptt)
        return windows.reshape(num_windows * batch_size, bptt)

    weights = layout(np.ones(num_targets, dtype=np.float32))
    return layout(ids[:-1]), layout(ids[1:]), weights
