"""LiteRT (TensorFlow Lite) export of a language model: one word at a time, at batch 1, in builtin operations only.

`export_litert(run, "keyboard.tflite")` (`textlstm export-litert`) writes three files:

- `keyboard.tflite`, with one signature, `step(token_id: int32[1], state: float32[1, S]) ->
  {top_ids: int32[1, K], top_probs: float32[1, K], state: float32[1, S]}`: the SavedModel's `step`
  (`textlstm.lm.export.one_step`, the same function of the same weights) with K fixed. It holds only
  builtin operations, so `ai_edge_litert.interpreter.Interpreter` runs it without the Flex delegate.
- `keyboard.vocab.txt`, the vocabulary: line n (from 0) is the token of id n, lines ending in "\\n".
- `keyboard.json`, what an app needs besides: `state_size`, `pad_id`, `unk_id`, `eos_id`, `level`
  (word: tokens are split on white space; char: characters), `top_k`, `quantize`, `vocab_size`.

An app starts from a zero state, steps `<eos>` (a prompt is read as the
beginning of a line), then each word of the prompt and each word typed,
keeping the state that `step` returns.

The weights are frozen into constants before the conversion
(`convert_variables_to_constants_v2`), so the file holds no variables and
needs no initialization. `quantize="dynamic"` is dynamic-range
quantization: the weight matrices are stored as int8 (see `shared_rows`
for a tied embedding) and the products run on int8 weights with float
activations.
"""

import json
import os
import tempfile

import tensorflow as tf
from tensorflow.python.framework.convert_to_constants import convert_variables_to_constants_v2

from textlstm.errors import UsageError
from textlstm.files import check_writable, read_json, write_atomically
from textlstm.lm.export import banned_ids, one_step
from textlstm.vocab import PAD

QUANTIZATIONS = ("none", "dynamic")
EXPORTED_BY = "textlstm export-litert"  # in the .json: what marks an earlier export as one this may replace


def shared_rows(model):
    """The embedding lookup and the tied output layer of model, arranged so that int8 weights store their matrix once.

    Dynamic-range quantization stores each weight matrix as int8: the
    lookup's (a GATHER) with one scale for the matrix, a fully connected
    layer's with one scale per output row, so a tied matrix E would be
    stored twice. Here both read R = E / s, where s_t = max |E_t| makes every
    row's largest magnitude 1, so that one scale for R is as fine as one per
    row: a token's vector is R_t s_t, the logits (x Rᵀ) s + b. The output is
    a batch matrix product, as the converter folds a scale that follows a
    fully connected layer back into its weights.

    Returns:
        (lookup, output), for `textlstm.lm.export.one_step`.
    """
    embedding = model.get_layer("embedding")
    scale = tf.reduce_max(tf.abs(embedding.embeddings), axis=1)  # (vocab,)
    rows = tf.math.divide_no_nan(embedding.embeddings, scale[:, None])  # (vocab, embedding_dim)

    def lookup(token_id):
        return tf.gather(rows, token_id) * tf.gather(scale, token_id)[:, None]

    def output(x):
        logits = tf.linalg.matmul(x[:, None, :], rows[None], adjoint_b=True)[:, 0]  # (batch, vocab)
        return logits * scale + embedding.output_bias

    return lookup, output


def convert_step(model, vocab, config, quantize="none", top_k=3):
    """The LiteRT flatbuffer of a language model's `step` at batch 1.

    Args:
        model: A model from `build_language_model` (the run's best.keras).
        vocab: Its `Vocabulary`.
        config: Its `LMConfig`.
        quantize: "none" (float32 weights) or "dynamic" (int8 weights).
        top_k: K, the next tokens `step` returns.

    Returns:
        (the `.tflite` file's bytes, S: the size of the packed state).
    """
    arranged = shared_rows(model) if quantize == "dynamic" and config.tie_weights else (None, None)
    step, state_size = one_step(model, config, banned_ids(vocab), *arranged)
    signature = [tf.TensorSpec([1], tf.int32, name="token_id"), tf.TensorSpec([1, state_size], tf.float32, name="state")]
    traced = tf.function(lambda token_id, state: step(token_id, state, tf.constant(top_k))).get_concrete_function(
        *signature)
    frozen = convert_variables_to_constants_v2(traced)

    @tf.function(input_signature=signature)
    def frozen_step(token_id, state):
        return tf.nest.pack_sequence_as(traced.structured_outputs, frozen(token_id, state))

    # The converter names a file's signatures after a SavedModel's; this one holds constants only.
    with tempfile.TemporaryDirectory() as directory:
        tf.saved_model.save(tf.Module(), directory, signatures={"step": frozen_step.get_concrete_function()})
        converter = tf.lite.TFLiteConverter.from_saved_model(directory, signature_keys=["step"])
        converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS]
        if quantize == "dynamic":
            converter.optimizations = [tf.lite.Optimize.DEFAULT]
        return converter.convert(), state_size


