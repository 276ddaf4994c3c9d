"""SavedModel export of a language model: strings in, next words and generated text out.

The exported graph holds the tokenizer (`tf.strings` ops and a
`tf.lookup.StaticHashTable`), the weights and the sampling loop, so it
loads with `tf.saved_model.load` in a process that never imports keras or
textlstm. Signatures:

- `serving_default(text: string[batch]) -> {words: string[batch, k], probabilities: float32[batch, k]}`,
  the `DEFAULT_TOP_K` most likely next words (fewer if the vocabulary is smaller);
- `top_k(text: string[batch], k: int32) -> {words, probabilities}`, the same for any `k`, clipped to
  [1, vocabulary size].
- `generate(prompt: string[batch], max_words: int32, temperature: float32, top_k: int32, seed: int64)
  -> {text: string[batch]}`; `max_words` is clipped to [0, `MAX_GENERATED_WORDS`] (0 gives empty
  texts), `top_k` to [0, vocabulary size] with 0 sampling from the whole vocabulary;
  `temperature<=0` picks the most likely word; the same seed gives the same text.

Each prompt is read after an `<eos>`, as if it began a new line of the
training text. Words outside the vocabulary become `<unk>`. In generated
text, `<eos>` becomes a line break.
"""

import keras
import tensorflow as tf

from textlstm.export import vocabulary_table, write_saved_model
from textlstm.lm.model import build_language_model, copy_weights
from textlstm.vocab import BOS, EOS, PAD

MAX_GENERATED_WORDS = 10_000
DEFAULT_TOP_K = 5  # next words given by serving_default


def export_language_model(model, vocab, config, path):
    """Writes the SavedModel of a trained language model to path (temporary directory, then rename).

    Args:
        model: The trained model from `build_language_model` (stateful or not).
        vocab: Its `Vocabulary`.
        config: Its `LMConfig`.
        path: Destination directory; an earlier export there is replaced only once the new one is complete.
    """
    step_model = build_language_model(config, len(vocab), carry_states=True)
    copy_weights(model, step_model)
    state_sizes = [int(tensor.shape[-1]) for tensor in step_model.inputs[1:]]
    vocab_size = len(vocab)
    token_strings = tf.constant(vocab.tokens)
    table = vocabulary_table(vocab)
    eos_id = vocab.eos_id
    # Never predict padding or <bos>: neither is ever a target in training.
    banned = tf.constant([[index in (vocab.ids[PAD], vocab.ids[BOS]) for index in range(vocab_size)]])
    word_level = config.level == "word"

    def encode(text):
        if word_level:
            pieces = tf.strings.split(text)  # ragged (batch, words)
        else:
            pieces = tf.strings.unicode_split(tf.strings.strip(text), "UTF-8")  # ragged (batch, characters)
        ids = tf.cast(tf.ragged.map_flat_values(table.lookup, pieces), tf.int32)
        eos = tf.fill([tf.shape(text)[0], 1], eos_id)
        return tf.concat([eos, ids.to_tensor(0)], axis=1)  # (batch, 1 + longest prompt), 0 is masked padding

    def run(ids, states):
        outputs = step_model([ids] + list(states), training=False)
        logits = tf.where(banned, tf.constant(-1e9, outputs[0].dtype), outputs[0])  # (batch, vocab)
        return logits, list(outputs[1:])

    def start(text):
        batch = tf.shape(text)[0]
        return run(encode(text), [tf.zeros([batch, size]) for size in state_sizes])

    def next_words(text, k):
        logits, _ = start(text)
        probabilities, indices = tf.math.top_k(tf.nn.softmax(logits), k=tf.clip_by_value(k, 1, vocab_size))
        return {"words": tf.gather(token_strings, indices), "probabilities": probabilities}

    def generate(prompt, max_words, temperature, top_k, seed):
        max_words = tf.clip_by_value(max_words, 0, MAX_GENERATED_WORDS)
        top_k = tf.clip_by_value(top_k, 0, vocab_size)
        logits, states = start(prompt)

        def sample(step, logits):
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
        tokens = tf.gather(token_strings, tf.transpose(words.stack()[:max_words]))  # (batch, max_words)
        tokens = tf.reshape(tokens, [tf.shape(prompt)[0], max_words])
        text = tf.strings.reduce_join(tokens, axis=1, separator=" " if word_level else "")
        text = tf.strings.regex_replace(text, " ?" + EOS + " ?" if word_level else EOS, "\n")
        return {"text": text}

    archive = keras.export.ExportArchive()
    archive.track(step_model)
    archive.track(table)
    text_spec = tf.TensorSpec([None], tf.string, name="text")
    archive.add_endpoint("serving_default", lambda text: next_words(text, tf.constant(DEFAULT_TOP_K)),
                         input_signature=[text_spec])
    archive.add_endpoint("top_k", next_words, input_signature=[text_spec, tf.TensorSpec([], tf.int32, name="k")])
    archive.add_endpoint(
        "generate",
        generate,
        input_signature=[
            tf.TensorSpec([None], tf.string, name="prompt"),
            tf.TensorSpec([], tf.int32, name="max_words"),
            tf.TensorSpec([], tf.float32, name="temperature"),
            tf.TensorSpec([], tf.int32, name="top_k"),
            tf.TensorSpec([], tf.int64, name="seed"),
        ],
    )
    write_saved_model(path, lambda directory: archive.write_out(directory, verbose=False))
