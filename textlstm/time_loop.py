"""The time loop of the textlstm layers, with a gradient that keeps the matrix products out of it.

Everything here is time-major: `z_x` is (time, batch, gates * units), the
input projection `x W + b` of every step, already computed in one matrix
product. The loop runs the recurrent product `z_h = h_prev U + b'` and the
cell's pointwise `step`.

Autodiff of such a loop keeps the gradient of `U` as a loop variable and
adds `h_prev^T dz_h` to it one small product per step, and differentiates
through the loop's bookkeeping. `with_gradient` instead saves the states
and `z_h`; its backward loop re-runs only the cell's pointwise `step` under
a `GradientTape` (so no cell writes a derivative by hand) to get `dz_x`,
`dz_h` and the gradient of the previous states, and adds `dz_h U^T` to the
gradient of `h_prev`. After the loop `dU = H_prev^T dZ_h` is one large
product; `dW`, `db` and `dx` come from autodiff of the projection outside,
also one large product each.

At the sizes where that is faster, the products with `U` and `U^T` inside
the loops are cut into column blocks that run side by side
(`column_blocks`).
"""

import dataclasses
from collections.abc import Sequence

import keras
import tensorflow as tf
from tensorflow.python.eager import record as tape_record  # could_possibly_record: is a tape watching?
from keras import ops
from keras.src import backend

# On a 2-core CPU, a (batch, rows) by (rows, columns) product cut into column blocks, whose products run side by
# side, is faster than one product when the batch is 8 or more and the product has between about 1 and 6 million
# multiply-adds (batch 20, 200 units and 4 gates: 3.2 million); outside that range, and at batch 1 (a
# matrix-vector product), one product is as fast or faster. `python bench/recurrent_product.py` measures it.
BLOCKWISE_MULTIPLY_ADDS = (2**20, 6 * 2**20)
BLOCKWISE_MIN_BATCH = 8


