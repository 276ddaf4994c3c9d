"""Text to tokens to ids over Arrow batches, for every task: map a split's batches, count tokens, look up ids.

A task runs its tokenizer over a split's batches with `map_batches`
(`Dataset.map` into Arrow files on disk, in worker processes when the
split is large and the tokenizer allows it), builds its vocabulary from
`count_tokens` of the training split, and turns tokens into ids with
`token_ids` / `ended_ids`, reading results back a batch at a time with
`file_batches`. Nothing holds a split in memory.

What a `map` gives back to this process is best small, a row per batch
(counts, a batch's ids end to end): opening a large result of a row per
line in this process touches every page of its offsets.
"""

import collections
import hashlib

import numpy as np

from textlstm.corpus.sources import workers

BATCH_ROWS = 10_000  # rows per `map` batch


def map_batches(dataset, function, features, path, parallel=True, batch_rows=None, arrow=True):
    """`Dataset.map` of function over the dataset's batches, into Arrow files at path.

    Args:
        dataset: A `datasets.Dataset`, or None for none.
        function: A batch of up to batch_rows rows -> the columns of
            features (a table or a dict), for any number of rows.
        features: The `datasets.Features` of what function returns.
        path: Where the Arrow file goes (with worker processes, one file
            each, named from it).
        parallel: Whether function may run in worker processes
            (TensorFlow, for one, does not survive their fork).
        batch_rows: Rows per batch; None for `BATCH_ROWS`.
        arrow: Batches are `pyarrow.Table`s (fast); otherwise dicts of
            Python values, decoded by the dataset's features (a JSON column
            whose rows hold strings and lists, for one, is stored as JSON text).

    Returns:
        The resulting `datasets.Dataset`, or None for an empty dataset.
    """
    if dataset is None or not len(dataset):
        return None
    return dataset.with_format("arrow" if arrow else None).map(
        function, batched=True, batch_size=batch_rows or BATCH_ROWS, remove_columns=dataset.column_names,
        features=features, num_proc=workers(dataset) if parallel else None, cache_file_name=path,
        new_fingerprint=f"map-{hashlib.sha256(path.encode()).hexdigest()[:16]}-{dataset._fingerprint}")


def file_batches(dataset):
    """The record batches of a `map_batches` result (None: none), in order, read from its files with plain reads.

    Memory-mapped pages, once read, count in the process's resident memory
    until the kernel needs them back; plain reads of one batch at a time do
    not, so a result of any size is read in a bounded space.
    """
    import pyarrow

    for cache_file in dataset.cache_files if dataset is not None else []:
        with pyarrow.OSFile(cache_file["filename"]) as source:
            yield from pyarrow.ipc.open_stream(source)


def count_tokens(dataset, batch_tokens, path, parallel=True, arrow=True):
    """How often each token occurs in a dataset, counted by `map_batches`.

    Each batch gives back one row per distinct token, its (token, count),
    so only these rows come back to this process.

    Args:
        dataset: A `datasets.Dataset`.
        batch_tokens: A batch -> an Arrow array of its tokens, end to end.
        path: Where the counts' Arrow file goes.
        parallel, arrow: As for `map_batches`.

    Returns:
        A `collections.Counter`.
    """
    import datasets
    import pyarrow
    import pyarrow.compute

    def count_batch(batch):
        counts = pyarrow.compute.value_counts(batch_tokens(batch))
        return pyarrow.table({"token": counts.field("values"), "count": counts.field("counts")})

    features = datasets.Features({"token": datasets.Value("string"), "count": datasets.Value("int64")})
    totals = collections.Counter()
    for batch in file_batches(map_batches(dataset, count_batch, features, path, parallel, arrow=arrow)):
        for token, count in zip(batch.column("token").to_pylist(), batch.column("count").to_pylist()):
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
