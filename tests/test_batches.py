import numpy as np
import tensorflow as tf

from textlstm.batches import batches_dataset, epoch_positions


def test_batches_are_read_in_order_without_tf_data_autotuning():
    # Autotuning's thread wakes 10 ms, 20 ms, 40 ms ... (up to 60 s) after the first batch, and the end of a pass
    # waited for its next wake-up: 800 PTB steps of 72 ms took 102 ms each (bench/ptb_step.py).
    dataset = batches_dataset(epoch_positions(1, steps=3, total=2), lambda pass_index, batch: np.array([pass_index, batch]),
                              tf.TensorSpec((2,), tf.int64))
    assert [batch.numpy().tolist() for batch in dataset] == [[1, 1], [2, 0], [2, 1]]
    assert dataset.options().autotune.enabled is False
