"""textlstm layers against Keras's own, with copied weights."""

import itertools

import keras
import numpy as np
import pytest
import tensorflow as tf

import textlstm

BATCH, TIME, FEATURES, UNITS = 3, 5, 6, 4

TWINS = {  # name: (textlstm layer, Keras layer, extra arguments)
    "lstm": (textlstm.LSTM, keras.layers.LSTM, {}),
    "gru": (textlstm.GRU, keras.layers.GRU, {}),
    "gru_reset_before": (textlstm.GRU, keras.layers.GRU, {"reset_after": False}),
    "simple_rnn": (textlstm.SimpleRNN, keras.layers.SimpleRNN, {}),
}
STATE_COUNT = {"lstm": 2, "gru": 1, "gru_reset_before": 1, "simple_rnn": 1}


def covering(names, flag_rows, default_rows):
    """Parameters (name, *flags) for every name and flag row; only default_rows run by default, the rest are slow.

    default_rows between them give every flag both values for every name, so
    the default run checks each setting and the slow run every combination.
    """
    return [pytest.param(name, *row, marks=() if row in default_rows else pytest.mark.slow)
            for name in names for row in flag_rows]


def inputs(seed=0):
    return np.random.RandomState(seed).randn(BATCH, TIME, FEATURES).astype("float32")


def padding_mask():
    mask = np.ones((BATCH, TIME), dtype=bool)
    mask[1, 3:] = False  # a shorter sequence
    mask[2, 1:] = False
    return mask


def twin_pair(name, units=UNITS, **arguments):
    ours_class, keras_class, extra = TWINS[name]
    keras.utils.set_random_seed(1)
    theirs = keras_class(units, **extra, **arguments)
    ours = ours_class(units, **extra, **arguments)
    theirs.build((None, TIME, FEATURES))
    ours.build((None, TIME, FEATURES))
    # Random biases so that the bias layout is exercised too.
    weights = [np.random.RandomState(i).uniform(-0.5, 0.5, w.shape).astype("float32") for i, w in enumerate(theirs.get_weights())]
    theirs.set_weights(weights)
    ours.set_weights(weights)
    return ours, theirs


def in_blocks_of(steps, layer):
    """Cuts the layer's time loop into blocks of `steps` steps also at the tests' small batch size."""
    layer.time_blocks = textlstm.sequence_loop.TimeBlocks(steps_per_block=steps, min_batch=1)


@pytest.fixture
def blocks_run(monkeypatch):
    """The length of every block of steps that the layers run through `time_loop.with_gradient`, in order."""
    lengths = []
    with_gradient = textlstm.time_loop.with_gradient
    monkeypatch.setattr(textlstm.time_loop, "with_gradient", lambda loop: lengths.append(loop.z_x.shape[0]) or with_gradient(loop))
    return lengths


def run_with_gradients(layer, x, **call_arguments):
    x = tf.convert_to_tensor(x)
    with tf.GradientTape() as tape:
        tape.watch(x)
        outputs = tf.nest.flatten(layer(x, **call_arguments))
        # A random weighting of every output, so each one's gradient is checked.
        loss = sum(tf.reduce_sum(output * np.random.RandomState(k).randn(*output.shape)) for k, output in enumerate(outputs))
    gradients = tape.gradient(loss, [x] + layer.trainable_weights)
    return outputs, gradients


