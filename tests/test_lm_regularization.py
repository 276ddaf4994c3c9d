"""The language model's regularizers: locked, embedding and weight dropout, AR/TAR, stream restarts, NT-ASGD."""

import argparse
import dataclasses

import keras
import numpy as np
import pytest
import tensorflow as tf

import textlstm
import train
from conftest import assert_one_line_error
from killed_runs import Interrupt, InterruptAfterEpoch
from lm_corpus import REGULARIZED, UNREGULARIZED, tiny_flags, write_corpus
from textlstm.batches import batches_dataset, epoch_positions
from textlstm.config import add_flags, config_from
from textlstm.lm import train as lm_train
from textlstm.lm.config import LMConfig
from textlstm.lm.model import build_language_model
from textlstm.lm.regularization import ActivationRegularization
from textlstm.loop import TrainingLoop, restarting_rows
from textlstm.ntasgd import AveragedSGD
from textlstm.run import load_run

VOCAB = 20


def tiny_config(**settings):
    """A small language model with every regularizer off unless `settings` turn it on."""
    off = {**UNREGULARIZED, "input_dropout": 0.0}
    return LMConfig(**{"num_layers": 2, "units": 6, "embedding_dim": 6, "seed": 3, **off, **settings})


def outputs_of(model, names, tokens, training):
    """The outputs of the named layers of a language model for tokens."""
    probe = keras.Model(model.input, [model.get_layer(name).output for name in names])
    return [np.asarray(value) for value in keras.tree.flatten(probe(tokens, training=training))]


def random_tokens(seed=0, shape=(4, 7)):
    return np.random.default_rng(seed).integers(1, VOCAB, shape).astype("int32")


@pytest.mark.parametrize("before, after", [("embedding", "input_dropout"), ("recurrent_1", "dropout_1"),
                                           ("recurrent_2", "dropout_2")])
def test_locked_dropout_draws_one_mask_per_sequence_for_all_its_steps(before, after):
    model = build_language_model(tiny_config(input_dropout=0.5, dropout=0.5), VOCAB)
    first = outputs_of(model, [before, after], random_tokens(), training=True)
    second = outputs_of(model, [before, after], random_tokens(), training=True)
    for inputs, dropped in (first, second):
        kept = dropped != 0
        assert (kept == kept[:, :1]).all()  # the same units of a row at every step
        assert (kept[0, 0] != kept[1:, 0]).any() and kept.any() and not kept.all()  # rows have their own masks
        np.testing.assert_allclose(dropped, inputs * kept / 0.5, rtol=1e-6)
    assert ((first[1] != 0) != (second[1] != 0)).any()  # a new mask for each batch
    inputs, dropped = outputs_of(model, [before, after], random_tokens(), training=False)
    np.testing.assert_array_equal(dropped, inputs)


def test_locked_dropout_on_one_device_draws_the_masks_of_keras_dropout_over_one_step():
    inputs = np.random.default_rng(4).normal(size=(5, 7, 3)).astype("float32")
    ours = textlstm.LockedDropout(0.4, seed=9)
    keras_dropout = keras.layers.Dropout(0.4, noise_shape=(None, 1, None), seed=9)
    for _ in range(3):  # each call a new mask, the same one
        np.testing.assert_array_equal(ours(inputs, training=True), keras_dropout(inputs, training=True))


def test_embedding_dropout_drops_every_occurrence_of_a_word_in_a_batch():
    model = build_language_model(tiny_config(embedding_dropout=0.5), VOCAB)
    tokens = random_tokens(1, (6, 10))
    vectors, dropped = outputs_of(model, ["embedding", "word_dropout"], tokens, training=True)
    kept = (dropped != 0).all(axis=-1) | (vectors == 0).all(axis=-1)
    for word in np.unique(tokens):
        assert len(set(kept[tokens == word])) == 1, word  # all of the word's occurrences, or none
    assert kept.any() and not kept.all()
    np.testing.assert_allclose(dropped, vectors * kept[..., None] / 0.5, rtol=1e-6)
    np.testing.assert_array_equal(*outputs_of(model, ["embedding", "word_dropout"], tokens, training=False))


def test_ar_and_tar_add_their_terms_of_the_last_layer_to_the_training_loss():
    model = build_language_model(tiny_config(ar=2.0, tar=0.5), VOCAB)
    tokens = random_tokens(2)
    (h,) = outputs_of(model, ["recurrent_2"], tokens, training=False)  # no dropout: dropped h is h
    model(tokens, training=True)
    expected = [2.0 * np.mean(h**2), 0.5 * np.mean((h[:, 1:] - h[:, :-1]) ** 2)]
    np.testing.assert_allclose([float(loss) for loss in model.losses], expected, rtol=1e-5)
    model(tokens, training=False)
    assert model.losses == []


