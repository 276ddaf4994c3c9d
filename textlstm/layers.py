"""Recurrent layers that run textlstm cells over a sequence, input projection hoisted."""

import inspect

import keras
from keras import ops
from keras.src import backend, tree

from textlstm import sequence_loop, time_loop
from textlstm.cells import (
    CoupledLSTMCell,
    GRUCell,
    LSTMCell,
    PeepholeLSTMCell,
    RecurrentCell,
    SimpleRNNCell,
)
from textlstm.cells.base import rows_dropout_mask


def cell_argument_names(cell_class):
    """The named arguments of `cell_class.__init__`, its base classes' included."""
    return {
        name
        for klass in cell_class.__mro__
        if issubclass(klass, RecurrentCell)
        for name, parameter in inspect.signature(klass.__init__).parameters.items()
        if parameter.kind is parameter.POSITIONAL_OR_KEYWORD and name not in ("self", "units")
    }


class RecurrentLayer(keras.layers.RNN):
    """Base of the textlstm layers: a `keras.layers.RNN` with a faster loop.

    Keras's own loop calls the cell once per time step, so `x W` is computed
    inside the loop, one small matrix product per step, and autodiff adds up
    the gradient of `U` one step at a time. Here the cell's `project` runs
    over a block of time steps at once (one large matrix product; the
    blocks are `time_blocks`, a `sequence_loop.TimeBlocks`); only `h_prev U`
    and the cell's pointwise `step` run inside the time loop, whose gradient
    (`time_loop.with_gradient`) computes `dU` after the block's loop in one
    large matrix product too. Masks, `go_backwards` and the outputs follow
    Keras's loop exactly; `stateful`, `initial_state`, `return_state` and
    `Bidirectional` are `keras.layers.RNN`'s own.

    Subclasses set `cell_class`; the layer takes the cell's arguments by
    name, as `keras.layers.LSTM` does.
    """

    cell_class = None
    time_blocks = sequence_loop.TimeBlocks()  # set on a subclass or an instance to cut the loop otherwise

    def __init__(
        self,
        units,
        return_sequences=False,
        return_state=False,
        go_backwards=False,
        stateful=False,
        unroll=False,
        use_cudnn="auto",
        **kwargs,
    ):
        if use_cudnn not in ("auto", False):
            raise ValueError(
                "use_cudnn must be 'auto' or False: textlstm layers always run "
                f"their own loop. Received: use_cudnn={use_cudnn!r}"
            )
        cell_arguments = cell_argument_names(self.cell_class)
        cell_kwargs = {name: kwargs.pop(name) for name in list(kwargs) if name in cell_arguments}
        cell = self.cell_class(
            units,
            dtype=kwargs.get("dtype"),
            trainable=kwargs.get("trainable", True),
            name=f"{self.cell_class.__name__.lower()[:-4]}_cell",
            **cell_kwargs,
        )
        super().__init__(
            cell,
            return_sequences=return_sequences,
            return_state=return_state,
            go_backwards=go_backwards,
            stateful=stateful,
            unroll=unroll,
            **kwargs,
        )
        self.use_cudnn = use_cudnn
        self.input_spec = keras.layers.InputSpec(ndim=3)

    def __getattr__(self, name):
        # The cell's arguments (units, dropout, ...) read through, as on keras.layers.LSTM.
        cell = self.__dict__.get("cell")
        if cell is not None and not name.startswith("_") and name in cell.get_config():
            return getattr(cell, name)
        raise AttributeError(f"'{type(self).__name__}' object has no attribute '{name}'")

    def call(self, sequences, initial_state=None, mask=None, training=False):
        if initial_state is not None:
            self._check_initial_state(sequences, initial_state)
        return super().call(sequences, initial_state=initial_state, mask=mask, training=training)

    def _check_initial_state(self, sequences, initial_state):
        states = initial_state if isinstance(initial_state, (list, tuple)) else [initial_state]
        batch = sequences.shape[0]
        shapes = [tuple(state.shape) for state in states]

        def fits(shape, size):
            return len(shape) == 2 and shape[1] == size and (None in (shape[0], batch) or shape[0] == batch)

        if len(shapes) != len(self.state_size) or not all(map(fits, shapes, self.state_size)):
            expected = [(batch, size) for size in self.state_size]
            raise ValueError(
                f"initial_state must be {len(expected)} tensor(s) of shape (batch, units) = {expected}. "
                f"Received: initial_state with shapes {shapes}"
            )

    def inner_loop(self, sequences, initial_state, mask, training=False):
        cell = self.cell
        sequences, mask, recurrent_mask = sequence_loop.time_major(
            cell, sequences, initial_state, mask, training, self.go_backwards
        )
        with cell.dropped_weights(training):
            if self.unroll:
                outputs, last_states = sequence_loop.unrolled(
                    cell, sequences, initial_state, mask, recurrent_mask, self.zero_output_for_mask
                )
            else:
                outputs, last_states = sequence_loop.in_blocks(
                    cell, sequences, initial_state, mask, recurrent_mask, self.time_blocks
                )
                outputs = self._shown(outputs, mask)
        last_output = outputs[-1]
        outputs = ops.transpose(outputs, (1, 0, 2)) if self.return_sequences else ops.expand_dims(last_output, 1)
        return last_output, outputs, last_states

    def _shown(self, values, mask):
        """What Keras outputs at masked steps: zeros, or the last unmasked step's values (zeros before any)."""
        if mask is None:
            return values
        shown = mask if self.zero_output_for_mask else ops.cumsum(ops.cast(mask, "int32"), axis=0) > 0
        return ops.where(shown, values, ops.zeros_like(values))

    def trace(self, inputs, initial_state=None, mask=None):
        """Runs the layer and returns what happened inside it, step by step.

        Args:
            inputs: (batch, time, features).
            initial_state: Optional list of initial states, as in `call`.
            mask: Optional boolean (batch, time) mask, as in `call`.

        Returns:
            A dict from the cell's names (`i`, `f`, `g`, `o`, `c`, `h` for the
            LSTM family; `z`, `r`, `n`, `h` for the GRU; `h` for SimpleRNN) to
            (batch, time, units) tensors, the values of the forward pass in
            inference mode, in the order the layer visited the time steps
            (reversed for `go_backwards`, as the layer's own output). At a
            masked step every value is the last unmasked step's, as the
            layer's output is. The state of a stateful layer is read, not
            updated.
        """
        sequences = ops.convert_to_tensor(inputs, dtype=self.compute_dtype)
        if len(sequences.shape) != 3:
            raise ValueError(f"inputs must be rank 3 (batch, time, features). Received: shape={sequences.shape}")
        if not self.built:
            self.build(sequences.shape)
        if initial_state is None:
            initial_state = self.states if self.stateful else self.get_initial_state(ops.shape(sequences)[0])
        else:
            self._check_initial_state(sequences, initial_state)
        initial_state = [ops.convert_to_tensor(state, dtype=self.compute_dtype) for state in tree.flatten(initial_state)]
        cell = self.cell
        sequences, mask, _ = sequence_loop.time_major(
            cell, sequences, initial_state, mask, training=False, go_backwards=self.go_backwards
        )
        names = cell.state_names + tuple(name for name in cell.trace_names if name not in cell.state_names)
        with backend.AutocastScope(self.compute_dtype):  # the weights in the compute dtype, as in `call`
            z_x = cell.project(sequences)
            kernel, bias = cell.recurrent_product_kernel, cell.recurrent_bias
            loop = time_loop.LoopInputs(cell, z_x, initial_state, recurrent_kernel=kernel, recurrent_bias=bias, mask=mask)
            values, _, _ = time_loop.run(loop, names)
        values = {name: value.stack()[1:] for name, value in zip(names, values)}
        return {name: ops.transpose(self._shown(values[name], mask), (1, 0, 2)) for name in cell.trace_names}

    def get_config(self):
        config = super().get_config()
        cell_config = config.pop("cell")["config"]
        for name in ("name", "dtype", "trainable"):
            cell_config.pop(name, None)
        return {**config, **cell_config, "use_cudnn": self.use_cudnn}

    @classmethod
    def from_config(cls, config, custom_objects=None):
        return cls(**config)


