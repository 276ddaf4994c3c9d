"""Run in a subprocess by the distribution tests (logical devices must be set before TensorFlow starts).

    python tests/distributed.py OUTPUT.npz lm|summarize FLAG...            trains as train.py does
    python tests/distributed.py OUTPUT.npz keras-fit-lm DEVICES FLAG...    one step of Keras's own fit

Writes the loss of every training step (`losses`), the global norm of every
step's update of the trainable weights (`update_norms`), and the trainable
weights after the first step (`first_*`) and at the end (`last_*`) to OUTPUT.npz.
"""

import os
import sys

import keras
import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


class Record(keras.callbacks.Callback):
    """Keeps each step's loss and update norm, and the weights after the first step and at the end."""

    def __init__(self):
        super().__init__()
        self.losses, self.update_norms, self.weights = [], [], {}

    def _weights(self):
        return [keras.ops.convert_to_numpy(weight) for weight in self.model.trainable_weights]

    def on_train_begin(self, logs=None):
        self.previous = self._weights()

    def on_train_batch_end(self, batch, logs=None):
        self.losses.append(float(logs["loss"]))
        weights = self._weights()
        self.update_norms.append(np.sqrt(sum(((new - old) ** 2).sum() for new, old in zip(weights, self.previous))))
        self.previous = weights
        if len(self.losses) == 1:
            self.weights["first"] = weights

    def on_train_end(self, logs=None):
        self.weights["last"] = self._weights()

    def save(self, path):
        arrays = {f"{when}_{index}": weight for when, weights in self.weights.items()
                  for index, weight in enumerate(weights)}
        np.savez(path, losses=np.array(self.losses), update_norms=np.array(self.update_norms), **arrays)


def train(task, flags, record):
    import argparse

    from textlstm.cli import add_task_parsers

    parser = argparse.ArgumentParser()
    add_task_parsers(parser.add_subparsers(dest="task"))
    args = parser.parse_args([task, *flags])
    config = args.config_class(**{key: value for key, value in vars(args).items() if key not in ("task", "config_class")})
    if task == "lm":
        from textlstm.lm.train import train_language_model

        train_language_model(config, verbose=0, callbacks=[record])
    else:
        from textlstm.summarize.train import train_summarizer

        train_summarizer(config, verbose=0, callbacks=[record], log=None)


def keras_fit_lm(devices, flags, record):
    """Keras's `fit` under `MirroredStrategy` for the first global batch of an LM run: per-replica clipping."""
    import argparse

    from textlstm.cli import add_task_parsers
    from textlstm.lm.train import build_model, prepare
    from textlstm.training import make_optimizer
    from textlstm.strategy import make_strategy

    strategy = make_strategy("mirrored", devices)
    parser = argparse.ArgumentParser()
    add_task_parsers(parser.add_subparsers(dest="task"))
    args = parser.parse_args(["lm", *flags])
    config = args.config_class(**{key: value for key, value in vars(args).items() if key not in ("task", "config_class")})
    data = prepare(config)
    keras.utils.set_random_seed(config.seed)
    with strategy.scope():
        states_model = build_model(config, data)
        model = keras.Model(states_model.inputs, states_model.outputs[0])  # logits only: the states get no loss
        model.compile(optimizer=make_optimizer(config), loss=keras.losses.SparseCategoricalCrossentropy(
            from_logits=True, reduction="mean_with_sample_weight"))
    x, y, weights = next(iter(data.batches("train")))
    states = [np.zeros((config.batch_size, config.units), np.float32) for _ in model.inputs[1:]]
    model.fit([x, *states], y, sample_weight=weights, batch_size=config.batch_size, epochs=1, shuffle=False,
              verbose=0, callbacks=[record])


if __name__ == "__main__":
    output, mode = sys.argv[1], sys.argv[2]
    record = Record()
    if mode == "keras-fit-lm":
        keras_fit_lm(int(sys.argv[3]), sys.argv[4:], record)
    else:
        train(mode, sys.argv[3:], record)
    record.save(output)
