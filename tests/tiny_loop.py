"""A tiny regression trained by `textlstm.loop.TrainingLoop`: 10 rows of very unequal weight, batches of 4.

Imported by test_loop.py, and run in a subprocess there for the strategies
that need logical devices made before TensorFlow starts.
"""

import os
import tempfile

import keras
import numpy as np
import tensorflow as tf

from textlstm.batches import batches_dataset, epoch_positions, padded_rows
from textlstm.layers import LockedDropout
from textlstm.loop import TrainingLoop

rng = np.random.default_rng(0)
x = rng.normal(size=(12, 3)).astype("float32")
y = rng.normal(size=(12, 2)).astype("float32")
# Rows of very unequal weight: replica 1's share of each batch weighs little, the last batch is padded.
weights = np.tile([1.0, 3.0, 0.5, 0.0], 3).astype("float32")[:10]
splits = {"train": (x[:10], y[:10], weights), "valid": (x, y, np.ones(12, "float32"))}


def batches(split, first_row=0, num_rows=None, epoch=0):
    inputs, targets, sample_weight = splits[split]
    rows = 4 - first_row if num_rows is None else num_rows

    def make_batch(_, batch):
        indices, real = padded_rows(np.arange(len(targets)), batch, 4, first_row, rows)
        return inputs[indices], targets[indices], sample_weight[indices] * real

    signature = (tf.TensorSpec((rows, 3)), tf.TensorSpec((rows, 2)), tf.TensorSpec((rows,)))
    return batches_dataset(epoch_positions(epoch, 3, 3), make_batch, signature)


def loss(y_true, y_pred, sample_weight):
    per_row = tf.reduce_sum(tf.square(y_true - y_pred), axis=-1)
    return tf.reduce_sum(per_row * sample_weight), tf.reduce_sum(sample_weight)


def values(variables):
    return [keras.ops.convert_to_numpy(variable).copy() for variable in variables]


def build(strategy, clip, dropout):
    keras.utils.set_random_seed(1)
    with strategy.scope():
        model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(8, activation="tanh"),
                                  LockedDropout(dropout, seed=2), keras.layers.Dense(2)])
        model.compile(optimizer=keras.optimizers.SGD(1.0, **clip))
        return model, TrainingLoop(strategy, model, loss, batches, 4)


def train(strategy, clip, dropout=0.0, interrupt_after=None, epochs=2):
    """The trainable weights after each step, and each step's update norm.

    With interrupt_after, training stops after that many epochs and goes on
    in a new model that loads the first one's weights and optimizer state
    from a `save_weights` file, as a resumed run does.
    """
    model, loop = build(strategy, clip, dropout)
    steps_seen = []

    class Record(keras.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            steps_seen.append(values(model.trainable_weights))

    before = values(model.trainable_weights)
    if interrupt_after:
        loop.fit(interrupt_after, callbacks=[Record()], verbose=0)
        with tempfile.TemporaryDirectory() as folder:
            path = os.path.join(folder, "checkpoint.weights.h5")
            model.save_weights(path)
            model, loop = build(strategy, clip, dropout)
            model.load_weights(path)
    loop.fit(epochs, initial_epoch=interrupt_after or 0, callbacks=[Record()], verbose=0)
    norms = [np.sqrt(sum(((a - b) ** 2).sum() for a, b in zip(new, old)))
             for new, old in zip(steps_seen, [before] + steps_seen[:-1])]
    return steps_seen, norms


def assert_same_steps(one, two):
    assert len(one) == len(two) == 6, (len(one), len(two))
    for weights_one, weights_two in zip(one, two):
        for a, b in zip(weights_one, weights_two):
            np.testing.assert_allclose(b, a, rtol=1e-6, atol=1e-7)
