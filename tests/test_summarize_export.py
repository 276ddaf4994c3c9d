import os
import shutil
import subprocess
import sys

import keras
import numpy as np
import pytest
import tensorflow as tf

import textlstm
from textlstm.seq2seq import beam_search, build_model

SOURCE = np.array([[4, 5, 6, 7], [8, 9, 0, 0]], "int32")


def test_beam_search_takes_beam_size_and_max_len_as_tensors():
    # The SavedModel passes both as int32 inputs; the results must match the Python-int search.
    keras.utils.set_random_seed(0)
    model = build_model(vocab_size=20, embedding_dim=6, units=8, bidirectional=True)
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


EDITED_SOURCE_EXPORT = """
import os, sys
sys.path.insert(0, sys.argv[1])
import keras
from textlstm.seq2seq import build_model
from textlstm.summarize.config import SummarizeConfig
from textlstm.summarize.export import export_text_summarizer
from textlstm.vocab import Vocabulary

vocab = Vocabulary.build([["a", "b", "c"]])
model = build_model(vocab_size=len(vocab), embedding_dim=6, units=8, bidirectional=True)
path = os.path.join(sys.argv[1], "textlstm", "seq2seq", "model.py")
with open(path) as file:
    text = file.read()
with open(path, "w") as file:  # as when the code is edited while a long training run goes on
    file.write("# one more line\\n" + text)
export_text_summarizer(model, vocab, SummarizeConfig(), os.path.join(sys.argv[1], "export"))
"""


@pytest.mark.slow  # about 17 s: a fresh process loads the export
def test_export_does_not_reread_the_model_source(tmp_path):
    # Tracing with autograph rereads each method's source from disk: once the file had shifted by a line,
    # the export of a finished AESLC run failed with "tf____init__() missing 8 required positional arguments".
    shutil.copytree(os.path.dirname(textlstm.__file__), tmp_path / "textlstm")
    result = subprocess.run([sys.executable, "-c", EDITED_SOURCE_EXPORT, str(tmp_path)], capture_output=True,
                            text=True, env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"})
    assert result.returncode == 0, result.stderr[-2000:]
    assert (tmp_path / "export" / "saved_model.pb").exists()


def test_an_empty_batch_gets_empty_outputs_of_the_signatures_types(finished_summarize_run):
    _, run, _ = finished_summarize_run
    exported = tf.saved_model.load(str(run / "saved_model"))
    empty = tf.constant([], tf.string)
    decode = exported.signatures["decode"]
    for outputs in (exported.signatures["serving_default"](text=empty),
                    decode(text=empty, beam_size=tf.constant(2), max_len=tf.constant(5))):
        assert outputs["summary"].dtype == tf.string and outputs["summary"].shape == (0,)
        assert outputs["score"].dtype == tf.float32 and outputs["score"].shape == (0,)
    documents = tf.constant(["hi anna , the design review moved to friday .", ""])
    outputs = exported.signatures["serving_default"](text=documents)
    assert outputs["summary"].shape == (2,) and outputs["summary"][1] == b"" and outputs["score"][1] == 0.0
