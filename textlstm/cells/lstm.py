"""The LSTM cell and its two variants: peephole connections and coupled gates."""

import keras
from keras import activations, initializers, ops, regularizers

from textlstm.cells.base import RecurrentCell, lookup


@keras.saving.register_keras_serializable(package="textlstm")
class LSTMCell(RecurrentCell):
    """Long short-term memory cell, one line per equation.

    Equations (σ is `recurrent_activation`, tanh is `activation`):

        i = σ(x W_i + h_prev U_i + b_i)      input gate
        f = σ(x W_f + h_prev U_f + b_f)      forget gate
        g = tanh(x W_g + h_prev U_g + b_g)   candidate memory
        o = σ(x W_o + h_prev U_o + b_o)      output gate
        c = f ⊙ c_prev + i ⊙ g
        h = o ⊙ tanh(c)

    The weights are fused as in `keras.layers.LSTMCell`: `kernel` is
    (input_dim, 4 * units), `recurrent_kernel` (units, 4 * units), `bias`
    (4 * units,), gate order i, f, g (Keras calls it c), o.

    Reference: Hochreiter & Schmidhuber 1997, "Long Short-Term Memory";
    the forget gate as written here is from Gers, Schmidhuber & Cummins 2000.

    Args:
        units: Positive integer, size of `h` and `c`.
        activation: Activation of the candidate and of the output, `"tanh"`.
        recurrent_activation: Activation of the gates, `"sigmoid"`.
        use_bias: Whether the gates have a bias.
        kernel_initializer, recurrent_initializer, bias_initializer:
            Initializers of `W`, `U` and `b`.
        unit_forget_bias: Start the forget gate's bias at 1 (Jozefowicz et
            al. 2015); the other biases use `bias_initializer`.
        kernel_regularizer, recurrent_regularizer, bias_regularizer:
            Regularizers of `W`, `U` and `b`.
        kernel_constraint, recurrent_constraint, bias_constraint:
            Constraints of `W`, `U` and `b`.
        dropout: Fraction of the input units to drop, in [0, 1).
        recurrent_dropout: Fraction of `h_prev`'s units to drop, in [0, 1).
        weight_dropout: Fraction of the entries of `U` (`recurrent_kernel`)
            to drop in training, in [0, 1): one mask per batch, shared by
            every time step, the rest scaled by 1 / (1 - weight_dropout).
        seed: Seed of the dropout masks.
        **kwargs: Base layer arguments, such as `name` and `dtype`.

    Call arguments:
        inputs: (batch, input_dim), one time step.
        states: `[h_prev, c_prev]`, each (batch, units).
        training: Whether dropout applies.

    Example:

    >>> layer = keras.layers.RNN(LSTMCell(4), return_sequences=True)
    >>> tuple(layer(np.ones((2, 3, 5))).shape)
    (2, 3, 4)
    """

    gates = 4
    forget_gate_index = 1
    state_names = ("h", "c")
    trace_names = ("i", "f", "g", "o", "c", "h")
    step_sums_z_x_and_z_h = True

    def __init__(self, units, recurrent_activation="sigmoid", unit_forget_bias=True, **kwargs):
        super().__init__(units, **kwargs)
        self.recurrent_activation = lookup(activations.get, "recurrent_activation", recurrent_activation)
        self.unit_forget_bias = bool(unit_forget_bias)

    def bias_initial_value(self, shape, dtype=None):
        if not self.unit_forget_bias:
            return self.bias_initializer(shape, dtype=dtype)
        blocks = [self.bias_initializer((self.units,), dtype=dtype) for _ in range(self.gates)]
        blocks[self.forget_gate_index] = ops.ones((self.units,), dtype=dtype)
        return ops.concatenate(blocks)

    def step(self, z_x, z_h, states, recurrent_mask=None):
        h_prev, c_prev = states
        z = z_x + z_h  # (batch, 4 * units): x W + b + h_prev U
        z_i, z_f, z_g, z_o = ops.split(z, 4, axis=-1)
        i = self.recurrent_activation(z_i)  # input gate: how much of g to write
        f = self.recurrent_activation(z_f)  # forget gate: how much of c_prev to keep
        g = self.activation(z_g)  # candidate memory
        o = self.recurrent_activation(z_o)  # output gate: how much of the memory to show
        c = f * c_prev + i * g  # long-term memory (cell state)
        h = o * self.activation(c)  # short-term memory / output
        return {"i": i, "f": f, "g": g, "o": o, "c": c, "h": h}

    def get_config(self):
        return {
            **super().get_config(),
            "recurrent_activation": activations.serialize(self.recurrent_activation),
            "unit_forget_bias": self.unit_forget_bias,
        }


