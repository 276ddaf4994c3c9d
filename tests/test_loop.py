"""The training loop on two logical CPU devices against one device: same updates, clipping after the sum.

The devices must be made before TensorFlow starts, so the comparison runs in
a subprocess; the slow end-to-end runs of both tasks are in test_distribute.py.
"""

import os
import subprocess
import sys
import textwrap

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

SCRIPT = textwrap.dedent("""
    import keras, numpy as np, tensorflow as tf
    from textlstm.loop import TrainingLoop
    from textlstm.strategy import make_strategy
    from textlstm.batches import batches_dataset, epoch_positions, padded_rows

    mirrored = make_strategy("mirrored", 2)
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

    def train(strategy, clip):
        keras.utils.set_random_seed(1)
        with strategy.scope():
            model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(4, activation="tanh"),
                                      keras.layers.Dense(2)])
            model.compile(optimizer=keras.optimizers.SGD(1.0, **clip))
            loop = TrainingLoop(strategy, model, loss, batches, 4)
        steps_seen = []

        class Record(keras.callbacks.Callback):
            def on_train_batch_end(self, batch, logs=None):
                steps_seen.append([keras.ops.convert_to_numpy(w).copy() for w in model.trainable_weights])

        before = [keras.ops.convert_to_numpy(w).copy() for w in model.trainable_weights]
        loop.fit(2, callbacks=[Record()], verbose=0)
        norms = [np.sqrt(sum(((a - b) ** 2).sum() for a, b in zip(new, old)))
                 for new, old in zip(steps_seen, [before] + steps_seen[:-1])]
        return steps_seen, norms

    for clip in ({"global_clipnorm": 0.01}, {"clipnorm": 0.01}):
        one, one_norms = train(tf.distribute.get_strategy(), clip)
        two, two_norms = train(mirrored, clip)
        assert len(one) == 6, len(one)
        for weights_one, weights_two in zip(one, two):
            for a, b in zip(weights_one, weights_two):
                np.testing.assert_allclose(b, a, rtol=1e-6, atol=1e-7)
        if "global_clipnorm" in clip:  # clipped every step: each SGD update is exactly lr x the threshold long
            np.testing.assert_allclose(one_norms, 0.01, rtol=1e-4)
            np.testing.assert_allclose(two_norms, 0.01, rtol=1e-4)
    print("same updates")
""")


@pytest.mark.slow  # about 8 s: two devices and one trained side by side
def test_two_devices_make_the_updates_of_one_with_clipping_after_the_sum_and_global_weights():
    completed = subprocess.run([sys.executable, "-c", SCRIPT], cwd=REPO, capture_output=True, text=True,
                               env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2", PYTHONPATH=REPO))
    assert completed.returncode == 0 and "same updates" in completed.stdout, completed.stderr[-3000:]
