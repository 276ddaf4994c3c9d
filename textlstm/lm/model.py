"""The language model: embedding -> stacked textlstm recurrent layers -> softmax over the vocabulary."""

import keras

from textlstm.embedding import ReversibleEmbedding
from textlstm.layers import LAYERS_BY_NAME, LockedDropout
from textlstm.lm.perplexity import Perplexity
from textlstm.lm.regularization import ActivationRegularization, WordDropout
from textlstm.training import make_optimizer


def build_language_model(config, vocab_size, batch_size=None, stateful=False, carry_states=False, state_inputs=False):
    """Builds the next-token model described by an `LMConfig`.

    Layers are named `embedding`, `recurrent_1` ... `recurrent_N` and `output`
    (absent with `tie_weights`), so weights can be copied by name between the
    training model and its serving twin. In training, the embeddings lose
    whole words (`embedding_dropout`, `WordDropout`) and then take locked
    dropout (`input_dropout`); each recurrent layer drops entries of its `U`
    (`weight_drop`) and its output takes locked dropout (`dropout`); the
    last layer's output adds AR and TAR to the loss (`ar`, `tar`).

    Args:
        config: An `LMConfig` (cell, num_layers, units, embedding_dim,
            input_dropout, embedding_dropout, dropout, weight_drop, ar, tar,
            tie_weights, init_scale, seed).
        vocab_size: Number of tokens, `<pad>` (id 0) included.
        batch_size: Fixed batch size; required when `stateful`.
        stateful: Recurrent layers keep their state from one batch to the
            next (training and evaluation with `stream_windows`).
        carry_states: Build the serving model instead: inputs are token ids
            (id 0 is masked padding) and each layer's initial states; outputs
            are the logits after the last real token (batch, vocab) and each
            layer's final states.
        state_inputs: Inputs are token windows and each layer's initial
            states; outputs are the logits of every step (batch, time, vocab)
            and each layer's final states: truncated backpropagation through
            time with the states in the caller's hands (`textlstm.loop`).

    Returns:
        A `keras.Model`. Without `carry_states` it maps (batch, time) ids to
        (batch, time, vocab) logits.
    """
    embedding_class = ReversibleEmbedding if config.tie_weights else keras.layers.Embedding
    embedding = embedding_class(vocab_size, config.embedding_dim, mask_zero=carry_states, name="embedding",
                                **_uniform(config, 0, "embeddings_initializer"))
    with_states = carry_states or state_inputs
    layers = [
        LAYERS_BY_NAME[config.cell](
            config.units, return_sequences=True, return_state=with_states, stateful=stateful, name=f"recurrent_{index}",
            weight_dropout=config.weight_drop, seed=config.seed + 100 + index,
            **_uniform(config, index, "kernel_initializer", "recurrent_initializer"))
        for index in range(1, config.num_layers + 1)
    ]
    tokens = keras.Input(batch_shape=(batch_size, None), dtype="int32", name="tokens")
    hidden = embedding(tokens)
    if config.embedding_dropout:
        hidden = WordDropout(vocab_size, config.embedding_dropout, seed=config.seed + 200, name="word_dropout")(
            hidden, tokens)
    hidden = LockedDropout(config.input_dropout, seed=config.seed, name="input_dropout")(hidden)
    mask = embedding.compute_mask(tokens) if carry_states else None  # given with initial_state, Keras passes none
    count = len(_state_sizes(layers[0]))  # states per layer
    initial_states = [keras.Input(batch_shape=(batch_size, size), name=f"state_{index}_{number}")
                      for index, layer in enumerate(layers, 1) for number, size in enumerate(_state_sizes(layer))
                      ] if with_states else []
    final_states = []
    for index, layer in enumerate(layers):
        if initial_states:
            output, *layer_final_states = layer(hidden, initial_state=initial_states[index * count:(index + 1) * count],
                                                mask=mask)
            final_states += layer_final_states
        else:
            output = layer(hidden)
        hidden = LockedDropout(config.dropout, seed=config.seed + index + 1, name=f"dropout_{index + 1}")(output)
    if config.ar or config.tar:
        regularization = ActivationRegularization(config.ar, config.tar, name="activation_regularization")
        hidden = regularization(hidden, output, tokens)
    if carry_states:
        hidden = final_states[-count]  # (batch, units): h after the last unmasked token; h comes first for every cell
    if config.tie_weights:
        logits = embedding(hidden, reverse=True)
    else:
        logits = keras.layers.Dense(vocab_size, name="output",
                                    **_uniform(config, config.num_layers + 1, "kernel_initializer"))(hidden)
    if carry_states:
        return keras.Model([tokens] + initial_states, [logits] + final_states, name="language_model_step")
    if state_inputs:
        return keras.Model([tokens] + initial_states, [logits] + final_states, name="language_model")
    return keras.Model(tokens, logits, name="language_model")


def _uniform(config, offset, *names):
    """Initializer arguments: uniform in [-init_scale, init_scale] as Zaremba et al., or {} for Keras's defaults."""
    if config.init_scale <= 0:
        return {}
    return {name: keras.initializers.RandomUniform(-config.init_scale, config.init_scale,
                                                   seed=config.seed + 10 * offset + number)
            for number, name in enumerate(names)}


def _state_sizes(layer):
    sizes = layer.cell.state_size
    return list(sizes) if isinstance(sizes, (list, tuple)) else [sizes]


def compile_language_model(model, config):
    """Compiles with mean cross-entropy over real tokens, perplexity, and the configured optimizer.

    Clipping goes through the optimizer: `clipnorm` clips each gradient
    tensor on its own, `global_clipnorm` all of them together.
    """
    model.compile(
        optimizer=make_optimizer(config),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True, reduction="mean_with_sample_weight"),
        weighted_metrics=[Perplexity()],
    )
    return model


def copy_weights(source, target):
    """Copies weights layer by layer, matched by name, from source to target."""
    for layer in target.layers:
        if layer.weights:
            layer.set_weights(source.get_layer(layer.name).get_weights())
