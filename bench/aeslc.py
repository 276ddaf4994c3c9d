"""AESLC (Zhang & Tetreault 2019): e-mail body -> subject line, against the published table.

Trains textlstm's attention encoder-decoder (bidirectional LSTM encoder,
Luong attention, copying from the source, beam search) on the Annotated
Enron Subject Line Corpus and reports test ROUGE-1/2/L F1 (Google's rouge-score, stemming on) beside the
Lead baseline, with the wall time and the equivalent train.py command.
Sized to finish within about an hour on two CPU cores.

Published test ROUGE-1 / 2 / L F1 (PEGASUS paper, Zhang et al. 2020, Table):
Transformer without pre-training 15.04 / 7.39 / 14.93; Zhang & Tetreault's
best 23.67 / 10.29 / 23.44.

Usage:
    python bench/aeslc.py [--data ../shared/data/aeslc] [--out runs/aeslc] [--epochs 8]

The equivalent train.py command:
    python train.py summarize --data ../shared/data/aeslc --out runs/aeslc --source-field email_body
        --target-field subject --max-source-len 60 --max-target-len 12 --max-vocab 12000 --min-count 2
        --units 128 --embedding-dim 128 --copy --dropout 0.2 --lr 0.002 --epochs 8 --patience 2
        --max-len 12 --no-repeat-ngram-size 2
"""

import argparse
import dataclasses
import json
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from textlstm.errors import UsageError  # noqa: E402
from textlstm.summarize.config import SummarizeConfig  # noqa: E402
from textlstm.summarize.train import train_summarizer  # noqa: E402

PUBLISHED = {"Transformer, no pre-training": (15.04, 7.39, 14.93), "Zhang & Tetreault 2019 (best)": (23.67, 10.29, 23.44)}


def aeslc_config(data, out, epochs):
    """Returns the SummarizeConfig of the benchmark run."""
    return SummarizeConfig(
        data=data, out=out, source_field="email_body", target_field="subject", max_source_len=60,
        max_target_len=12, max_vocab=12000, min_count=2, units=128, embedding_dim=128, copy=True, dropout=0.2,
        batch_size=32, lr=0.002, epochs=epochs, patience=2, beam_size=4, min_len=1, max_len=12,
        length_penalty=0.6, no_repeat_ngram_size=2)


def command_line(config):
    """The train.py command that runs config."""
    defaults = SummarizeConfig()
    flags = []
    for field in dataclasses.fields(config):
        value, flag = getattr(config, field.name), field.name.replace("_", "-")
        if value != getattr(defaults, field.name):
            flags.append((f"--{flag}" if value else f"--no-{flag}") if isinstance(value, bool) else f"--{flag} {value}")
    return "python train.py summarize " + " ".join(flags)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default="../shared/data/aeslc", help="directory with train/dev/test.jsonl")
    parser.add_argument("--out", default="runs/aeslc", help="run directory (the same command resumes it)")
    parser.add_argument("--epochs", type=int, default=8, help="maximum number of epochs (default: 8)")
    args = parser.parse_args(argv)
    config = aeslc_config(args.data, args.out, args.epochs)
    print(command_line(config), flush=True)
    try:
        metrics = train_summarizer(config, verbose=2)
    except UsageError as error:
        sys.exit(f"error: {error}")
    rows = [("textlstm (this run)", tuple(metrics[f"test_{key}"] for key in ("rouge1", "rouge2", "rougeL"))),
            (f"Lead-{metrics['lead_words']}", tuple(metrics[f"lead_{key}"] for key in ("rouge1", "rouge2", "rougeL"))),
            *PUBLISHED.items()]
    print(f"\n{'AESLC test, ROUGE F1 (%)':34}{'R-1':>7}{'R-2':>7}{'R-L':>7}")
    for name, scores in rows:
        print(f"{name:34}" + "".join(f"{score:7.2f}" for score in scores))
    print(f"best epoch {metrics['best_epoch']} of {len(metrics['epochs'])}, wall time "
          f"{metrics['wall_time_seconds'] / 60:.1f} min, {metrics['tokens_per_second']:.0f} target tokens/s")
    print(json.dumps({key: metrics[key] for key in ("test_rouge1", "test_rouge2", "test_rougeL", "lead_rouge1",
                                                    "lead_rouge2", "lead_rougeL", "wall_time_seconds")}))


if __name__ == "__main__":
    main()
