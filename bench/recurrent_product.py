"""The recurrent product of one time step, as one matrix product or cut into column blocks, side by side.

    python bench/recurrent_product.py [--shapes 20x200,64x650] [--rounds 5]

For each (batch, units) an LSTM's loop multiplies `h` (batch, units) by
`U` (units, 4 * units) in the forward pass and `dz` (batch, 4 * units) by
`U^T` in the backward pass, once per step. Each is timed in a 100-step
`tf.while_loop`, as one product and as products with column blocks of the
same matrix (the 4 gates of `U`; 2 halves of `U^T`), then concatenated.
The last column says which of the two the layers use at that size
(`textlstm.time_loop.column_blocks`).
"""

import argparse
import os
import statistics
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import tensorflow as tf  # noqa: E402

from textlstm.time_loop import column_blocks  # noqa: E402

SHAPES = "1x200,1x650,4x200,8x200,20x200,32x200,64x200,20x100,20x128,32x128,64x128,8x256,32x256,20x400,20x650,64x650"
STEPS = 100


def loop(start, product):
    """A tf.function running `STEPS` steps of `a <- tanh(product(a))`, cut or tiled back to `a`'s width."""
    width = start.shape[1]

    def step(t, a):
        b = product(a)
        return t + 1, tf.tanh(tf.tile(b, [1, max(1, width // b.shape[1])])[:, :width])

    @tf.function(autograph=False)
    def run():
        return tf.while_loop(lambda t, _: t < STEPS, step, (0, start))

    run()
    return run


def fused_and_blocked(start, kernel, count):
    blocks = tf.split(kernel, count, axis=1)
    return loop(start, lambda a: tf.matmul(a, kernel)), loop(start, lambda a: tf.concat([a @ b for b in blocks], 1))


def median_microseconds(functions, rounds):
    """Per-step median time of each function, timed in turn in every round."""
    times = [[] for _ in functions]
    for _ in range(rounds):
        for function, record in zip(functions, times):
            start = time.perf_counter()
            function()
            record.append((time.perf_counter() - start) / STEPS * 1e6)
    return [statistics.median(record) for record in times]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shapes", default=SHAPES, help="comma-separated BATCHxUNITS (default: %(default)s)")
    parser.add_argument("--rounds", type=int, default=5, help="timed rounds (default: 5)")
    args = parser.parse_args(argv)
    print("| (batch, units) | multiply-adds | forward one / 4 blocks (us) | speed-up | "
          "backward one / 2 blocks (us) | speed-up | layers use |")
    print("|---|---|---|---|---|---|---|")
    for shape in args.shapes.split(","):
        batch, units = map(int, shape.split("x"))
        kernel = tf.random.normal((units, 4 * units)) * units**-0.5
        forward = fused_and_blocked(tf.random.normal((batch, units)), kernel, 4)
        backward = fused_and_blocked(tf.random.normal((batch, 4 * units)), tf.transpose(kernel), 2)
        one, blocked, one_t, blocked_t = median_microseconds(forward + backward, args.rounds)
        multiply_adds = batch * units * 4 * units
        used = "blocks" if isinstance(column_blocks(kernel, batch, 4), list) else "one product"
        print(f"| ({batch}, {units}) | {multiply_adds / 1e6:.2f} M | {one:.0f} / {blocked:.0f} | {one / blocked:.2f}x | "
              f"{one_t:.0f} / {blocked_t:.0f} | {one_t / blocked_t:.2f}x | {used} |", flush=True)


if __name__ == "__main__":
    main()
