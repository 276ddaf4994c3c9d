"""A tiny deterministic corpus for the language-model tests (about 30 words)."""

import random

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


def tiny_flags(data, out, *extra):
    """train.py flags for a model that trains in a few seconds."""
    return ["lm", "--data", str(data), "--out", str(out), "--num-layers", "1", "--units", "8", "--embedding-dim", "8",
            "--bptt", "5", "--batch-size", "4", "--epochs", "2", "--dropout", "0", "--seed", "3", *extra]
