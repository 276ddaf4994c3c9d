"""Word, character and subword language models of one corpus, each trained for the same time, compared by bits per character.

Perplexity per token cannot compare tokenizations (a character is easier to
guess than a word); bits per character can: every run is scored on the same
test text, its summed negative log2-likelihood divided by the text's
characters. Each run is `train.py lm` with the same model and optimizer
(the defaults, or the Zaremba small configuration with `--small`), trained
for `--minutes` of wall time in epochs of `--steps` batches (the first
epoch that ends past the budget is the last), then evaluated and exported
as usual. It prints one Markdown row per level: test bits per character,
test perplexity per token, the vocabulary, the share of `<unk>` test
tokens, training tokens per second, epochs, and a few generated lines.

Usage:
    python bench/tokenizations.py --data ../shared/data/songci --out runs/songci \\
        --levels word,char,subword:4000... --minutes 10
    python bench/tokenizations.py --data ../shared/data/ptb --out runs/ptb-levels --small \\
        --levels word,subword:10000 --minutes 20

A level is `word`, `char`, or `subword:PIECES[:unigram|bpe]`. Runs resume
with the same command (each level has its own run directory under --out);
a finished run is not trained again, its row is printed from its metrics.
`--epochs N` trains every level for N epochs instead of a time budget (the
same number of steps, for a machine whose load changes between runs); it
also continues runs stopped by a budget.
"""

import argparse
import os
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras  # noqa: E402

from textlstm.errors import UsageError  # noqa: E402
from textlstm.lm.config import LMConfig  # noqa: E402
from textlstm.lm.train import train_language_model  # noqa: E402
from textlstm.run import RunDirectory  # noqa: E402
from ptb import UNREGULARIZED  # noqa: E402 (bench/ptb.py)


class TimeBudget(keras.callbacks.Callback):
    """Stops training at the end of the first epoch that ends after `seconds` of this process's training."""

    def __init__(self, seconds):
        super().__init__()
        self.seconds = seconds
        self.started = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        if time.perf_counter() - self.started > self.seconds:
            self.model.stop_training = True


def config_of(level, args):
    """The LMConfig of one level: the shared settings, and the level's own vocabulary."""
    name, _, rest = level.partition(":")
    pieces, _, model = rest.partition(":")
    settings = dict(data=args.data, out=os.path.join(args.out, level.replace(":", "-")), level=name,
                    steps_per_epoch=args.steps, epochs=args.epochs or 1000, patience=0, seed=args.seed)
    if name == "subword":
        settings.update(max_vocab=int(pieces), subword_model=model or "unigram")
    if args.small:  # Zaremba et al. 2014, small (bench/ptb.py); 20 steps of 20 rows, SGD
        settings.update(num_layers=2, units=200, embedding_dim=200, tie_weights=False, init_scale=0.1, bptt=20,
                        batch_size=20, optimizer="sgd", lr=20.0, schedule="plateau", lr_decay=0.25,
                        global_clipnorm=0.25, **UNREGULARIZED)
    return LMConfig(**settings)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", required=True, help="the corpus (a directory of train/valid/test files)")
    parser.add_argument("--out", required=True, help="where the runs go, one directory per level")
    parser.add_argument("--levels", default="word,char,subword:4000,subword:8000", help="comma-separated levels")
    parser.add_argument("--minutes", type=float, default=10.0, help="training time of each run")
    parser.add_argument("--steps", type=int, default=200, help="batches per epoch (how often the budget is checked)")
    parser.add_argument("--epochs", type=int, default=0, help="epochs of each run instead of --minutes (0: minutes)")
    parser.add_argument("--small", action="store_true", help="the Zaremba small configuration instead of the defaults")
    parser.add_argument("--seed", type=int, default=1, help="the seed of every run")
    args = parser.parse_args()
    print("| level | vocabulary | test bits/char | test perplexity/token | <unk> share | tokens/s | epochs | samples |")
    print("|---|---|---|---|---|---|---|---|")
    for level in args.levels.split(","):
        config = config_of(level, args)
        budget = [] if args.epochs else [TimeBudget(args.minutes * 60)]
        try:
            metrics = RunDirectory(config.out).metrics()
            if not metrics.get("finished"):
                metrics = train_language_model(config, verbose=0, callbacks=budget, log=None)
        except UsageError as error:
            print(f"| {level} | error: {error} |", flush=True)
            continue
        samples = " / ".join(f"{sample['prompt']}|{sample['text']}".replace("\n", " ⏎ ") for sample in
                             metrics["samples"][:2])
        print(f"| {level} | {metrics['vocab_size']:,} | {metrics['test_bits_per_character']:.3f} | "
              f"{metrics['test_perplexity']:.1f} | {metrics['test_unknown_share']:.1%} | "
              f"{metrics['tokens_per_second']:,.0f} | {len(metrics['epochs'])} | {samples[:200]} |", flush=True)


if __name__ == "__main__":
    main()