def test_ar_and_tar_are_per_real_token_so_shares_of_a_padded_batch_add_up_to_the_whole():
    layer = ActivationRegularization(ar=2.0, tar=0.5)
    rng = np.random.default_rng(3)
    h = rng.normal(size=(4, 6, 3)).astype("float32")
    tokens = rng.integers(1, VOCAB, (4, 6))
    tokens[2, 5:] = tokens[3, 2:] = 0  # the last streams end early, as stream_windows pads them

    def terms(rows):
        layer(h[rows], h[rows], tokens[rows], training=True)
        return np.array([float(loss) for loss in layer.losses])

    # Rows 0-1 have no padding: AWD-LSTM's means over steps and over pairs of steps.
    np.testing.assert_allclose(terms(slice(0, 2)), [2.0 * np.mean(h[:2] ** 2),
                                                    0.5 * np.mean((h[:2, 1:] - h[:2, :-1]) ** 2)], rtol=1e-5)
    # Two replicas' terms, each weighed by its share of the real tokens as the loop does, make the whole batch's.
    real = (tokens != 0).sum()
    shares = [terms(rows) * (tokens[rows] != 0).sum() / real for rows in (slice(0, 2), slice(2, 4))]
    np.testing.assert_allclose(sum(shares), terms(slice(0, 4)), rtol=1e-5)


def steps_since_restart(state_reset, steps=30, rows=8, seed=5):
    """The loop's per-step losses for a model whose loss is the mean of its state, a counter of the steps carried."""
    tokens = keras.Input((1,))
    state = keras.Input((1,))
    offset = keras.layers.Dense(1, kernel_initializer="zeros")(tokens)  # a weight, so that the optimizer steps
    counted = keras.layers.Lambda(lambda before: before + 1)(state)
    model = keras.Model([tokens, state], [keras.layers.Add()([state, offset]), counted])
    model.compile(optimizer=keras.optimizers.SGD(0.0))

    def batches(split, first_row=0, num_rows=None, epoch=0):
        share = num_rows or rows - first_row
        zeros = np.zeros((share, 1), "float32")
        signature = (tf.TensorSpec((share, 1)),) * 2 + (tf.TensorSpec((share,)),)
        return batches_dataset(epoch_positions(epoch, steps, steps), lambda *_: (zeros, zeros, zeros[:, 0] + 1),
                               signature)

    def loss(targets, predictions, weights):
        return tf.reduce_sum(predictions[:, 0] * weights), tf.reduce_sum(weights)

    loop = TrainingLoop(tf.distribute.get_strategy(), model, loss, batches, rows, carry_states=True,
                        state_reset=state_reset, seed=seed)
    losses = []
    loop.fit(1, callbacks=[keras.callbacks.LambdaCallback(on_train_batch_end=lambda batch, logs: losses.append(
        logs["loss"]))], verbose=0)
    return losses


def test_training_restarts_the_drawn_streams_from_zero_states():
    assert steps_since_restart(0.0) == list(range(30))  # carried through the epoch
    counters, expected = np.zeros(8), []
    for step in range(30):  # the NumPy reference: a restarting row's counter starts again at 0
        counters[restarting_rows(5, step, 8, 0.2).numpy()] = 0
        expected.append(counters.mean())
        counters += 1
    assert steps_since_restart(0.2) == pytest.approx(expected)
    assert 0.1 < np.mean([restarting_rows(5, step, 8, 0.2).numpy() for step in range(200)]) < 0.3


def write_bigram_corpus(path, vocab_size=300, lines=1500, seed=0):
    """Lines of words from a random bigram model, word w followed mostly by its own 20 successors, as one file."""
    rng = np.random.default_rng(seed)
    frequency = 1 / np.arange(1, vocab_size + 1)
    frequency /= frequency.sum()
    successors = rng.choice(vocab_size, (vocab_size, 20), p=frequency)
    word, text = 0, []
    for _ in range(lines):
        line = []
        for _ in range(rng.integers(5, 20)):
            follows = rng.random() < 0.8
            word = successors[word, min(rng.geometric(0.3) - 1, 19)] if follows else rng.choice(vocab_size, p=frequency)
            line.append(f"w{word}")
        text.append(" ".join(line))
    path.write_text("\n".join(text) + "\n")
    return path


class StepLosses(keras.callbacks.Callback):
    def on_train_begin(self, logs=None):
        self.losses = []

    def on_train_batch_end(self, batch, logs=None):
        self.losses.append(float(logs["loss"]))


