"""Export of a trained `Seq2Seq` with its beam search, as a SavedModel over token ids."""

import keras
import tensorflow as tf

from textlstm.seq2seq.decode import beam_search


def export_summarizer(model, path, bos_id, eos_id, **decode_options):
    """Writes a SavedModel whose `summarize` endpoint runs `beam_search`.

    The endpoint takes `source`, int32 (batch, source_time) ids padded with
    0, any batch and length, and returns a dict with `"tokens"`, int32
    (batch, max_len), and `"scores"`, float32 (batch,). It is also the
    `serving_default` signature. Tokenization of strings is not part of it
    yet. The decoding options are fixed at export time.

    Args:
        model: A built `Seq2Seq`.
        path: Directory to write.
        bos_id: Id of the start token.
        eos_id: Id of the end token.
        **decode_options: `beam_search`'s options (`beam_size`, `max_len`,
            `min_len`, `length_penalty`, `no_repeat_ngram_size`).

    Returns:
        The `keras.export.ExportArchive` that was written.

    Example:

    >>> _ = export_summarizer(model, "/tmp/summarizer", bos_id=2, eos_id=3, beam_size=4)
    >>> reloaded = tf.saved_model.load("/tmp/summarizer")
    >>> reloaded.summarize(tf.constant([[5, 6, 7]]))["tokens"].shape
    TensorShape([1, 20])
    """

    def summarize(source):
        tokens, scores = beam_search(model, source, bos_id, eos_id, **decode_options)
        return {"tokens": tokens, "scores": scores}

    archive = keras.export.ExportArchive()
    archive.track(model)
    archive.add_endpoint(
        "summarize",
        summarize,
        input_signature=[tf.TensorSpec((None, None), tf.int32, name="source")],
    )
    archive.write_out(path, verbose=False)
    return archive
