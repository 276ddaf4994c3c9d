"""Throughput of each textlstm layer against its Keras twin, side by side in one process.

    python bench/layers.py [--rounds 5] [--steps 10] [--sizes small,large] [--layers all] [--modes train,infer]
                           [--unknown-batch] [--torch-threads N]

Each round times `--steps` training steps (four times as many batch-1
inference steps, which are much shorter) of every contender in
turn, so the machine's drift hits all of them alike; the reported figure is
the median over rounds.
Training is forward + backward + SGD update on a mean-squared loss; inference
is a forward pass at batch 1. With `--unknown-batch` every contender is
traced for inputs of any batch size, as `fit` traces a model when the
data's last batch is smaller. If PyTorch is installed, `torch.nn.LSTM` and
`torch.nn.GRU` run at the same sizes for comparison.
"""

import argparse
import statistics
import time

from torch_first import torch  # before TensorFlow

import keras
import tensorflow as tf

import textlstm

SIZES = {  # name: (batch, time, input_dim, units)
    "small": (20, 35, 200, 200),
    "large": (64, 35, 650, 650),
}
TWINS = [  # (textlstm layer, reference layer, extra arguments)
    (textlstm.LSTM, keras.layers.LSTM, {}),
    (textlstm.PeepholeLSTM, keras.layers.LSTM, {}),
    (textlstm.CoupledLSTM, keras.layers.LSTM, {}),
    (textlstm.GRU, keras.layers.GRU, {}),
    (textlstm.SimpleRNN, keras.layers.SimpleRNN, {}),
]


def keras_step(layer_class, size, training, unknown_batch=False, **kwargs):
    batch, steps, input_dim, units = size
    layer = layer_class(units, return_sequences=True, **kwargs)
    optimizer = keras.optimizers.SGD(0.01)
    x = tf.random.normal((batch, steps, input_dim))
    layer(x)
    signature = [tf.TensorSpec((None,) + tuple(x.shape[1:]) if unknown_batch else x.shape)]

    @tf.function(input_signature=signature)
    def train(x):
        with tf.GradientTape() as tape:
            loss = tf.reduce_mean(tf.square(layer(x, training=True)))
        optimizer.apply_gradients(zip(tape.gradient(loss, layer.trainable_variables), layer.trainable_variables))

    @tf.function(input_signature=signature)
    def infer(x):
        return layer(x)

    step = train if training else infer
    return lambda: step(x)


def torch_step(name, size, training, threads):
    torch.set_num_threads(threads)
    batch, steps, input_dim, units = size
    layer = getattr(torch.nn, name)(input_dim, units, batch_first=True)
    optimizer = torch.optim.SGD(layer.parameters(), lr=0.01)
    x = torch.randn(batch, steps, input_dim)

    def train():
        optimizer.zero_grad()
        layer(x)[0].square().mean().backward()
        optimizer.step()

    def infer():
        with torch.no_grad():
            layer(x)

    return train if training else infer


def steps_per_round(steps, training):
    """`steps` training steps, or four times as many batch-1 inference steps (much shorter ones) per round."""
    return steps if training else 4 * steps


def measure(contenders, steps, rounds):
    """Seconds per step of each contender: median over rounds, contenders interleaved."""
    for run in contenders.values():
        run()  # trace and warm up
    timings = {name: [] for name in contenders}
    for _ in range(rounds):
        for name, run in contenders.items():
            start = time.perf_counter()
            for _ in range(steps):
                run()
            timings[name].append((time.perf_counter() - start) / steps)
    return {name: statistics.median(values) for name, values in timings.items()}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5, help="timed rounds per measurement")
    parser.add_argument("--steps", type=int, default=10, help="steps per contender per round")
    parser.add_argument("--sizes", default="small,large", help="comma-separated subset of: " + ", ".join(SIZES))
    parser.add_argument("--layers", default="all", help="'all' or a comma-separated subset of textlstm layer names")
    parser.add_argument("--modes", default="train,infer", help="comma-separated subset of: train, infer (batch 1)")
    parser.add_argument("--unknown-batch", action="store_true", help="trace for any batch size")
    parser.add_argument("--torch-threads", type=int, default=tf.config.threading.get_intra_op_parallelism_threads() or 2,
                        help="threads of torch (default: TensorFlow's intra-op threads, or 2)")
    args = parser.parse_args()
    print("| layer | mode | (batch, time, input, units) | textlstm ms/step | Keras ms/step | speed-up | torch ms/step |")
    print("|---|---|---|---|---|---|---|")
    for size_name in args.sizes.split(","):
        size = SIZES[size_name]
        modes = [("train", True, size), ("infer b=1", False, (1,) + size[1:])]
        for mode, training, mode_size in [mode for mode in modes if mode[0].split()[0] in args.modes.split(",")]:
            for ours, theirs, kwargs in TWINS:
                if args.layers != "all" and ours.__name__ not in args.layers.split(","):
                    continue
                contenders = {
                    "ours": keras_step(ours, mode_size, training, args.unknown_batch, **kwargs),
                    "keras": keras_step(theirs, mode_size, training, args.unknown_batch, **kwargs),
                }
                torch_name = {"LSTM": "LSTM", "GRU": "GRU", "SimpleRNN": "RNN"}.get(ours.__name__)
                if torch is not None and torch_name:
                    contenders["torch"] = torch_step(torch_name, mode_size, training, args.torch_threads)
                seconds = measure(contenders, steps_per_round(args.steps, training), args.rounds)
                torch_ms = f"{seconds['torch'] * 1e3:.1f}" if "torch" in seconds else "-"
                print(
                    f"| {ours.__name__} (vs keras {theirs.__name__}) | {mode} | {mode_size} "
                    f"| {seconds['ours'] * 1e3:.1f} | {seconds['keras'] * 1e3:.1f} "
                    f"| {seconds['keras'] / seconds['ours']:.2f}x | {torch_ms} |",
                    flush=True,
                )


if __name__ == "__main__":
    main()