@pytest.mark.slow
@pytest.mark.parametrize("seed", [1, 2])
def test_validation_after_an_epoch_with_dropout_is_as_good_as_the_last_training_steps(tmp_path, seed):
    # Without stream restarts, Adam teaches this model to rely on states that only training's carried streams
    # reach: validation (from zero states) gave 5.94 against 3.70 in training (ln 300 = 5.70, a uniform guess).
    data = write_bigram_corpus(tmp_path / "corpus.txt")
    config = LMConfig(data=str(data), out=str(tmp_path / "run"), num_layers=1, units=200, embedding_dim=200, bptt=10,
                      dropout=0.3, lr=0.01, epochs=1, seed=seed)
    steps = StepLosses()
    metrics = lm_train.train_language_model(config, verbose=0, callbacks=[steps], log=None)
    assert metrics["epochs"][0]["val_loss"] < np.mean(steps.losses[-20:]) + 0.25


def test_averaged_sgd_keeps_the_mean_of_the_iterates_since_averaging_started():
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
    optimizer = AveragedSGD(learning_rate=0.1)
    optimizer.build(model.trainable_variables)
    random = np.random.default_rng(0)
    x, y = random.normal(size=(8, 3)).astype("float32"), random.normal(size=(8, 2)).astype("float32")

    def step():
        with tf.GradientTape() as tape:
            loss = tf.reduce_mean((model(x) - y) ** 2)
        optimizer.apply(tape.gradient(loss, model.trainable_variables), model.trainable_variables)
        return [variable.numpy() for variable in model.trainable_variables]

    for _ in range(3):
        iterate = step()
    for average, value in zip(optimizer.averages, iterate):
        np.testing.assert_array_equal(average, value)  # before averaging: the weights themselves
    optimizer.start_averaging()
    iterates = [step() for _ in range(5)]
    for index, average in enumerate(optimizer.averages):
        np.testing.assert_allclose(average, np.mean([weights[index] for weights in iterates], axis=0), rtol=1e-6)
    means = [average.numpy().copy() for average in optimizer.averages]
    optimizer.swap_averages()
    for variable, average, mean, last in zip(model.trainable_variables, optimizer.averages, means, iterates[-1]):
        np.testing.assert_array_equal(variable, mean)
        np.testing.assert_array_equal(average, last)


class WeightsAfterEachStep(keras.callbacks.Callback):
    """Each training step's weights (the iterates), by layer name, with the epoch they belong to."""

    def __init__(self):
        super().__init__()
        self.steps = []

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch = epoch

    def on_train_batch_end(self, batch, logs=None):
        self.steps.append((self.epoch, {layer.name: layer.get_weights()
                                        for layer in self.model.layers if layer.trainable_weights}))


def ntasgd_config(data, out, **settings):
    """A tiny run that averages from its second epoch on (nonmono 0), without dropout unless settings say."""
    return LMConfig(**{"data": str(data), "out": str(out), "num_layers": 1, "units": 8, "embedding_dim": 8, "bptt": 5,
                       "batch_size": 4, "epochs": 3, "dropout": 0.0, "optimizer": "ntasgd", "lr": 1.0, "nonmono": 0,
                       "schedule": "constant", "patience": 0, "seed": 3, **settings})


def best_model_weights(out):
    model = load_run(str(out)).load_model()
    return {layer.name: layer.get_weights() for layer in model.layers if layer.trainable_weights}


def test_ntasgd_validates_and_checkpoints_the_mean_of_the_iterates_since_the_trigger(tmp_path):
    data = write_corpus(tmp_path, train_lines=30, eval_lines=10)
    config = ntasgd_config(data, tmp_path / "run")
    prepared = lm_train.prepare(config, log=lambda message: None)
    keras.utils.set_random_seed(config.seed)
    model = lm_train.build_model(config, prepared)
    loop = TrainingLoop(tf.distribute.get_strategy(), model, lm_train.token_loss(config), prepared.batches,
                        config.batch_size, carry_states=True, perplexity=True)
    iterates, checkpointed = [], []  # the weights after each step; those an epoch's checkpoint saves, with val_loss

    def weights():
        return [variable.numpy() for variable in model.trainable_variables]

    record = keras.callbacks.LambdaCallback(
        on_train_batch_end=lambda batch, logs: iterates.append(weights()),
        on_epoch_end=lambda epoch, logs: checkpointed.append((weights(), logs["val_loss"])))
    own, _ = lm_train.task_callbacks(config)
    loop.fit(3, callbacks=[*own, record], verbose=0)
    steps = prepared.steps("train")
    for value, iterate in zip(checkpointed[0][0], iterates[steps - 1]):  # epoch 1: the iterate itself
        np.testing.assert_array_equal(value, iterate)
    for epoch in (1, 2):  # the mean of the iterates since epoch 2 began
        for index, value in enumerate(checkpointed[epoch][0]):
            mean = np.mean([step[index] for step in iterates[steps:(epoch + 1) * steps]], axis=0)
            np.testing.assert_allclose(value, mean, rtol=1e-5, atol=1e-6)
    assert not np.allclose(checkpointed[2][0][0], iterates[-1][0])
    assert loop.evaluate()["loss"] == pytest.approx(checkpointed[2][1], rel=1e-6)  # validation scored the mean