@keras.saving.register_keras_serializable(package="textlstm")
class LSTM(RecurrentLayer):
    """Long short-term memory layer, a drop-in for `keras.layers.LSTM`.

    Same arguments, same weights (`kernel`, `recurrent_kernel`, `bias`, gate
    order i, f, c, o), same numbers; the equations are `LSTMCell`'s.

    Args:
        units: Positive integer, size of the output and of the states.
        return_sequences: Return the output of every step, not only the last.
        return_state: Also return the final states `h` and `c`.
        go_backwards: Run over the sequence backwards and return the
            reversed sequence.
        stateful: Carry the final states of a batch over to the next batch;
            `reset_state()` clears them.
        unroll: Unroll the time loop in Python (needs a fixed length).
        use_cudnn: `"auto"` or `False`, accepted for compatibility.
        **kwargs: The arguments of `LSTMCell` (`activation`,
            `recurrent_activation`, `use_bias`, the initializers, regularizers
            and constraints, `unit_forget_bias`, `dropout`,
            `recurrent_dropout`, `weight_dropout`, `seed`) and of the base
            layer.

    Call arguments:
        sequences: (batch, time, features).
        initial_state: Optional `[h, c]`, each (batch, units).
        mask: Optional boolean (batch, time); masked steps keep the states.
        training: Whether dropout applies.

    Example:

    >>> layer = LSTM(4, return_sequences=True, return_state=True)
    >>> outputs, h, c = layer(np.ones((2, 3, 5)))
    >>> tuple(outputs.shape), tuple(h.shape), tuple(c.shape)
    ((2, 3, 4), (2, 4), (2, 4))
    >>> sorted(layer.trace(np.ones((2, 3, 5))))
    ['c', 'f', 'g', 'h', 'i', 'o']
    """

    cell_class = LSTMCell


