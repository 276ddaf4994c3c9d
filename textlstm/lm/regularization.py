"""The language model's training-only layers besides dropout: whole-word dropout, and AR/TAR.

Both are the identity in inference; `WordDropout` draws from its own
`keras.random.SeedGenerator`, as Keras's `Dropout` does.
"""

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="textlstm")
class WordDropout(keras.layers.Layer):
    """Embedding dropout: drops whole words of the vocabulary, each for every one of its occurrences in a batch.

    One draw per batch keeps each vocabulary entry with probability
    1 - rate and scales its vectors by 1 / (1 - rate): the same as dropping
    rows of the embedding matrix before the lookup (Gal & Ghahramani 2016,
    as AWD-LSTM's `embedded_dropout`), while a tied output layer still
    reads the whole matrix.

    Args:
        vocab_size: Rows of the embedding matrix.
        rate: Fraction of the vocabulary dropped, in [0, 1).
        seed: Seed of the draws.
        **kwargs: Base layer arguments.

    Call arguments:
        vectors: (batch, time, embedding_dim), the looked-up embeddings.
        tokens: (batch, time), the ids they were looked up for.
        training: Whether to drop.

    Example:

    >>> layer = WordDropout(vocab_size=5, rate=0.5, seed=1)
    >>> tokens = np.array([[1, 2, 1, 2, 1, 2]])
    >>> np.asarray(layer(np.ones((1, 6, 3)), tokens, training=True))[0, :, 0].tolist()  # word 1 dropped, 2 kept
    [0.0, 2.0, 0.0, 2.0, 0.0, 2.0]
    """

    def __init__(self, vocab_size, rate, seed=None, **kwargs):
        super().__init__(**kwargs)
        self.vocab_size = vocab_size
        self.rate = rate
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed)
        self.supports_masking = True

    def call(self, vectors, tokens, training=False):
        if not training or not self.rate:
            return vectors
        kept = keras.random.dropout(ops.ones((self.vocab_size,), vectors.dtype), self.rate, seed=self.seed_generator)
        return vectors * ops.take(kept, tokens)[..., None]  # (batch, time, 1): one factor per word

    def get_config(self):
        return {**super().get_config(), "vocab_size": self.vocab_size, "rate": self.rate, "seed": self.seed}


@keras.saving.register_keras_serializable(package="textlstm")
class ActivationRegularization(keras.layers.Layer):
    """Activation and temporal activation regularization (AR, TAR) of the last recurrent layer (Merity et al. 2017).

    In training, adds to the model's losses

        ar · mean(dropped²)  +  tar · mean((h_t − h_{t−1})²)

    where `dropped` is the layer's output after dropout and `h` before it,
    the means over batch, time and units (TAR over the window's pairs of
    consecutive steps). Returns `dropped` unchanged.

    Padding (token id 0) takes no part: both terms are sums over the real
    steps (TAR over the pairs of real steps) divided by the number of real
    steps times units, TAR's times T / (T − 1) for windows of T steps. On a
    window without padding that is the mean above; in general it is a mean
    per real token, as the loss is, so that `textlstm.loop` can weigh each
    replica's terms by its share of the real tokens and N replicas add what
    one device adds.

    Reference: Merity, Keskar & Socher 2017, "Regularizing and Optimizing
    LSTM Language Models".

    Args:
        ar: Weight of AR, at least 0.
        tar: Weight of TAR, at least 0.
        **kwargs: Base layer arguments.

    Call arguments:
        dropped: (batch, time, units), the output after dropout.
        h: (batch, time, units), the output before dropout.
        tokens: (batch, time) input ids, 0 where padding; None: all real.
        training: Whether to add the losses.

    Example:

    >>> layer = ActivationRegularization(ar=2.0, tar=1.0)
    >>> h = np.array([[[1.0], [3.0]]])
    >>> _ = layer(h, h, training=True)
    >>> [float(loss) for loss in layer.losses]  # 2 * mean(1, 9), 1 * (3 - 1)²
    [10.0, 4.0]
    """

    def __init__(self, ar, tar, **kwargs):
        super().__init__(**kwargs)
        self.ar = ar
        self.tar = tar
        self.supports_masking = True

    def call(self, dropped, h, tokens=None, training=False):
        if not training:
            return dropped
        real = ops.ones(ops.shape(h)[:2], h.dtype) if tokens is None else ops.cast(ops.not_equal(tokens, 0), h.dtype)
        real = real[..., None]  # (batch, time, 1)
        count = ops.sum(real) * ops.cast(ops.shape(h)[-1], h.dtype)  # real steps x units
        if self.ar:
            self.add_loss(self.ar * ops.divide_no_nan(ops.sum(ops.square(dropped) * real), count))
        if self.tar:
            steps = ops.cast(ops.shape(h)[1], h.dtype)
            pairs = ops.sum(ops.square(h[:, 1:] - h[:, :-1]) * real[:, 1:] * real[:, :-1])
            self.add_loss(self.tar * ops.divide_no_nan(pairs, count) * steps / ops.maximum(steps - 1, 1))
        return dropped

    def get_config(self):
        return {**super().get_config(), "ar": self.ar, "tar": self.tar}
