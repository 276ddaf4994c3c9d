import keras
import numpy as np
import tensorflow as tf

from textlstm.seq2seq import Seq2SeqConfig, beam_search, build_model

SOURCE = np.array([[4, 5, 6, 7], [8, 9, 0, 0]], "int32")


def test_beam_search_takes_beam_size_and_max_len_as_tensors():
    # The SavedModel passes both as int32 inputs; the results must match the Python-int search.
    keras.utils.set_random_seed(0)
    model = build_model(Seq2SeqConfig(vocab_size=20, embedding_dim=6, units=8, bidirectional=True))
    options = {"min_len": 1, "no_repeat_ngram_size": 2}

    @tf.function(input_signature=[tf.TensorSpec([None, None], tf.int32), tf.TensorSpec([], tf.int32),
                                  tf.TensorSpec([], tf.int32)])
    def search(source, beam_size, max_len):
        return beam_search(model, source, 2, 3, beam_size=beam_size, max_len=max_len, **options)

    for beam_size, max_len in ((3, 6), (1, 4)):
        expected_tokens, expected_scores = beam_search(model, SOURCE, 2, 3, beam_size=beam_size, max_len=max_len,
                                                       **options)
        tokens, scores = search(SOURCE, beam_size, max_len)
        np.testing.assert_array_equal(tokens, expected_tokens)
        np.testing.assert_allclose(scores, expected_scores, rtol=1e-5)
