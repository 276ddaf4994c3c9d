"""Recurrent layers that run textlstm cells over a sequence, input projection hoisted."""

import inspect

import keras
from keras import ops
from keras.src import backend, tree

from textlstm import time_loop
from textlstm.cells import (
    CoupledLSTMCell,
    GRUCell,
    LSTMCell,
    PeepholeLSTMCell,
    RecurrentCell,
    SimpleRNNCell,
)
from textlstm.cells.base import recurrent_product


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
    over a block of `steps_per_block` time steps at once (one large matrix
    product); only `h_prev U` and the cell's pointwise `step` run inside the
    time loop, whose gradient (`time_loop.with_gradient`) computes `dU` after
    the block's loop in one large matrix product too. Masks, `go_backwards`
    and the outputs follow Keras's loop exactly; `stateful`,
    `initial_state`, `return_state` and `Bidirectional` are
    `keras.layers.RNN`'s own.

    Subclasses set `cell_class`; the layer takes the cell's arguments by
    name, as `keras.layers.LSTM` does.
    """

    cell_class = None
    # At (batch, time, units) = (20, 35, 200), side by side in one process, blocks of 7 steps trained 7-12% faster
    # than blocks of 12 in five runs (1.41-1.60x Keras against 1.31-1.47x); at 20 steps, (20, 35, 128) and
    # (64, 35, 650) the two were within noise of each other. One block for the whole sequence fell between them.
    steps_per_block = 7
    # With a batch smaller than this (known when traced) the loop runs as one block: there, a block's projection is
    # too small to be worth running beside another block's loop. Inference at batch 1 and 4 was 3-11% faster as
    # one block (200 and 650 units); at batch 8 and 20, blocks (of 12 then) were faster.
    min_batch_for_blocks = 8

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
        sequences, mask, recurrent_mask = self._time_major(sequences, initial_state, mask, training)
        if self.unroll:
            states, outputs = self._unrolled(cell.project(sequences), initial_state, mask, recurrent_mask)
            last_states = [state[-1] for state in states]
        else:
            outputs, last_states = self._blockwise(sequences, initial_state, mask, recurrent_mask)
            outputs = self._shown(outputs, mask)
        last_output = outputs[-1]
        outputs = ops.transpose(outputs, (1, 0, 2)) if self.return_sequences else ops.expand_dims(last_output, 1)
        return last_output, outputs, last_states

    def _blockwise(self, sequences, states, mask, recurrent_mask):
        """The sequence of `h` and the last states, the time loop cut into blocks of `steps_per_block` steps.

        (One block if the batch is smaller than `min_batch_for_blocks`.)

        Each block projects its own inputs, so while one block's loop runs
        (one small product after another, leaving a core idle) the next
        block's projection can run beside it, and in the backward pass one
        block's `dW`, `dx` and `dU` beside the previous block's loop.
        """
        cell = self.cell
        # In the compute dtype: under mixed precision the float32 variables would otherwise meet bfloat16 gradients.
        recurrent_kernel = ops.cast(cell.recurrent_product_kernel, cell.compute_dtype)
        recurrent_bias = None if cell.recurrent_bias is None else ops.cast(cell.recurrent_bias, cell.compute_dtype)
        step_weights = [ops.cast(weight, weight.dtype) for weight in cell.step_weights]  # read here, once
        steps, batch = sequences.shape[:2]
        block = steps if batch is not None and batch < self.min_batch_for_blocks else self.steps_per_block
        starts = [0] if not steps else range(0, steps, block)
        outputs = []
        for start in starts:
            stop = None if steps is None else start + block
            block_mask = None if mask is None else mask[start:stop]
            z_x = cell.project(sequences[start:stop])  # (block, batch, gates * units): one matrix product
            loop = time_loop.LoopInputs(
                cell, z_x, states, recurrent_kernel, recurrent_bias, block_mask, recurrent_mask, step_weights
            )
            h, states = time_loop.with_gradient(loop)
            outputs.append(h)
        return ops.concatenate(outputs, axis=0) if len(outputs) > 1 else outputs[0], states

    def _time_major(self, sequences, initial_state, mask, training):
        """The inputs (time, batch, features) in the order the loop visits them, the mask, the recurrent dropout mask."""
        cell = self.cell
        if tree.is_nested(mask):
            mask = mask[0]
        input_mask, recurrent_mask = cell.dropout_masks(sequences[:, 0], initial_state[0], training)
        if input_mask is not None:
            sequences = sequences * ops.expand_dims(input_mask, 1)  # one mask for every time step
        sequences = ops.transpose(sequences, (1, 0, 2))  # (time, batch, features)
        if mask is not None:
            mask = ops.expand_dims(ops.transpose(ops.cast(mask, "bool")), -1)  # (time, batch, 1)
        if self.go_backwards:
            sequences = ops.flip(sequences, axis=0)
            mask = None if mask is None else ops.flip(mask, axis=0)
        return sequences, mask, recurrent_mask

    def _shown(self, values, mask):
        """What Keras outputs at masked steps: zeros, or the last unmasked step's values (zeros before any)."""
        if mask is None:
            return values
        shown = mask if self.zero_output_for_mask else ops.cumsum(ops.cast(mask, "int32"), axis=0) > 0
        return ops.where(shown, values, ops.zeros_like(values))

    def _unrolled(self, z_x, initial_state, mask, recurrent_mask):
        # unroll=True is Keras's option, so it runs in Keras's own loop with plain autodiff;
        # it is also the reference the tests hold `time_loop.with_gradient` to.
        cell = self.cell

        def step(step_z_x, states):
            z_h = recurrent_product(states[0], recurrent_mask, cell.recurrent_product_kernel, cell.recurrent_bias)
            values = cell.step(step_z_x, z_h, list(states), recurrent_mask)
            return values["h"], [values[name] for name in cell.state_names]

        _, outputs, states = backend.rnn(
            step,
            z_x,
            list(initial_state),
            mask=mask,
            unroll=True,
            input_length=z_x.shape[0],
            time_major=True,
            zero_output_for_mask=self.zero_output_for_mask,
        )
        return [ops.expand_dims(state, 0) for state in states], outputs

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
        sequences, mask, _ = self._time_major(sequences, initial_state, mask, training=False)
        names = cell.state_names + tuple(name for name in cell.trace_names if name not in cell.state_names)
        with backend.AutocastScope(self.compute_dtype):  # the weights in the compute dtype, as in `call`
            z_x = cell.project(sequences)
            loop = time_loop.LoopInputs(cell, z_x, initial_state, cell.recurrent_product_kernel, cell.recurrent_bias, mask)
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
            `recurrent_dropout`, `seed`) and of the base layer.

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


LAYERS_BY_NAME = {"lstm": LSTM, "peephole": PeepholeLSTM, "coupled": CoupledLSTM, "gru": GRU, "simple": SimpleRNN}
"""The recurrent layers under the names the `--cell` flags take."""
