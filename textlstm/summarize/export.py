"""SavedModel export of a trained summarizer: documents in, summaries out, all in one graph.

The graph holds the tokenizer (the run's tokenizer's TensorFlow ops, for a
subword model tensorflow-text's SentencePiece op, and a
`tf.lookup.StaticHashTable`), the weights and the beam search, so it loads
with `tf.saved_model.load` in a process that never imports keras or
textlstm (a subword model's after `import tensorflow_text`). Signatures:

- `serving_default(text: string[batch]) -> {summary: string[batch], score: float32[batch]}`,
  decoded with every decoding setting of training (beam size, maximum length, ...);
- `decode(text: string[batch], beam_size: int32, max_len: int32) -> {summary, score}`,
  the same with another beam size and maximum length (clipped to [1, 16] and [min_len + 1, 200]);
  the reloaded `decode` function (not the signature) may leave either out, to keep training's.

Each document is cut to the training `max_source_len` tokens; an empty
document gets an empty summary with score 0, and an empty batch empty
outputs. A summary's tokens are joined as the run's tokenizer joins them
(words with spaces, characters and subword pieces as they were in the
text). A copying model writes a token of the document that is outside the
vocabulary as it is spelled in the document (a word keeps its case; the
words of the vocabulary are lowercase). The score is the length-normalised
log-probability of the summary.
"""

import tensorflow as tf

from textlstm.export import join_surfaces, surface_table, vocabulary_table, write_saved_model
from textlstm.seq2seq.copying import extended_ids_graph
from textlstm.seq2seq.decode import MAX_BEAM_SIZE, MAX_SUMMARY_LEN, beam_search
from textlstm.summarize.data import summary_tokenizer
from textlstm.vocab import BOS


def export_text_summarizer(model, vocab, config, path, tokenizer=None):
    """Writes the string-in, string-out SavedModel of a trained summarizer (temporary directory, then rename).

    Args:
        model: The trained `Seq2Seq`.
        vocab: Its `Vocabulary`.
        config: Its `SummarizeConfig`.
        path: Destination directory; an earlier export there is replaced only once the new one is complete.
        tokenizer: The run's tokenizer (`summary_tokenizer`); None for `config.level`'s words or characters.
    """
    tokenizer = tokenizer or summary_tokenizer(config.level)
    surfaces = surface_table(tokenizer, vocab)
    table = vocabulary_table(vocab)
    bos_id, eos_id = vocab.ids[BOS], vocab.eos_id
    vocab_size = len(vocab)
    decode_options = {"min_len": config.min_len, "length_penalty": config.length_penalty,
                      "no_repeat_ngram_size": config.no_repeat_ngram_size}

    def summarize(text, beam_size, max_len):
        spelled = tokenizer.graph_split(text)[:, : config.max_source_len]  # ragged (batch, tokens), as spelled
        tokens = tokenizer.graph_normalize(spelled)  # as the vocabulary holds them
        ids = tf.cast(tf.ragged.map_flat_values(table.lookup, tokens), tf.int32)
        eos = tf.RaggedTensor.from_tensor(tf.fill([tf.shape(text)[0], 1], eos_id))
        source = tf.concat([ids, eos], axis=1).to_tensor(0)  # (batch, tokens + 1)
        end = tf.RaggedTensor.from_tensor(tf.fill([tf.shape(text)[0], 1], ""))
        spelled = tf.concat([spelled, end], axis=1).to_tensor("")  # (batch, tokens + 1)
        source_extended, first = extended_ids_graph(tf.concat([tokens, end], axis=1).to_tensor(""), source,
                                                    vocab_size)
        # Per document, its out-of-vocabulary tokens as spelled, by temporary id, and one "" so it is never empty.
        document_tokens = tf.concat([tf.ragged.boolean_mask(spelled, first).to_tensor(""),
                                     tf.fill([tf.shape(text)[0], 1], "")], axis=1)
        extended = source_extended if config.copy else None
        summary_ids, scores = beam_search(model, source, bos_id, eos_id, beam_size=beam_size, max_len=max_len,
                                          source_extended=extended, **decode_options)  # (batch, max_len), (batch,)
        in_vocabulary = tf.gather(surfaces, tf.minimum(summary_ids, vocab_size - 1))
        temporary = tf.clip_by_value(summary_ids - vocab_size, 0, tf.shape(document_tokens)[1] - 1)
        copied = tokenizer.graph_surface(tf.gather(document_tokens, temporary, batch_dims=1))
        summary_surfaces = tf.where(summary_ids < vocab_size, in_vocabulary, copied)
        summary = join_surfaces(tf.ragged.boolean_mask(summary_surfaces, summary_ids != 0))
        empty = tokens.row_lengths() == 0
        return {"summary": tf.where(empty, "", summary), "score": tf.where(empty, 0.0, scores)}

    def summarize_batch(text, beam_size, max_len):
        # An empty batch has no source to attend over: it gets empty outputs of the same types.
        return tf.cond(tf.size(text) > 0, lambda: summarize(text, beam_size, max_len),
                       lambda: {"summary": tf.zeros([0], tf.string), "score": tf.zeros([0], tf.float32)})

    # A plain tf.Module rather than keras.export.ExportArchive, whose concrete functions would drop the
    # tensor defaults that let the reloaded `decode` keep training's beam size and maximum length.
    module = tf.Module()
    module.model_variables = [variable.value for variable in model.variables]  # so that the SavedModel holds them
    module.table = table
    if tokenizer.level == "subword":
        module.pieces = tokenizer.graph_pieces()  # the SentencePiece op's model, saved with the graph
    text_spec = tf.TensorSpec([None], tf.string, name="text")
    # autograph=False: every loop is an explicit tf.while_loop, and autograph would reread the model's
    # source files from disk, which fails if they were edited while a long training run was going.
    def decode(text, beam_size=tf.constant(config.beam_size), max_len=tf.constant(config.max_len)):
        return summarize_batch(text, tf.clip_by_value(beam_size, 1, MAX_BEAM_SIZE),
                               tf.clip_by_value(max_len, config.min_len + 1, MAX_SUMMARY_LEN))

    # serving_default passes Python ints, so that the search's shapes are known when it is traced.
    module.serving_default = tf.function(lambda text: summarize_batch(text, config.beam_size, config.max_len),
                                         autograph=False, input_signature=[text_spec])
    module.decode = tf.function(decode, autograph=False, input_signature=[
        text_spec, tf.TensorSpec([], tf.int32, name="beam_size"), tf.TensorSpec([], tf.int32, name="max_len")])
    signatures = {"serving_default": module.serving_default, "decode": module.decode}
    write_saved_model(path, lambda directory: tf.saved_model.save(module, directory, signatures=signatures))
