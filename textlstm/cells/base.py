"""What every textlstm cell shares: arguments, weights, dropout masks, config."""

import contextlib

import keras
import tensorflow as tf
from keras import activations, constraints, initializers, ops, regularizers
from keras.src.layers.rnn.dropout_rnn_cell import DropoutRNNCell


def positive_int(name, value):
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise ValueError(
            f"{name} must be a positive integer. Received: {name}={value!r}"
        )
    return value


def rate(name, value):
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value < 1:
        raise ValueError(
            f"{name} must be a number in [0, 1). Received: {name}={value!r}"
        )
    return float(value)


def lookup(getter, name, value):
    """`getter(value)` (e.g. `keras.activations.get`), with an error naming the argument."""
    try:
        return getter(value)
    except (ValueError, TypeError) as error:
        raise ValueError(f"{name} is not recognised. Received: {name}={value!r}") from error


def replica_rows(values, rows):
    """This replica's rows of values drawn for the global batch: [r * rows, (r + 1) * rows) for replica r.

    The loop (`textlstm.loop`) gives replica r those rows of each global
    batch. Outside a strategy, or with one replica, values unchanged.
    """
    context = tf.distribute.get_replica_context()  # None in a strategy's cross-replica context
    if context is None or context.num_replicas_in_sync == 1:
        return values
    first = ops.cast(context.replica_id_in_sync_group, "int32") * rows
    return values[first:first + rows]


def rows_dropout_mask(shape, rate, seed, dtype):
    """A dropout mask (0 or 1 / (1 - rate)) of shape (rows, ...) for this replica's rows of the global batch.

    Under a `tf.distribute` strategy the mask is drawn over the global batch
    (the replicas' rows one after another, as `textlstm.loop` splits each
    batch) and each replica takes its own rows, so N replicas drop what one
    device drops with the same rows and the same seed state. On one device
    it is `keras.random.dropout` of ones of `shape`.

    Args:
        shape: (rows, ...) of this replica's share.
        rate: Fraction dropped, in [0, 1).
        seed: A `keras.random.SeedGenerator`, the same state on every replica.
        dtype: Of the mask.
    """
    context = tf.distribute.get_replica_context()
    replicas = context.num_replicas_in_sync if context else 1
    rows = shape[0]
    return replica_rows(keras.random.dropout(ops.ones((rows * replicas, *shape[1:]), dtype), rate, seed=seed), rows)


