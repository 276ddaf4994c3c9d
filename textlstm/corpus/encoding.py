"""Text to tokens to ids over Arrow batches, for every task: tokenize a split once, count its tokens, look up their ids.

A task tokenizes each split once with `tokenize_split` (`Dataset.map`
into Arrow files on disk, in worker processes when the split is large and
the tokenizer allows it), builds its vocabulary from `count_tokens` of the
training split, and turns the token lists into ids with `token_ids`, a
batch at a time from `file_batches`. Nothing holds a split in memory.
"""

import collections
import hashlib

import numpy as np

from textlstm.corpus.sources import workers

BATCH_ROWS = 10_000  # rows per `map` batch


def tokenize_split(dataset, tokenize_batch, features, path, parallel=True, batch_rows=None, arrow=True):
    """Writes the tokens of a split's rows to Arrow files through `Dataset.map`.

    Args:
        dataset: A `datasets.Dataset`.
        tokenize_batch: A batch of up to batch_rows rows -> the columns of
            features (a table or a dict), for any number of rows.
        features: The `datasets.Features` of what tokenize_batch returns.
        path: Where the Arrow file goes (with worker processes, one file
            each, named from it).
        parallel: Whether tokenize_batch may run in worker processes
            (TensorFlow, for one, does not survive their fork).
        batch_rows: Rows per batch; None for `BATCH_ROWS`.
        arrow: Batches are `pyarrow.Table`s (fast); otherwise dicts of
            Python values, decoded by the dataset's features (a JSON column
            whose rows hold strings and lists, for one, is stored as JSON text).

    Returns:
        The paths of the Arrow stream files, in row order (none for an empty dataset).
    """
    if not len(dataset):
        return []
    mapped = dataset.with_format("arrow" if arrow else None).map(
        tokenize_batch, batched=True, batch_size=batch_rows or BATCH_ROWS, remove_columns=dataset.column_names,
        features=features, num_proc=workers(dataset) if parallel else None, cache_file_name=path,
        new_fingerprint=f"tokenize-{hashlib.sha256(path.encode()).hexdigest()[:16]}-{dataset._fingerprint}")
    return [cache_file["filename"] for cache_file in mapped.cache_files]


def file_batches(paths):
    """The record batches of Arrow stream files, in order, read with plain reads.

    Memory-mapped pages, once read, count in the process's resident memory
    until the kernel needs them back; plain reads of one batch at a time do
    not, so a split of any size is read in a bounded space.
    """
    import pyarrow

    for path in paths:
        with pyarrow.OSFile(path) as source:
            yield from pyarrow.ipc.open_stream(source)


def count_tokens(paths, columns):
    """How often each token occurs in the list columns of the Arrow files at paths.

    Returns:
        A `collections.Counter`.
    """
    import pyarrow.compute

    totals = collections.Counter()
    for batch in file_batches(paths):
        for column in columns:
            counts = pyarrow.compute.value_counts(pyarrow.compute.list_flatten(batch.column(column)))
            for token, count in zip(counts.field("values").to_pylist(), counts.field("counts").to_pylist()):
                totals[token] += count
    return totals


def token_ids(tokens, vocab):
    """The int32 ids of an Arrow array of token strings in vocab, `<unk>`'s for the others.

    Example:

    >>> import pyarrow
    >>> from textlstm.vocab import Vocabulary
    >>> token_ids(pyarrow.array(["b", "zz", "a"]), Vocabulary.build([["a", "b", "b"]])).tolist()
    [4, 1, 5]
    """
    import pyarrow
    import pyarrow.compute

    ids = pyarrow.compute.index_in(tokens, value_set=pyarrow.array(vocab.tokens, pyarrow.string()))
    return ids.fill_null(vocab.unk_id).to_numpy(zero_copy_only=False).astype(np.int32, copy=False)


def ended_ids(token_lists, vocab, end_id):
    """The ids of each list of an Arrow list array of tokens, end to end, each list followed by end_id.

    Example:

    >>> import pyarrow
    >>> from textlstm.vocab import Vocabulary
    >>> vocab = Vocabulary.build([["a", "b"]])
    >>> ended_ids(pyarrow.array([["a"], ["b", "zz"]]), vocab, vocab.eos_id).tolist()
    [4, 2, 5, 1, 2]
    """
    offsets = token_lists.offsets.to_numpy()
    ids = token_ids(token_lists.flatten(), vocab)
    return np.insert(ids, offsets[1:] - offsets[0], np.int32(end_id))
