"""An attention encoder-decoder over token ids, built on textlstm's recurrent layers."""

import keras
import tensorflow as tf
from keras import ops

from textlstm.cells.base import positive_int, rate
from textlstm.embedding import ReversibleEmbedding
from textlstm.layers import LAYERS_BY_NAME, LockedDropout
from textlstm.seq2seq.copying import PAD_ID, UNK_ID, copy_distribution, extended_size
from textlstm.seq2seq.coverage import coverage_loss

ATTENTIONS = ("luong", "bahdanau")
NEVER = -1e9  # the logit of <unk>: finite, so that a softmax over it stays a number


@keras.saving.register_keras_serializable(package="textlstm")
class Seq2Seq(keras.Model):
    """Encoder-decoder with attention, trained with teacher forcing.

    The data flow, for a source `x` and a decoder input `y` (`<bos>` then the
    target), both integer ids padded with 0:

        e_x, e_y = embedding(x), embedding(y)     one matrix for both sides
        memory, states = encoder(e_x)             num_layers recurrent layers
        h = decoder(e_y, initial_state=states)    layer l starts from encoder layer l
        context = attention(h, memory)            padding of x masked
        a = tanh(W_c [context; h])                attentional hidden (Luong 2015, eq. 5)
        logits = a W_out + b                      W_out = embedding^T when tied

    The output layer never gives `<unk>` any probability (its logit is
    `NEVER`). With `copy` (a pointer-generator, See, Liu & Manning 2017),
    the output mixes that distribution with the attention weights spread
    onto the source's words, over an extended vocabulary in which each
    document's out-of-vocabulary words have temporary ids from `vocab_size`
    on (`textlstm.seq2seq.copying`), so that any word of the document can
    be written, in the vocabulary or not:

        p_gen = σ(w [context; h] + b)             how much to generate
        p(y) = p_gen softmax(logits)(y) + (1 - p_gen) Σ_{s: x_s = y} attention_s
        logits = log p(y)                         still logits: softmax(log p) = p

    With `coverage` (See et al. 2017), the attention also sees the coverage
    `c^t = Σ_{t' < t} a^{t'}`, the attention paid to each source word so far,
    as a feature of the keys, `k_s + c_s w_c`, and training adds
    `coverage_weight * mean_t Σ_s min(a_s^t, c_s^t)` to the loss (only in
    training: the validation loss stays the crossentropy). Each step's
    attention then depends on the earlier steps', so teacher forcing runs
    the attention one target step at a time.

    With `bidirectional`, each encoder layer's final forward and backward
    states are concatenated and projected back to `units` by a `Dense`, one
    per state, before they start the decoder; the memory is then
    `2 * units` wide.

    Attention scores: `"luong"` is Luong's "general" score `h^T W_a m`
    (`keras.layers.Attention` with projected keys); `"bahdanau"` is the
    additive score `v^T tanh(W_q h + W_a m)` (`keras.layers.AdditiveAttention`).
    In both, the query is the decoder's top output at the same step, as in
    Luong et al.; the context is not fed back into the decoder.

    Padding (id 0) is masked in the encoder (padded steps keep the states),
    in the attention (padded positions get zero weight) and, through
    `masked_loss`, in the loss.

    Reference: Bahdanau, Cho & Bengio 2015, "Neural Machine Translation by
    Jointly Learning to Align and Translate"; Luong, Pham & Manning 2015,
    "Effective Approaches to Attention-based Neural Machine Translation".

    Args:
        vocab_size: Size of the shared vocabulary, pad id 0 included.
        embedding_dim: Width of the token embeddings.
        units: Width of every recurrent layer (per direction in the encoder).
        num_layers: Number of recurrent layers in the encoder and in the decoder.
        cell: Recurrent layer, one of `"lstm"`, `"peephole"`, `"coupled"`,
            `"gru"`, `"simple"`.
        bidirectional: Run each encoder layer in both directions
            (`keras.layers.Bidirectional`).
        attention: `"luong"` or `"bahdanau"`.
        dropout: Locked dropout rate (one mask per sequence, the same at
            each of its steps) on the embeddings, between recurrent layers
            and on the attentional hidden state.
        weight_dropout: Fraction of the entries of each recurrent layer's
            recurrent kernel `U` dropped in training, one mask per batch.
        tie_weights: Use the transposed embedding matrix as the output
            projection; the attentional hidden state is then
            `embedding_dim` wide instead of `units`.
        copy: Mix copying from the source into the output distribution.
        coverage: Give the attention the coverage as a feature and add the
            coverage loss in training.
        coverage_weight: Weight of the coverage loss, at least 0.
        **kwargs: Base model arguments, such as `name`.

    Call arguments:
        inputs: Dict with `"source"`, (batch, source_time) ids, and
            `"decoder_input"`, (batch, target_time) ids; optionally
            `"source_extended"`, the source's extended ids (see `encode`),
            without which the source has no temporary ids. Temporary ids
            in `"decoder_input"` are read as `<unk>`.
        training: Whether dropout applies (and the coverage loss is added).

    Returns:
        Logits, (batch, target_time, vocab_size), or with `copy`
        (batch, target_time, extended_size): `vocab_size` plus the largest
        number of out-of-vocabulary words of a source in the batch.

    Example:

    >>> model = Seq2Seq(vocab_size=20, embedding_dim=8, units=8)
    >>> logits = model({"source": np.ones((2, 5), "int32"),
    ...                 "decoder_input": np.ones((2, 3), "int32")})
    >>> logits.shape
    TensorShape([2, 3, 20])
    """

    def __init__(
        self,
        vocab_size,
        embedding_dim=64,
        units=128,
        num_layers=1,
        cell="lstm",
        bidirectional=False,
        attention="luong",
        dropout=0.0,
        weight_dropout=0.0,
        tie_weights=False,
        copy=False,
        coverage=False,
        coverage_weight=1.0,
        **kwargs,
    ):
        super().__init__(**kwargs)
        if cell not in LAYERS_BY_NAME:
            raise ValueError(f"cell must be one of {sorted(LAYERS_BY_NAME)}. Received: cell={cell!r}")
        if attention not in ATTENTIONS:
            raise ValueError(f"attention must be one of {list(ATTENTIONS)}. Received: attention={attention!r}")
        self.vocab_size = positive_int("vocab_size", vocab_size)
        self.embedding_dim = positive_int("embedding_dim", embedding_dim)
        self.units = positive_int("units", units)
        self.num_layers = positive_int("num_layers", num_layers)
        self.cell = cell
        self.bidirectional = bool(bidirectional)
        self.attention = attention
        self.dropout = rate("dropout", dropout)
        self.weight_dropout = rate("weight_dropout", weight_dropout)
        self.tie_weights = bool(tie_weights)
        self.copy = bool(copy)
        self.coverage = bool(coverage)
        if isinstance(coverage_weight, bool) or not isinstance(coverage_weight, (int, float)) or coverage_weight < 0:
            raise ValueError(f"coverage_weight must be a number >= 0. Received: coverage_weight={coverage_weight!r}")
        self.coverage_weight = float(coverage_weight)

        layer_class = LAYERS_BY_NAME[cell]
        embedding_class = ReversibleEmbedding if tie_weights else keras.layers.Embedding
        self.embedding = embedding_class(vocab_size, embedding_dim, mask_zero=True, name="embedding")
        self.encoder_layers = []
        for index in range(num_layers):
            layer = layer_class(units, return_sequences=True, return_state=True, weight_dropout=weight_dropout,
                                name=f"encoder_{index}")
            if bidirectional:
                layer = keras.layers.Bidirectional(layer, name=f"bidirectional_encoder_{index}")
            self.encoder_layers.append(layer)
        self.states_per_layer = len(layer_class.cell_class.state_names)  # LSTMs carry h and c, the others h
        self.bridges = []  # one Dense per (layer, state): [forward; backward] -> units
        if bidirectional:
            self.bridges = [
                keras.layers.Dense(units, name=f"bridge_{index}_{state}")
                for index in range(num_layers)
                for state in range(self.states_per_layer)
            ]
        self.decoder_layers = [
            layer_class(units, return_sequences=True, return_state=True, weight_dropout=weight_dropout,
                        name=f"decoder_{index}")
            for index in range(num_layers)
        ]
        self.key_projection = keras.layers.Dense(units, use_bias=False, name="attention_keys")
        self.query_projection = None
        if attention == "bahdanau":
            self.query_projection = keras.layers.Dense(units, use_bias=False, name="attention_query")
            self.attention_layer = keras.layers.AdditiveAttention(name="attention")
        else:
            self.attention_layer = keras.layers.Attention(name="attention")
        attentional_size = embedding_dim if tie_weights else units
        self.attentional = keras.layers.Dense(attentional_size, activation="tanh", name="attentional")
        self.dropout_layer = LockedDropout(dropout)
        self.output_projection = None if tie_weights else keras.layers.Dense(vocab_size, name="output_projection")
        self.copy_gate = keras.layers.Dense(1, activation="sigmoid", name="copy_gate") if copy else None
        self.coverage_feature = None
        if coverage:
            self.coverage_feature = keras.layers.Dense(units, use_bias=False, name="coverage_feature")
            # A variable, so that a callback can switch the coverage loss on for the last epochs only.
            self.coverage_loss_weight = self.add_weight(
                shape=(), initializer=keras.initializers.Constant(self.coverage_weight), trainable=False,
                name="coverage_loss_weight")

    def encode(self, source, training=False, source_extended=None):
        """Runs the encoder once over a batch of sources.

        Args:
            source: (batch, source_time) ids, padded with 0.
            training: Whether dropout applies.
            source_extended: The same ids with each out-of-vocabulary word
                given its document's temporary id (`vocab_size`,
                `vocab_size + 1`, ... in order of first occurrence), or None
                where the source has no such word.

        Returns:
            A dict: `"memory"` (batch, source_time, memory_size), the top
            encoder layer's outputs; `"keys"` (batch, source_time, units),
            the memory projected for the attention scores; `"copy_ids"`,
            the extended ids that copying puts attention on; `"source_mask"`
            (batch, source_time), False at padding; and `"states"`, per
            decoder layer the list of its initial states, each (batch, units).
        """
        source_mask = ops.not_equal(source, PAD_ID)
        x = self.dropout_layer(self.embedding(source), training=training)
        states = []
        for index, layer in enumerate(self.encoder_layers):
            x, *layer_states = layer(x, mask=source_mask, training=training)
            if self.bidirectional:
                layer_states = self._bridge(index, layer_states)
            states.append(list(layer_states))
            if index < self.num_layers - 1:
                x = self.dropout_layer(x, training=training)
        copy_ids = source if source_extended is None else source_extended
        return {"memory": x, "keys": self.key_projection(x), "copy_ids": ops.cast(copy_ids, "int32"),
                "source_mask": source_mask, "states": states}

    def _bridge(self, index, layer_states):
        forward, backward = layer_states[: self.states_per_layer], layer_states[self.states_per_layer :]
        bridges = self.bridges[index * self.states_per_layer : (index + 1) * self.states_per_layer]
        return [
            bridge(ops.concatenate([state_forward, state_backward], axis=-1))  # (batch, 2 * units) -> (batch, units)
            for bridge, state_forward, state_backward in zip(bridges, forward, backward)
        ]

    def call(self, inputs, training=False):
        heads = self._teacher_forced(inputs, training=training)
        if self.coverage and training:
            target_mask = ops.not_equal(inputs["decoder_input"], PAD_ID)
            self.add_loss(self.coverage_loss_weight * coverage_loss(heads["weights"], target_mask))
        return heads["logits"]

    def attention_and_copy(self, source, decoder_input):
        """The attention weights and the copy gate under teacher forcing, in inference mode.

        Args:
            source: (batch, source_time) ids, padded with 0.
            decoder_input: (batch, target_time) ids, `<bos>` first.

        Returns:
            `(weights, p_gen)`: attention weights (batch, target_time,
            source_time), and the probability of generating rather than
            copying, (batch, target_time), or None without `copy`.
        """
        heads = self._teacher_forced({"source": source, "decoder_input": decoder_input}, training=False)
        p_gen = heads["p_gen"]
        return heads["weights"], None if p_gen is None else p_gen[..., 0]

    def _teacher_forced(self, inputs, training):
        encoded = self.encode(inputs["source"], training=training, source_extended=inputs.get("source_extended"))
        decoder_input = inputs["decoder_input"]
        x = self.dropout_layer(self.embedding(self._in_vocabulary(decoder_input)), training=training)
        target_mask = ops.not_equal(decoder_input, PAD_ID)
        for index, (layer, initial_state) in enumerate(zip(self.decoder_layers, encoded["states"])):
            x, *_ = layer(x, initial_state=initial_state, mask=target_mask, training=training)
            if index < self.num_layers - 1:
                x = self.dropout_layer(x, training=training)
        if not self.coverage:
            return self._heads(x, encoded, *self._attend(x, encoded), training=training)
        # Coverage makes each step's attention depend on the earlier steps': the attention runs one step at a
        # time, and the output layer once over all steps.
        queries = tf.transpose(x, (1, 0, 2))  # (target_time, batch, units)
        time = tf.shape(queries)[0]

        def step(index, coverage, contexts, weights):
            context, step_weights = self._attend(queries[index][:, None, :], encoded, coverage=coverage)
            return (index + 1, coverage + step_weights[:, 0], contexts.write(index, context[:, 0]),
                    weights.write(index, step_weights[:, 0]))

        _, _, contexts, weights = tf.while_loop(
            lambda index, *_: index < time, step,
            (tf.constant(0), tf.zeros(tf.shape(encoded["copy_ids"])),
             tf.TensorArray(tf.float32, size=time), tf.TensorArray(tf.float32, size=time)))
        context = tf.transpose(contexts.stack(), (1, 0, 2))  # (batch, target_time, memory_size)
        weights = tf.transpose(weights.stack(), (1, 0, 2))  # (batch, target_time, source_time)
        return self._heads(x, encoded, context, weights, training=training)

    def _in_vocabulary(self, token):
        """Ids as the embedding reads them: a temporary id of a copied word becomes `<unk>`."""
        return ops.where(ops.greater_equal(token, self.vocab_size), UNK_ID, token)

    def initial_states(self, encoded):
        """The decoder's states before the first step: per layer its states, and the coverage if it has one."""
        if not self.coverage:
            return encoded["states"]
        return {"layers": encoded["states"], "coverage": ops.zeros(ops.shape(encoded["copy_ids"]), "float32")}

    def decode_step(self, token, states, encoded):
        """One decoder step in inference mode, for greedy and beam search.

        Runs each decoder layer's cell once, so it computes the same numbers
        as `call` at one time step of teacher forcing.

        Args:
            token: (batch,) ids of the previous token (`<bos>` at the start);
                a temporary id of a copied word is read as `<unk>`.
            states: `initial_states(encoded)` at the first step, then what the previous step returned.
            encoded: `encode`'s dict (its `"states"` entry is not read).

        Returns:
            `(logits, states)`: logits (batch, extended_size) of the next
            token, and the new states, structured as `states`.
        """
        layers_states = states["layers"] if self.coverage else states
        # The embedding lookup without the layer call, which would attach a padding mask the cells warn about.
        x = ops.take(self.embedding.embeddings, self._in_vocabulary(token), axis=0)  # (batch, embedding_dim)
        new_states = []
        for layer, layer_states in zip(self.decoder_layers, layers_states):
            x, layer_states = layer.cell(x, layer_states, training=False)
            new_states.append(list(layer_states))
        coverage = states["coverage"] if self.coverage else None
        x = x[:, None, :]  # (batch, 1, units)
        heads = self._heads(x, encoded, *self._attend(x, encoded, coverage=coverage), training=False)
        if self.coverage:
            new_states = {"layers": new_states, "coverage": coverage + heads["weights"][:, 0]}
        return heads["logits"][:, 0], new_states

    def _attend(self, decoder_outputs, encoded, coverage=None):
        """Context vectors and attention weights of decoder outputs; coverage is (batch, source_time) or None."""
        query = decoder_outputs
        if self.query_projection is not None:
            query = self.query_projection(decoder_outputs)
        keys = encoded["keys"]
        if coverage is not None:
            keys = keys + self.coverage_feature(coverage[..., None])  # (batch, source_time, units)
        return self.attention_layer(
            [query, encoded["memory"], keys], mask=[None, encoded["source_mask"]], return_attention_scores=True,
        )  # (batch, target_time, memory_size), (batch, target_time, source_time)

    def _heads(self, decoder_outputs, encoded, context, weights, training=False):
        """Logits, attention weights and copy gate of decoder outputs, given their attention (`_attend`)."""
        context_and_h = ops.concatenate([context, decoder_outputs], axis=-1)
        attentional = self.dropout_layer(self.attentional(context_and_h), training=training)
        if self.output_projection is not None:
            logits = self.output_projection(attentional)
        else:
            logits = self.embedding(attentional, reverse=True)
        logits = ops.where(ops.arange(self.vocab_size) == UNK_ID, NEVER, logits)  # the output layer never says <unk>
        if not self.copy:
            return {"logits": logits, "weights": weights, "p_gen": None}
        p_gen = self.copy_gate(context_and_h)  # (batch, target_time, 1)
        size = extended_size(encoded["copy_ids"], self.vocab_size)
        p_vocab = ops.softmax(logits, axis=-1)
        shape = ops.shape(p_vocab)
        p_vocab = ops.concatenate([p_vocab, ops.zeros((shape[0], shape[1], size - self.vocab_size))], axis=-1)
        p = p_gen * p_vocab + (1.0 - p_gen) * copy_distribution(weights, encoded["copy_ids"], size)
        return {"logits": ops.log(p + 1e-9), "weights": weights, "p_gen": p_gen}

    def get_config(self):
        return {
            **super().get_config(),
            "vocab_size": self.vocab_size,
            "embedding_dim": self.embedding_dim,
            "units": self.units,
            "num_layers": self.num_layers,
            "cell": self.cell,
            "bidirectional": self.bidirectional,
            "attention": self.attention,
            "dropout": self.dropout,
            "weight_dropout": self.weight_dropout,
            "tie_weights": self.tie_weights,
            "copy": self.copy,
            "coverage": self.coverage,
            "coverage_weight": self.coverage_weight,
        }


