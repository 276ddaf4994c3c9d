"""SavedModel export of a trained summarizer: documents in, summaries out, all in one graph.

The graph holds the tokenizer (`tokenize_graph` and a
`tf.lookup.StaticHashTable`), the weights and the beam search, so it loads
with `tf.saved_model.load` in a process that never imports keras or
textlstm. Signature:

- `serving_default(text: string[batch], beam_size: int32 = training's, max_len: int32 = training's)
  -> {summary: string[batch], score: float32[batch]}`

The defaults of `beam_size` and `max_len` are stored in the SignatureDef, so
`saved_model_cli run` and the reloaded `summarize(text)` function may leave
them out; the TF2 `signatures["serving_default"]` call needs all three.
Each document is cut to the training `max_source_len` tokens; an empty
document gets an empty summary with score 0; `beam_size` is clipped to
[1, 16] and `max_len` to [min_len + 1, 200]. The score is the length-normalised
log-probability of the summary.
"""

import tensorflow as tf

from textlstm.export import vocabulary_table, write_saved_model
from textlstm.seq2seq.decode import MAX_BEAM_SIZE, MAX_SUMMARY_LEN, beam_search
from textlstm.summarize.data import tokenize_graph
from textlstm.vocab import BOS



def export_text_summarizer(model, vocab, config, path):
    """Writes the string-in, string-out SavedModel of a trained summarizer (temporary directory, then rename).

    Args:
        model: The trained `Seq2Seq`.
        vocab: Its `Vocabulary`.
        config: Its `SummarizeConfig`.
        path: Destination directory; an earlier export there is replaced only once the new one is complete.
    """
    token_strings = tf.constant(vocab.tokens)
    table = vocabulary_table(vocab)
    bos_id, eos_id = vocab.ids[BOS], vocab.eos_id
    decode_options = {"min_len": config.min_len, "length_penalty": config.length_penalty,
                      "no_repeat_ngram_size": config.no_repeat_ngram_size}

    def serve(text, beam_size=tf.constant(config.beam_size), max_len=tf.constant(config.max_len)):
        tokens = tokenize_graph(text)[:, : config.max_source_len]  # ragged (batch, words)
        ids = tf.cast(tf.ragged.map_flat_values(table.lookup, tokens), tf.int32)
        eos = tf.fill([tf.shape(text)[0], 1], eos_id)
        source = tf.concat([ids, tf.RaggedTensor.from_tensor(eos)], axis=1).to_tensor(0)  # (batch, words + 1)
        beam_size = tf.clip_by_value(beam_size, 1, MAX_BEAM_SIZE)
        max_len = tf.clip_by_value(max_len, config.min_len + 1, MAX_SUMMARY_LEN)
        summary_ids, scores = beam_search(model, source, bos_id, eos_id, beam_size=beam_size, max_len=max_len,
                                          **decode_options)  # (batch, max_len), (batch,)
        words = tf.ragged.boolean_mask(tf.gather(token_strings, summary_ids), summary_ids != 0)
        summary = tf.strings.reduce_join(words, axis=1, separator=" ")
        empty = tokens.row_lengths() == 0
        return {"summary": tf.where(empty, "", summary), "score": tf.where(empty, 0.0, scores)}

    # A plain tf.Module rather than keras.export.ExportArchive: the archive saves concrete functions,
    # which drop the tensor defaults of beam_size and max_len from the SignatureDef.
    module = tf.Module()
    module.model_variables = [variable.value for variable in model.variables]  # so that the SavedModel holds them
    module.table = table
    # autograph=False: every loop is an explicit tf.while_loop, and autograph would reread the model's
    # source files from disk, which fails if they were edited while a long training run was going.
    module.serving_default = tf.function(serve, autograph=False, input_signature=[
        tf.TensorSpec([None], tf.string, name="text"),
        tf.TensorSpec([], tf.int32, name="beam_size"),
        tf.TensorSpec([], tf.int32, name="max_len"),
    ])
    write_saved_model(path, lambda directory: tf.saved_model.save(
        module, directory, signatures={"serving_default": module.serving_default}))
