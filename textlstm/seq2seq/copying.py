"""The extended vocabulary of a pointer-generator (See, Liu & Manning 2017): copying words outside the vocabulary.

Each document's out-of-vocabulary words get temporary ids `vocab_size`,
`vocab_size + 1`, ... in the order they first occur in it; a word that
occurs several times keeps one id. The model still reads them as `<unk>`,
but copying puts their attention mass on their temporary ids, so the output
distribution covers the vocabulary and the document's own words, and a
summary word found only in its document is a training target by its
temporary id. `extended_ids` does this in Python for training,
`extended_ids_graph` the same in TensorFlow inside the SavedModel.
"""

from keras import ops

from textlstm.vocab import PAD, SPECIAL_TOKENS, UNK

PAD_ID = SPECIAL_TOKENS.index(PAD)
UNK_ID = SPECIAL_TOKENS.index(UNK)


def extended_ids(tokens, vocab):
    """The ids of one document's tokens with its out-of-vocabulary words numbered from `len(vocab)`.

    Args:
        tokens: List of token strings.
        vocab: The `Vocabulary`.

    Returns:
        `(ids, oovs)`: the extended ids, and the out-of-vocabulary words in
        the order of their temporary ids.

    Example:

    >>> from textlstm.vocab import Vocabulary
    >>> vocab = Vocabulary.build([["a"]])  # <pad> <unk> <eos> <bos> a
    >>> extended_ids(["zed", "a", "ork", "zed"], vocab)
    ([5, 4, 6, 5], ['zed', 'ork'])
    """
    oovs = {}
    ids = []
    for token in tokens:
        if token in vocab.ids:
            ids.append(vocab.ids[token])
        else:
            ids.append(len(vocab) + oovs.setdefault(token, len(oovs)))
    return ids, list(oovs)


def extended_ids_graph(tokens, ids, vocab_size):
    """`extended_ids` for a batch in TensorFlow ops: the same ids, for the SavedModel.

    Args:
        tokens: String tensor (batch, source_time), padded with "".
        ids: int32 (batch, source_time), the vocabulary's ids: `<unk>` for
            a word outside it, 0 at padding.
        vocab_size: Python int.

    Returns:
        `(extended, first)`: int32 (batch, source_time), the extended ids;
        and bool (batch, source_time), True where an out-of-vocabulary word
        occurs first (the k-th True of a row holds the word of id
        `vocab_size + k`).

    Example:

    >>> import tensorflow as tf
    >>> extended, first = extended_ids_graph(tf.constant([["zed", "a", "ork", "zed"]]),
    ...                                      tf.constant([[1, 4, 1, 1]]), vocab_size=5)
    >>> extended.numpy().tolist(), first.numpy().tolist()
    ([[5, 4, 6, 5]], [[True, False, True, False]])
    """
    import tensorflow as tf

    oov = tf.equal(ids, UNK_ID)  # (batch, time)
    same = tf.equal(tokens[:, :, None], tokens[:, None, :]) & oov[:, :, None] & oov[:, None, :]  # (batch, i, j)
    time = tf.shape(ids)[1]
    before = tf.range(time)[:, None] < tf.range(time)[None, :]  # (i, j): i < j
    first = oov & ~tf.reduce_any(same & before, axis=1)  # (batch, time)
    rank = tf.cumsum(tf.cast(first, tf.int32), axis=1) - 1  # the temporary number of a first occurrence
    first_position = tf.argmax(tf.cast(same, tf.int32), axis=1, output_type=tf.int32)  # (batch, j): first i
    extended = tf.where(oov, vocab_size + tf.gather(rank, first_position, batch_dims=1), ids)
    return extended, first


def extended_size(copy_ids, vocab_size):
    """The size of the extended output distribution: the vocabulary and the largest temporary id of the batch."""
    return ops.maximum(ops.max(copy_ids) + 1, vocab_size)


def copy_distribution(weights, copy_ids, size):
    """Attention weights summed per (extended) source id: (batch, target_time, size).

    Args:
        weights: (batch, target_time, source_time) attention weights.
        copy_ids: (batch, source_time) extended ids of the source.
        size: The extended size (at least every id + 1).

    Example:

    >>> weights = np.array([[[0.5, 0.25, 0.25]]], "float32")  # id 6 twice: 0.5 + 0.25
    >>> copy_distribution(weights, np.array([[6, 4, 6]]), 7).numpy().tolist()
    [[[0.0, 0.0, 0.0, 0.0, 0.25, 0.0, 0.75]]]
    """
    shape = ops.shape(weights)  # (batch, target_time, source_time)
    batch_index = ops.broadcast_to(ops.arange(shape[0])[:, None, None], shape)
    time_index = ops.broadcast_to(ops.arange(shape[1])[None, :, None], shape)
    token_index = ops.broadcast_to(ops.cast(copy_ids, "int32")[:, None, :], shape)
    indices = ops.stack([batch_index, time_index, token_index], axis=-1)  # (batch, target_time, source_time, 3)
    # Repeated indices (a word that occurs twice in the source) are summed.
    return ops.scatter(indices, ops.cast(weights, "float32"), (shape[0], shape[1], size))
