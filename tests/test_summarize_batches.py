"""The summarizer's global batches: shuffled per epoch with the seed, the same rows whichever slice is read."""

import numpy as np
import pytest

from summarize_data import write_sample
from textlstm.summarize.config import SummarizeConfig
from textlstm.summarize.train import prepare


@pytest.fixture(scope="module")
def prepared(tmp_path_factory):
    data = write_sample(tmp_path_factory.mktemp("sample"), train=37, valid=9, test=4)
    config = SummarizeConfig(data=str(data), batch_size=8, seed=5)
    return config, prepare(config, log=lambda message: None)


def rows(dataset):
    """(sources, labels, weights) of every element of a dataset, rows stacked."""
    parts = [(x["source"].numpy(), y.numpy(), w.numpy()) for x, y, w in dataset]
    return [np.concatenate(part) for part in zip(*parts)]


def test_each_epoch_is_a_seeded_permutation_of_every_example_and_the_last_batch_is_padded(prepared):
    config, data = prepared
    assert data.steps("train") == 5  # 37 examples in batches of 8
    epochs = [rows(data.batches("train", epoch=epoch)) for epoch in (0, 1)]
    for sources, labels, weights in epochs:
        assert len(sources) == 40 and weights.shape == labels.shape
        real = weights.sum(axis=1) > 0
        assert real.sum() == 37 and not real[37:].any() and (labels[~real] == 0).all()
        np.testing.assert_array_equal(weights, (labels != 0).astype(np.float32))
    examples = [sorted(row.tobytes() for row in sources[weights.sum(axis=1) > 0]) for sources, _, weights in epochs]
    assert examples[0] == examples[1]  # every example once in each epoch
    assert not np.array_equal(epochs[0][0], epochs[1][0])  # in another order
    np.testing.assert_array_equal(rows(prepare(config, log=lambda message: None).batches("train", epoch=1))[0],
                                  epochs[1][0])  # the same order again from the same seed


def test_slices_of_a_global_batch_add_up_to_it(prepared):
    _, data = prepared
    whole = list(data.batches("train", epoch=3))
    first, rest = list(data.batches("train", 0, 3, epoch=3)), list(data.batches("train", 3, None, epoch=3))
    assert len(whole) == len(first) == len(rest)
    for batch, head, tail in zip(whole, first, rest):
        np.testing.assert_array_equal(np.concatenate([head[1], tail[1]]), batch[1])
        for name in batch[0]:
            np.testing.assert_array_equal(np.concatenate([head[0][name], tail[0][name]]), batch[0][name])


def test_valid_is_in_order_and_steps_per_epoch_continue_through_the_passes(prepared):
    config, data = prepared
    sources, _, weights = rows(data.batches("valid"))
    assert data.steps("valid") == 2 and weights.sum(axis=1).astype(bool).sum() == 9
    assert not np.array_equal(sources[:9], rows(data.batches("train"))[0][:9])
    capped = prepare(SummarizeConfig(data=config.data, batch_size=8, seed=5, steps_per_epoch=3),
                     log=lambda message: None)
    passes = np.concatenate([rows(data.batches("train", epoch=epoch))[0] for epoch in (0, 1)])
    epochs = np.concatenate([rows(capped.batches("train", epoch=epoch))[0] for epoch in (0, 1, 2)])
    np.testing.assert_array_equal(epochs, passes[: 3 * 3 * 8])
