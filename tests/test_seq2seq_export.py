import subprocess
import sys

import keras
import numpy as np
import pytest

from textlstm.seq2seq import Seq2SeqConfig, beam_search, build_model, export_summarizer

SOURCE = np.array([[4, 5, 6, 7], [8, 9, 0, 0]], "int32")
OPTIONS = {"beam_size": 3, "max_len": 6, "min_len": 1, "no_repeat_ngram_size": 2}

RELOAD = """
import sys
import numpy as np
import tensorflow as tf
summarizer = tf.saved_model.load(sys.argv[1])
source = tf.constant(np.load(sys.argv[2]))
outputs = summarizer.signatures["serving_default"](source=source)
np.save(sys.argv[3], outputs["tokens"].numpy())
assert summarizer.summarize(source[:1])["tokens"].shape == (1, 6)
"""


@pytest.mark.slow
def test_exported_summarizer_reloads_in_a_fresh_process(tmp_path):
    keras.utils.set_random_seed(0)
    model = build_model(Seq2SeqConfig(vocab_size=20, embedding_dim=6, units=8, bidirectional=True))
    export_summarizer(model, str(tmp_path / "summarizer"), bos_id=1, eos_id=2, **OPTIONS)
    np.save(tmp_path / "source.npy", SOURCE)
    subprocess.run(
        [sys.executable, "-c", RELOAD, str(tmp_path / "summarizer"), str(tmp_path / "source.npy"), str(tmp_path / "tokens.npy")],
        check=True,
    )
    expected, _ = beam_search(model, SOURCE, 1, 2, **OPTIONS)
    np.testing.assert_array_equal(np.load(tmp_path / "tokens.npy"), expected)
