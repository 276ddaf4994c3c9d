"""A layer's whole sequence through the time loop: time-major, in blocks of steps, or unrolled.

The layers hand over their inputs (batch, time, features), the mask and
the initial states. `time_major` puts the inputs in the order the loop
visits them; `in_blocks` runs them through `time_loop.with_gradient` a
block of steps at a time (`TimeBlocks`). Each block projects its own inputs
(`cell.project`, one matrix product), so while one block's loop runs (one
small product after another, leaving a core idle) the next block's
projection can run beside it, and in the backward pass one block's `dW`,
`dx` and `dU` beside the previous block's loop. `unrolled` runs Keras's own
loop instead, for `unroll=True`.
"""

import dataclasses

from keras import ops
from keras.src import backend, tree
from tensorflow.python.eager import record as tape_record  # could_possibly_record: is a tape watching?

from textlstm import time_loop
from textlstm.cells.base import recurrent_product


@dataclasses.dataclass(frozen=True)
class TimeBlocks:
    """How `in_blocks` cuts the time loop into blocks of steps.

    Attributes:
        steps_per_block: Time steps per block; the last block may be
            shorter. Blocks of 7 trained fastest on a 2-core CPU
            (`bench/versions.py` times two versions side by side).
        min_batch: With a batch smaller than this (known when traced), the
            loop runs as one block: a block's projection is then too small
            to be worth running beside another block's loop.
        max_unrolled_steps: With a batch smaller than `min_batch` and at
            most this many steps (both known when traced), inference (no
            tape recording) runs unrolled, one step after the other in the
            graph: a loop's own operations then cost more than the step's
            (`docs/performance.md`). 0 never unrolls.

    Example:

    >>> blocks = TimeBlocks()
    >>> blocks.block_length(35, 20), blocks.block_length(35, 4), blocks.block_length(None, None)
    (7, 35, 7)
    >>> blocks.unrolls(35, 1), blocks.unrolls(35, 20), blocks.unrolls(None, 1)
    (True, False, False)
    """

    steps_per_block: int = 7
    min_batch: int = 8
    max_unrolled_steps: int = 64

    def block_length(self, steps, batch):
        """The length of the blocks of a sequence of `steps` steps (None if unknown) at a batch of `batch` (or None)."""
        return steps if batch is not None and batch < self.min_batch else self.steps_per_block

    def unrolls(self, steps, batch):
        """Whether inference over `steps` steps (None if unknown) at a batch of `batch` (or None) runs unrolled."""
        return batch is not None and batch < self.min_batch and steps is not None and steps <= self.max_unrolled_steps


def time_major(cell, sequences, initial_state, mask, training, go_backwards):
    """The inputs (time, batch, features) in the order the loop visits them, the mask, the recurrent dropout mask.

    The input dropout mask (the same at every step) is applied to the
    inputs. `mask` is None or (batch, time), and comes back bool (time,
    batch, 1).
    """
    if tree.is_nested(mask):
        mask = mask[0]
    input_mask, recurrent_mask = cell.dropout_masks(sequences[:, 0], initial_state[0], training)
    if input_mask is not None:
        sequences = sequences * ops.expand_dims(input_mask, 1)  # one mask for every time step
    sequences = ops.transpose(sequences, (1, 0, 2))  # (time, batch, features)
    if mask is not None:
        mask = ops.expand_dims(ops.transpose(ops.cast(mask, "bool")), -1)  # (time, batch, 1)
    if go_backwards:
        sequences = ops.flip(sequences, axis=0)
        mask = None if mask is None else ops.flip(mask, axis=0)
    return sequences, mask, recurrent_mask


def in_blocks(cell, sequences, initial_state, mask, recurrent_mask, blocks):
    """The sequence of `h` (time, batch, units) and the last states, the time loop cut into `blocks` (`TimeBlocks`).

    `sequences`, `mask` and `recurrent_mask` are as `time_major` returns
    them. At masked steps `h` is the last unmasked step's (or the initial
    state's, or zeros when unrolled), as the loop carries it. When no tape
    records and `blocks.unrolls` the sequence, it runs `unrolled` instead.
    """
    if blocks.unrolls(*sequences.shape[:2]) and not tape_record.could_possibly_record():
        return unrolled(cell, sequences, initial_state, mask, recurrent_mask, zero_output_for_mask=False)
    # In the compute dtype: under mixed precision the float32 variables would otherwise meet bfloat16 gradients.
    recurrent_kernel = ops.cast(cell.recurrent_product_kernel, cell.compute_dtype)
    recurrent_bias = None if cell.recurrent_bias is None else ops.cast(cell.recurrent_bias, cell.compute_dtype)
    step_weights = [ops.cast(weight, weight.dtype) for weight in cell.step_weights]  # read here, once
    steps, batch = sequences.shape[:2]
    block = blocks.block_length(steps, batch)
    starts = [0] if not steps else range(0, steps, block)
    states, outputs = initial_state, []
    for start in starts:
        stop = None if steps is None else start + block
        block_mask = None if mask is None else mask[start:stop]
        z_x = cell.project(sequences[start:stop])  # (block, batch, gates * units): one matrix product
        loop = time_loop.LoopInputs(
            cell, z_x, states, recurrent_kernel, recurrent_bias,
            mask=block_mask, recurrent_mask=recurrent_mask, step_weights=step_weights,
        )
        h, states = time_loop.with_gradient(loop)
        outputs.append(h)
    return ops.concatenate(outputs, axis=0) if len(outputs) > 1 else outputs[0], states


def unrolled(cell, sequences, initial_state, mask, recurrent_mask, zero_output_for_mask):
    """The outputs (time, batch, units) and the last states from Keras's own loop, unrolled, under plain autodiff.

    `unroll=True` is Keras's option, so it runs in Keras's loop; it is also
    the reference the tests hold `time_loop.with_gradient` to. Arguments as
    for `in_blocks`; `zero_output_for_mask` as in `keras.layers.RNN`.
    """

    def step(step_z_x, states):
        z_h = recurrent_product(states[0], recurrent_mask, cell.recurrent_product_kernel, cell.recurrent_bias)
        values = cell.step(step_z_x, z_h, list(states), recurrent_mask)
        return values["h"], [values[name] for name in cell.state_names]

    z_x = cell.project(sequences)
    _, outputs, states = backend.rnn(
        step,
        z_x,
        list(initial_state),
        mask=mask,
        unroll=True,
        input_length=z_x.shape[0],
        time_major=True,
        zero_output_for_mask=zero_output_for_mask,
    )
    return outputs, states
