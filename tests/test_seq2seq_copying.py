"""The extended vocabulary (copying words outside the vocabulary) and the coverage loss."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from textlstm.seq2seq import build_model
from textlstm.seq2seq.copying import copy_distribution, extended_ids, extended_ids_graph
from textlstm.seq2seq.coverage import coverage_loss
from textlstm.summarize.data import encode_extended_sources, encode_targets, tokenize
from textlstm.vocab import Vocabulary

VOCAB = Vocabulary.build([["the", "budget", "is", "late", "."]])  # 9 tokens
V = len(VOCAB)


def test_the_scatter_puts_a_words_attention_on_its_temporary_id_summed_over_repeats():
    # "zorblax the zorblax quux": zorblax is V, quux V + 1; zorblax's weight is that of both its positions.
    ids, oovs = extended_ids(["zorblax", "the", "zorblax", "quux"], VOCAB)
    assert ids == [V, VOCAB.ids["the"], V, V + 1] and oovs == ["zorblax", "quux"]
    weights = np.array([[[0.1, 0.2, 0.3, 0.4], [0.7, 0.0, 0.2, 0.1]]], "float32")  # (1, 2 steps, 4 positions)
    distribution = np.asarray(copy_distribution(weights, np.array([ids]), V + 2))
    expected = np.zeros((1, 2, V + 2), "float32")
    expected[0, :, V] = [0.1 + 0.3, 0.7 + 0.2]
    expected[0, :, V + 1] = [0.4, 0.1]
    expected[0, :, VOCAB.ids["the"]] = [0.2, 0.0]
    np.testing.assert_allclose(distribution, expected, atol=1e-7)


def test_the_graph_numbers_words_as_training_does():
    rng = np.random.default_rng(0)
    words = ["the", "budget", "is", "zed", "ork", "quux", "blip"]
    documents = [list(rng.choice(words, size=rng.integers(1, 9))) for _ in range(20)]
    expected, _ = encode_extended_sources(documents, VOCAB, max_source_len=100)
    tokens = tf.ragged.constant([document + ["<eos>"] for document in documents]).to_tensor("")
    ids = tf.cast(tf.ragged.constant([VOCAB.encode(document + ["<eos>"]) for document in documents]).to_tensor(0),
                  tf.int32)
    extended, first = extended_ids_graph(tokens, ids, V)
    np.testing.assert_array_equal(extended, expected)
    for row, document in enumerate(documents):  # the k-th first occurrence holds the word of id V + k
        firsts = [word.decode() for word in np.asarray(tokens[row])[np.asarray(first[row])]]
        assert firsts == extended_ids(document, VOCAB)[1]


def test_labels_use_temporary_ids_only_for_words_of_their_document():
    # A summary word outside the vocabulary and its document, and one cut off with the end of a long document.
    sources = [tokenize(["the zorblax budget"])[0], ["the"] * 5 + ["quux"]]
    _, oovs = encode_extended_sources(sources, VOCAB, max_source_len=5)
    assert oovs == [["zorblax"], []]
    decoder_input, labels = encode_targets([["zorblax", "blip"], ["quux"]], VOCAB, 5, oovs)
    assert labels.tolist() == [[V, 0, VOCAB.eos_id], [0, VOCAB.eos_id, 0]]  # 0: left out of the loss
    assert decoder_input.tolist() == [[3, 1, 1], [3, 1, 0]]  # read as <unk>


def numpy_coverage_loss(weights, mask):
    total, steps = 0.0, 0
    for row in range(weights.shape[0]):
        coverage = np.zeros(weights.shape[2])
        for time in range(weights.shape[1]):
            if mask[row, time]:
                total += np.minimum(weights[row, time], coverage).sum()
                steps += 1
            coverage += weights[row, time]
    return total / steps


def test_coverage_loss_equals_numpy():
    rng = np.random.default_rng(1)
    weights = rng.dirichlet(np.ones(6), size=(3, 5)).astype("float32")  # (batch 3, 5 steps, 6 positions)
    mask = np.array([[1, 1, 1, 1, 1], [1, 1, 1, 0, 0], [1, 0, 0, 0, 0]], bool)
    np.testing.assert_allclose(float(coverage_loss(weights, mask)), numpy_coverage_loss(weights, mask), rtol=1e-6)
    once_each = np.eye(4, dtype="float32")[None]  # each step attends to a new word: nothing to pay
    assert float(coverage_loss(once_each, np.ones((1, 4), bool))) == 0.0


@pytest.mark.parametrize("copy", [False, True])
def test_the_model_adds_the_weighted_coverage_loss_in_training_only(copy):
    keras.utils.set_random_seed(0)
    model = build_model(vocab_size=20, embedding_dim=6, units=4, coverage=True, coverage_weight=0.5, copy=copy)
    source = np.array([[4, 5, 6, 7], [8, 9, 0, 0]], "int32")
    decoder_input = np.array([[3, 10, 11, 12], [3, 13, 0, 0]], "int32")
    model({"source": source, "decoder_input": decoder_input}, training=True)
    weights, p_gen = model.attention_and_copy(source, decoder_input)
    assert weights.shape == (2, 4, 4) and (p_gen is None) == (not copy)
    expected = 0.5 * numpy_coverage_loss(np.asarray(weights), decoder_input != 0)
    np.testing.assert_allclose([float(loss) for loss in model.losses], [expected], rtol=1e-5)
    model({"source": source, "decoder_input": decoder_input}, training=False)
    assert not model.losses


def test_a_copying_model_can_write_a_word_outside_the_vocabulary():
    keras.utils.set_random_seed(0)
    model = build_model(vocab_size=V, embedding_dim=6, units=4, copy=True)
    model.copy_gate.bias.assign([-100.0])  # copy only
    source = np.array([[VOCAB.ids["the"], 1, 1, 2]], "int32")  # "the zorblax quux <eos>": both unknown
    source_extended = np.array([[VOCAB.ids["the"], V, V + 1, 2]], "int32")
    logits = model({"source": source, "source_extended": source_extended, "decoder_input": np.array([[3]])})
    probabilities = np.exp(np.asarray(logits))[0, 0]
    assert probabilities.shape == (V + 2,)
    np.testing.assert_allclose(probabilities[[VOCAB.ids["the"], V, V + 1, 2]].sum(), 1.0, rtol=1e-5)
    assert probabilities[1] < 1e-6  # <unk> gets nothing


def test_coverage_epochs_switch_the_loss_on_for_the_last_epochs_only():
    from textlstm.summarize.config import SummarizeConfig
    from textlstm.summarize.train import CoverageSchedule, coverage_start

    assert coverage_start(SummarizeConfig(epochs=10)) == 0
    assert coverage_start(SummarizeConfig(epochs=10, coverage_epochs=3)) == 7
    model = build_model(vocab_size=20, embedding_dim=4, units=4, coverage=True, coverage_weight=2.0)
    schedule = CoverageSchedule(2.0, first_epoch=7)
    schedule.set_model(model)
    schedule.on_epoch_begin(6)
    assert float(model.coverage_loss_weight) == 0.0
    schedule.on_epoch_begin(7)
    assert float(model.coverage_loss_weight) == 2.0
