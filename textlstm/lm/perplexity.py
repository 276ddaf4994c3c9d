"""Perplexity as a Keras metric (exp of the mean cross-entropy over real tokens), and bits per character."""

import math

import keras
from keras import ops

from textlstm.callbacks import ResetStates


@keras.saving.register_keras_serializable(package="textlstm")
class Perplexity(keras.metrics.Metric):
    """exp(sum of weighted token cross-entropies / sum of weights), accumulated over batches.

    Pass padding positions with sample weight 0 (as `stream_windows` does)
    and they are neither summed nor counted, so over a whole split the result
    is exp of the mean cross-entropy of every real token. Use it in
    `compile(weighted_metrics=[Perplexity()])` so that Keras passes the
    sample weights.

    Args:
        name: Metric name; logged as `perplexity` and `val_perplexity`.
        **kwargs: Base metric arguments.

    Example:

    >>> metric = Perplexity()
    >>> metric.update_state([[1, 0]], [[[0.0, 0.0], [5.0, 0.0]]], sample_weight=[[1.0, 0.0]])
    >>> round(float(metric.result()), 4)
    2.0
    """

    def __init__(self, name="perplexity", **kwargs):
        super().__init__(name=name, **kwargs)
        self.total_cross_entropy = self.add_variable(shape=(), initializer="zeros", name="total_cross_entropy")
        self.token_count = self.add_variable(shape=(), initializer="zeros", name="token_count")

    def update_state(self, y_true, y_pred, sample_weight=None):
        y_true, y_pred = ops.convert_to_tensor(y_true), ops.convert_to_tensor(y_pred, dtype=self.dtype)
        cross_entropy = keras.losses.sparse_categorical_crossentropy(y_true, y_pred, from_logits=True)  # (batch, time)
        if sample_weight is None:
            sample_weight = ops.ones_like(cross_entropy)
        sample_weight = ops.cast(sample_weight, cross_entropy.dtype)
        self.total_cross_entropy.assign_add(ops.sum(cross_entropy * sample_weight))
        self.token_count.assign_add(ops.sum(sample_weight))

    def result(self):
        return ops.exp(ops.divide_no_nan(self.total_cross_entropy, self.token_count))

    def reset_state(self):
        self.total_cross_entropy.assign(0.0)
        self.token_count.assign(0.0)


def evaluate_perplexity(model, batches):
    """Perplexity of a stateful model over one split, state carried across windows from a reset start.

    Args:
        model: A compiled model from `build_language_model(..., stateful=True)`.
        batches: A `tf.data.Dataset` of the split's (inputs, targets, weights)
            batches in `stream_windows` order, of the model's batch size.

    Returns:
        exp of the mean cross-entropy over every real target token.
    """
    results = model.evaluate(batches, callbacks=[ResetStates()], verbose=0, return_dict=True)
    return float(results["perplexity"])


def bits_per_character(perplexity, targets, characters):
    """The summed negative log2-likelihood of a text's targets divided by the text's characters.

    Perplexity per token depends on what a token is; bits per character does
    not, so it compares word, character and subword models on one text.

    Args:
        perplexity: exp of the mean cross-entropy (nats) over the targets.
        targets: Tokens scored (each line's `<eos>` included).
        characters: Characters of the text, one more per line for its end.

    Example:

    >>> bits_per_character(perplexity=4.0, targets=3, characters=12)  # 2 bits a token
    0.5
    """
    return math.log2(perplexity) * targets / characters
