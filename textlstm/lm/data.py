"""Language-model data: read splits through `datasets`, tokenize, lay out stream-contiguous windows."""

import numpy as np

from textlstm.corpus.sources import as_text, non_blank, text_columns, workers
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


def split_words(texts):
    """Each text's words, as `str.split()` gives them (Arrow's white space is Python's), as an Arrow list array.

    Example:

    >>> import pyarrow
    >>> split_words(pyarrow.array([" a  b ", "c"])).to_pylist()
    [['a', 'b'], ['c']]
    """
    import pyarrow.compute

    return pyarrow.compute.utf8_split_whitespace(pyarrow.compute.utf8_trim_whitespace(texts))


def text_only(dataset, source):
    """The dataset as one `text` column of non-blank strings: its `text` column, or its first text column.

    A column of lists of strings (sentences) is joined with spaces.
    """
    import datasets

    column = text_column(dataset, source)
    if column != "text" or not isinstance(dataset.features[column], datasets.Value):
        dataset = dataset.map(lambda batch: {"text": [as_text(value) for value in batch[column]]}, batched=True,
                              remove_columns=dataset.column_names, num_proc=workers(dataset))
    dataset = non_blank(dataset)
    if not len(dataset):
        raise UsageError(f"{source} has no text")
    return dataset


def text_column(dataset, source):
    """The column a language model reads: `text`, or else the first column of strings (or lists of strings).

    Raises:
        UsageError: The dataset has no such column.
    """
    columns = text_columns(dataset)
    if not columns:
        raise UsageError(f"{source} has no text column. Received: columns {dataset.column_names}")
    return "text" if "text" in columns else columns[0]


def tokenize_lines(lines, level):
    """Returns one token list per non-blank line, each ending in `<eos>`."""
    return [tokenize(line, level) + [EOS] for line in lines if line.strip()]


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


def num_windows(num_ids, batch_size, bptt):
    """The batches `stream_windows` cuts a split of num_ids ids into.

    Example:

    >>> num_windows(11, batch_size=2, bptt=3)
    2
    """
    stream_length = -(-(num_ids - 1) // batch_size)
    return -(-stream_length // bptt)


def window_rows(ids, batch_size, bptt, window, first_row=0, num_rows=None):
    """Rows of one batch of `stream_windows(ids, batch_size, bptt)`, read from ids without laying out the split.

    ids may be a memory-map: only the positions of this batch are read.

    Args:
        ids: 1-D int array, the whole split.
        batch_size: Number of streams.
        bptt: Steps per window.
        window: Which batch (window of every stream), from 0.
        first_row: The first stream wanted.
        num_rows: How many streams from it; None for the rest.

    Returns:
        (inputs, targets, weights), each (num_rows, bptt), equal to rows
        `window * batch_size + first_row ...` of `stream_windows`.

    Example:

    >>> inputs, targets, weights = window_rows(np.arange(1, 12), batch_size=2, bptt=3, window=1)
    >>> inputs.tolist(), weights.tolist()
    ([[4, 5, 0], [9, 10, 0]], [[1.0, 1.0, 0.0], [1.0, 1.0, 0.0]])
    """
    num_targets = len(ids) - 1
    stream_length = -(-num_targets // batch_size)
    num_rows = batch_size - first_row if num_rows is None else num_rows
    streams = np.arange(first_row, first_row + num_rows)[:, None]
    steps = window * bptt + np.arange(bptt)[None, :]
    positions = streams * stream_length + steps
    real = (steps < stream_length) & (positions < num_targets)
    positions = np.where(real, positions, 0)
    inputs = np.where(real, ids[positions], 0).astype(np.int32)
    targets = np.where(real, ids[positions + 1], 0).astype(np.int32)
    return inputs, targets, real.astype(np.float32)


def real_targets(num_ids, batch_size, bptt, windows):
    """The real (weight 1) targets in the first `windows` batches of `stream_windows`.

    Example:

    >>> real_targets(11, batch_size=2, bptt=3, windows=2), real_targets(11, batch_size=2, bptt=3, windows=1)
    (10, 6)
    """
    num_targets = num_ids - 1
    stream_length = -(-num_targets // batch_size)
    per_stream = np.clip(num_targets - np.arange(batch_size) * stream_length, 0, stream_length)
    return int(np.minimum(per_stream, windows * bptt).sum())
