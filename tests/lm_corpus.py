"""A tiny deterministic corpus for the language-model tests (about 30 words)."""

import random

import numpy as np

from textlstm.corpus import load_splits
from textlstm.lm.data import text_only, tokenize_lines

SUBJECTS = ["the cat", "a dog", "the bird", "my friend", "the teacher"]
VERBS = ["sees", "likes", "finds", "takes", "wants"]
OBJECTS = ["the ball", "a book", "the red hat", "some food", "the big box"]
PLACES = ["at home", "in the park", "near the tree"]


def write_corpus(directory, train_lines=300, eval_lines=40, seed=0):
    """Writes train.txt, valid.txt and test.txt of simple sentences into directory; returns directory."""
    rng = random.Random(seed)
    for name, count in (("train", train_lines), ("valid", eval_lines), ("test", eval_lines)):
        lines = [f"{rng.choice(SUBJECTS)} {rng.choice(VERBS)} {rng.choice(OBJECTS)} {rng.choice(PLACES)} ."
                 for _ in range(count)]
        (directory / f"{name}.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return directory


REGULARIZED = {"dropout": 0.25, "embedding_dropout": 0.1, "weight_drop": 0.2, "ar": 1.0, "tar": 1.0}
"""Every random regularizer of the language model on, and AR/TAR, as `LMConfig` arguments."""

UNREGULARIZED = dict.fromkeys(REGULARIZED, 0.0)


def as_flags(settings):
    """`LMConfig` arguments as train.py flags."""
    return [item for key, value in settings.items() for item in (f"--{key.replace('_', '-')}", str(value))]


def tiny_flags(data, out, *extra):
    """train.py flags for a model that trains in a few seconds."""
    return ["lm", "--data", str(data), "--out", str(out), "--num-layers", "1", "--units", "8", "--embedding-dim", "8",
            "--bptt", "5", "--batch-size", "4", "--epochs", "2", "--dropout", "0", "--seed", "3", *extra]


def split_lines(data):
    """Each split's non-blank lines as whole Python lists: the in-memory reference the encoded corpus must match."""
    return {split: list(dataset["text"]) for split, dataset in load_splits(data, lines=True, prepare=text_only).items()}


def encode_lines(lines, level, vocab):
    """The ids of lines end to end, each non-blank line followed by `<eos>`, encoded in memory as a reference."""
    return np.asarray([index for tokens in tokenize_lines(lines, level) for index in vocab.encode(tokens)], dtype=np.int32)
