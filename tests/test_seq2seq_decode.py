import keras
import numpy as np
import pytest
import tensorflow as tf

from textlstm.seq2seq import beam_search, build_model, greedy_search
from textlstm.seq2seq.model import UNK_ID
from textlstm.seq2seq.decode import banned_ngram_tokens, gnmt_length_penalty

pytestmark = pytest.mark.filterwarnings("ignore:You are using a softmax over axis -1")

BOS, EOS = 1, 2
SOURCE = np.array([[4, 5, 6, 7, 8], [9, 10, 11, 0, 0], [12, 0, 0, 0, 0]], "int32")


def random_model(**overrides):
    keras.utils.set_random_seed(0)
    fields = {"vocab_size": 20, "embedding_dim": 6, "units": 8, **overrides}
    model = build_model(**fields)
    # Sharper logits than at initialisation, so that beams disagree and outputs vary.
    kernel = model.output_projection.kernel
    kernel.assign(kernel * 8.0)
    return model


# A model whose next-token distribution is a known table of the previous token:
# embedding one-hot, decoder h = tanh(x), attention switched off, logits = table[previous].
PAD, A, B, C = 0, 3, 4, 5
VOCAB_SIZE = 6
TINY = 1e-6
TRANSITIONS = np.full((VOCAB_SIZE, VOCAB_SIZE), TINY)
TRANSITIONS[BOS, [A, B, C]] = [0.5, 0.4, 0.1]
TRANSITIONS[A, [C, EOS, B]] = [0.4, 0.3, 0.3]
TRANSITIONS[B, EOS] = 1.0
TRANSITIONS[C, EOS] = 1.0
TRANSITIONS[EOS, EOS] = 1.0


def table_model():
    model = build_model(vocab_size=VOCAB_SIZE, embedding_dim=VOCAB_SIZE, units=VOCAB_SIZE, cell="simple")
    identity = np.eye(VOCAB_SIZE, dtype="float32")
    model.embedding.embeddings.assign(identity)
    cell = model.decoder_layers[0].cell
    cell.kernel.assign(identity)
    cell.recurrent_kernel.assign(np.zeros_like(identity))  # the encoder's states do not matter
    cell.bias.assign(np.zeros(VOCAB_SIZE, "float32"))
    model.key_projection.kernel.assign(np.zeros((VOCAB_SIZE, VOCAB_SIZE), "float32"))
    model.attentional.kernel.assign(np.concatenate([np.zeros_like(identity), identity]))  # [context; h] -> h
    model.attentional.bias.assign(np.zeros(VOCAB_SIZE, "float32"))
    scale = np.tanh(np.tanh(1.0))  # the attentional hidden state is scale * one_hot(previous)
    model.output_projection.kernel.assign((np.log(TRANSITIONS) / scale).astype("float32"))
    model.output_projection.bias.assign(np.zeros(VOCAB_SIZE, "float32"))
    return model


def lengths(tokens):
    return (np.asarray(tokens) != 0).sum(axis=1)


def test_known_model_greedy_and_beam_differ_as_expected():
    model = table_model()
    source = np.array([[3, 4, 5]], "int32")
    tokens, score = greedy_search(model, source, BOS, EOS, max_len=5, length_penalty=0.0)
    np.testing.assert_array_equal(tokens, [[A, C, 0, 0, 0]])
    np.testing.assert_allclose(score, np.log([0.5 * 0.4 * 1.0]), rtol=1e-4)
    tokens, score = beam_search(model, source, BOS, EOS, beam_size=2, max_len=5, length_penalty=0.0)
    np.testing.assert_array_equal(tokens, [[B, 0, 0, 0, 0]])
    np.testing.assert_allclose(score, np.log([0.4 * 1.0]), rtol=1e-4)