def column_blocks(kernel, batch, count):
    """`kernel` cut into `count` column blocks if a product of `batch` rows with it is in the range above, else itself.

    `batch` is the static batch size or None (then `kernel` itself).
    """
    rows, columns = kernel.shape
    low, high = BLOCKWISE_MULTIPLY_ADDS
    if batch is None or batch < BLOCKWISE_MIN_BATCH or count < 2 or not low <= batch * rows * columns <= high:
        return kernel
    return ops.split(kernel, [columns * index // count for index in range(1, count)], axis=1)


def blockwise_matmul(a, kernel):
    """`a @ kernel`, block by block if `kernel` is a list of column blocks."""
    if not isinstance(kernel, (list, tuple)):
        return ops.matmul(a, kernel)
    return ops.concatenate([ops.matmul(a, block) for block in kernel], axis=-1)


@dataclasses.dataclass(frozen=True)
class LoopInputs:
    """What the time loop runs over, time-major.

    Attributes:
        cell: The `RecurrentCell` whose `step` runs at every time step.
        z_x: (time, batch, gates * units), the input projection `x W + b`
            of every step.
        initial_state: The states before the first step, in the order of
            `cell.state_names`, each (batch, units).
        recurrent_kernel: `U` of `z_h = h_prev U + b'` (the columns of
            `cell.recurrent_product_kernel`).
        recurrent_bias: `b'`, or None.
        mask: None, or bool (time, batch, 1): where False, the states stay
            (as in Keras).
        recurrent_mask: None, or the recurrent dropout mask (batch, units)
            applied to `h_prev`.
        step_weights: The values of the first `len(step_weights)` of
            `cell.step_weights`, read before the loop; `step` sees them in
            place of those variables, which would otherwise be read again at
            every step.
    """

    cell: keras.layers.Layer
    z_x: tf.Tensor
    initial_state: Sequence[tf.Tensor]
    recurrent_kernel: tf.Tensor
    recurrent_bias: tf.Tensor | None = None
    mask: tf.Tensor | None = None
    recurrent_mask: tf.Tensor | None = None
    step_weights: Sequence[tf.Tensor] = ()


def advance(loop, z_x, z_h, carried, mask_t, names, step_weights):
    """One step of `loop.cell`: the values of `names`; where `mask_t` is False, `carried` stays (as in Keras).

    `step_weights` stand in for `loop.cell.step_weights` (`LoopInputs`).
    """
    cell = loop.cell
    with keras.StatelessScope(state_mapping=list(zip(cell.step_weights, step_weights)), initialize_variables=False):
        values = cell.step(z_x, z_h, carried[: len(cell.state_names)], loop.recurrent_mask)
    if mask_t is None:
        return [values[name] for name in names]
    return [tf.where(mask_t, values[name], old) for name, old in zip(names, carried)]


def run(loop, names, keep_all=True):
    """Runs `loop.cell` over `loop.z_x`.

    `names` lists `cell.state_names` first; the other values (gates) start
    at zero and, like the states, keep their last value at masked steps.
    Returns, as `tf.TensorArray`s of `time + 1` entries (entry 0 the start,
    entry `t + 1` the value after step `t`), the values of `names`; the
    recurrent products z_h of every step (a `tf.TensorArray` of `time`
    entries), which the gradient needs; and the last values of `names`.
    With `keep_all=False` only the values of `h` are kept (a list of one)
    and z_h is None: two writes fewer per step when no gradient is wanted.
    """
    z_x, initial_state = loop.z_x, list(loop.initial_state)
    steps = tf.shape(z_x)[0]
    start = initial_state + [tf.zeros_like(initial_state[0]) for _ in names[len(initial_state) :]]
    units, width = loop.recurrent_kernel.shape
    recurrent_kernel = column_blocks(loop.recurrent_kernel, z_x.shape[1], width // units)  # one block per gate

    def body(t, carried, records, products):
        # z_h = h_prev U + b', as `recurrent_product` in `textlstm.cells.base` computes it, U in column blocks.
        h_seen = carried[0] if loop.recurrent_mask is None else carried[0] * loop.recurrent_mask  # recurrent dropout
        z_h = blockwise_matmul(h_seen, recurrent_kernel)
        z_h = z_h if loop.recurrent_bias is None else z_h + loop.recurrent_bias
        mask_t = None if loop.mask is None else loop.mask[t]
        carried = advance(loop, z_x[t], z_h, carried, mask_t, names, loop.step_weights)
        records = [record.write(t + 1, value) for record, value in zip(records, carried)]
        return t + 1, carried, records, products.write(t, z_h) if keep_all else products

    kept = names if keep_all else names[:1]
    records = [tf.TensorArray(z_x.dtype, size=steps + 1).write(0, value) for value in start[: len(kept)]]
    products = tf.TensorArray(z_x.dtype, size=steps if keep_all else 0)
    _, last, records, products = tf.while_loop(lambda t, *_: t < steps, body, (0, start, records, products))
    return records, products if keep_all else None, last


def with_gradient(loop):
    """The sequence of `h` and the last states of `run(loop, ...)`, with the gradient described in the module docstring.

    `z_x`, `initial_state`, `recurrent_kernel`, `recurrent_bias` and
    `step_weights` get a gradient; `mask` and `recurrent_mask` do not. The
    gradients of `step_weights` (the weights the cell's `step` reads itself:
    peepholes, `U` of a GRU without `reset_after`) are summed over the
    steps. Any other variable `step` reads reaches the gradient as one of
    `variables`, and is handled the same way. Only `h` is returned as a
    sequence, so the backward loop adds an outside gradient to `h` alone.
    """
    names = loop.cell.state_names
    bias = [] if loop.recurrent_bias is None else [loop.recurrent_bias]
    weights = [loop.recurrent_kernel, *bias, *loop.step_weights]
    count = len(weights)

    @tf.custom_gradient
    def h_over_time(z_x, *weights_and_states):
        weights, initial_state = weights_and_states[:count], weights_and_states[count:]
        watched = dataclasses.replace(  # the loop on the tensors that this function gets the gradient of
            loop,
            z_x=z_x,
            initial_state=initial_state,
            recurrent_kernel=weights[0],
            recurrent_bias=weights[1] if bias else None,
            step_weights=weights[1 + len(bias) :],
        )
        # Saving z_h costs a write per step, less than recomputing it after the loop would.
        # Without a tape that could record (inference), only h is kept; if a function traced that way is
        # differentiated after all (called later under a tape), the gradient runs the loop again to get the rest.
        states, z_h, last = run(watched, names, keep_all=tape_record.could_possibly_record())
        h = states[0].stack()  # (time + 1, batch, units): the initial h, then the output of every step

        def gradient(d_h, *d_last, variables=None):
            variables = list(variables or [])
            kept, products, h_all = states, z_h, h
            if products is None:
                with backend.AutocastScope(loop.cell.compute_dtype):  # as in the layer's call (mixed precision)
                    kept, products, _ = run(watched, names)
                h_all = kept[0].stack()
            recurrent_mask = watched.recurrent_mask
            h_seen = h_all[:-1] if recurrent_mask is None else h_all[:-1] * recurrent_mask  # the h that met U
            units, width = watched.recurrent_kernel.shape
            h_seen = tf.reshape(h_seen, (-1, units))  # (time * batch, units)
            d_z_x, d_z_h, d_initial, d_step_weights, d_variables = backward(watched, products, kept, d_h, d_last, variables)
            d_z_h = tf.reshape(d_z_h, (-1, width))  # (time * batch, gates * units)
            d_bias = [] if watched.recurrent_bias is None else [tf.reduce_sum(d_z_h, axis=0)]
            d_weights = [tf.matmul(h_seen, d_z_h, transpose_a=True), *d_bias, *d_step_weights]
            d_inputs = [d_z_x, *d_weights, *d_initial]
            return (d_inputs, d_variables) if variables else d_inputs

        return (h[1:], *last), gradient

    h, *last = h_over_time(loop.z_x, *weights, *loop.initial_state)
    return h, last


def backward(loop, z_h, states, d_h, d_last, variables):
    """The backward time loop of `with_gradient`: the gradients of `z_x`, `z_h`, the initial states, `step_weights`, `variables`.

    `z_h` and `states` are what `run(loop, ...)` returns. `d_h` is the
    gradient of the sequence of `h`, `d_last` those of the last states
    (either may be None).
    """
    cell, z_x, step_weights = loop.cell, loop.z_x, loop.step_weights
    steps = tf.shape(z_x)[0]
    names = cell.state_names
    d_carried = [tf.zeros_like(state.read(0)) if d is None else d for d, state in zip(d_last, states)]
    # A product with a transposed copy made once is faster than `transpose_b=True` at every step.
    recurrent_kernel_t = column_blocks(tf.transpose(loop.recurrent_kernel), z_x.shape[1], 2)
    one_gradient = cell.step_sums_z_x_and_z_h  # then d_z_x is d_z_h too: recorded once

    def body(t, d_carried, d_summed, d_z_x_record, d_z_h_record):
        step_z_x, step_z_h = z_x[t], z_h.read(t)
        carried = [state.read(t) for state in states]  # the states step t started from
        step_values = [tf.identity(weight) for weight in step_weights]  # inside the loop, where the tape sees them
        # The weights `step` reads itself in the compute dtype, as in the layer's call (mixed precision).
        with tf.GradientTape() as tape, backend.AutocastScope(cell.compute_dtype):
            tape.watch([step_z_x, step_z_h, *carried, *step_values])
            mask_t = None if loop.mask is None else loop.mask[t]
            new = advance(loop, step_z_x, step_z_h, carried, mask_t, names, step_values)
        d_new = d_carried if d_h is None else [d_h[t] + d_carried[0], *d_carried[1:]]
        # Unconnected gradients come back as None, not as zeros that cost an op to make and one to add.
        sources = [step_z_x, step_z_h, *carried, *step_values, *variables]
        d_z_x, d_z_h, *d_rest = tape.gradient(new, sources, output_gradients=d_new)
        d_previous, d_step = d_rest[: len(names)], d_rest[len(names) :]
        d_h_seen = blockwise_matmul(d_z_h, recurrent_kernel_t)
        d_h_seen = d_h_seen if loop.recurrent_mask is None else d_h_seen * loop.recurrent_mask
        d_previous[0] = d_h_seen if d_previous[0] is None else d_previous[0] + d_h_seen
        d_previous = [tf.zeros_like(state) if d is None else d for d, state in zip(d_previous, carried)]
        d_summed = [total if d is None else total + d for total, d in zip(d_summed, d_step)]
        if one_gradient:
            return t - 1, d_previous, d_summed, d_z_x_record.write(t, d_z_x), d_z_h_record
        return t - 1, d_previous, d_summed, d_z_x_record.write(t, d_z_x), d_z_h_record.write(t, d_z_h)

    _, d_initial, d_summed, d_z_x, d_z_h = tf.while_loop(
        lambda t, *_: t >= 0,
        body,
        (
            steps - 1,
            d_carried,
            [tf.zeros_like(weight) for weight in [*step_weights, *variables]],
            tf.TensorArray(z_x.dtype, size=steps),
            tf.TensorArray(z_x.dtype, size=steps),
        ),
        # Re-running `step` needs only saved values, not the gradient coming back, so the iterations still to come
        # can start it early, up to 32 at once (more than the steps of a block).
        parallel_iterations=32,
    )
    d_z_x = d_z_x.stack()
    d_step_weights, d_variables = d_summed[: len(step_weights)], d_summed[len(step_weights) :]
    d_z_h = d_z_x if one_gradient else d_z_h.stack()
    return d_z_x, d_z_h, d_initial, d_step_weights, d_variables
