"""Language-model data: read splits through `datasets`, tokenize, lay out stream-contiguous windows."""

import numpy as np

from textlstm.corpus import as_text, load_splits, text_columns
from textlstm.errors import UsageError
from textlstm.vocab import EOS


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


def text_only(dataset, source):
    """The dataset as one `text` column of non-blank strings: its `text` column, or its first text column.

    A column of lists of strings (sentences) is joined with spaces.
    """
    import datasets

    columns = text_columns(dataset)
    if not columns:
        raise UsageError(f"{source} has no text column. Received: columns {dataset.column_names}")
    column = "text" if "text" in columns else columns[0]
    if column != "text" or not isinstance(dataset.features[column], datasets.Value):
        dataset = dataset.map(lambda row: {"text": as_text(row[column])}, remove_columns=dataset.column_names)
    return dataset.filter(lambda row: bool(row["text"].strip()))


def load_lines(data):
    """Reads the train / valid / test lines of a corpus through the `datasets` library.

    Args:
        data: A directory with train / valid / test files, a single text
            file (cut into 90% / 5% / 5% consecutive blocks), or
            `hf:NAME[:CONFIG]` for a Hugging Face hub dataset with a text column.

    Returns:
        A dict from "train", "valid" and "test" to lists of non-blank lines.

    Raises:
        UsageError: The path is missing, empty, not UTF-8, or holds no training file.
    """
    splits = load_splits(data, lines=True, prepare=text_only)
    return {split: list(dataset["text"]) for split, dataset in splits.items()}


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