def test_known_model_length_penalty_favours_the_longer_summary():
    model = table_model()
    tokens, score = beam_search(model, np.array([[3]], "int32"), BOS, EOS, beam_size=2, max_len=5, length_penalty=5.0)
    np.testing.assert_array_equal(tokens, [[A, C, 0, 0, 0]])
    np.testing.assert_allclose(score, np.log([0.2]) / ((5 + 3) / 6) ** 5, rtol=1e-4)


@pytest.mark.parametrize(
    "options",
    [{}, {"min_len": 3}, {"no_repeat_ngram_size": 2, "length_penalty": 1.0}, {"max_len": 1, "min_len": 0}],
)
def test_beam_size_one_equals_greedy(options):
    model = random_model(bidirectional=True)
    options = {"max_len": 8, **options}
    greedy_tokens, greedy_scores = greedy_search(model, SOURCE, BOS, EOS, **options)
    beam_tokens, beam_scores = beam_search(model, SOURCE, BOS, EOS, beam_size=1, **options)
    np.testing.assert_array_equal(beam_tokens, greedy_tokens)
    np.testing.assert_allclose(beam_scores, greedy_scores, rtol=1e-5)


# Source words 4, 6 and 8 are outside a vocabulary of 20: the model reads <unk>, copying writes 20, 21, 22.
SOURCE_EXTENDED = np.where(np.isin(SOURCE, [4, 6, 8]), 20 + np.searchsorted([4, 6, 8], SOURCE), SOURCE)


@pytest.mark.parametrize("overrides", [{"copy": True}, {"coverage": True}, {"copy": True, "coverage": True}])
def test_beam_size_one_equals_greedy_with_extended_vocabulary_and_coverage(overrides):
    model = random_model(bidirectional=True, **overrides)
    source = np.where(SOURCE_EXTENDED >= 20, UNK_ID, SOURCE)
    options = {"max_len": 8, "min_len": 2, "source_extended": SOURCE_EXTENDED if model.copy else None}
    if model.copy:
        model.copy_gate.bias.assign([-100.0])  # copying only
    greedy_tokens, greedy_scores = greedy_search(model, source, BOS, EOS, **options)
    beam_tokens, beam_scores = beam_search(model, source, BOS, EOS, beam_size=1, **options)
    np.testing.assert_array_equal(beam_tokens, greedy_tokens)
    np.testing.assert_allclose(beam_scores, greedy_scores, rtol=1e-5)
    assert (np.asarray(greedy_tokens) >= 20).any() == model.copy  # words outside the vocabulary, copied


def test_beam_finds_a_score_at_least_as_good_as_greedy():
    model = random_model()
    _, greedy_scores = greedy_search(model, SOURCE, BOS, EOS, max_len=8)
    _, beam_scores = beam_search(model, SOURCE, BOS, EOS, beam_size=4, max_len=8)
    assert np.all(np.asarray(beam_scores) >= np.asarray(greedy_scores) - 1e-5)


@pytest.mark.parametrize("search", [greedy_search, beam_search])
def test_min_len_is_respected(search):
    model = table_model()  # wants to stop after one or two tokens
    tokens, _ = search(model, np.array([[3, 4]], "int32"), BOS, EOS, max_len=6, min_len=4)
    assert lengths(tokens)[0] >= 4


@pytest.mark.parametrize("search", [greedy_search, beam_search])
def test_no_repeat_ngram_is_respected(search):
    model = random_model()
    repeats = lambda row: len({tuple(row[i : i + 2]) for i in range(len(row) - 1)}) < len(row) - 1
    tokens, _ = search(model, SOURCE, BOS, EOS, max_len=10, min_len=9, no_repeat_ngram_size=0)
    assert any(repeats(list(row)) for row in np.asarray(tokens))  # the model does repeat itself
    tokens, _ = search(model, SOURCE, BOS, EOS, max_len=10, min_len=9, no_repeat_ngram_size=2)
    assert not any(repeats(list(row)) for row in np.asarray(tokens))


