"""A tiny summarization set whose summaries are made-up names, each in one document only (never in the vocabulary)."""

import random

from summarize_data import write_jsonl

SYLLABLES = ("zor", "bla", "quu", "vex", "mir", "tak", "lon", "dri", "pho", "gal", "ster", "wyn")
THINGS = ("report", "budget", "slides", "invoice", "contract", "schedule")
DAYS = ("monday", "tuesday", "wednesday", "thursday", "friday")


def made_up_names(count, seed=0):
    """count different capitalised names of three syllables."""
    generator = random.Random(seed)
    names = set()
    while len(names) < count:
        names.add("".join(generator.choice(SYLLABLES) for _ in range(3)).capitalize())
    return sorted(names, key=lambda name: generator.random())


def write_names(directory, train=200, valid=20, test=20, seed=0):
    """Writes train/valid/test.jsonl: "... please send the report to Zorblaquu before friday ..." -> "Zorblaquu"."""
    generator = random.Random(seed)
    names = made_up_names(train + valid + test, seed)
    rows = []
    for name in names:
        thing, day = generator.choice(THINGS), generator.choice(DAYS)
        text = f"hello , please send the {thing} to {name} before {day} . thanks ."
        rows.append({"text": text, "summary": name})
    directory.mkdir(parents=True, exist_ok=True)
    write_jsonl(directory / "train.jsonl", rows[:train])
    write_jsonl(directory / "valid.jsonl", rows[train: train + valid])
    write_jsonl(directory / "test.jsonl", rows[train + valid:])
    return directory, rows[train + valid:]
