"""SavedModel export of a language model: strings in, next words and generated text out, or one token at a time.

The exported graph holds the tokenizer (`tf.strings` ops, or for a subword
model tensorflow-text's SentencePiece op, and a `tf.lookup.StaticHashTable`),
the weights and the sampling loop, so it loads with `tf.saved_model.load`
in a process that never imports keras or textlstm (a subword model's after
`import tensorflow_text`). Signatures:

- `serving_default(text: string[batch]) -> {words: string[batch, k], probabilities: float32[batch, k]}`,
  the `DEFAULT_TOP_K` most likely next words (fewer if the vocabulary is smaller);
- `top_k(text: string[batch], k: int32) -> {words, probabilities}`, the same for any `k`, clipped to
  [1, vocabulary size].
- `generate(prompt: string[batch], max_words: int32, temperature: float32, top_k: int32, seed: int64)
  -> {text: string[batch]}`; `max_words` is clipped to [0, `MAX_GENERATED_WORDS`] (0 gives empty
  texts), `top_k` to [0, vocabulary size] with 0 sampling from the whole vocabulary;
  `temperature<=0` picks the most likely word; the same seed gives the same text.
- `tokenize(text: string[batch]) -> {ids: int32[batch, longest], lengths: int32[batch]}`, the token ids
  the signatures above read for each text (after the `<eos>` they read first), padded with 0 (`<pad>`).
- `step(token_id: int32[batch], state: float32[batch, S], k: int32) -> {top_ids: int32[batch, k],
  top_probs: float32[batch, k], state: float32[batch, S]}`: one token in, the k likeliest next tokens
  (`k` clipped as in `top_k`) and the state after it out; `state` packs the states of every layer
  (`one_step`). From a zero state, stepping `<eos>` and then a prompt's ids gives `top_k`'s answer.

Each prompt is read after an `<eos>`, as if it began a new line of the
training text. Words outside the vocabulary become `<unk>`. Generated text
continues the prompt: the prompt followed by it reads as one text (a word,
or a subword piece that starts a word, has a space before it; a character
or a piece inside a word has none), the tokens joined as the run's
tokenizer joins them, `<eos>` a line break. The words of `top_k` are tokens, a subword piece that starts a word
with a space before it. `<pad>`, `<unk>` and `<bos>` are never predicted.
"""

import functools

import keras
import numpy as np
import tensorflow as tf

from textlstm.corpus.tokenizers import WORD_START, load_tokenizer
from textlstm.export import join_surfaces, surface_table, vocabulary_table, write_saved_model
from textlstm.lm.model import build_language_model, copy_weights
from textlstm.vocab import BOS, PAD, UNK

MAX_GENERATED_WORDS = 10_000
DEFAULT_TOP_K = 5  # next words given by serving_default
BANNED_LOGIT = -1e9  # the logit of a token that is never predicted


def banned_ids(vocab):
    """The ids never predicted: `<pad>` and `<bos>` (never a target in training), and `<unk>` (no word to show)."""
    return [vocab.ids[PAD], vocab.ids[UNK], vocab.ids[BOS]]


def without_banned(logits, banned):
    """logits (..., vocab) with those of the banned ids set to `BANNED_LOGIT`."""
    is_banned = np.isin(np.arange(logits.shape[-1]), banned)  # (vocab,)
    return keras.ops.where(is_banned, BANNED_LOGIT, logits)


def top_tokens(logits, k, banned):
    """The k likeliest tokens of logits (batch, vocab), banned ids left out: (probabilities, ids), each (batch, k).

    k is clipped to [1, the tokens that may be predicted (the vocabulary but the banned ids)].
    """
    probabilities = tf.nn.softmax(without_banned(logits, banned))
    return tf.math.top_k(probabilities, k=tf.clip_by_value(k, 1, logits.shape[-1] - len(banned)))


def serving_model(model, vocab_size, config):
    """The model that reads whole prompts (`build_language_model(carry_states=True)`), with model's weights."""
    twin = build_language_model(config, vocab_size, carry_states=True)
    copy_weights(model, twin)
    return twin


