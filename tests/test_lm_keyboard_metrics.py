"""Keyboard metrics: top-1 and top-3 next-word recall of the stateful evaluator against a NumPy reference."""

import keras
import numpy as np
import tensorflow as tf

from textlstm.lm.config import LMConfig
from textlstm.lm.data import stream_windows
from textlstm.lm.inference import next_word_scores
from textlstm.lm.model import build_language_model, compile_language_model, copy_weights
from textlstm.lm.perplexity import evaluate_perplexity
from textlstm.vocab import BOS, PAD, Vocabulary

VOCAB = Vocabulary.build([["the", "cat", "sees", "a", "dog", "likes", "ball", "."]])


def reference_recall(logits, targets, weights, k):
    """The share of real, known targets among the k largest logits, `<pad>` and `<bos>` never predicted."""
    logits = logits.copy()
    logits[..., [VOCAB.ids[PAD], VOCAB.ids[BOS]]] = -np.inf
    likeliest = np.argsort(-logits, axis=-1, kind="stable")[..., :k]
    hits = (likeliest == targets[..., None]).any(axis=-1)
    counted = weights * (targets != VOCAB.unk_id)
    return (hits * counted).sum() / counted.sum()


def test_recall_counts_the_known_targets_among_the_likeliest_predictions():
    keras.utils.set_random_seed(2)
    config = LMConfig(cell="coupled", units=4, embedding_dim=4, num_layers=1, init_scale=1.0, batch_size=3, bptt=4)
    ids = np.random.default_rng(0).integers(1, len(VOCAB), size=70)  # <unk> (id 1) included
    assert (ids[1:] == VOCAB.unk_id).sum() > 3
    evaluator = compile_language_model(
        build_language_model(config, len(VOCAB), batch_size=config.batch_size, stateful=True), config)
    batches = tf.data.Dataset.from_tensor_slices(stream_windows(ids, config.batch_size, config.bptt))
    perplexity = evaluate_perplexity(evaluator, batches.batch(config.batch_size))
    scores = next_word_scores(evaluator, batches.batch(config.batch_size), VOCAB)

    # The reference reads each of the evaluator's three streams whole, in one window, without carrying states.
    whole = build_language_model(config, len(VOCAB))
    copy_weights(evaluator, whole)
    inputs, targets, weights = stream_windows(ids, config.batch_size, bptt=-(-(len(ids) - 1) // config.batch_size))
    logits = whole(inputs).numpy()  # (streams, stream length, vocab)
    assert scores["perplexity"] == perplexity
    for k in (1, 3):
        np.testing.assert_allclose(scores[f"top{k}_recall"], reference_recall(logits, targets, weights, k), rtol=1e-6)
    assert 0 < scores["top1_recall"] < scores["top3_recall"] < 1