@pytest.mark.parametrize("search", [greedy_search, beam_search])
def test_the_unknown_word_is_never_generated(search):
    model = random_model()
    bias = np.zeros(20, "float32")
    bias[UNK_ID] = 50.0  # <unk> is by far the most likely token everywhere
    model.output_projection.bias.assign(bias)
    tokens, _ = search(model, SOURCE, 3, EOS, max_len=6, min_len=2)
    assert UNK_ID not in np.asarray(tokens) and all(lengths(tokens) >= 2)


def test_banned_ngram_tokens():
    tokens = tf.constant([[5, 6, 5, 6, 5, 0, 0]])  # about to write position 5 after "... 6 5"
    banned = banned_ngram_tokens(tokens, 5, 2, 8).numpy()[0]
    assert banned.nonzero()[0].tolist() == [6]  # "5 6" was seen
    banned = banned_ngram_tokens(tokens, 5, 3, 8).numpy()[0]
    assert banned.nonzero()[0].tolist() == [6]  # "6 5 6" was seen
    assert not banned_ngram_tokens(tokens, 1, 2, 8).numpy().any()  # nothing before position 1 to repeat
    assert banned_ngram_tokens(tokens, 2, 1, 8).numpy()[0].nonzero()[0].tolist() == [5, 6]
    two_rows = tf.constant([[5, 6, 0, 0], [7, 7, 0, 0]])  # n = 1 with several rows: each row bans its own words
    assert [row.nonzero()[0].tolist() for row in banned_ngram_tokens(two_rows, 2, 1, 8).numpy()] == [[5, 6], [7]]


@pytest.mark.parametrize("search", [greedy_search, beam_search])
def test_padding_appended_to_source_changes_nothing(search):
    model = random_model(bidirectional=True, num_layers=2)
    tokens, scores = search(model, SOURCE, BOS, EOS, max_len=8)
    padded_tokens, padded_scores = search(model, np.pad(SOURCE, ((0, 0), (0, 4))), BOS, EOS, max_len=8)
    np.testing.assert_array_equal(padded_tokens, tokens)
    np.testing.assert_allclose(padded_scores, scores, rtol=1e-5)
    single_tokens, _ = search(model, SOURCE[2:, :1], BOS, EOS, max_len=8)  # unpadded, alone in its batch
    np.testing.assert_array_equal(single_tokens, np.asarray(tokens)[2:])


@pytest.mark.slow  # about 3 s: a search traced
def test_beam_search_traces_with_a_dynamic_batch():
    model = random_model(cell="gru")
    search = tf.function(
        lambda source: beam_search(model, source, BOS, EOS, beam_size=3, max_len=6, no_repeat_ngram_size=2),
        input_signature=[tf.TensorSpec((None, None), tf.int32)],
    )
    tokens, scores = search(SOURCE)
    eager_tokens, _ = beam_search(model, SOURCE, BOS, EOS, beam_size=3, max_len=6, no_repeat_ngram_size=2)
    np.testing.assert_array_equal(tokens, eager_tokens)
    assert search(SOURCE[:1, :2])[0].shape == (1, 6)
    assert search.experimental_get_tracing_count() == 1


def test_gnmt_length_penalty():
    np.testing.assert_allclose(gnmt_length_penalty(tf.constant([1, 7]), 1.0), [1.0, 2.0])
    np.testing.assert_allclose(gnmt_length_penalty(tf.constant([4]), 0.0), [1.0])


@pytest.mark.parametrize(
    "options, message",
    [
        ({"beam_size": 0}, "beam_size=0"),
        ({"max_len": 0}, "max_len=0"),
        ({"min_len": 5, "max_len": 5}, "min_len=5"),
        ({"no_repeat_ngram_size": -1}, "no_repeat_ngram_size=-1"),
    ],
)
def test_invalid_options_are_named(options, message):
    with pytest.raises(ValueError, match=message):
        beam_search(random_model(), SOURCE, BOS, EOS, **options)
