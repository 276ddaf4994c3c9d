"""Using a trained summarization run: summaries of new documents and ROUGE on another test set."""

import os

from textlstm import training
from textlstm.errors import UsageError
from textlstm.seq2seq.rouge import lead, mean_length, rouge
from textlstm.summarize.config import SummarizeConfig
from textlstm.summarize.data import SPLITS, load_pairs, load_single_file

# Documents per call of the SavedModel, so that a long input never builds one huge beam.
SERVING_BATCH = 64


def is_summarization_run(run_dir):
    """True if run_dir's config.json is a summarization run's (it names a source field)."""
    if not os.path.isfile(os.path.join(run_dir, training.CONFIG_FILE)):
        return False
    return "source_field" in training.read_run_config(run_dir)


def load_run(run_dir):
    """Returns the `SummarizeConfig` of a run directory.

    Raises:
        UsageError: run_dir is not a summarization run directory.
    """
    values = training.read_run_config(run_dir)
    if "source_field" not in values:
        raise UsageError(f"model {run_dir} is not a summarization run")
    return training.config_from(values, SummarizeConfig)


def load_export(run_dir):
    """Loads a run's SavedModel with `tf.saved_model.load`; returns (loaded, config)."""
    config = load_run(run_dir)
    return training.load_export(run_dir, config), config


def summarize_texts(exported, texts, beam_size=None, max_len=None):
    """Summarizes texts with a loaded SavedModel, `SERVING_BATCH` documents per call.

    Args:
        exported: The result of `tf.saved_model.load` on a summarizer export.
        texts: List of documents (strings).
        beam_size: Beam size; None keeps the export's default.
        max_len: Most summary tokens; None keeps the export's default.

    Returns:
        `(summaries, scores)`: a list of strings and a list of floats.
    """
    import tensorflow as tf

    options = {}
    if beam_size is not None:
        options["beam_size"] = tf.constant(beam_size, tf.int32)
    if max_len is not None:
        options["max_len"] = tf.constant(max_len, tf.int32)
    summaries, scores = [], []
    for start in range(0, len(texts), SERVING_BATCH):
        outputs = exported.serving_default(tf.constant(texts[start: start + SERVING_BATCH], tf.string), **options)
        summaries += [value.decode("utf-8") for value in outputs["summary"].numpy()]
        scores += [float(value) for value in outputs["score"].numpy()]
    return summaries, scores


def score_summaries(exported, sources, references, lead_words, beam_size=None, max_len=None):
    """ROUGE-1/2/L F1 (percent) of the model's summaries and of the Lead baseline against references.

    Returns:
        `(metrics, predictions)`: metrics with keys `test_rouge1`, `test_rouge2`,
        `test_rougeL`, `lead_rouge1`, `lead_rouge2`, `lead_rougeL`; predictions the model's summaries.
    """
    predictions, _ = summarize_texts(exported, sources, beam_size, max_len)
    model_scores = rouge(references, predictions)
    lead_scores = rouge(references, lead(sources, lead_words))
    metrics = {f"test_{key}": round(value, 2) for key, value in model_scores.items()}
    metrics.update({f"lead_{key}": round(value, 2) for key, value in lead_scores.items()})
    return metrics, predictions


def evaluate_run(run_dir, data, split="test", source_field=None, target_field=None):
    """ROUGE of a finished run's SavedModel on another data set, beside the Lead baseline.

    Args:
        run_dir: A finished summarization run directory.
        data: As `--data`: a directory, a data file (scored whole) or `hf:NAME[:CONFIG]`.
        split: Split of a directory or hub dataset: "train", "valid" or "test".
        source_field: Column of the documents; None uses the run's, "" picks a common name.
        target_field: Column of the summaries; None uses the run's, "" picks a common name.

    Returns:
        The metrics dict of `score_summaries`, plus `examples` (rows scored) and `skipped`.
    """
    exported, config = load_export(run_dir)
    metrics = training.read_json(os.path.join(run_dir, training.METRICS_FILE)) or {}
    run_fields = metrics.get("fields") or [config.source_field, config.target_field]
    source_field = run_fields[0] if source_field is None else source_field
    target_field = run_fields[1] if target_field is None else target_field
    if os.path.isfile(data):
        pairs, skipped = load_single_file(data, source_field, target_field)
    else:
        if split not in SPLITS:
            raise UsageError(f"split must be train, valid or test. Received: split={split!r}")
        all_pairs, _, all_skipped = load_pairs(data, source_field, target_field)
        pairs, skipped = all_pairs[split], all_skipped[split]
    lead_words = metrics.get("lead_words") or mean_length(pairs["target"])
    result, _ = score_summaries(exported, pairs["source"], pairs["target"], lead_words)
    return {**result, "lead_words": lead_words, "examples": len(pairs["source"]), "skipped": skipped}


def rouge_table(metrics):
    """The model's ROUGE-1/2/L F1 beside the Lead baseline's, as lines of text.

    Args:
        metrics: A dict with `test_rouge1` ... `lead_rougeL` and `lead_words`.
    """
    lines = [f"{'':14}{'ROUGE-1':>9}{'ROUGE-2':>9}{'ROUGE-L':>9}"]
    for name, prefix in (("model", "test"), (f"Lead-{metrics['lead_words']}", "lead")):
        lines.append(f"{name:14}" + "".join(f"{metrics[f'{prefix}_{key}']:9.2f}" for key in ("rouge1", "rouge2",
                                                                                            "rougeL")))
    return "\n".join(lines)
