"""Training speed of textlstm's loop (`textlstm/loop.py`) against Keras's `fit` on Penn Treebank, side by side.

Both train the Zaremba small model of bench/ptb.py (2 x 200 LSTM, batch 20,
20 steps, SGD, global norm 0.25) on one device from the same weights, on the
same windows: `fit` the stateful model, as train.py did before the loop,
the loop the model that takes and returns its states. They alternate in
rounds of --steps steps, so that the machine's other jobs weigh on both
alike; the first round of each (tracing) is not counted.

Usage:
    python bench/loop.py [--data ../shared/data/ptb] [--steps 200] [--rounds 3]
"""

import argparse
import os
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from bench.ptb import small_config  # noqa: E402
from textlstm.lm.model import build_language_model, compile_language_model, copy_weights  # noqa: E402
from textlstm.lm.train import prepare, token_loss  # noqa: E402
from textlstm.loop import TrainingLoop  # noqa: E402


def main():
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=os.path.join(root, "..", "shared", "data", "ptb"))
    parser.add_argument("--steps", type=int, default=200, help="steps per round")
    parser.add_argument("--rounds", type=int, default=3, help="timed rounds of each, after one untimed")
    args = parser.parse_args()
    config = small_config(args.data, "", epochs=1)
    data = prepare(config)
    vocab_size, rows = len(data.vocab), config.batch_size
    tokens_per_step = rows * config.bptt
    # The first windows of the training split, enough for every round, as global batches end to end.
    first_batches = data.batches("train").take((args.rounds + 1) * args.steps)
    inputs, targets, weights = (np.concatenate(column) for column in
                                zip(*[[part.numpy() for part in batch] for batch in first_batches]))

    keras.utils.set_random_seed(config.seed)
    states_model = compile_language_model(build_language_model(config, vocab_size, state_inputs=True), config)
    stateful = compile_language_model(build_language_model(config, vocab_size, batch_size=rows, stateful=True),
                                      config)
    copy_weights(states_model, stateful)

    def window_rows(round_number):
        first = round_number * args.steps * rows
        return slice(first, first + args.steps * rows)

    def batches(split, first_row=0, num_rows=None, epoch=0):
        """The round's windows (the loop's epoch is the round); one window for the validation after it."""
        part = window_rows(epoch) if split == "train" else slice(0, rows)
        return tf.data.Dataset.from_tensor_slices((inputs[part], targets[part], weights[part])).batch(rows)

    loop = TrainingLoop(tf.distribute.get_strategy(), states_model, token_loss(config), batches, rows,
                        carry_states=True)

    def run_fit(round_number):
        part = window_rows(round_number)
        stateful.fit(inputs[part], targets[part], sample_weight=weights[part], batch_size=rows, shuffle=False,
                     epochs=1, verbose=0)

    def run_loop(round_number):
        loop.fit(epochs=round_number + 1, initial_epoch=round_number, verbose=0)

    seconds = {"fit": [], "loop": []}
    for round_number in range(args.rounds + 1):
        for name, run in (("fit", run_fit), ("loop", run_loop)):
            start = time.perf_counter()
            run(round_number)
            if round_number:
                seconds[name].append(time.perf_counter() - start)
    for name, values in seconds.items():
        per_step = sum(values) / (len(values) * args.steps)
        print(f"{name:5s} {per_step * 1000:6.1f} ms/step  {tokens_per_step / per_step:7.0f} tokens/s  "
              f"(rounds: {', '.join(f'{value:.1f} s' for value in values)})")
    ratio = np.sum(seconds["fit"]) / np.sum(seconds["loop"])
    print(f"loop / fit tokens per second: {ratio:.3f}")


if __name__ == "__main__":
    main()