@keras.saving.register_keras_serializable(package="textlstm")
class PeepholeLSTMCell(LSTMCell):
    """LSTM cell whose gates also look at the cell state ("peepholes").

    Equations (as `LSTMCell`, with diagonal peephole weights p_i, p_f, p_o):

        i = σ(x W_i + h_prev U_i + b_i + p_i ⊙ c_prev)
        f = σ(x W_f + h_prev U_f + b_f + p_f ⊙ c_prev)
        g = tanh(x W_g + h_prev U_g + b_g)
        c = f ⊙ c_prev + i ⊙ g
        o = σ(x W_o + h_prev U_o + b_o + p_o ⊙ c)     (the new c)
        h = o ⊙ tanh(c)

    `kernel`, `recurrent_kernel` and `bias` are laid out as in `LSTMCell`;
    the peepholes are three more vectors of size `units`, `peephole_i`,
    `peephole_f` and `peephole_o`. With all three at zero the cell is
    `LSTMCell`. The equations are those of TensorFlow's fused
    `BlockLSTMV2(use_peephole=True)`.

    Reference: Gers & Schmidhuber 2000, "Recurrent nets that time and count".

    Args:
        units: Positive integer, size of `h` and `c`.
        peephole_initializer: Initializer of the peephole vectors; `"zeros"`
            starts the cell as a plain LSTM.
        peephole_regularizer: Regularizer of the peephole vectors.
        **kwargs: The arguments of `LSTMCell`.

    Call arguments:
        inputs: (batch, input_dim), one time step.
        states: `[h_prev, c_prev]`, each (batch, units).
        training: Whether dropout applies.

    Example:

    >>> layer = keras.layers.RNN(PeepholeLSTMCell(4))
    >>> tuple(layer(np.ones((2, 3, 5))).shape)
    (2, 4)
    """

    def __init__(self, units, peephole_initializer="zeros", peephole_regularizer=None, **kwargs):
        super().__init__(units, **kwargs)
        self.peephole_initializer = lookup(initializers.get, "peephole_initializer", peephole_initializer)
        self.peephole_regularizer = lookup(regularizers.get, "peephole_regularizer", peephole_regularizer)

    def build(self, input_shape):
        super().build(input_shape)
        self.peephole_i, self.peephole_f, self.peephole_o = (
            self.add_weight(
                shape=(self.units,),
                name=f"peephole_{gate}",
                initializer=self.peephole_initializer,
                regularizer=self.peephole_regularizer,
            )
            for gate in "ifo"
        )

    @property
    def step_weights(self):
        return [self.peephole_i, self.peephole_f, self.peephole_o]

    def step(self, z_x, z_h, states, recurrent_mask=None):
        h_prev, c_prev = states
        z = z_x + z_h  # (batch, 4 * units): x W + b + h_prev U
        z_i, z_f, z_g, z_o = ops.split(z, 4, axis=-1)
        i = self.recurrent_activation(z_i + self.peephole_i * c_prev)  # input gate, sees c_prev
        f = self.recurrent_activation(z_f + self.peephole_f * c_prev)  # forget gate, sees c_prev
        g = self.activation(z_g)  # candidate memory
        c = f * c_prev + i * g  # long-term memory (cell state)
        o = self.recurrent_activation(z_o + self.peephole_o * c)  # output gate, sees the new c
        h = o * self.activation(c)  # short-term memory / output
        return {"i": i, "f": f, "g": g, "o": o, "c": c, "h": h}

    def get_config(self):
        return {
            **super().get_config(),
            "peephole_initializer": initializers.serialize(self.peephole_initializer),
            "peephole_regularizer": regularizers.serialize(self.peephole_regularizer),
        }


@keras.saving.register_keras_serializable(package="textlstm")
class CoupledLSTMCell(LSTMCell):
    """LSTM cell with coupled input and forget gates: what is forgotten is replaced.

    Equations (as `LSTMCell`, with the input gate tied to the forget gate):

        f = σ(x W_f + h_prev U_f + b_f)
        i = 1 - f
        g = tanh(x W_g + h_prev U_g + b_g)
        o = σ(x W_o + h_prev U_o + b_o)
        c = f ⊙ c_prev + i ⊙ g
        h = o ⊙ tanh(c)

    Having no input-gate weights, the fused `kernel` is (input_dim, 3 * units),
    `recurrent_kernel` (units, 3 * units) and `bias` (3 * units,), gate order
    f, g, o.

    Reference: Greff et al. 2017, "LSTM: A Search Space Odyssey" (the CIFG
    variant).

    Args:
        units: Positive integer, size of `h` and `c`.
        **kwargs: The arguments of `LSTMCell`.

    Call arguments:
        inputs: (batch, input_dim), one time step.
        states: `[h_prev, c_prev]`, each (batch, units).
        training: Whether dropout applies.

    Example:

    >>> cell = CoupledLSTMCell(4)
    >>> tuple(keras.layers.RNN(cell)(np.ones((2, 3, 5))).shape)
    (2, 4)
    >>> tuple(cell.kernel.shape)
    (5, 12)
    """

    gates = 3
    forget_gate_index = 0

    def step(self, z_x, z_h, states, recurrent_mask=None):
        h_prev, c_prev = states
        z = z_x + z_h  # (batch, 3 * units): x W + b + h_prev U
        z_f, z_g, z_o = ops.split(z, 3, axis=-1)
        f = self.recurrent_activation(z_f)  # forget gate: how much of c_prev to keep
        i = 1 - f  # input gate, coupled: write exactly what was forgotten
        g = self.activation(z_g)  # candidate memory
        o = self.recurrent_activation(z_o)  # output gate
        c = f * c_prev + i * g  # long-term memory (cell state)
        h = o * self.activation(c)  # short-term memory / output
        return {"i": i, "f": f, "g": g, "o": o, "c": c, "h": h}