class RecurrentCell(keras.layers.Layer, DropoutRNNCell):
    """Base of the textlstm cells; subclasses write their equations in `step`.

    A cell splits one time step into two parts so that a layer can run them
    at different places:

    - `project(x)`: the input projection `x W + b` for every gate at once. It
      does not depend on the previous state, so `textlstm` layers apply it to
      all time steps in one large matrix product before the time loop.
    - the recurrent product `z_h = h_prev U + b'` (`recurrent_product` below;
      `b'` is `recurrent_bias`, None but for the GRU), with the columns of
      `U` in `recurrent_product_kernel` (all but `U_n` of a GRU without
      `reset_after`, whose `step` multiplies `r ⊙ h_prev` by `U_n` itself).
      `textlstm` layers compute it themselves inside the time loop, so that
      their gradient can compute `U`'s after the loop in one matrix product.
    - `step(z_x, z_h, states, recurrent_mask)`: the pointwise part, one line
      per equation, from `z_x = x W + b` and `z_h = h_prev U (+ b')`.
      Returns a dict of every named activation of the step (the gates, the
      candidate and the new states), which `trace` exposes. Weights that
      `step` reads itself (peepholes) get their gradient step by step; a
      cell lists them in `step_weights`, so that the layers read them once
      before the time loop instead of at every step.

    `call` chains the three, so each cell also works one step at a time
    inside `keras.layers.RNN`.

    Weight dropout (DropConnect on `U`, Wan et al. 2013, as AWD-LSTM uses
    it) multiplies `recurrent_kernel` by one mask per batch: within
    `dropped_weights(training)`, every read of `recurrent_kernel` (the
    recurrent product, a `step` that reads `U` itself) sees `U ⊙ mask`, at
    every time step of the batch.

    Subclasses set `gates` (how many `units`-wide blocks the fused kernel
    holds), `state_names` (the keys of `step`'s dict that are the states, `h`
    first), `trace_names` (the keys `trace` reports) and
    `step_sums_z_x_and_z_h` (True if `step` reads `z_x` and `z_h` only
    through their sum `z_x + z_h`, so that both have one gradient, which
    the time loop's gradient then records once).
    """

    gates = 1
    state_names = ("h",)
    trace_names = ("h",)
    step_sums_z_x_and_z_h = False

    def __init__(
        self,
        units,
        activation="tanh",
        use_bias=True,
        kernel_initializer="glorot_uniform",
        recurrent_initializer="orthogonal",
        bias_initializer="zeros",
        kernel_regularizer=None,
        recurrent_regularizer=None,
        bias_regularizer=None,
        kernel_constraint=None,
        recurrent_constraint=None,
        bias_constraint=None,
        dropout=0.0,
        recurrent_dropout=0.0,
        weight_dropout=0.0,
        seed=None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.units = positive_int("units", units)
        self.activation = lookup(activations.get, "activation", activation)
        self.use_bias = bool(use_bias)
        self.kernel_initializer = lookup(initializers.get, "kernel_initializer", kernel_initializer)
        self.recurrent_initializer = lookup(initializers.get, "recurrent_initializer", recurrent_initializer)
        self.bias_initializer = lookup(initializers.get, "bias_initializer", bias_initializer)
        self.kernel_regularizer = lookup(regularizers.get, "kernel_regularizer", kernel_regularizer)
        self.recurrent_regularizer = lookup(regularizers.get, "recurrent_regularizer", recurrent_regularizer)
        self.bias_regularizer = lookup(regularizers.get, "bias_regularizer", bias_regularizer)
        self.kernel_constraint = lookup(constraints.get, "kernel_constraint", kernel_constraint)
        self.recurrent_constraint = lookup(constraints.get, "recurrent_constraint", recurrent_constraint)
        self.bias_constraint = lookup(constraints.get, "bias_constraint", bias_constraint)
        self.dropout = rate("dropout", dropout)
        self.recurrent_dropout = rate("recurrent_dropout", recurrent_dropout)
        self.weight_dropout = rate("weight_dropout", weight_dropout)
        self._weight_dropout_mask = None
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed=seed)
        self.state_size = [units] * len(self.state_names)
        self.output_size = units

    @property
    def bias_shape(self):
        return (self.gates * self.units,)

    def bias_initial_value(self, shape, dtype=None):
        return self.bias_initializer(shape, dtype=dtype)

    def build(self, input_shape):
        input_dim = input_shape[-1]
        self.kernel = self.add_weight(
            shape=(input_dim, self.gates * self.units),
            name="kernel",
            initializer=self.kernel_initializer,
            regularizer=self.kernel_regularizer,
            constraint=self.kernel_constraint,
        )
        self.recurrent_kernel = self.add_weight(
            shape=(self.units, self.gates * self.units),
            name="recurrent_kernel",
            initializer=self.recurrent_initializer,
            regularizer=self.recurrent_regularizer,
            constraint=self.recurrent_constraint,
        )
        self.bias = None
        if self.use_bias:
            self.bias = self.add_weight(
                shape=self.bias_shape,
                name="bias",
                initializer=self.bias_initial_value,
                regularizer=self.bias_regularizer,
                constraint=self.bias_constraint,
            )

    @property
    def input_bias(self):
        return self.bias

    @property
    def recurrent_product_kernel(self):
        """The columns of `U` in `z_h = h_prev U + b'`: all of them but in a GRU without `reset_after`."""
        return self.recurrent_kernel

    @property
    def recurrent_bias(self):
        """The bias added to `h_prev U` (GRU with `reset_after`), else None."""
        return None

    @property
    def step_weights(self):
        """The weights `step` reads itself; the layers read them once before the time loop, not at every step."""
        return []

    def project(self, x):
        """`x W + b` for every gate at once, one matrix product; `x` is (..., input_dim)."""
        # In 2-D, TensorFlow runs MatMul + BiasAdd as one op (and the bias gradient as BiasAddGrad);
        # Keras's matmul of a 3-D x reshapes around the product, and MatMul + AddV2 stay two passes.
        rows = ops.reshape(x, (-1, x.shape[-1]))  # (rows, input_dim)
        z_x = ops.matmul(rows, self.kernel)
        if self.use_bias:
            z_x = tf.nn.bias_add(z_x, self.input_bias)
        return ops.reshape(z_x, (*ops.shape(x)[:-1], self.kernel.shape[-1]))  # (..., gates * units)

    def step(self, z_x, z_h, states, recurrent_mask=None):
        raise NotImplementedError

    def dropout_masks(self, x, h_prev, training):
        """The input and recurrent dropout masks, the same at every time step."""
        input_mask = recurrent_mask = None
        if training and self.dropout > 0:
            input_mask = self.get_dropout_mask(x)
        if training and self.recurrent_dropout > 0:
            recurrent_mask = self.get_recurrent_dropout_mask(h_prev)
        return input_mask, recurrent_mask

    def _create_dropout_mask(self, step_input, dropout_rate):
        """A batch's input or recurrent dropout mask: Keras's, drawn over the global batch (`rows_dropout_mask`)."""
        return rows_dropout_mask(ops.shape(step_input), dropout_rate, self.seed_generator, step_input.dtype)

    def get_weight_dropout_mask(self):
        """The weight dropout mask of `recurrent_kernel`, 0 or 1 / (1 - weight_dropout); None without weight dropout.

        Drawn from `seed_generator` on first use and kept until
        `reset_recurrent_dropout_mask`, as Keras keeps its dropout masks for
        the time steps of one call.
        """
        if self._weight_dropout_mask is None and self.weight_dropout > 0:
            ones = ops.ones(self.recurrent_kernel.shape, dtype=self.recurrent_kernel.dtype)
            self._weight_dropout_mask = keras.random.dropout(ones, self.weight_dropout, seed=self.seed_generator)
        return self._weight_dropout_mask

    def get_recurrent_dropout_mask(self, step_input):
        self.get_weight_dropout_mask()  # keras.layers.RNN draws the masks here, before its time loop
        return super().get_recurrent_dropout_mask(step_input)

    def reset_recurrent_dropout_mask(self):
        super().reset_recurrent_dropout_mask()
        self._weight_dropout_mask = None

    @contextlib.contextmanager
    def dropped_weights(self, training):
        """Within the block `recurrent_kernel` reads as `U ⊙ mask` when training with weight dropout, else as itself.

        The product keeps the gradient: `U` gets `mask ⊙` the gradient of the dropped kernel.
        """
        mask = self.get_weight_dropout_mask() if training else None
        if mask is None:
            yield
            return
        dropped = self.recurrent_kernel * mask
        with keras.StatelessScope(state_mapping=[(self.recurrent_kernel, dropped)], initialize_variables=False):
            yield

    def call(self, inputs, states, training=False):
        states = list(states) if isinstance(states, (list, tuple)) else [states]
        input_mask, recurrent_mask = self.dropout_masks(inputs, states[0], training)
        if input_mask is not None:
            inputs = inputs * input_mask
        with self.dropped_weights(training):
            z_h = recurrent_product(states[0], recurrent_mask, self.recurrent_product_kernel, self.recurrent_bias)
            values = self.step(self.project(inputs), z_h, states, recurrent_mask)
        return values["h"], [values[name] for name in self.state_names]

    def get_initial_state(self, batch_size=None):
        return [ops.zeros((batch_size, self.units), dtype=self.compute_dtype) for _ in self.state_names]

    def get_config(self):
        config = {
            "units": self.units,
            "activation": activations.serialize(self.activation),
            "use_bias": self.use_bias,
            "kernel_initializer": initializers.serialize(self.kernel_initializer),
            "recurrent_initializer": initializers.serialize(self.recurrent_initializer),
            "bias_initializer": initializers.serialize(self.bias_initializer),
            "kernel_regularizer": regularizers.serialize(self.kernel_regularizer),
            "recurrent_regularizer": regularizers.serialize(self.recurrent_regularizer),
            "bias_regularizer": regularizers.serialize(self.bias_regularizer),
            "kernel_constraint": constraints.serialize(self.kernel_constraint),
            "recurrent_constraint": constraints.serialize(self.recurrent_constraint),
            "bias_constraint": constraints.serialize(self.bias_constraint),
            "dropout": self.dropout,
            "recurrent_dropout": self.recurrent_dropout,
            "weight_dropout": self.weight_dropout,
            "seed": self.seed,
        }
        return {**super().get_config(), **config}


def recurrent_product(h_prev, recurrent_mask, kernel, bias=None):
    """`h_prev U + b'`, with recurrent dropout applied to `h_prev` when training."""
    if recurrent_mask is not None:
        h_prev = h_prev * recurrent_mask
    z_h = ops.matmul(h_prev, kernel)
    return z_h if bias is None else z_h + bias
