"""The training loop: two logical CPU devices against one (same updates, clipping after the sum), and resuming.

The devices must be made before TensorFlow starts, so the comparison runs in
a subprocess; the slow end-to-end runs of both tasks are in test_distribute.py.
"""

import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest
import tensorflow as tf

from tiny_loop import assert_same_steps, train

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

SCRIPT = textwrap.dedent("""
    import numpy as np, tensorflow as tf
    from textlstm.strategy import make_strategy
    from tiny_loop import assert_same_steps, train

    mirrored = make_strategy("mirrored", 2)
    for clip in ({"global_clipnorm": 0.01}, {"clipnorm": 0.01}):
        for dropout in (0.0, 0.5):
            one, one_norms = train(tf.distribute.get_strategy(), clip, dropout)
            two, two_norms = train(mirrored, clip, dropout)
            assert_same_steps(one, two)
            if "global_clipnorm" in clip:  # clipped every step: each SGD update is exactly lr x the threshold long
                np.testing.assert_allclose(one_norms, 0.01, rtol=1e-4)
                np.testing.assert_allclose(two_norms, 0.01, rtol=1e-4)

    # A cell's input and recurrent dropout masks: each replica's rows of the one-device masks.
    from textlstm import LSTMCell

    def cell_masks(strategy):
        with strategy.scope():
            cell = LSTMCell(3, dropout=0.5, recurrent_dropout=0.5, seed=5)
        rows = 4 // strategy.num_replicas_in_sync

        def masks():  # drawn anew, as a layer's call does
            cell.reset_dropout_mask(), cell.reset_recurrent_dropout_mask()
            return cell.get_dropout_mask(tf.ones((rows, 6))), cell.get_recurrent_dropout_mask(tf.ones((rows, 3)))

        drawn = tf.function(lambda: strategy.run(masks))()
        return [np.concatenate(strategy.experimental_local_results(mask)) for mask in drawn]

    for one, two in zip(cell_masks(tf.distribute.get_strategy()), cell_masks(mirrored)):
        np.testing.assert_array_equal(one, two)
        assert 0 < (one == 0).mean() < 1
    print("same updates")
""")


@pytest.mark.slow  # about 10 s: two devices and one trained side by side
def test_two_devices_make_the_updates_and_draw_the_dropout_masks_of_one_with_clipping_after_the_sum():
    completed = subprocess.run([sys.executable, "-c", SCRIPT], cwd=REPO, capture_output=True, text=True,
                               env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2",
                                        PYTHONPATH=os.pathsep.join([REPO, os.path.join(REPO, "tests")])))
    assert completed.returncode == 0 and "same updates" in completed.stdout, completed.stderr[-3000:]


def test_a_run_resumed_from_its_weights_draws_the_dropout_masks_of_an_uninterrupted_one():
    clip = {"global_clipnorm": 1.0}
    whole, _ = train(tf.distribute.get_strategy(), clip, dropout=0.5)
    resumed, _ = train(tf.distribute.get_strategy(), clip, dropout=0.5, interrupt_after=1)
    assert_same_steps(whole, resumed)
    undropped, _ = train(tf.distribute.get_strategy(), clip)
    assert not np.allclose(undropped[-1][0], whole[-1][0])  # the masks did change the training
