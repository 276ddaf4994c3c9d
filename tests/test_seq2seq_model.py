import dataclasses
import inspect

import keras
import numpy as np
import pytest

import textlstm
from textlstm.seq2seq import Decoding, Seq2Seq, beam_search, build_model, greedy_search, masked_loss

SOURCE = np.array([[4, 5, 6, 7, 8], [9, 10, 11, 0, 0]], "int32")
DECODER_INPUT = np.array([[2, 12, 13, 14], [2, 15, 0, 0]], "int32")
LABELS = np.array([[12, 13, 14, 3], [15, 3, 0, 0]], "int32")


def tiny_model(**overrides):
    keras.utils.set_random_seed(0)
    fields = {"vocab_size": 20, "embedding_dim": 6, "units": 4, **overrides}
    return build_model(**fields)


def run(model, source=SOURCE, decoder_input=DECODER_INPUT):
    return np.asarray(model({"source": source, "decoder_input": decoder_input}))


def pad_columns(array, extra):
    return np.pad(array, ((0, 0), (0, extra)))


@pytest.mark.parametrize("cell", ["lstm", "peephole", "coupled", "gru", "simple"])
def test_logits_shape_for_every_cell(cell):
    model = tiny_model(cell=cell)
    assert run(model).shape == (2, 4, 20)


VARIANTS = [
    {},
    {"bidirectional": True, "num_layers": 2, "attention": "bahdanau"},
    {"cell": "gru", "bidirectional": True, "tie_weights": True},
    {"cell": "peephole", "num_layers": 2, "dropout": 0.3},
    {"copy": True, "bidirectional": True},
    {"copy": True, "attention": "bahdanau", "tie_weights": True},
    {"coverage": True},
    {"copy": True, "coverage": True, "attention": "bahdanau", "bidirectional": True, "num_layers": 2},
    {"cell": "gru", "num_layers": 2, "dropout": 0.3, "weight_dropout": 0.5},
]


@pytest.mark.parametrize("overrides", VARIANTS)
def test_decode_step_matches_teacher_forcing(overrides):
    model = tiny_model(**overrides)
    encoded = model.encode(SOURCE)
    states, steps = model.initial_states(encoded), []
    for time in range(DECODER_INPUT.shape[1]):
        logits, states = model.decode_step(DECODER_INPUT[:, time], states, encoded)
        steps.append(np.asarray(logits))
    step_by_step = np.stack(steps, axis=1)
    teacher_forced = run(model)
    np.testing.assert_allclose(step_by_step[0], teacher_forced[0], atol=1e-5)
    np.testing.assert_allclose(step_by_step[1, :2], teacher_forced[1, :2], atol=1e-5)  # beyond: padding


@pytest.mark.parametrize("overrides", VARIANTS)
def test_padding_appended_to_source_changes_nothing(overrides):
    model = tiny_model(**overrides)
    loss = masked_loss()
    padded = pad_columns(SOURCE, 3)
    np.testing.assert_allclose(run(model, source=padded), run(model), atol=1e-5)
    np.testing.assert_allclose(
        float(loss(LABELS, run(model, source=padded))), float(loss(LABELS, run(model))), rtol=1e-6
    )


def test_loss_ignores_padding_targets():
    model = tiny_model()
    loss = masked_loss()
    logits = run(model)
    padded_logits = run(model, decoder_input=pad_columns(DECODER_INPUT, 2))
    np.testing.assert_allclose(
        float(loss(pad_columns(LABELS, 2), padded_logits)), float(loss(LABELS, logits)), rtol=1e-6
    )
    log_probs = logits - np.log(np.exp(logits).sum(-1, keepdims=True))
    picked = np.take_along_axis(log_probs, LABELS[..., None], axis=-1)[..., 0]
    expected = -picked[LABELS != 0].mean()  # mean over the 6 real targets only
    np.testing.assert_allclose(float(loss(LABELS, logits)), expected, rtol=1e-5)


def test_copy_output_is_a_distribution_that_can_only_copy_when_the_gate_is_shut():
    model = tiny_model(copy=True)
    probabilities = np.exp(run(model))
    np.testing.assert_allclose(probabilities.sum(-1), 1.0, rtol=1e-5)
    model.copy_gate.bias.assign([-100.0])  # p_gen = 0: copy only
    probabilities = np.exp(run(model))
    for row, source in enumerate(SOURCE):
        words = sorted(set(source) - {0})
        np.testing.assert_allclose(probabilities[row][:, words].sum(-1), 1.0, rtol=1e-5)  # all mass on the source
        others = np.delete(probabilities[row], words, axis=-1)
        assert others.max() < 1e-6  # padding (id 0) included: masked positions get no weight
    source = np.array([[4, 4, 5]], "int32")  # a repeated word gets the weight of both of its positions
    probabilities = np.exp(run(model, source=source, decoder_input=DECODER_INPUT[:1]))[0]
    np.testing.assert_allclose(probabilities[:, 4] + probabilities[:, 5], 1.0, rtol=1e-5)


