"""Trains textlstm models from the command line.

    python train.py                 # next-word model on data/lm, exported to runs/lm
    python train.py lm --help       # every flag of the language-model job
    python train.py lm --data ../shared/data/ptb --out runs/ptb --epochs 13
    python train.py summarize       # summarizer on data/summarize, exported to runs/summarize
    python train.py summarize --help

Each subcommand parses its flags into a config object and makes one library call.
"""

import argparse
import dataclasses
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # keep TensorFlow's start-up chatter off the console

from textlstm.errors import UsageError
from textlstm.lm.config import LMConfig
from textlstm.summarize.config import SummarizeConfig

LM_HELP = {
    "data": "directory with train/valid/test files, one text file (cut 90/5/5), or hf:NAME[:CONFIG]",
    "out": "run directory; the same command continues an interrupted run",
    "level": "tokens: word (split on whitespace) or char",
    "max_vocab": "largest vocabulary incl. special tokens; 0 = no limit",
    "min_count": "words seen fewer times in training become <unk>",
    "cell": "recurrent layer: lstm, peephole, coupled, gru or simple",
    "layers": "number of stacked recurrent layers",
    "units": "state size of each recurrent layer",
    "embedding_dim": "size of the word vectors",
    "dropout": "dropout on embedding, between layers and before the softmax",
    "tie_weights": "share embedding and output matrices; needs units == embedding-dim",
    "init_scale": "if > 0, init all weights uniform in [-x, x] (Zaremba); 0 = Keras defaults",
    "bptt": "time steps per window of truncated backpropagation",
    "batch_size": "contiguous token streams trained side by side",
    "optimizer": "sgd or adam",
    "lr": "initial learning rate",
    "schedule": "plateau: lr x lr-decay when valid stops improving; fixed: decay after decay-start",
    "lr_decay": "factor applied to the learning rate at each decay",
    "decay_start": "fixed schedule: epochs at the initial learning rate",
    "epochs": "maximum number of epochs",
    "patience": "early stopping after this many epochs without improvement; 0 = never",
    "clipnorm": "clip each gradient tensor to this norm on its own; 0 = off",
    "global_clipnorm": "clip all gradients to this global norm (the classic recipes' clipping); 0 = off",
    "seed": "random seed",
    "export": "SavedModel directory; default: saved_model/ in the run directory",
    "overwrite": "replace a finished run in --out",
}
SUMMARIZE_HELP = {
    **{name: LM_HELP[name] for name in ("max_vocab", "min_count", "cell", "embedding_dim", "optimizer", "lr",
                                        "epochs", "clipnorm", "global_clipnorm", "seed", "export", "overwrite")},
    "data": "directory with train/valid(dev)/test files (.jsonl .json .csv .tsv .parquet), one such file "
            "(shuffled with seed 0, cut 90/5/5), or hf:NAME[:CONFIG]",
    "out": "run directory; the same command continues an interrupted run",
    "source_field": "column of the documents; empty picks text, document, article or email_body",
    "target_field": "column of the summaries; empty picks summary, highlights, subject or title",
    "max_source_len": "source tokens kept, the rest cut (training and serving)",
    "max_target_len": "summary tokens kept in training",
    "layers": "recurrent layers in the encoder and in the decoder",
    "units": "state size of each recurrent layer (per direction in the encoder)",
    "bidirectional": "run the encoder in both directions",
    "attention": "attention score: luong (multiplicative) or bahdanau (additive)",
    "copy": "pointer-generator: the output can also copy words of the document through the attention",
    "dropout": "dropout on embeddings, between layers and on the attentional state",
    "batch_size": "examples per training step",
    "patience": "early stopping after this many epochs without validation-loss improvement; 0 = never",
    "label_smoothing": "weight of the uniform distribution mixed into the targets; 0 = off",
    "beam_size": "beam search width; 1 = greedy (the SavedModel's default, changeable per request)",
    "min_len": "fewest summary tokens before the end token",
    "max_len": "most summary tokens, end token included (the SavedModel's default, changeable per request)",
    "length_penalty": "alpha of the GNMT length penalty; larger favours longer summaries",
    "no_repeat_ngram_size": "forbid repeating n-grams of this size in a summary; 0 = off",
}
SUBCOMMANDS = ("lm", "summarize")


def add_config_flags(parser, config_class, help_texts):
    """Adds one flag per config field: `max_vocab` becomes `--max-vocab`, with the field's default."""
    defaults = config_class()
    for field in dataclasses.fields(config_class):
        flag = "--" + field.name.replace("_", "-")
        default = getattr(defaults, field.name)
        if isinstance(default, bool):
            parser.add_argument(flag, action=argparse.BooleanOptionalAction, default=default,
                                help=help_texts[field.name] + f" (default: {default})")
        else:
            parser.add_argument(flag, type=type(default), default=default, metavar=field.name.split("_")[-1].upper(),
                                help=f"{help_texts[field.name]} (default: {default!r})")


def build_parser():
    parser = argparse.ArgumentParser(description="Train textlstm models. The subcommand defaults to lm.")
    subcommands = parser.add_subparsers(dest="command")
    lm = subcommands.add_parser(
        "lm", help="next-word language model",
        description="Train a next-word language model, report perplexity and export a SavedModel.",
        formatter_class=lambda prog: argparse.HelpFormatter(prog, max_help_position=26, width=120))
    add_config_flags(lm, LMConfig, LM_HELP)
    summarize = subcommands.add_parser(
        "summarize", help="attention encoder-decoder summarizer",
        description="Train a summarizer, report test ROUGE beside the Lead baseline and export a SavedModel.",
        formatter_class=lambda prog: argparse.HelpFormatter(prog, max_help_position=26, width=120))
    add_config_flags(summarize, SummarizeConfig, SUMMARIZE_HELP)
    return parser


def main(argv=None):
    """Runs `train.py` with argv (default: sys.argv[1:]); returns the exit status."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] not in SUBCOMMANDS + ("-h", "--help"):
        argv = ["lm"] + argv
    args = vars(build_parser().parse_args(argv))
    command = args.pop("command")
    try:
        if command == "lm":
            from textlstm.lm.train import train_language_model

            metrics = train_language_model(LMConfig(**args))
            print(f"valid perplexity {metrics['valid_perplexity']:.2f}  test perplexity "
                  f"{metrics['test_perplexity']:.2f}  (vocabulary {metrics['vocab_size']}, "
                  f"{metrics['tokens_per_second']:.0f} tokens/s, {metrics['wall_time_seconds']:.0f} s)")
            for sample in metrics["samples"]:
                print(f"  {sample['prompt']} | {sample['text']}".replace("\n", " / "))
            print(f"run directory: {args['out']}")
        elif command == "summarize":
            from textlstm.summarize.inference import rouge_table
            from textlstm.summarize.train import train_summarizer

            metrics = train_summarizer(SummarizeConfig(**args))
            print(f"test ROUGE F1 (%) on {metrics['split_sizes']['test']} examples, best epoch "
                  f"{metrics['best_epoch']}, {metrics['wall_time_seconds']:.0f} s:")
            print(rouge_table(metrics))
            for example in metrics["examples"]:
                source = " ".join(example["source"].split())
                print(f"  source:    {source[:150]}{'...' if len(source) > 150 else ''}")
                print(f"  reference: {example['reference']}")
                print(f"  output:    {example['output']}")
            print(f"run directory: {args['out']}")
    except UsageError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
