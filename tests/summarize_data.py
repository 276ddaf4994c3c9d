"""Tiny summarization sets for the tests, from data/make_sample_summaries.py."""

import importlib.util
import json
import pathlib

GENERATOR = pathlib.Path(__file__).parents[1] / "data" / "make_sample_summaries.py"


def write_sample(directory, train=60, valid=8, test=8, seed=0):
    """Writes train/valid/test.jsonl of synthetic e-mails and subject lines into directory; returns directory."""
    spec = importlib.util.spec_from_file_location("make_sample_summaries", GENERATOR)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    module.main(["--output-dir", str(directory), "--seed", str(seed), "--train-size", str(train),
                 "--valid-size", str(valid), "--test-size", str(test)])
    return directory


def write_jsonl(path, rows):
    path.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")
    return path


def tiny_flags(data, out, *extra):
    """train.py summarize flags for a model that trains in a few seconds."""
    return ["summarize", "--data", str(data), "--out", str(out), "--units", "8", "--embedding-dim", "8",
            "--batch-size", "16", "--epochs", "1", "--beam-size", "2", "--max-len", "6", "--seed", "3", *extra]

