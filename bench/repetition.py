"""How often a finished summarizer's outputs repeat themselves, beside its ROUGE and the references' own rates.

For each run directory, re-exports its best model with the run's decoding
settings (or those given here) into a temporary directory, summarizes a
split of the run's data (or of --data) and prints ROUGE-1/2/L F1 against
the split's summaries, the fraction of outputs that repeat a word trigram
and the fraction that repeat a word back to back, with the same two
fractions for the reference summaries. Settings are chosen on the
validation split; the test split is for the final report.

Usage:
    python bench/repetition.py RUN [RUN ...] [--split valid] [--data DIR] [--no-repeat-ngram-size N]
"""

import argparse
import dataclasses
import os
import tempfile

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from textlstm.run import load_run  # noqa: E402
from textlstm.seq2seq.repetition import repetition_rates  # noqa: E402
from textlstm.seq2seq.rouge import rouge  # noqa: E402
from textlstm.summarize.data import load_pairs  # noqa: E402
from textlstm.summarize.export import export_text_summarizer  # noqa: E402
from textlstm.summarize.inference import summarize_texts  # noqa: E402

DECODING = ("beam_size", "max_len", "min_len", "length_penalty", "no_repeat_ngram_size")


def measure(run_path, split, data=None, **decoding):
    """ROUGE and repetition rates of one run on one split, with decoding settings overridden where given."""
    import tensorflow as tf

    run = load_run(run_path)
    config = dataclasses.replace(run.config, **{key: value for key, value in decoding.items() if value is not None})
    pairs = load_pairs(data or config.data, config.source_field, config.target_field)[0][split]
    with tempfile.TemporaryDirectory() as directory:
        path = os.path.join(directory, "saved_model")
        export_text_summarizer(run.load_model(), run.vocab, config, path)
        predictions, _ = summarize_texts(tf.saved_model.load(path), pairs.source)
    rates = repetition_rates(predictions)
    references = repetition_rates(pairs.target)
    return {**rouge(pairs.references, predictions), **rates,
            **{f"reference_{key}": value for key, value in references.items()},
            "decoding": {name: getattr(config, name) for name in DECODING}, "examples": predictions[:5]}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("runs", nargs="+", help="finished summarization run directories")
    parser.add_argument("--split", default="valid", help="train, valid or test (default: valid)")
    parser.add_argument("--data", help="data to summarize instead of the run's")
    for name in DECODING:
        parser.add_argument(f"--{name.replace('_', '-')}", type=float if name == "length_penalty" else int,
                            help=f"{name} instead of the run's")
    args = parser.parse_args(argv)
    print(f"{'run':40}{'R-1':>7}{'R-2':>7}{'R-L':>7}{'trigram':>9}{'word':>7}{'ref tri':>9}{'ref word':>9}")
    for path in args.runs:
        result = measure(path, args.split, args.data, **{name: getattr(args, name) for name in DECODING})
        print(f"{path[-40:]:40}{result['rouge1']:7.2f}{result['rouge2']:7.2f}{result['rougeL']:7.2f}"
              f"{result['repeated_trigram']:9.3f}{result['repeated_word']:7.3f}"
              f"{result['reference_repeated_trigram']:9.3f}{result['reference_repeated_word']:9.3f}", flush=True)
        print(f"  decoding {result['decoding']}; first outputs: {result['examples']}", flush=True)


if __name__ == "__main__":
    main()
