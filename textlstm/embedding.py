"""An embedding whose matrix also serves as the output layer (weight tying), for both tasks."""

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="textlstm")
class ReversibleEmbedding(keras.layers.Embedding):
    """`keras.layers.Embedding` that can also map vectors back to vocabulary logits.

    Called normally it looks tokens up; called with `reverse=True` it returns
    `inputs @ embeddings^T + output_bias`, sharing one matrix between input
    and output (Press & Wolf 2017, "Using the Output Embedding to Improve
    Language Models"; Inan et al. 2017).

    Args:
        input_dim: Vocabulary size.
        output_dim: Size of the vectors.
        **kwargs: Arguments of `keras.layers.Embedding`.

    Call arguments:
        inputs: Token ids (batch, time), or vectors (..., output_dim) with `reverse=True`.
        reverse: Return logits (..., input_dim) instead of looking up.

    Example:

    >>> layer = ReversibleEmbedding(20, 4)
    >>> vectors = layer(ops.zeros((2, 3), dtype="int32"))
    >>> tuple(vectors.shape), tuple(layer(vectors, reverse=True).shape)
    ((2, 3, 4), (2, 3, 20))
    """

    def build(self, input_shape=None):
        super().build(input_shape)
        self.output_bias = self.add_weight(shape=(self.input_dim,), initializer="zeros", name="output_bias")

    # Embedding's own (quantization-aware) saving knows only `embeddings`; this layer is never quantized.
    def save_own_variables(self, store):
        store["0"] = self.embeddings
        store["1"] = self.output_bias

    def load_own_variables(self, store):
        self.embeddings.assign(store["0"])
        self.output_bias.assign(store["1"])

    def call(self, inputs, reverse=False):
        if reverse:
            return ops.matmul(inputs, ops.transpose(self.embeddings)) + self.output_bias
        return super().call(inputs)

    def compute_mask(self, inputs, mask=None, reverse=False):
        if reverse:
            return mask
        return super().compute_mask(inputs, mask)

    def compute_output_spec(self, inputs, reverse=False):
        if reverse:
            return keras.KerasTensor(tuple(inputs.shape[:-1]) + (self.input_dim,), dtype=self.compute_dtype)
        return super().compute_output_spec(inputs)