def litert_files(out):
    """The files of an export to out (`FILE.tflite`): the model, `FILE.vocab.txt`, `FILE.json` and, for a subword
    run, its SentencePiece model `FILE.spm.model`.

    Raises:
        UsageError: out does not end in `.tflite`.
    """
    stem, extension = os.path.splitext(out)
    if extension != ".tflite" or not os.path.basename(stem):
        raise UsageError(f"out must be a file name ending in .tflite. Received: out={out!r}")
    return out, f"{stem}.vocab.txt", f"{stem}.json", f"{stem}.spm.model"


def check_out(out):
    """Raises `UsageError` unless the files of an export to out can be written without losing anything else.

    They may not exist yet, or be those of an earlier export (its `.json`
    says so), which are replaced.
    """
    files = litert_files(out)
    check_writable(out, "out")
    for path in files:
        if os.path.isdir(path):
            raise UsageError(f"out {out}: {path} is a directory; choose another --out")
    if any(os.path.exists(path) for path in files):
        try:
            earlier = read_json(files[2])
        except UsageError:
            earlier = None
        if not isinstance(earlier, dict) or earlier.get("exported_by") != EXPORTED_BY:
            raise UsageError(f"out {out}: {', '.join(path for path in files if os.path.exists(path))} exist(s) and "
                             f"are not an earlier export of textlstm (no {files[2]} written by it); choose another "
                             "--out or remove them")


def export_litert(run, out, quantize="none", top_k=3):
    """Writes the LiteRT export of a language-model run: out (`FILE.tflite`) and the files beside it (`litert_files`).

    Everything is checked before the conversion, and each file is written
    through a temporary file and renamed into place.

    Args:
        run: A finished language-model `Run` (`textlstm.run.load_run`).
        out: The `.tflite` file.
        quantize: "none" or "dynamic" (see the module docstring).
        top_k: K, the next tokens `step` returns, 1 to the vocabulary size but `<pad>`, `<unk>` and `<bos>`.

    Returns:
        The contents of `FILE.json`, and `bytes`, the `.tflite` file's size.

    Raises:
        UsageError: A run that is not a finished language model, an unknown
            quantize, top_k out of range, or an out that cannot be written.
    """
    run.require("lm", "export-litert")
    if quantize not in QUANTIZATIONS:
        raise UsageError(f"quantize must be one of {', '.join(QUANTIZATIONS)}. Received: quantize={quantize!r}")
    vocab, config = run.vocab, run.config
    predictable = len(vocab) - len(banned_ids(vocab))
    if not 1 <= top_k <= predictable:
        raise UsageError(f"top-k must be in [1, {predictable}] (the tokens that may be predicted). "
                         f"Received: top-k={top_k}")
    check_out(out)
    flatbuffer, state_size = convert_step(run.load_model(), vocab, config, quantize, top_k)
    model_path, vocab_path, description_path, subword_path = litert_files(out)
    description = {
        "exported_by": EXPORTED_BY, "signature": "step", "state_size": state_size, "top_k": top_k,
        "quantize": quantize, "level": config.level, "vocab_size": len(vocab), "pad_id": vocab.ids[PAD],
        "unk_id": vocab.unk_id, "eos_id": vocab.eos_id, "cell": config.cell, "num_layers": config.num_layers,
        "units": config.units,
    }
    if config.level == "subword":  # the app cuts its text into pieces with this model (the `sentencepiece` package)
        description["subword_model"] = os.path.basename(subword_path)
        write_atomically(subword_path, run.tokenizer.model)
    write_atomically(vocab_path, "".join(f"{token}\n" for token in vocab.tokens))
    write_atomically(description_path, json.dumps(description, indent=2, ensure_ascii=False) + "\n")
    write_atomically(model_path, flatbuffer)
    return {**description, "bytes": len(flatbuffer)}
