"""The gated recurrent unit cell, in both of Keras's conventions."""

import keras
from keras import activations, ops

from textlstm.cells.base import RecurrentCell, lookup, recurrent_product


@keras.saving.register_keras_serializable(package="textlstm")
class GRUCell(RecurrentCell):
    """Gated recurrent unit cell, one line per equation.

    Equations (σ is `recurrent_activation`, tanh is `activation`), with
    `reset_after=True` (Keras's default, and cuDNN's):

        z = σ(x W_z + b_z + h_prev U_z + b'_z)          update gate
        r = σ(x W_r + b_r + h_prev U_r + b'_r)          reset gate
        n = tanh(x W_n + b_n + r ⊙ (h_prev U_n + b'_n)) candidate
        h = z ⊙ h_prev + (1 - z) ⊙ n

    and with `reset_after=False` (the reset gate applied before the matrix
    product, as in Cho et al. and most textbooks; one bias per gate):

        n = tanh(x W_n + (r ⊙ h_prev) U_n + b_n)

    The weights are fused as in `keras.layers.GRUCell`: `kernel` is
    (input_dim, 3 * units), `recurrent_kernel` (units, 3 * units), gate
    order z, r, n; `bias` is (2, 3 * units) with `reset_after` (input bias
    b, then recurrent bias b'), else (3 * units,).

    Reference: Cho et al. 2014, "Learning Phrase Representations using RNN
    Encoder-Decoder for Statistical Machine Translation".

    Args:
        units: Positive integer, size of `h`.
        recurrent_activation: Activation of the gates, `"sigmoid"`.
        reset_after: Apply the reset gate after the recurrent matrix product.
        **kwargs: `activation`, `use_bias`, the initializers, regularizers
            and constraints of `kernel`, `recurrent_kernel` and `bias`,
            `dropout`, `recurrent_dropout`, `weight_dropout` and `seed`, as
            in `LSTMCell`; and
            base layer arguments.

    Call arguments:
        inputs: (batch, input_dim), one time step.
        states: `[h_prev]`, (batch, units).
        training: Whether dropout applies.

    Example:

    >>> tuple(keras.layers.RNN(GRUCell(4))(np.ones((2, 3, 5))).shape)
    (2, 4)
    """

    gates = 3
    trace_names = ("z", "r", "n", "h")

    def __init__(self, units, recurrent_activation="sigmoid", reset_after=True, **kwargs):
        super().__init__(units, **kwargs)
        self.recurrent_activation = lookup(activations.get, "recurrent_activation", recurrent_activation)
        self.reset_after = bool(reset_after)

    @property
    def bias_shape(self):
        return (2, 3 * self.units) if self.reset_after else (3 * self.units,)

    @property
    def input_bias(self):
        return self.bias[0] if self.reset_after else self.bias

    @property
    def recurrent_product_kernel(self):
        return self.recurrent_kernel if self.reset_after else self.recurrent_kernel[:, : 2 * self.units]

    @property
    def recurrent_bias(self):
        return self.bias[1] if self.reset_after and self.use_bias else None

    @property
    def step_weights(self):
        return [] if self.reset_after else [self.recurrent_kernel]  # U_n multiplies r ⊙ h_prev in `step`

    def step(self, z_x, z_h, states, recurrent_mask=None):
        (h_prev,) = states
        x_z, x_r, x_n = ops.split(z_x, 3, axis=-1)
        if self.reset_after:
            h_z, h_r, h_n = ops.split(z_h, 3, axis=-1)
        else:
            h_z, h_r = ops.split(z_h, 2, axis=-1)  # U_n multiplies r ⊙ h_prev below
        z = self.recurrent_activation(x_z + h_z)  # update gate: how much of h_prev to keep
        r = self.recurrent_activation(x_r + h_r)  # reset gate: how much of h_prev the candidate sees
        if self.reset_after:
            n = self.activation(x_n + r * h_n)  # candidate
        else:
            n = self.activation(x_n + recurrent_product(r * h_prev, recurrent_mask, self.recurrent_kernel[:, 2 * self.units :]))  # candidate
        h = z * h_prev + (1 - z) * n  # new state: a mix of the old one and the candidate
        return {"z": z, "r": r, "n": n, "h": h}

    def get_config(self):
        return {
            **super().get_config(),
            "recurrent_activation": activations.serialize(self.recurrent_activation),
            "reset_after": self.reset_after,
        }
