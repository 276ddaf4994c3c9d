"""The Elman recurrent cell."""

import keras

from textlstm.cells.base import RecurrentCell


@keras.saving.register_keras_serializable(package="textlstm")
class SimpleRNNCell(RecurrentCell):
    """Fully connected recurrent cell (Elman 1990).

    Equation (tanh is `activation`):

        h = tanh(x W + h_prev U + b)

    Weights as in `keras.layers.SimpleRNNCell`: `kernel` (input_dim, units),
    `recurrent_kernel` (units, units), `bias` (units,).

    Reference: Elman 1990, "Finding Structure in Time".

    Args:
        units: Positive integer, size of `h`.
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

    >>> tuple(keras.layers.RNN(SimpleRNNCell(4))(np.ones((2, 3, 5))).shape)
    (2, 4)
    """

    step_sums_z_x_and_z_h = True

    def step(self, z_x, z_h, states, recurrent_mask=None):
        h = self.activation(z_x + z_h)  # new state: x W + b + h_prev U
        return {"h": h}
