"""Global batches: which of them an epoch takes, and a `tf.data.Dataset` of (a slice of the rows of) each.

A task's data is a sequence of global batches per split, each of the
config's `batch_size` rows. An epoch of `steps` batches takes the next
`steps` of an endless sequence of passes over the split: epoch e takes
global positions [e * steps, (e + 1) * steps), position g being batch
g mod total of pass g // total. Without `--steps-per-epoch`, steps is the
split's batch count and epoch e is pass e.
"""

import collections.abc

import numpy as np


def epoch_positions(epoch, steps, total):
    """(pass, batch) of each of an epoch's `steps` global batches over a split of `total` batches.

    Returns:
        A sequence, worked out as it is read: an epoch of any number of steps costs nothing to hold.

    Example:

    >>> list(epoch_positions(1, steps=3, total=4)), len(epoch_positions(0, steps=10**12, total=4))
    ([(0, 3), (1, 0), (1, 1)], 1000000000000)
    """
    return _Positions(range(epoch * steps, (epoch + 1) * steps), total)


class _Positions(collections.abc.Sequence):
    """The (pass, batch) of each global position of a range, over a split of `total` batches."""

    def __init__(self, positions, total):
        self.positions = positions
        self.total = total

    def __len__(self):
        return len(self.positions)

    def __getitem__(self, index):
        if isinstance(index, slice):
            return _Positions(self.positions[index], self.total)
        return divmod(self.positions[index], self.total)


def epoch_steps(totals, steps_per_epoch):
    """`TaskData.steps`: split -> global batches in one epoch, `steps_per_epoch` for "train" if it is set.

    Args:
        totals: {split: global batches in one pass}.
        steps_per_epoch: `--steps-per-epoch`; 0 is a whole pass.

    Example:

    >>> steps = epoch_steps({"train": 10, "valid": 2}, steps_per_epoch=4)
    >>> steps("train"), steps("valid")
    (4, 2)
    """

    def steps(split):
        return steps_per_epoch if split == "train" and steps_per_epoch else totals[split]

    return steps


def batches_dataset(positions, make_batch, signature):
    """A `tf.data.Dataset` of `make_batch(pass, batch)` for each position, made as it is read.

    Args:
        positions: The (pass, batch) pairs, in order.
        make_batch: (pass, batch) -> a (x, y, sample_weight) tuple of NumPy arrays.
        signature: The `tf.TensorSpec` structure of one element.

    Returns:
        A dataset of known length, one element per position.
    """
    import tensorflow as tf

    def generate():
        for pass_index, batch in positions:
            yield make_batch(pass_index, batch)

    # Without tf.data's autotuning: its thread wakes 10 ms, 20 ms, 40 ms ... up to 60 s after the first batch,
    # and the iterator's end waited for its next wake-up, up to a minute per pass (docs/performance.md).
    options = tf.data.Options()
    options.autotune.enabled = False
    dataset = tf.data.Dataset.from_generator(generate, output_signature=signature)
    return dataset.apply(tf.data.experimental.assert_cardinality(len(positions))).prefetch(2).with_options(options)


def padded_rows(order, batch, batch_size, first_row=0, num_rows=None):
    """The example indices and weights of rows [first_row, first_row + num_rows) of one global batch.

    The last batch of a pass is filled up to batch_size rows with copies of
    its first example, weighted 0.

    Args:
        order: The examples of the pass, in order.
        batch: Which global batch.
        batch_size: Rows of a global batch.
        first_row: The first row wanted.
        num_rows: How many; None for the rest.

    Returns:
        (indices, weights): int array and float32 array, num_rows each.

    Example:

    >>> padded_rows(np.array([4, 2, 0, 3, 1]), batch=1, batch_size=3)
    (array([3, 1, 3]), array([1., 1., 0.], dtype=float32))
    """
    num_rows = batch_size - first_row if num_rows is None else num_rows
    start = batch * batch_size
    rows = np.arange(start + first_row, start + first_row + num_rows)
    real = rows < len(order)
    indices = np.where(real, order[np.minimum(rows, len(order) - 1)], order[start])
    return indices, real.astype(np.float32)


def num_batches(num_examples, batch_size):
    """Global batches of batch_size rows that hold num_examples, the last one padded.

    Example:

    >>> num_batches(10, 4)
    3
    """
    return -(-num_examples // batch_size)
