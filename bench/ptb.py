"""Zaremba et al. 2014 "small" LSTM language model on Penn Treebank, against the published table.

Configuration (Zaremba, Sutskever & Vinyals 2014, "Recurrent Neural Network
Regularization", small model; TensorFlow's ptb_word_lm SmallConfig): 2 layers
of 200 units, embedding 200, no dropout, weights uniform in [-0.1, 0.1],
20 steps of truncated backpropagation, batch 20, 13 epochs, plain SGD at
learning rate 1 for 4 epochs and then halved every epoch, gradients clipped
to a global norm of 5 with the loss summed over the 20 time steps.

textlstm's loss is the mean over tokens, 20 times smaller than the sum over
time steps, so the same updates are learning rate 20 and global norm 0.25:
clip(20 g, 5) * 1 == clip(g, 0.25) * 20.

Published perplexity (valid / test): 120.7 / 114.5; TensorFlow's
reproduction: 121.39 / 115.91.

Usage:
    python bench/ptb.py [--data ../shared/data/ptb] [--out runs/ptb-small] [--epochs 13]

The equivalent train.py command:
    python train.py lm --data ../shared/data/ptb --out runs/ptb-small --max-vocab 0 --units 200
        --embedding-dim 200 --no-tie-weights --dropout 0 --init-scale 0.1 --bptt 20 --batch-size 20
        --optimizer sgd --lr 20 --schedule fixed --lr-decay 0.5 --decay-start 4 --epochs 13
        --patience 0 --global-clipnorm 0.25 --state-reset 0
"""

import argparse
import json
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from textlstm.errors import UsageError  # noqa: E402
from textlstm.lm.config import LMConfig  # noqa: E402
from textlstm.lm.train import train_language_model  # noqa: E402

PUBLISHED = {"Zaremba et al. 2014": (120.7, 114.5), "TensorFlow ptb_word_lm": (121.39, 115.91)}
# The language model's regularizers, all off whatever train.py's defaults are: the published models have none.
UNREGULARIZED = {"dropout": 0.0, "embedding_dropout": 0.0, "weight_drop": 0.0, "ar": 0.0, "tar": 0.0}


def small_config(data, out, epochs):
    """Returns the LMConfig of the Zaremba small model."""
    return LMConfig(
        data=data, out=out, level="word", max_vocab=0, min_count=1, cell="lstm", num_layers=2, units=200,
        embedding_dim=200, tie_weights=False, init_scale=0.1, bptt=20, batch_size=20, **UNREGULARIZED,
        optimizer="sgd", lr=20.0, schedule="fixed", lr_decay=0.5, decay_start=4, epochs=epochs, patience=0,
        clipnorm=0.0, global_clipnorm=0.25, state_reset=0.0, seed=1,
    )


def main():
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=os.path.join(root, "..", "shared", "data", "ptb"),
                        help="directory with ptb.train.txt, ptb.valid.txt, ptb.test.txt (or train/valid/test.txt)")
    parser.add_argument("--out", default=os.path.join(root, "runs", "ptb-small"), help="run directory")
    parser.add_argument("--epochs", type=int, default=13, help="epochs (13 in the paper)")
    args = parser.parse_args()
    try:
        metrics = train_language_model(small_config(args.data, args.out, args.epochs), verbose=2)
    except UsageError as error:
        sys.exit(f"error: {error}")
    print(json.dumps({key: metrics[key] for key in ("valid_perplexity", "test_perplexity", "tokens_per_second",
                                                     "wall_time_seconds")}, indent=2))
    for source, (valid, test) in PUBLISHED.items():
        print(f"{source}: valid {valid} / test {test}")
    print(f"textlstm: valid {metrics['valid_perplexity']:.2f} / test {metrics['test_perplexity']:.2f}")


if __name__ == "__main__":
    main()