@keras.saving.register_keras_serializable(package="textlstm")
class PeepholeLSTM(RecurrentLayer):
    """LSTM layer with peephole connections (`PeepholeLSTMCell`).

    Args:
        units: Positive integer, size of the output and of the states.
        **kwargs: As `LSTM`, plus `peephole_initializer` and
            `peephole_regularizer`.

    Call arguments:
        sequences: (batch, time, features).
        initial_state: Optional `[h, c]`, each (batch, units).
        mask: Optional boolean (batch, time).
        training: Whether dropout applies.

    Example:

    >>> tuple(PeepholeLSTM(4)(np.ones((2, 3, 5))).shape)
    (2, 4)
    """

    cell_class = PeepholeLSTMCell


@keras.saving.register_keras_serializable(package="textlstm")
class CoupledLSTM(RecurrentLayer):
    """LSTM layer whose input gate is one minus its forget gate (`CoupledLSTMCell`).

    Args:
        units: Positive integer, size of the output and of the states.
        **kwargs: As `LSTM`.

    Call arguments:
        sequences: (batch, time, features).
        initial_state: Optional `[h, c]`, each (batch, units).
        mask: Optional boolean (batch, time).
        training: Whether dropout applies.

    Example:

    >>> tuple(CoupledLSTM(4)(np.ones((2, 3, 5))).shape)
    (2, 4)
    """

    cell_class = CoupledLSTMCell


@keras.saving.register_keras_serializable(package="textlstm")
class GRU(RecurrentLayer):
    """Gated recurrent unit layer, a drop-in for `keras.layers.GRU`.

    Same arguments (including `reset_after`), weights and numbers as Keras;
    the equations are `GRUCell`'s.

    Args:
        units: Positive integer, size of the output and of the state.
        **kwargs: As `LSTM`, with `reset_after` instead of
            `unit_forget_bias`.

    Call arguments:
        sequences: (batch, time, features).
        initial_state: Optional `[h]`, (batch, units).
        mask: Optional boolean (batch, time).
        training: Whether dropout applies.

    Example:

    >>> tuple(GRU(4, reset_after=False)(np.ones((2, 3, 5))).shape)
    (2, 4)
    """

    cell_class = GRUCell


@keras.saving.register_keras_serializable(package="textlstm")
class SimpleRNN(RecurrentLayer):
    """Fully connected recurrent layer, a drop-in for `keras.layers.SimpleRNN`.

    Args:
        units: Positive integer, size of the output and of the state.
        **kwargs: As `LSTM`, without the gate arguments.

    Call arguments:
        sequences: (batch, time, features).
        initial_state: Optional `[h]`, (batch, units).
        mask: Optional boolean (batch, time).
        training: Whether dropout applies.

    Example:

    >>> tuple(SimpleRNN(4)(np.ones((2, 3, 5))).shape)
    (2, 4)
    """

    cell_class = SimpleRNNCell


@keras.saving.register_keras_serializable(package="textlstm")
class LockedDropout(keras.layers.Layer):
    """Locked (variational) dropout: one mask per sequence, the same at every time step (Gal & Ghahramani 2016).

    Drops features of (batch, time, features) inputs with a mask drawn over
    (batch, 1, features) and broadcast over time: on one device the mask of
    `keras.layers.Dropout(rate, noise_shape=(None, 1, None))`. (Inputs of
    rank 2 get one mask per row; of rank 4 and more, one per row, broadcast
    over every axis between the first and the last.) Under a
    `tf.distribute` strategy the mask is drawn for the global batch and each
    replica takes its rows (`rows_dropout_mask`), so the replicas drop what
    one device drops.

    Args:
        rate: Fraction of the features to drop, in [0, 1).
        seed: Seed of the masks.
        **kwargs: Base layer arguments.

    Example:

    >>> dropped = LockedDropout(0.5, seed=1)(np.ones((2, 4, 3)), training=True)
    >>> bool((dropped == dropped[:, :1]).numpy().all())
    True
    """

    def __init__(self, rate, seed=None, **kwargs):
        super().__init__(**kwargs)
        self.rate = rate
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed)
        self.supports_masking = True

    def call(self, inputs, training=False):
        if not training or not self.rate:
            return inputs
        shape = ops.shape(inputs)
        mask_shape = (shape[0], *[1] * (len(shape) - 2), shape[-1])
        return inputs * rows_dropout_mask(mask_shape, self.rate, self.seed_generator, inputs.dtype)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "rate": self.rate, "seed": self.seed}


LAYERS_BY_NAME = {"lstm": LSTM, "peephole": PeepholeLSTM, "coupled": CoupledLSTM, "gru": GRU, "simple": SimpleRNN}
"""The recurrent layers under the names the `--cell` flags take."""