def masked_loss(label_smoothing=0.0):
    """Sparse categorical crossentropy from logits, averaged over non-padding targets.

    Targets equal to the pad id 0 get zero weight, and the mean is taken
    over the remaining targets only, so appending padding changes nothing.

    Args:
        label_smoothing: In [0, 1). With `s > 0`, each target's loss is
            `(1 - s) * cross_entropy + s * mean over the vocabulary of -log p`
            (Szegedy et al. 2016), as `keras.losses.CategoricalCrossentropy`
            smooths one-hot labels.

    Returns:
        A `keras.losses.Loss`.

    Example:

    >>> loss = masked_loss()
    >>> float(loss(np.array([[3, 0]]), np.zeros((1, 2, 5))))  # ln(5)
    1.6094...
    """
    if label_smoothing:
        return SmoothedMaskedCrossentropy(label_smoothing)
    return keras.losses.SparseCategoricalCrossentropy(from_logits=True, ignore_class=PAD_ID)


@keras.saving.register_keras_serializable(package="textlstm")
class SmoothedMaskedCrossentropy(keras.losses.Loss):
    """Label-smoothed crossentropy from logits over integer targets, padding (id 0) ignored.

    Args:
        label_smoothing: Weight `s` in [0, 1) of the uniform distribution mixed into the targets.
        **kwargs: Base loss arguments, such as `name`.

    Example:

    >>> loss = SmoothedMaskedCrossentropy(0.1)
    >>> float(loss(np.array([[3, 0]]), np.zeros((1, 2, 5))))  # uniform logits: ln(5) whatever s is
    1.6094...
    """

    def __init__(self, label_smoothing, **kwargs):
        super().__init__(**{"name": "smoothed_masked_crossentropy", **kwargs})
        self.label_smoothing = rate("label_smoothing", label_smoothing)

    def call(self, y_true, y_pred):
        per_token = token_crossentropy(y_true, y_pred, self.label_smoothing)
        mask = ops.cast(ops.not_equal(ops.cast(y_true, "int32"), PAD_ID), per_token.dtype)
        # Scaled so that Keras's mean over all positions is the mean over the batch's real targets: padding
        # changes nothing, and neither do sample weights that are 1 on real targets and 0 elsewhere.
        return per_token * mask * ops.divide_no_nan(ops.cast(ops.size(mask), mask.dtype), ops.sum(mask))

    def get_config(self):
        return {**super().get_config(), "label_smoothing": self.label_smoothing}


def token_crossentropy(y_true, logits, label_smoothing=0.0):
    """The (label-smoothed) crossentropy of each target token, padding included, (batch, time).

    Example:

    >>> float(token_crossentropy(np.array([[3]]), np.zeros((1, 1, 5)), 0.1)[0, 0])  # ln(5)
    1.6094...
    """
    y_true = ops.cast(y_true, "int32")
    log_probs = ops.log_softmax(ops.cast(logits, "float32"), axis=-1)  # (batch, time, vocab)
    target_log_prob = ops.take_along_axis(log_probs, ops.maximum(y_true, 0)[..., None], axis=-1)[..., 0]
    return -(1.0 - label_smoothing) * target_log_prob - label_smoothing * ops.mean(log_probs, axis=-1)


def build_model(**arguments):
    """Builds a `Seq2Seq` with `arguments` (its constructor's) and creates its weights.

    Returns:
        The built, uncompiled `Seq2Seq`.

    Example:

    >>> model = build_model(vocab_size=20, units=8, embedding_dim=8)
    >>> model.count_params() > 0
    True
    """
    model = Seq2Seq(**arguments)
    dummy = ops.ones((1, 2), dtype="int32")
    model({"source": dummy, "decoder_input": dummy})
    return model
