"""Using a trained summarizer: summaries of new documents and ROUGE on another test set.

Each function takes a `textlstm.run.Run` (from `load_run(path)`) of a
summarization run, or its loaded SavedModel; summaries come from the SavedModel.
"""

import os

from textlstm.corpus import split_name
from textlstm.seq2seq.decode import check_decoding
from textlstm.seq2seq.repetition import repetition_rates
from textlstm.seq2seq.rouge import ROUGE_TYPES, UNITS, lead, mean_length, rouge, rouge_unit
from textlstm.summarize.data import load_pairs, load_single_file

# Documents per call of the SavedModel, so that a long input never builds one huge beam.
SERVING_BATCH = 64


def summarize_texts(exported, texts, beam_size=None, max_len=None):
    """Summarizes texts with a loaded SavedModel, `SERVING_BATCH` documents per call.

    Args:
        exported: The result of `tf.saved_model.load` on a summarizer export (a `Run`'s `export`).
        texts: List of documents (strings).
        beam_size: Beam size in [1, `MAX_BEAM_SIZE`]; None keeps the export's default.
        max_len: Most summary tokens in [1, `MAX_SUMMARY_LEN`]; None keeps the export's default.

    Returns:
        `(summaries, scores)`: a list of strings and a list of floats.
    """
    import tensorflow as tf

    options = {name: value for name, value in (("beam_size", beam_size), ("max_len", max_len)) if value is not None}
    check_decoding(**options)
    options = {name: tf.constant(value, tf.int32) for name, value in options.items()}
    # The reloaded `decode` keeps its Python defaults, training's settings, for an option left out; an
    # export older than `decode` took the options in `serving_default`.
    summarizer = getattr(exported, "decode", exported.serving_default) if options else exported.serving_default
    summaries, scores = [], []
    for start in range(0, len(texts), SERVING_BATCH):
        outputs = summarizer(tf.constant(texts[start: start + SERVING_BATCH], tf.string), **options)
        summaries += [value.decode("utf-8") for value in outputs["summary"].numpy()]
        scores += [float(value) for value in outputs["score"].numpy()]
    return summaries, scores


def score_summaries(exported, sources, references, lead_lengths, beam_size=None, max_len=None):
    """ROUGE-1/2/L F1 (percent) of the model's summaries and of the Lead baseline against references.

    The scores count words, or characters where rouge-score's tokenizer
    cannot read the references (`rouge_unit`: Chinese, Japanese, Korean, ...).

    Args:
        references: Per document, its reference summary, or a list of them (scored against the best match).
        lead_lengths: The Lead baseline's length in each unit, {"words": ..., "characters": ...}.

    Returns:
        `(metrics, predictions)`: metrics with keys `test_rouge1`, `test_rouge2`,
        `test_rougeL`, `lead_rouge1`, `lead_rouge2`, `lead_rougeL`, `rouge_unit`
        ("words" or "characters"), and the fractions of the model's summaries
        and of the (first) references that repeat a word trigram or a word back
        to back (`test_repeated_trigram`, `test_repeated_word`,
        `reference_repeated_trigram`, `reference_repeated_word`); predictions
        the model's summaries.
    """
    predictions, _ = summarize_texts(exported, sources, beam_size, max_len)
    first_references = [reference if isinstance(reference, str) else reference[0] for reference in references]
    unit = rouge_unit(first_references)
    model_scores = rouge(references, predictions, unit)
    lead_scores = rouge(references, lead(sources, lead_lengths[unit], unit), unit)
    metrics = {f"test_{key}": round(value, 2) for key, value in model_scores.items()}
    metrics.update({f"lead_{key}": round(value, 2) for key, value in lead_scores.items()}, rouge_unit=unit)
    for prefix, summaries in (("test", predictions), ("reference", first_references)):
        metrics.update({f"{prefix}_{key}": round(value, 4) for key, value in repetition_rates(summaries).items()})
    return metrics, predictions


def evaluate_run(run, data, split="test", source_field=None, target_field=None):
    """ROUGE of a finished run's SavedModel on another data set, beside the Lead baseline.

    Args:
        run: A finished summarization `Run`.
        data: As `--data`: a directory, a data file (scored whole) or `hf:NAME[:CONFIG]`.
        split: Split of a directory or hub dataset: "train", "valid" (or "validation", "dev") or "test".
        source_field: Column of the documents; None uses the run's, "" picks a common name.
        target_field: Column of the summaries; None uses the run's, "" picks a common name.

    Returns:
        The metrics dict of `score_summaries`, plus `examples` (rows scored), `skipped`, `lead_words` and
        `lead_characters` (the training run's, or the mean length of the summaries scored).
    """
    run.require("summarize", "evaluate")
    split = split_name(split)
    run_fields = run.metrics.get("fields") or [run.config.source_field, run.config.target_field]
    source_field = run_fields[0] if source_field is None else source_field
    target_field = run_fields[1] if target_field is None else target_field
    if os.path.isfile(data):
        pairs = load_single_file(data, source_field, target_field)
    else:
        pairs = load_pairs(data, source_field, target_field)[0][split]
    lengths = {unit: run.metrics.get(f"lead_{unit}") or mean_length(pairs.target, unit) for unit in UNITS}
    result, _ = score_summaries(run.export, pairs.source, pairs.references, lengths)
    return {**result, "lead_words": lengths["words"], "lead_characters": lengths["characters"],
            "examples": len(pairs.source), "skipped": pairs.skipped}


def rouge_table(metrics):
    """The model's ROUGE-1/2/L F1 beside the Lead baseline's, as lines of text.

    Args:
        metrics: A dict with `test_rouge1` ... `lead_rougeL`, `lead_words` and (scored on characters,
            `rouge_unit`) `lead_characters`.
    """
    lines = [f"{'':16}{'ROUGE-1':>9}{'ROUGE-2':>9}{'ROUGE-L':>9}"]
    characters = metrics.get("rouge_unit") == "characters"
    lead_name = f"Lead-{metrics['lead_characters']} chars" if characters else f"Lead-{metrics['lead_words']}"
    for name, prefix in (("model", "test"), (lead_name, "lead")):
        lines.append(f"{name:16}" + "".join(f"{metrics[f'{prefix}_{key}']:9.2f}" for key in ROUGE_TYPES))
    return "\n".join(lines)
