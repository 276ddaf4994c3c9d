"""The language model's one-step face: a prompt fed one token at a time gives what the whole-prompt signatures give."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from textlstm.lm.config import LMConfig
from textlstm.lm.export import serving_signatures
from textlstm.lm.model import build_language_model
from textlstm.vocab import Vocabulary

VOCAB = Vocabulary.build([["the", "cat", "sees", "a", "dog", "likes", "the", "ball", "."]])
# Of three lengths, so that the shorter ones are padded in a batch; "zebra" is outside the vocabulary.
PROMPTS = ["the cat sees", "a dog zebra likes the", "ball"]
CELLS = ["lstm", "peephole", "coupled", "gru", "simple"]


def signatures_of(cell, tie_weights=True, num_layers=2):
    """The SavedModel's signatures, in process, for a tiny untrained model of cell.

    Weights uniform in [-1, 1] make the next-token distributions far from
    flat, so their order is not decided by rounding.
    """
    keras.utils.set_random_seed(1)
    config = LMConfig(cell=cell, units=4, embedding_dim=4, num_layers=num_layers, tie_weights=tie_weights,
                      init_scale=1.0)
    return serving_signatures(build_language_model(config, len(VOCAB)), VOCAB, config)[0]


def step_prompts(signatures, prompts, k):
    """Feeds `<eos>` and then each prompt's token ids to `step`, one at a time from a zero state, all prompts at once.

    Returns:
        The top ids and probabilities after each prompt's last token, as NumPy arrays (prompts, k).
    """
    tokens = signatures["tokenize"](tf.constant(prompts))
    ids, lengths = tokens["ids"].numpy(), tokens["lengths"].numpy()
    state_size = signatures["step"].input_signature[1].shape[1]
    outputs = signatures["step"](tf.fill([len(prompts)], VOCAB.eos_id), tf.zeros([len(prompts), state_size]), k)
    outputs = {name: value.numpy() for name, value in outputs.items()}
    for position in range(ids.shape[1]):
        stepped = signatures["step"](tf.constant(ids[:, position]), tf.constant(outputs["state"]), k)
        reading = position < lengths  # the prompts that have a token at this position
        for name, value in stepped.items():
            outputs[name][reading] = value.numpy()[reading]
    return outputs["top_ids"], outputs["top_probs"]


@pytest.mark.parametrize("cell", CELLS)
def test_stepping_a_prompt_gives_the_top_k_of_the_whole_prompt(cell):
    signatures = signatures_of(cell)
    expected = signatures["top_k"](tf.constant(PROMPTS), tf.constant(3))
    top_ids, top_probs = step_prompts(signatures, PROMPTS, tf.constant(3))
    assert np.array(VOCAB.tokens)[top_ids].tolist() == expected["words"].numpy().astype(str).tolist()
    np.testing.assert_allclose(top_probs, expected["probabilities"], rtol=1e-5)
    assert -np.diff(top_probs, axis=1).min() > 1e-4  # far apart: the order is the model's, not rounding's


def test_the_untied_output_layer_steps_as_it_reads_whole_prompts():
    signatures = signatures_of("coupled", tie_weights=False, num_layers=1)
    expected = signatures["top_k"](tf.constant(PROMPTS), tf.constant(4))
    top_ids, top_probs = step_prompts(signatures, PROMPTS, tf.constant(4))
    assert np.array(VOCAB.tokens)[top_ids].tolist() == expected["words"].numpy().astype(str).tolist()
    np.testing.assert_allclose(top_probs, expected["probabilities"], rtol=1e-5)


def test_a_prompt_gets_the_same_next_words_alone_and_beside_a_longer_one():
    signatures = signatures_of("lstm")
    alone = signatures["top_k"](tf.constant(PROMPTS[:1]), tf.constant(3))
    beside = signatures["top_k"](tf.constant(PROMPTS), tf.constant(3))  # the first one padded to the second's length
    assert beside["words"].numpy()[0].tolist() == alone["words"].numpy()[0].tolist()
    np.testing.assert_allclose(beside["probabilities"][0], alone["probabilities"][0], rtol=1e-6)


def test_tokenize_gives_the_ids_of_the_vocabulary_padded_with_zeros():
    tokens = signatures_of("simple", num_layers=1)["tokenize"](tf.constant(PROMPTS + ["", "  the  "]))
    expected = [VOCAB.encode(prompt.split()) for prompt in PROMPTS + ["", "  the  "]]
    assert tokens["lengths"].numpy().tolist() == [len(ids) for ids in expected]
    assert tokens["ids"].numpy().tolist() == [ids + [0] * (5 - len(ids)) for ids in expected]


def test_step_packs_every_layer_state_and_clips_k():
    signatures = signatures_of("coupled")  # two layers of h and c, 4 units each
    state_size = signatures["step"].input_signature[1].shape[1]
    assert state_size == 2 * 2 * 4
    outputs = signatures["step"](tf.constant([5, 6]), tf.zeros([2, state_size]), tf.constant(1000))
    banned = {VOCAB.ids["<pad>"], VOCAB.ids["<unk>"], VOCAB.ids["<bos>"]}
    assert outputs["state"].shape == (2, state_size) and outputs["top_ids"].shape == (2, len(VOCAB) - len(banned))
    assert not banned & set(outputs["top_ids"].numpy().ravel())  # never predicted, even when k asks for all
    assert signatures["step"](tf.constant([5]), tf.zeros([1, state_size]), tf.constant(0))["top_ids"].shape == (1, 1)