def one_step(model, config, banned, lookup=None, output=None):
    """The one-step face of a language model: one token and the states in, the likeliest next tokens and states out.

    It is built from model's own layers, so it has their weights: the
    embedding, each recurrent layer's cell called once (the equations the
    layer runs at every step of a sequence) and the output layer, with no
    loop, so that it converts to LiteRT's builtin operations.

    Args:
        model: A model from `build_language_model`.
        config: Its `LMConfig`.
        banned: Ids never predicted (`banned_ids`).
        lookup: None, or what stands for the embedding lookup (ids (batch,) to vectors).
        output: None, or what stands for the output layer (vectors to logits (batch, vocab)):
            the same functions of the same weights, arranged otherwise
            (`textlstm.lm.litert.shared_rows`).

    Returns:
        (step, state_size): `step(token_id, state, k)` takes int32 ids
        (batch,), the states (batch, state_size) and an int32 k, and returns
        {"top_ids": int32 (batch, k), "top_probs": float32 (batch, k),
        "state": the states after the token}. The state packs every layer's
        states side by side, layer 1 first, each layer's in its cell's
        `state_names` order (h, c for the LSTM family; h for GRU and
        SimpleRNN); zeros are the start.
    """
    embedding = model.get_layer("embedding")
    lookup = lookup or embedding.call  # `call`: a single token needs no padding mask
    if output is None:
        output = functools.partial(embedding, reverse=True) if config.tie_weights else model.get_layer("output")
    cells = [model.get_layer(f"recurrent_{index}").cell for index in range(1, config.num_layers + 1)]
    sizes = [size for cell in cells for size in cell.state_size]

    def step(token_id, state, k):
        x = lookup(token_id)  # (batch, embedding_dim)
        states, new_states = tf.split(state, sizes, axis=1), []
        for cell in cells:
            count = len(cell.state_size)
            x, cell_states = cell(x, states[:count])
            states, new_states = states[count:], new_states + list(cell_states)
        probabilities, ids = top_tokens(output(x), k, banned)
        return {"top_ids": ids, "top_probs": probabilities, "state": tf.concat(new_states, axis=1)}

    return step, sum(sizes)


