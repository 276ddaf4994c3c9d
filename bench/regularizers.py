"""Cost of the language model's regularizers per training step on Penn Treebank, side by side.

Every contender trains the tied 2 x 200 LSTM of bench/ptb.py (batch 20, 20
steps, SGD at 20, global norm 0.25) through textlstm's loop on the same
windows, from its own weights: without regularization, with the train.py
defaults (its own or, with --base, each revision's), with each regularizer
alone and with all of them (AWD-LSTM's rates: dropout 0.4, embedding
dropout 0.1, weight drop 0.5, AR 2, TAR 1, NT-ASGD). With --base REVISION,
that revision of textlstm (imported beside the working tree's, as in
bench/versions.py) trains the same model without regularization and with its
own defaults too. The contenders alternate in rounds of --steps steps, so
that the machine's other jobs weigh on all alike; the first round of each
(tracing) is not counted. On a shared machine a round takes twice or four
times as long whenever other jobs take their share of the cores, so each
contender's fastest round (wall time) and its median CPU time per step are
reported.

Usage:
    python bench/regularizers.py [--data ../shared/data/ptb] [--steps 30] [--rounds 15] [--base main]
"""

import argparse
import dataclasses
import importlib
import os
import pathlib
import statistics
import sys
import tempfile
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from bench.ptb import UNREGULARIZED, small_config  # noqa: E402
from versions import load  # noqa: E402

PLAIN = {**UNREGULARIZED, "state_reset": 0.0}
ALL = {"dropout": 0.4, "embedding_dropout": 0.1, "weight_drop": 0.5, "ar": 2.0, "tar": 1.0, "optimizer": "ntasgd",
       "state_reset": 0.01}
CONTENDERS = {
    "none": PLAIN,
    "defaults": None,  # the package's own (`defaults`)
    "locked dropout 0.4": {**PLAIN, "dropout": 0.4},
    "embedding dropout 0.1": {**PLAIN, "embedding_dropout": 0.1},
    "weight drop 0.5": {**PLAIN, "weight_drop": 0.5},
    "ar 2, tar 1": {**PLAIN, "ar": 2.0, "tar": 1.0},
    "ntasgd": {**PLAIN, "optimizer": "ntasgd"},
    "all": ALL,
}


def modules(name):
    """The parts of the textlstm package `name` (the working tree's is "textlstm") that a contender uses."""
    return {part: importlib.import_module(f"{name}.{part}") for part in ("lm.config", "lm.model", "lm.train", "loop")}


def defaults(package):
    """`package`'s train.py defaults of the regularizers that PLAIN turns off."""
    config = package["lm.config"].LMConfig()
    return {name: getattr(config, name) for name in PLAIN if hasattr(config, name)}


def training_round(package, settings, vocab_size, batches):
    """A function that trains one round (one epoch of the loop) of the model of `settings` with `package`."""
    fields = {field.name for field in dataclasses.fields(package["lm.config"].LMConfig)}
    config = package["lm.config"].LMConfig(**{key: value for key, value in settings.items() if key in fields})
    keras.utils.set_random_seed(config.seed)
    model = package["lm.model"].compile_language_model(
        package["lm.model"].build_language_model(config, vocab_size, state_inputs=True), config)
    restarts = {"state_reset": config.state_reset, "seed": config.seed} if "state_reset" in fields else {}
    loop = package["loop"].TrainingLoop(tf.distribute.get_strategy(), model, package["lm.train"].token_loss(config),
                                     batches, config.batch_size, carry_states=True, **restarts)
    return lambda round_number: loop.fit(epochs=round_number + 1, initial_epoch=round_number, verbose=0)


def main():
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=os.path.join(root, "..", "shared", "data", "ptb"))
    parser.add_argument("--steps", type=int, default=30, help="steps per round")
    parser.add_argument("--rounds", type=int, default=15, help="timed rounds of each, after one untimed")
    parser.add_argument("--base", help="a git revision to time beside the working tree, without regularization")
    args = parser.parse_args()
    base = {**dataclasses.asdict(small_config(args.data, "", epochs=1)), "tie_weights": True, "init_scale": 0.0}
    working_tree = modules("textlstm")
    data = working_tree["lm.train"].prepare(working_tree["lm.config"].LMConfig(**base))
    vocab_size, rows = len(data.vocab), base["batch_size"]
    first_batches = data.batches("train").take((args.rounds + 1) * args.steps)
    inputs, targets, weights = (np.concatenate(column) for column in
                                zip(*[[part.numpy() for part in batch] for batch in first_batches]))

    def batches(split, first_row=0, num_rows=None, epoch=0):
        """The round's windows (the loop's epoch is the round); one window for the validation after it."""
        first = epoch * args.steps * rows
        part = slice(first, first + args.steps * rows) if split == "train" else slice(0, rows)
        return tf.data.Dataset.from_tensor_slices((inputs[part], targets[part], weights[part])).batch(rows)

    with tempfile.TemporaryDirectory() as folder:
        sys.path.insert(0, folder)
        rounds = {name: training_round(working_tree, {**base, **(settings or defaults(working_tree))}, vocab_size,
                                       batches)
                  for name, settings in CONTENDERS.items()}
        if args.base:
            load(args.base, "textlstm_base", pathlib.Path(folder))
            package = modules("textlstm_base")
            rounds[f"{args.base}: none"] = training_round(package, {**base, **PLAIN}, vocab_size, batches)
            rounds[f"{args.base}: defaults"] = training_round(package, {**base, **defaults(package)}, vocab_size,
                                                              batches)
        wall, cpu = {name: [] for name in rounds}, {name: [] for name in rounds}
        for round_number in range(args.rounds + 1):
            for name, run in rounds.items():
                start, start_cpu = time.perf_counter(), time.process_time()
                run(round_number)
                if round_number:
                    wall[name].append((time.perf_counter() - start) / args.steps)
                    cpu[name].append((time.process_time() - start_cpu) / args.steps)
        print("ms per step: the least disturbed round's wall time, and the median round's CPU time (all threads)")
        for name in rounds:
            fastest, used = min(wall[name]), statistics.median(cpu[name])
            print(f"{name:24s} wall {fastest * 1000:6.1f} ({fastest / min(wall['none']):5.3f}x none)  "
                  f"cpu {used * 1000:6.1f} ({used / statistics.median(cpu['none']):5.3f}x none)")


if __name__ == "__main__":
    main()