@pytest.mark.slow
def test_ntasgd_evaluates_and_exports_the_mean_of_the_iterates_since_the_trigger(corpus, tmp_path):
    recorder = WeightsAfterEachStep()
    metrics = lm_train.train_language_model(ntasgd_config(corpus, tmp_path / "run"), verbose=0,
                                            callbacks=[recorder])
    best = metrics["best_epoch"]
    # Averaging starts after epoch 1: the best epoch's model is the mean of the iterates of epochs 2 .. best.
    averaged = [weights for epoch, weights in recorder.steps if 1 <= epoch < best]
    assert averaged, metrics["epochs"]
    for name, weights in best_model_weights(tmp_path / "run").items():
        for index, value in enumerate(weights):
            np.testing.assert_allclose(value, np.mean([step[name][index] for step in averaged], axis=0),
                                       rtol=1e-5, atol=1e-6)
    # The validation that chose the best epoch scored the averaged weights that the final evaluation scores.
    assert metrics["valid_perplexity"] == pytest.approx(metrics["epochs"][best - 1]["val_perplexity"], rel=1e-5)


@pytest.mark.slow
def test_a_run_resumed_mid_average_ends_with_the_weights_of_an_uninterrupted_one(corpus, tmp_path):
    whole = lm_train.train_language_model(ntasgd_config(corpus, tmp_path / "whole", **REGULARIZED), verbose=0)
    with pytest.raises(Interrupt):  # after epoch 2, one epoch into the average
        lm_train.train_language_model(ntasgd_config(corpus, tmp_path / "resumed", **REGULARIZED), verbose=0,
                                      callbacks=[InterruptAfterEpoch(2)])
    resumed = lm_train.train_language_model(ntasgd_config(corpus, tmp_path / "resumed", **REGULARIZED), verbose=0)
    assert [epoch["val_perplexity"] for epoch in resumed["epochs"]] == pytest.approx(
        [epoch["val_perplexity"] for epoch in whole["epochs"]], rel=1e-6)
    assert resumed["best_epoch"] == whole["best_epoch"]
    expected = best_model_weights(tmp_path / "whole")
    for name, weights in best_model_weights(tmp_path / "resumed").items():
        for value, whole_value in zip(weights, expected[name]):
            np.testing.assert_allclose(value, whole_value, rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("flag, value, message", [
    ("--input-dropout", "1", "input-dropout must be in [0, 1)"),
    ("--embedding-dropout", "-0.1", "embedding-dropout must be in [0, 1)"),
    ("--weight-drop", "1.5", "weight-drop must be in [0, 1)"),
    ("--ar", "-1", "ar must be a number >= 0"),
    ("--tar", "nan", "tar must be a finite number"),
    ("--state-reset", "1", "state-reset must be in [0, 1)"),
    ("--nonmono", "-1", "nonmono must be an integer >= 0"),
    ("--optimizer", "asgd", "optimizer must be one of sgd, adam, ntasgd"),
])
def test_bad_regularization_settings_are_refused_before_anything_is_written(corpus, tmp_path, capsys, flag, value,
                                                                           message):
    out = tmp_path / "run"
    assert train.main(tiny_flags(corpus, out, flag, value)) == 2
    assert_one_line_error(capsys, message)
    assert not out.exists()


def test_a_run_written_before_the_regularizers_loads_with_them_off():
    config = config_from({"task": "lm", "units": 8, "embedding_dim": 8, "dropout": 0.2}, LMConfig)
    assert (config.embedding_dropout, config.weight_drop, config.ar, config.tar, config.state_reset) == (0.0,) * 5
    assert config.input_dropout == config.dropout == 0.2  # its embeddings took --dropout, as they still do by default


@pytest.mark.parametrize("flags, expected", [([], 0.25), (["--dropout", "0"], 0.0),
                                             (["--dropout", "0.4", "--input-dropout", "0.65"], 0.65)])
def test_input_dropout_follows_dropout_unless_given(flags, expected):
    parser = argparse.ArgumentParser()
    add_flags(parser, LMConfig)
    config = LMConfig(**vars(parser.parse_args(flags)))
    assert dataclasses.asdict(config)["input_dropout"] == expected  # as config.json records it