def serving_signatures(model, vocab, config, tokenizer=None):
    """The SavedModel's signatures, each a `tf.function` with its input signature.

    Args:
        model: A model from `build_language_model` (stateful or not).
        vocab: Its `Vocabulary`.
        config: Its `LMConfig`.
        tokenizer: The run's tokenizer; None for the words or characters of `config.level`.

    Returns:
        (signatures, tracked): the functions by signature name, and the
        objects that hold what they use (the serving model, the vocabulary
        table, a subword model's op), for `keras.export.ExportArchive.track`.
    """
    tokenizer = tokenizer or load_tokenizer(config.level)
    step_model = serving_model(model, len(vocab), config)
    state_sizes = [int(tensor.shape[-1]) for tensor in step_model.inputs[1:]]
    vocab_size = len(vocab)
    surfaces = surface_table(tokenizer, vocab)
    shown = tf.constant([token.replace(WORD_START, " ") if tokenizer.level == "subword" else token
                         for token in vocab.tokens])
    table = vocabulary_table(vocab)
    eos_id = vocab.eos_id
    banned = banned_ids(vocab)
    one_token, state_size = one_step(step_model, config, banned)

    def tokenize(text):
        """The ids of each text's tokens, ragged (batch, tokens): the one tokenization of every signature."""
        tokens = tokenizer.graph_normalize(tokenizer.graph_split(text))  # ragged (batch, tokens)
        return tf.cast(tf.ragged.map_flat_values(table.lookup, tokens), tf.int32)

    def encode(text):
        eos = tf.fill([tf.shape(text)[0], 1], eos_id)
        return tf.concat([eos, tokenize(text).to_tensor(0)], axis=1)  # (batch, 1 + longest prompt), 0 is masked padding

    def run(ids, states):
        outputs = step_model([ids] + list(states), training=False)
        return outputs[0], list(outputs[1:])  # (batch, vocab) logits, the states

    def start(text):
        batch = tf.shape(text)[0]
        return run(encode(text), [tf.zeros([batch, size]) for size in state_sizes])

    def next_words(text, k):
        logits, _ = start(text)
        probabilities, indices = top_tokens(logits, k, banned)
        return {"words": tf.gather(shown, indices), "probabilities": probabilities}

    def generate(prompt, max_words, temperature, top_k, seed):
        max_words = tf.clip_by_value(max_words, 0, MAX_GENERATED_WORDS)
        top_k = tf.clip_by_value(top_k, 0, vocab_size)
        logits, states = start(prompt)

        def sample(step, logits):
            logits = without_banned(logits, banned)
            k = tf.where(top_k > 0, top_k, vocab_size)
            threshold = tf.math.top_k(logits, k=k).values[:, -1:]  # (batch, 1), the k-th largest logit
            kept = tf.where(logits < threshold, tf.constant(-1e9, logits.dtype), logits)
            scaled = kept / tf.maximum(temperature, 1e-6)
            drawn = tf.random.stateless_categorical(scaled, 1, seed=tf.stack([seed, tf.cast(step, tf.int64)]))
            greedy = tf.argmax(logits, axis=-1, output_type=tf.int32)
            return tf.where(temperature > 0, tf.cast(drawn[:, 0], tf.int32), greedy)

        def body(step, logits, states, words):
            word = sample(step, logits)
            logits, states = run(word[:, None], states)
            return step + 1, logits, states, words.write(step, word)

        # One row more than the words, written with padding, so that stacking never meets an empty list.
        padding = tf.zeros([tf.shape(prompt)[0]], tf.int32)
        words = tf.TensorArray(tf.int32, size=max_words + 1).write(max_words, padding)
        _, _, _, words = tf.while_loop(
            lambda step, *_: step < max_words, body, (tf.constant(0), logits, states, words))
        tokens = tf.gather(surfaces, tf.transpose(words.stack()[:max_words]))  # (batch, max_words)
        return {"text": join_surfaces(tf.reshape(tokens, [tf.shape(prompt)[0], max_words]), continuing=True)}

    def token_ids(text):
        ids = tokenize(text)
        return {"ids": ids.to_tensor(0), "lengths": tf.cast(ids.row_lengths(), tf.int32)}

    text_spec = tf.TensorSpec([None], tf.string, name="text")
    k_spec = tf.TensorSpec([], tf.int32, name="k")
    signatures = {
        "serving_default": (lambda text: next_words(text, tf.constant(DEFAULT_TOP_K)), [text_spec]),
        "top_k": (next_words, [text_spec, k_spec]),
        "generate": (generate, [
            tf.TensorSpec([None], tf.string, name="prompt"),
            tf.TensorSpec([], tf.int32, name="max_words"),
            tf.TensorSpec([], tf.float32, name="temperature"),
            tf.TensorSpec([], tf.int32, name="top_k"),
            tf.TensorSpec([], tf.int64, name="seed"),
        ]),
        "tokenize": (token_ids, [text_spec]),
        "step": (one_token, [tf.TensorSpec([None], tf.int32, name="token_id"),
                        tf.TensorSpec([None, state_size], tf.float32, name="state"), k_spec]),
    }
    functions = {name: tf.function(function, input_signature=signature)
                 for name, (function, signature) in signatures.items()}
    return functions, [step_model, table] + ([tokenizer.graph_pieces()] if tokenizer.level == "subword" else [])


def export_language_model(model, vocab, config, path, tokenizer=None):
    """Writes the SavedModel of a trained language model to path (temporary directory, then rename).

    Args:
        model: The trained model from `build_language_model` (stateful or not).
        vocab: Its `Vocabulary`.
        config: Its `LMConfig`.
        path: Destination directory; an earlier export there is replaced only once the new one is complete.
        tokenizer: The run's tokenizer; None for the words or characters of `config.level`.
    """
    signatures, tracked = serving_signatures(model, vocab, config, tokenizer)
    archive = keras.export.ExportArchive()
    for resource in tracked:
        archive.track(resource)
    for name, function in signatures.items():
        archive.add_endpoint(name, function)
    write_saved_model(path, lambda directory: archive.write_out(directory, verbose=False))