@pytest.mark.parametrize(
    "name, return_sequences, return_state, go_backwards, masked, with_initial_state",
    covering(TWINS, list(itertools.product([False, True], repeat=5)),
             [(False,) * 5, (True,) * 5, (True, False, True, False, True), (False, True, False, True, False)]),
)
def test_outputs_states_and_gradients_match_keras(name, return_sequences, return_state, go_backwards, masked, with_initial_state, blocks_run):
    arguments = dict(return_sequences=return_sequences, return_state=return_state, go_backwards=go_backwards)
    ours, theirs = twin_pair(name, **arguments)
    in_blocks_of(2, ours)  # the time loop in blocks of 2, 2 and 1 steps (one block: most other tests)
    call_arguments = {}
    if masked:
        call_arguments["mask"] = tf.constant(padding_mask())
    if with_initial_state:
        call_arguments["initial_state"] = [
            tf.constant(np.random.RandomState(10 + i).randn(BATCH, UNITS).astype("float32")) for i in range(STATE_COUNT[name])
        ]
    our_outputs, our_gradients = run_with_gradients(ours, inputs(), **call_arguments)
    their_outputs, their_gradients = run_with_gradients(theirs, inputs(), **call_arguments)
    assert blocks_run == [2, 2, 1]
    assert len(our_outputs) == len(their_outputs)
    for ours_value, theirs_value in zip(our_outputs + our_gradients, their_outputs + their_gradients):
        np.testing.assert_allclose(ours_value, theirs_value, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("name", TWINS)
def test_function_traced_for_inference_then_differentiated_matches_keras(name, monkeypatch):
    # Traced with no tape, the loop keeps only h; a gradient taken later through the same trace runs it again.
    kept = []
    run = textlstm.time_loop.run

    def recording_run(*args, keep_all=True, **kwargs):
        kept.append(keep_all)
        return run(*args, keep_all=keep_all, **kwargs)

    monkeypatch.setattr(textlstm.time_loop, "run", recording_run)
    ours, theirs = twin_pair(name, return_sequences=True, return_state=True)
    ours.time_blocks = textlstm.sequence_loop.TimeBlocks(max_unrolled_steps=0)  # the loop, not unrolled
    mask = tf.constant(padding_mask())
    forward = tf.function(lambda x: ours(x, mask=mask))
    x = tf.constant(inputs())
    forward(x)
    assert kept == [False]
    with tf.GradientTape() as tape:
        tape.watch(x)
        outputs = forward(x)
        loss = sum(tf.reduce_sum(output * np.random.RandomState(k).randn(*output.shape)) for k, output in enumerate(outputs))
    our_gradients = tape.gradient(loss, [x] + ours.trainable_weights)
    their_outputs, their_gradients = run_with_gradients(theirs, x, mask=mask)
    for ours_value, theirs_value in zip(list(outputs) + our_gradients, their_outputs + their_gradients):
        np.testing.assert_allclose(ours_value, theirs_value, rtol=1e-5, atol=1e-5)
    assert kept[1:] == [True]  # the second run, inside the gradient


@pytest.mark.parametrize("name", TWINS)
def test_mask_from_embedding_matches_keras(name):
    ours_class, keras_class, extra = TWINS[name]
    tokens = np.array([[3, 4, 5, 0, 0], [1, 2, 0, 0, 0], [7, 7, 7, 7, 7]])

    def model(layer_class):
        keras.utils.set_random_seed(3)
        return keras.Sequential([keras.layers.Embedding(10, FEATURES, mask_zero=True), layer_class(UNITS, return_sequences=True, **extra)])

    ours, theirs = model(ours_class), model(keras_class)
    theirs(tokens)
    ours(tokens)
    ours.set_weights(theirs.get_weights())
    np.testing.assert_allclose(ours(tokens), theirs(tokens), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("name", TWINS)
def test_long_sequences_of_known_and_unknown_length_match_keras(name, blocks_run):
    # 30 steps: several blocks, the last one shorter, when the length is known; one block when a graph leaves it open.
    ours, theirs = twin_pair(name, return_sequences=True, return_state=True)
    in_blocks_of(7, ours)
    x = tf.constant(np.random.RandomState(5).randn(BATCH, 30, FEATURES).astype("float32"))
    spec = tf.TensorSpec((None, None, FEATURES), tf.float32)
    for call in (lambda layer: layer(x), lambda layer: tf.function(layer.__call__, input_signature=[spec])(x)):
        for ours_value, theirs_value in zip(call(ours), call(theirs)):
            np.testing.assert_allclose(ours_value, theirs_value, rtol=1e-5, atol=1e-5)
    assert blocks_run == [7, 7, 7, 7, 2, None]


@pytest.mark.parametrize("batch, one_block", [(1, True), (7, True), (8, False), (None, False)])
def test_a_batch_below_eight_runs_the_loop_as_one_block(batch, one_block, blocks_run):
    layer = textlstm.LSTM(UNITS)
    layer.time_blocks = textlstm.sequence_loop.TimeBlocks(max_unrolled_steps=0)  # the loop, not unrolled
    layer.build((None, 30, FEATURES))
    tf.function(layer.__call__).get_concrete_function(tf.TensorSpec((batch, 30, FEATURES)))
    assert blocks_run == ([30] if one_block else [7, 7, 7, 7, 2])


# The golden tests above run every layer's inference unrolled too; here the LSTM is in the default suite.
@pytest.mark.parametrize("name", [name if name == "lstm" else pytest.param(name, marks=pytest.mark.slow) for name in TWINS])
def test_inference_at_a_small_batch_runs_unrolled_and_gives_what_the_loop_gives(name, blocks_run):
    ours, _ = twin_pair(name, return_sequences=True, return_state=True)
    looping, _ = twin_pair(name, return_sequences=True, return_state=True)
    looping.time_blocks = textlstm.sequence_loop.TimeBlocks(max_unrolled_steps=0)
    x, mask = tf.constant(inputs()), tf.constant(padding_mask())
    unrolled = tf.function(lambda x: ours(x, mask=mask))(x)
    assert blocks_run == []  # no time loop
    for ours_value, loop_value in zip(unrolled, tf.function(lambda x: looping(x, mask=mask))(x)):
        np.testing.assert_allclose(ours_value, loop_value, rtol=1e-6, atol=1e-6)
    longer = tf.function(ours.__call__).get_concrete_function(tf.TensorSpec((1, 65, FEATURES)))
    assert blocks_run == [TIME, 65] and longer is not None  # the loop: the looping twin's, and 65 steps (over 64)


@pytest.fixture
def products_in_column_blocks(monkeypatch):
    """Every product with U cut into column blocks, not only at the sizes where that is faster; counts them.

    The forward loop's products give z_h, `gates * units` wide; the backward loop's give the gradient of h, `units` wide.
    """
    monkeypatch.setattr(textlstm.time_loop, "BLOCKWISE_MULTIPLY_ADDS", (0, float("inf")))
    monkeypatch.setattr(textlstm.time_loop, "BLOCKWISE_MIN_BATCH", 1)
    widths = []
    original = textlstm.time_loop.blockwise_matmul

    def blockwise_matmul(a, kernel):
        if isinstance(kernel, list):
            widths.append(sum(block.shape[1] for block in kernel))
        return original(a, kernel)

    monkeypatch.setattr(textlstm.time_loop, "blockwise_matmul", blockwise_matmul)
    return widths


@pytest.mark.parametrize("name", TWINS)
@pytest.mark.parametrize("in_graph", [False, True])
def test_recurrent_products_in_column_blocks_match_keras(name, in_graph, products_in_column_blocks):
    # 5 units: the backward product's two blocks are uneven (2 and 3 columns of U^T).
    arguments = dict(return_sequences=True, return_state=True, go_backwards=True)
    ours, theirs = twin_pair(name, units=5, **arguments)
    mask = tf.constant(padding_mask())
    states = [tf.constant(np.random.RandomState(10 + i).randn(BATCH, 5).astype("float32")) for i in range(STATE_COUNT[name])]
    run = tf.function(run_with_gradients, autograph=False) if in_graph else run_with_gradients
    our_outputs, our_gradients = run(ours, inputs(), mask=mask, initial_state=states)
    their_outputs, their_gradients = run_with_gradients(theirs, inputs(), mask=mask, initial_state=states)
    for ours_value, theirs_value in zip(our_outputs + our_gradients, their_outputs + their_gradients):
        np.testing.assert_allclose(ours_value, theirs_value, rtol=1e-5, atol=1e-5)
    widths = set(products_in_column_blocks)
    assert 5 in widths  # backward
    assert max(widths) > 5 or name == "simple_rnn"  # forward; one gate: one block


def test_column_blocks_only_where_they_were_faster():
    blocks = textlstm.time_loop.column_blocks(tf.zeros((200, 800)), 20, 4)  # batch 20, 200 units, 4 gates
    assert [block.shape for block in blocks] == [(200, 200)] * 4
    assert [block.shape[1] for block in textlstm.time_loop.column_blocks(tf.zeros((800, 201)), 20, 2)] == [100, 101]
    cases = [((200, 800), 1), ((200, 800), None), ((650, 2600), 64), ((650, 2600), 1), ((100, 400), 20)]
    for kernel, batch in ((tf.zeros(shape), batch) for shape, batch in cases):
        assert textlstm.time_loop.column_blocks(kernel, batch, 4) is kernel


@pytest.fixture
def mixed_bfloat16():
    keras.mixed_precision.set_global_policy("mixed_bfloat16")
    yield
    keras.mixed_precision.set_global_policy("float32")


@pytest.mark.parametrize("name", TWINS)
def test_mixed_precision_matches_keras(name, mixed_bfloat16, blocks_run):
    # bfloat16 compute with float32 weights: the gradients must come back float32 and agree with Keras's.
    ours, theirs = twin_pair(name, return_sequences=True)
    in_blocks_of(2, ours)
    our_outputs, our_gradients = run_with_gradients(ours, inputs(), mask=tf.constant(padding_mask()), training=True)
    assert blocks_run == [2, 2, 1]
    their_outputs, their_gradients = run_with_gradients(theirs, inputs(), mask=tf.constant(padding_mask()), training=True)
    assert our_outputs[0].dtype == their_outputs[0].dtype == tf.bfloat16.as_numpy_dtype
    assert [g.dtype for g in our_gradients[1:]] == [np.float32] * len(ours.trainable_weights)
    for ours_value, theirs_value in zip(our_outputs + our_gradients, their_outputs + their_gradients):
        np.testing.assert_allclose(np.float32(ours_value), np.float32(theirs_value), rtol=0.05, atol=0.05)


@pytest.mark.parametrize("name", ["peephole", "gru_reset_before"])
def test_mixed_precision_trains_weights_that_the_step_reads_itself(name, mixed_bfloat16):
    layer_class, extra = LOOPS[name]
    layer = layer_class(UNITS, return_sequences=True, **extra)
    layer.build((None, TIME, FEATURES))
    outputs, gradients = run_with_gradients(layer, inputs(), training=True)
    np.testing.assert_allclose(np.float32(layer.trace(inputs())["h"]), np.float32(outputs[0]), atol=1e-2)
    assert all(g.dtype == np.float32 and np.abs(g).max() > 0 for g in gradients[1:])


@pytest.mark.parametrize("name", ["peephole", "gru_reset_before"])
def test_the_time_loops_read_the_weights_of_the_step_once_not_at_every_step(name):
    layer_class, extra = LOOPS[name]
    layer = layer_class(UNITS, return_sequences=True, **extra)
    layer.build((None, TIME, FEATURES))
    in_blocks_of(2, layer)

    @tf.function
    def gradients(x):
        with tf.GradientTape() as tape:
            loss = tf.reduce_sum(layer(x))
        return tape.gradient(loss, layer.trainable_weights)

    graph = gradients.get_concrete_function(tf.constant(inputs())).graph
    loops = [function for function in graph.as_graph_def().library.function if "_body_" in function.signature.name]
    assert len(loops) == 2 * 3  # forward and backward, in blocks of 2, 2 and 1 steps
    assert [node.op for loop in loops for node in loop.node_def if node.op == "ReadVariableOp"] == []


def test_weights_that_a_cell_reads_without_declaring_them_still_get_their_gradients(monkeypatch):
    layer = textlstm.PeepholeLSTM(UNITS, return_sequences=True)
    layer.build((None, TIME, FEATURES))
    randomize(layer)
    declared = run_with_gradients(layer, inputs())
    monkeypatch.setattr(textlstm.PeepholeLSTMCell, "step_weights", property(lambda cell: []))
    undeclared = run_with_gradients(layer, inputs())
    assert all(np.abs(gradient).max() > 0 for gradient in undeclared[1][-3:])  # the peepholes'
    for a, b in zip(declared[0] + declared[1], undeclared[0] + undeclared[1]):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("name", TWINS)
def test_unrolled_loop_gives_the_same_numbers(name):
    ours, _ = twin_pair(name, return_sequences=True)
    unrolled = TWINS[name][0](UNITS, return_sequences=True, unroll=True, **TWINS[name][2])
    unrolled.build((None, TIME, FEATURES))
    unrolled.set_weights(ours.get_weights())
    np.testing.assert_allclose(unrolled(inputs()), ours(inputs()), rtol=1e-6, atol=1e-6)


CELLS = {
    "lstm": (textlstm.LSTMCell, textlstm.LSTM),
    "peephole": (textlstm.PeepholeLSTMCell, textlstm.PeepholeLSTM),
    "coupled": (textlstm.CoupledLSTMCell, textlstm.CoupledLSTM),
    "gru": (textlstm.GRUCell, textlstm.GRU),
    "simple_rnn": (textlstm.SimpleRNNCell, textlstm.SimpleRNN),
}


def randomize(layer, seed=0):
    layer.set_weights([np.random.RandomState(seed + i).uniform(-0.5, 0.5, w.shape).astype("float32") for i, w in enumerate(layer.get_weights())])


@pytest.mark.parametrize("name", CELLS)
def test_cell_in_keras_rnn_equals_layer(name):
    cell_class, layer_class = CELLS[name]
    generic = keras.layers.RNN(cell_class(UNITS), return_sequences=True, return_state=True)
    ours = layer_class(UNITS, return_sequences=True, return_state=True)
    generic(inputs())
    ours(inputs())
    randomize(ours)
    generic.set_weights(ours.get_weights())
    for a, b in zip(generic(inputs()), ours(inputs())):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("name", CELLS)
def test_stacked_cells_equal_stacked_layers(name):
    cell_class, layer_class = CELLS[name]
    stacked = keras.layers.RNN([cell_class(UNITS), cell_class(UNITS + 1)], return_sequences=True)
    first, second = layer_class(UNITS, return_sequences=True), layer_class(UNITS + 1, return_sequences=True)
    stacked(inputs())
    second(first(inputs()))
    randomize(first, 0)
    randomize(second, 10)
    stacked.set_weights(first.get_weights() + second.get_weights())
    np.testing.assert_allclose(stacked(inputs()), second(first(inputs())), rtol=1e-6, atol=1e-6)


def block_lstm_reference(x, layer):
    """Runs TensorFlow's fused peephole LSTM kernel on the layer's weights."""
    kernel, recurrent_kernel, bias, peephole_i, peephole_f, peephole_o = layer.get_weights()
    units = layer.units
    zeros = np.zeros((x.shape[0], units), "float32")
    outputs = tf.raw_ops.BlockLSTMV2(
        seq_len_max=np.int64(x.shape[1]),
        x=np.transpose(x, (1, 0, 2)),
        cs_prev=zeros,
        h_prev=zeros,
        w=np.concatenate([kernel, recurrent_kernel]),  # BlockLSTMV2's gate order is Keras's i, f, g, o
        wci=peephole_i,
        wcf=peephole_f,
        wco=peephole_o,
        b=bias,
        cell_clip=0.0,
        use_peephole=True,
    )
    return np.transpose(outputs.h.numpy(), (1, 0, 2)), np.transpose(outputs.cs.numpy(), (1, 0, 2))


def test_peephole_matches_tensorflow_block_lstm():
    layer = textlstm.PeepholeLSTM(UNITS, return_sequences=True)
    layer(inputs())
    randomize(layer)
    expected_h, expected_c = block_lstm_reference(inputs(), layer)
    assert np.abs(layer.get_weights()[-1]).min() > 0  # the peepholes are in play
    trace = layer.trace(inputs())
    np.testing.assert_allclose(layer(inputs()), expected_h, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(trace["c"], expected_c, rtol=1e-5, atol=1e-6)


def test_peephole_with_zero_peepholes_is_the_plain_lstm():
    peephole = textlstm.PeepholeLSTM(UNITS, return_sequences=True)
    plain = textlstm.LSTM(UNITS, return_sequences=True)
    plain(inputs())
    peephole(inputs())
    randomize(plain)
    peephole.set_weights(plain.get_weights() + [np.zeros(UNITS, "float32")] * 3)
    np.testing.assert_allclose(peephole(inputs()), plain(inputs()), rtol=1e-6, atol=1e-7)


def coupled_reference(x, kernel, recurrent_kernel, bias):
    def sigmoid(v):
        return 1 / (1 + np.exp(-v))

    h = np.zeros((x.shape[0], UNITS))
    c = np.zeros((x.shape[0], UNITS))
    outputs = []
    for t in range(x.shape[1]):
        z = x[:, t] @ kernel + h @ recurrent_kernel + bias
        f, g, o = sigmoid(z[:, :UNITS]), np.tanh(z[:, UNITS : 2 * UNITS]), sigmoid(z[:, 2 * UNITS :])
        c = f * c + (1 - f) * g
        h = o * np.tanh(c)
        outputs.append(h)
    return np.stack(outputs, axis=1)


def test_coupled_matches_numpy_reference():
    layer = textlstm.CoupledLSTM(UNITS, return_sequences=True)
    layer(inputs())
    randomize(layer)
    kernel, recurrent_kernel, bias = layer.get_weights()
    assert kernel.shape == (FEATURES, 3 * UNITS)
    np.testing.assert_allclose(layer(inputs()), coupled_reference(inputs().astype("float64"), kernel, recurrent_kernel, bias), rtol=1e-5, atol=1e-6)


def test_unit_forget_bias_starts_the_forget_gate_at_one():
    lstm, coupled = textlstm.LSTM(UNITS), textlstm.CoupledLSTM(UNITS)
    lstm(inputs())
    coupled(inputs())
    np.testing.assert_array_equal(lstm.cell.bias.numpy(), np.repeat([0, 1, 0, 0], UNITS))
    np.testing.assert_array_equal(coupled.cell.bias.numpy(), np.repeat([1, 0, 0], UNITS))


@pytest.mark.parametrize("name", CELLS)
@pytest.mark.parametrize("go_backwards", [False, True])
def test_trace_reports_the_values_of_the_forward_pass(name, go_backwards):
    _, layer_class = CELLS[name]
    layer = layer_class(UNITS, return_sequences=True, return_state=True, go_backwards=go_backwards)
    outputs, *states = layer(inputs(), mask=padding_mask())
    trace = layer.trace(inputs(), mask=padding_mask())
    assert tuple(trace) == layer.cell.trace_names
    for values in trace.values():
        assert tuple(values.shape) == (BATCH, TIME, UNITS)
    np.testing.assert_array_equal(trace["h"], outputs)
    if "c" in trace:
        np.testing.assert_array_equal(trace["c"][:, -1], states[1])


def test_trace_gates_obey_the_lstm_equations():
    layer = textlstm.LSTM(UNITS)
    trace = {k: v.numpy() for k, v in layer.trace(inputs()).items()}
    c_prev = np.concatenate([np.zeros((BATCH, 1, UNITS)), trace["c"][:, :-1]], axis=1)
    np.testing.assert_allclose(trace["c"], trace["f"] * c_prev + trace["i"] * trace["g"], rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(trace["h"], trace["o"] * np.tanh(trace["c"]), rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("name", CELLS)
def test_stateful_layer_carries_state_until_reset(name):
    _, layer_class = CELLS[name]
    whole = layer_class(UNITS, return_sequences=True)
    stateful = layer_class(UNITS, return_sequences=True, stateful=True)
    whole(inputs())
    stateful(inputs()[:, :2])
    randomize(whole)
    stateful.set_weights(whole.get_weights())
    stateful.reset_states()
    pieces = [stateful(inputs()[:, :2]), stateful(inputs()[:, 2:])]
    np.testing.assert_allclose(np.concatenate(pieces, axis=1), whole(inputs()), rtol=1e-6, atol=1e-6)
    stateful.reset_states()
    np.testing.assert_allclose(stateful(inputs()[:, :2]), whole(inputs()[:, :2]), rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("name", CELLS)
def test_dropout_applies_in_training_only(name):
    _, layer_class = CELLS[name]
    layer = layer_class(UNITS, dropout=0.5, recurrent_dropout=0.5, seed=1, return_sequences=True)
    plain = layer_class(UNITS, return_sequences=True)
    layer(inputs())
    plain(inputs())
    plain.set_weights(layer.get_weights())
    np.testing.assert_array_equal(layer(inputs(), training=False), plain(inputs()))
    assert np.abs(layer(inputs(), training=True) - plain(inputs())).max() > 1e-3


def test_input_dropout_mask_is_shared_by_every_time_step():
    # With identity input weights and no recurrence, h_t is the dropped-out x_t.
    layer = textlstm.SimpleRNN(UNITS, dropout=0.5, seed=2, use_bias=False, activation=None, return_sequences=True)
    layer.build((None, TIME, FEATURES))
    layer.set_weights([np.eye(FEATURES, UNITS, dtype="float32"), np.zeros((UNITS, UNITS), "float32")])
    x = np.ones((BATCH, TIME, FEATURES), "float32")
    dropped = layer(x, training=True).numpy()
    assert (dropped == 0).any() and (dropped != 0).any()
    np.testing.assert_array_equal(dropped, np.repeat(dropped[:, :1], TIME, axis=1))


@pytest.mark.parametrize(
    "arguments, message",
    [
        ({"units": 0}, "units=0"),
        ({"units": -3}, "units=-3"),
        ({"units": 4, "activation": "nope"}, "activation='nope'"),
        ({"units": 4, "recurrent_activation": "nope"}, "recurrent_activation='nope'"),
        ({"units": 4, "dropout": 1.5}, "dropout=1.5"),
        ({"units": 4, "recurrent_dropout": -0.1}, "recurrent_dropout=-0.1"),
        ({"units": 4, "weight_dropout": 1.0}, "weight_dropout=1.0"),
        ({"units": 4, "kernel_initializer": "nope"}, "kernel_initializer='nope'"),
        ({"units": 4, "use_cudnn": True}, "use_cudnn=True"),
    ],
)
def test_bad_arguments_name_the_argument(arguments, message):
    with pytest.raises(ValueError, match=message):
        textlstm.LSTM(**arguments)


def test_input_that_is_not_rank_3_is_rejected():
    with pytest.raises(ValueError, match="ndim=3"):
        textlstm.LSTM(UNITS)(np.ones((BATCH, FEATURES), "float32"))
    with pytest.raises(ValueError, match="rank 3"):
        textlstm.LSTM(UNITS).trace(np.ones((BATCH, FEATURES), "float32"))


@pytest.mark.parametrize(
    "states",
    [
        [np.zeros((BATCH, UNITS + 1), "float32")] * 2,
        [np.zeros((BATCH, UNITS), "float32")],
        [np.zeros((BATCH + 1, UNITS), "float32")] * 2,
    ],
)
def test_initial_state_of_the_wrong_shape_is_rejected(states):
    with pytest.raises(ValueError, match="initial_state must be 2 tensor"):
        textlstm.LSTM(UNITS)(inputs(), initial_state=states)


def test_layer_reads_cell_arguments_through():
    layer = textlstm.GRU(UNITS, dropout=0.25, reset_after=False)
    assert (layer.units, layer.dropout, layer.reset_after) == (UNITS, 0.25, False)
    with pytest.raises(AttributeError):
        layer.no_such_argument


LOOPS = {  # name: (layer, extra arguments); every cell, and GRU's second recurrent product
    **{name: (layer_class, {}) for name, (_, layer_class) in CELLS.items()},
    "gru_reset_before": (textlstm.GRU, {"reset_after": False}),
}


@pytest.mark.parametrize("name", LOOPS)
def test_step_sums_z_x_and_z_h_says_whether_the_step_reads_only_their_sum(name):
    # The time loop's gradient takes d_z_x for d_z_h where a cell says so; here the cell's step says whether it may.
    layer_class, extra = LOOPS[name]
    layer = layer_class(UNITS, **extra)
    layer.build((None, TIME, FEATURES))
    randomize(layer)
    cell, random = layer.cell, np.random.RandomState(0)
    z_x = random.randn(BATCH, cell.gates * UNITS).astype("float32")
    z_h = random.randn(BATCH, cell.recurrent_product_kernel.shape[1]).astype("float32")
    states = [random.randn(BATCH, UNITS).astype("float32") for _ in cell.state_names]
    if z_x.shape != z_h.shape:  # a GRU without reset_after: no sum
        assert not cell.step_sums_z_x_and_z_h
        return
    shift = random.randn(*z_x.shape).astype("float32")
    values, shifted = cell.step(z_x, z_h, states), cell.step(z_x + shift, z_h - shift, states)
    reads_only_the_sum = all(np.allclose(values[key], shifted[key], atol=1e-5) for key in values)
    assert cell.step_sums_z_x_and_z_h == reads_only_the_sum


@pytest.mark.parametrize(
    "name, go_backwards, zero_output_for_mask, in_graph, blocks",
    covering(LOOPS, list(itertools.product([False, True], [False, True], [False, True], ((2, 2, 1), (TIME,)))),
             [(False, False, False, (2, 2, 1)), (True, True, True, (TIME,))]),
)
def test_loop_gradient_matches_autodiff_of_the_unrolled_cell(name, go_backwards, zero_output_for_mask, in_graph, blocks, blocks_run):
    # unroll=True runs the same cell under plain autodiff: the reference of time_loop.with_gradient. In a graph the
    # batch is left open, as Keras's fit leaves it.
    layer_class, extra = LOOPS[name]
    arguments = dict(
        return_sequences=True, return_state=True, go_backwards=go_backwards, zero_output_for_mask=zero_output_for_mask,
        dropout=0.3, recurrent_dropout=0.3, seed=4, **extra,
    )
    fast, reference = layer_class(UNITS, **arguments), layer_class(UNITS, unroll=True, **arguments)
    in_blocks_of(blocks[0], fast)
    blocks = list(blocks)
    fast.build((None, TIME, FEATURES))
    reference.build((None, TIME, FEATURES))
    randomize(fast)
    reference.set_weights(fast.get_weights())
    x, mask = tf.constant(inputs()), tf.constant(padding_mask())
    states = [tf.constant(np.random.RandomState(20 + i).randn(BATCH, UNITS).astype("float32")) for i in range(len(fast.cell.state_names))]
    shapes = [(BATCH, TIME, UNITS)] + [(BATCH, UNITS)] * len(states)  # the sequence and the final states
    output_weights = [np.random.RandomState(k).randn(*shape).astype("float32") for k, shape in enumerate(shapes)]

    def outputs_and_gradients(layer):
        def run(x, mask, *states):
            with tf.GradientTape() as tape:
                tape.watch([x, *states])
                outputs = layer(x, initial_state=list(states), mask=mask, training=True)
                loss = sum(tf.reduce_sum(output * weight) for output, weight in zip(outputs, output_weights))
            return outputs, tape.gradient(loss, [x, *states, *layer.trainable_weights])

        if in_graph:
            batch_open = [tf.TensorSpec((None, TIME, FEATURES)), tf.TensorSpec((None, TIME), tf.bool)]
            run = tf.function(run, input_signature=batch_open + [tf.TensorSpec((None, UNITS))] * len(states))
        return run(x, mask, *states)

    ours, theirs = outputs_and_gradients(fast), outputs_and_gradients(reference)
    assert blocks_run == blocks
    for ours_value, theirs_value in zip(tf.nest.flatten(ours), tf.nest.flatten(theirs)):
        np.testing.assert_allclose(ours_value, theirs_value, rtol=1e-5, atol=1e-6)
    assert all(np.abs(gradient).max() > 0 for gradient in ours[1])  # peepholes and initial states included


class WeightDropoutMasks:
    """Records each weight dropout mask a cell draws (`get_weight_dropout_mask`), once per draw."""

    def __init__(self, monkeypatch):
        self.drawn = []
        original = textlstm.RecurrentCell.get_weight_dropout_mask

        def recording(cell):
            mask = original(cell)
            if mask is not None and not any(mask is seen for seen in self.drawn):
                self.drawn.append(mask)
            return mask

        monkeypatch.setattr(textlstm.RecurrentCell, "get_weight_dropout_mask", recording)


def with_dropped_kernel(layer, mask, **arguments):
    """A layer of the same class without weight dropout whose U is the layer's U ⊙ mask."""
    plain = type(layer)(layer.units, **arguments)
    plain.build((None, TIME, FEATURES))
    weights = layer.get_weights()
    weights[1] = weights[1] * np.asarray(mask)
    plain.set_weights(weights)
    return plain


@pytest.mark.parametrize("name", LOOPS)
@pytest.mark.parametrize("in_graph", [False, True])
def test_weight_dropout_in_training_is_the_plain_layer_with_a_dropped_kernel_at_every_step(name, in_graph, monkeypatch):
    # The reference is unrolled, under plain autodiff: its outputs and gradients are those of the cell with U ⊙ mask.
    masks = WeightDropoutMasks(monkeypatch)
    layer_class, extra = LOOPS[name]
    arguments = dict(return_sequences=True, return_state=True, **extra)
    layer = layer_class(UNITS, weight_dropout=0.5, seed=7, **arguments)
    in_blocks_of(2, layer)
    layer.build((None, TIME, FEATURES))
    randomize(layer)
    mask = tf.constant(padding_mask())

    def run(x):
        outputs, gradients = run_with_gradients(layer, x, mask=mask, training=True)
        return outputs, gradients, masks.drawn[-1]  # the mask this run drew, a value of the graph in a graph

    outputs, gradients, drawn = (tf.function(run, autograph=False) if in_graph else run)(tf.constant(inputs()))
    assert len(masks.drawn) == 1  # one mask for the whole batch
    drawn = drawn.numpy()
    assert set(np.unique(drawn)) == {0.0, 2.0}  # dropped, or kept and scaled by 1 / (1 - 0.5)
    reference = with_dropped_kernel(layer, drawn, unroll=True, **arguments)
    expected_outputs, expected_gradients = run_with_gradients(reference, inputs(), mask=mask)
    expected_gradients[2] = expected_gradients[2] * drawn  # dU = mask ⊙ the gradient of U ⊙ mask
    for ours, theirs in zip(outputs + gradients, expected_outputs + expected_gradients):
        np.testing.assert_allclose(ours, theirs, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("name", CELLS)
def test_weight_dropout_in_inference_is_exactly_the_plain_layer(name):
    _, layer_class = CELLS[name]
    layer = layer_class(UNITS, weight_dropout=0.5, seed=1, return_sequences=True)
    plain = layer_class(UNITS, return_sequences=True)
    layer(inputs())
    plain(inputs())
    randomize(layer)
    plain.set_weights(layer.get_weights())
    np.testing.assert_array_equal(layer(inputs(), training=False), plain(inputs()))
    np.testing.assert_array_equal(layer.trace(inputs())["h"], plain.trace(inputs())["h"])


@pytest.mark.parametrize("name", CELLS)
def test_weight_dropout_of_a_cell_in_keras_rnn_is_one_mask_per_call(name, monkeypatch):
    masks = WeightDropoutMasks(monkeypatch)
    cell_class, layer_class = CELLS[name]
    generic = keras.layers.RNN(cell_class(UNITS, weight_dropout=0.5, seed=3), return_sequences=True)
    generic.build((None, TIME, FEATURES))
    randomize(generic)
    first, second = generic(inputs(), training=True), generic(inputs(), training=True)
    assert len(masks.drawn) == 2 and np.abs(first - second).max() > 1e-3  # a new mask for each call
    plain = layer_class(UNITS, return_sequences=True)
    plain.build((None, TIME, FEATURES))
    plain.set_weights(generic.get_weights())
    for output, drawn in zip((first, second), masks.drawn):
        np.testing.assert_allclose(output, with_dropped_kernel(plain, drawn, return_sequences=True)(inputs()),
                                   rtol=1e-5, atol=1e-6)


def test_weight_dropout_is_seeded_like_keras_dropout():
    layer = textlstm.LSTM(UNITS, weight_dropout=0.3, seed=11)
    layer.build((None, TIME, FEATURES))
    expected = keras.random.dropout(tf.ones((UNITS, 4 * UNITS)), 0.3, seed=keras.random.SeedGenerator(11))
    np.testing.assert_array_equal(layer.cell.get_weight_dropout_mask(), expected)
    assert layer.weight_dropout == 0.3 and textlstm.LSTM.from_config(layer.get_config()).weight_dropout == 0.3
