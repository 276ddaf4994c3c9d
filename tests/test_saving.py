"""Saving textlstm layers: `.keras` files, Bidirectional, SavedModel export."""

import json
import subprocess
import sys
import textwrap

import keras
import numpy as np
import pytest

import textlstm

LAYERS = [textlstm.LSTM, textlstm.PeepholeLSTM, textlstm.CoupledLSTM, textlstm.GRU, textlstm.SimpleRNN]
TOKENS = np.array([[3, 4, 5, 0, 0], [1, 2, 6, 7, 8]])


def text_model(layer_class, bidirectional=False):
    keras.utils.set_random_seed(0)
    recurrent = layer_class(4, return_sequences=True, go_backwards=False, dropout=0.1, recurrent_dropout=0.1)
    if bidirectional:
        recurrent = keras.layers.Bidirectional(recurrent)
    tokens = keras.Input((None,), dtype="int32")
    hidden = recurrent(keras.layers.Embedding(10, 6, mask_zero=True)(tokens))
    return keras.Model(tokens, keras.layers.Dense(3)(layer_class(5, go_backwards=True)(hidden)))


def run_python(code):
    result = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    return result.stdout


@pytest.mark.parametrize("layer_class", LAYERS)
@pytest.mark.parametrize("bidirectional", [False, True])
def test_keras_file_round_trip(tmp_path, layer_class, bidirectional):
    model = text_model(layer_class, bidirectional)
    path = tmp_path / "model.keras"
    model.save(path)
    loaded = textlstm.load_model(path)
    np.testing.assert_array_equal(loaded(TOKENS), model(TOKENS))
    assert [type(layer) for layer in loaded.layers] == [type(layer) for layer in model.layers]
    as_json = lambda layer: json.loads(json.dumps(layer.get_config()))  # noqa: E731 (tuples become lists)
    assert as_json(loaded.layers[2]) == as_json(model.layers[2])


@pytest.mark.slow  # about 4 s: a fresh process
def test_load_model_in_a_fresh_process_needs_only_textlstm(tmp_path):
    model = text_model(textlstm.PeepholeLSTM, bidirectional=True)
    model.save(tmp_path / "model.keras")
    np.save(tmp_path / "expected.npy", model(TOKENS))
    run_python(
        f"""
        import numpy as np, textlstm
        model = textlstm.load_model({str(tmp_path / "model.keras")!r})
        np.testing.assert_array_equal(model(np.array({TOKENS.tolist()})), np.load({str(tmp_path / "expected.npy")!r}))
        """
    )


@pytest.mark.parametrize("layer_class", [textlstm.LSTM, textlstm.GRU])
def test_bidirectional_matches_keras(layer_class):
    keras_class = {textlstm.LSTM: keras.layers.LSTM, textlstm.GRU: keras.layers.GRU}[layer_class]
    ours = keras.layers.Bidirectional(layer_class(4, return_sequences=True))
    theirs = keras.layers.Bidirectional(keras_class(4, return_sequences=True))
    x = np.random.RandomState(0).randn(2, 5, 3).astype("float32")
    mask = np.array([[True] * 5, [True, True, False, False, False]])
    theirs(x)
    ours(x)
    ours.set_weights(theirs.get_weights())
    assert type(ours.backward_layer) is layer_class and ours.backward_layer.go_backwards
    np.testing.assert_allclose(ours(x, mask=mask), theirs(x, mask=mask), rtol=1e-5, atol=1e-6)


@pytest.mark.slow  # about 15 s: a fresh process without textlstm or keras
def test_export_runs_without_textlstm_or_keras(tmp_path):
    model = text_model(textlstm.LSTM, bidirectional=True)
    model.export(str(tmp_path / "exported"), verbose=False)
    np.save(tmp_path / "expected.npy", model(TOKENS))
    run_python(SERVE_WITHOUT_TEXTLSTM.format(path=str(tmp_path / "exported"), tokens=TOKENS.tolist(), expected=str(tmp_path / "expected.npy")))


# Runs an exported model with textlstm made unimportable, and checks that
# loading and serving import nothing from keras beyond what `import
# tensorflow` itself brings in.
SERVE_WITHOUT_TEXTLSTM = """
import sys
sys.modules["textlstm"] = None
import numpy as np, tensorflow as tf
before = set(sys.modules)
exported = tf.saved_model.load({path!r})
result = exported.serve(tf.constant({tokens}, dtype=tf.int32))
np.testing.assert_allclose(result, np.load({expected!r}), rtol=1e-6, atol=1e-6)
imported = sorted(m for m in set(sys.modules) - before if m.split(".")[0] == "keras")
assert not imported, imported
"""