def test_tied_embeddings_share_the_matrix():
    model = tiny_model(tie_weights=True)
    assert model.output_projection is None
    assert model.attentional.units == model.embedding_dim
    names = [weight.path for weight in model.weights]
    assert sum("embeddings" in name for name in names) == 1


@pytest.mark.slow  # about 4 s: a model trained
def test_training_lowers_the_loss():
    model = tiny_model(units=8)
    model.compile(optimizer=keras.optimizers.Adam(0.05), loss=masked_loss())
    inputs = {"source": SOURCE, "decoder_input": DECODER_INPUT}
    before = model.evaluate(inputs, LABELS, verbose=0)
    model.fit(inputs, LABELS, epochs=20, verbose=0)
    assert model.evaluate(inputs, LABELS, verbose=0) < before / 2


def test_keras_file_round_trip(tmp_path):
    model = tiny_model(bidirectional=True, tie_weights=True, attention="bahdanau", copy=True, coverage=True,
                       coverage_weight=0.5)
    path = tmp_path / "seq2seq.keras"
    model.save(path)
    reloaded = textlstm.load_model(path)
    assert isinstance(reloaded, Seq2Seq)
    assert reloaded.get_config() == model.get_config()
    np.testing.assert_allclose(run(reloaded), run(model), atol=1e-6)


@pytest.mark.parametrize(
    "overrides, message",
    [
        ({"cell": "lstmm"}, "cell='lstmm'"),
        ({"attention": "dot"}, "attention='dot'"),
        ({"units": 0}, "units=0"),
        ({"num_layers": 1.5}, "num_layers=1.5"),
        ({"dropout": 1.0}, "dropout=1.0"),
        ({"weight_dropout": -0.5}, "weight_dropout=-0.5"),
    ],
)
def test_invalid_arguments_are_named(overrides, message):
    with pytest.raises(ValueError, match=message.replace("(", r"\(")):
        Seq2Seq(**{"vocab_size": 20, **overrides})


def test_decoding_defaults_live_in_one_place():
    from textlstm.summarize.config import SummarizeConfig

    defaults = dataclasses.asdict(Decoding())
    for search in (beam_search, greedy_search):
        parameters = inspect.signature(search).parameters
        assert {name: parameters[name].default for name in parameters if name in defaults} == {
            name: value for name, value in defaults.items() if name in parameters}
    config = SummarizeConfig()
    assert {name: getattr(config, name) for name in defaults} == defaults


def test_summarize_config_names_the_model_arguments():
    from textlstm.summarize.config import SummarizeConfig

    arguments = SummarizeConfig(units=4, embedding_dim=6, tie_weights=True, weight_drop=0.3).model_arguments(20)
    assert set(arguments) <= set(inspect.signature(Seq2Seq.__init__).parameters)
    model = build_model(**arguments)
    assert model.get_config()["tie_weights"] and model.output_projection is None
    assert model.get_config()["weight_dropout"] == 0.3


def test_weight_dropout_reaches_every_recurrent_layer_and_dropout_is_locked():
    model = tiny_model(bidirectional=True, num_layers=2, dropout=0.5, weight_dropout=0.5)
    layers = [half for layer in model.encoder_layers for half in (layer.forward_layer, layer.backward_layer)]
    assert [layer.weight_dropout for layer in layers + model.decoder_layers] == [0.5] * 6
    plain = tiny_model(bidirectional=True, num_layers=2)
    plain.set_weights(model.get_weights())
    np.testing.assert_allclose(run(model), run(plain), atol=1e-6)  # in inference, no dropout of either kind
    training = np.asarray(model({"source": SOURCE, "decoder_input": DECODER_INPUT}, training=True))
    assert np.abs(training - run(plain)).max() > 1e-3
    dropped = np.asarray(model.dropout_layer(np.ones((3, 5, 4), "float32"), training=True))
    assert (dropped == dropped[:, :1]).all() and (dropped == 0).any()  # one mask per sequence


@pytest.mark.parametrize("label_smoothing", [0.0, 0.1])
def test_loss_is_the_same_with_target_weights_and_with_padding_rows(label_smoothing):
    # What `TaskData.batches` gives: weight 1 on each real target, and rows of only padding with weight 0.
    loss = masked_loss(label_smoothing)
    logits = np.random.default_rng(0).normal(size=(*LABELS.shape, 20)).astype("float32")
    alone = float(loss(LABELS, logits))
    weights = (LABELS != 0).astype("float32")
    np.testing.assert_allclose(float(loss(LABELS, logits, sample_weight=weights)), alone, rtol=1e-6)
    padded_labels = np.concatenate([LABELS, np.zeros_like(LABELS)])
    padded_logits = np.concatenate([logits, logits])
    padded_weights = np.concatenate([weights, np.zeros_like(weights)])
    np.testing.assert_allclose(float(loss(padded_labels, padded_logits, sample_weight=padded_weights)), alone,
                               rtol=1e-6)
