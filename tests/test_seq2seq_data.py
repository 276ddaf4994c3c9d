import importlib.util
import json
import pathlib

GENERATOR = pathlib.Path(__file__).parents[1] / "data" / "make_sample_summaries.py"


def load_generator():
    spec = importlib.util.spec_from_file_location("make_sample_summaries", GENERATOR)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def generate(directory, seed=0):
    load_generator().main(
        ["--output-dir", str(directory), "--seed", str(seed), "--train-size", "50", "--valid-size", "5", "--test-size", "5"]
    )
    return {path.name: path.read_text() for path in sorted(directory.glob("*.jsonl"))}


def test_sample_set_is_deterministic(tmp_path):
    first = generate(tmp_path / "first")
    assert sorted(first) == ["test.jsonl", "train.jsonl", "valid.jsonl"]
    assert generate(tmp_path / "second") == first
    assert generate(tmp_path / "other", seed=1) != first


def test_summaries_are_short_and_not_the_lead(tmp_path):
    generate(tmp_path)
    examples = [json.loads(line) for line in (tmp_path / "train.jsonl").read_text().splitlines()]
    assert len(examples) == 50
    for example in examples:
        text, summary = example["text"].split(), example["summary"].split()
        assert 30 <= len(text) <= 60
        assert 2 <= len(summary) <= 6
        assert text[: len(summary)] != summary
