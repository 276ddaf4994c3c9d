"""End to end: a summarizer writes words it has never had in its vocabulary, through the CLI and the SavedModel."""

import json
import os
import subprocess
import sys

import pytest

import train
from names_data import write_names
from textlstm.__main__ import main as use_main
from textlstm.run import load_run
from textlstm.summarize.inference import summarize_texts

pytestmark = pytest.mark.slow  # trains a model for about half a minute
ENVIRONMENT = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2")


@pytest.fixture(scope="module")
def names_run(tmp_path_factory):
    """A run trained on made-up names (min-count 3: a name occurs twice, in its mail and its summary)."""
    data, test_rows = write_names(tmp_path_factory.mktemp("names"))
    out = tmp_path_factory.mktemp("runs") / "names"
    flags = ["summarize", "--data", str(data), "--out", str(out), "--units", "16", "--embedding-dim", "16",
             "--batch-size", "16", "--epochs", "4", "--min-count", "3", "--beam-size", "2", "--max-len", "4",
             "--seed", "1"]
    assert train.main(flags) == 0
    return data, out, test_rows


def test_the_names_are_outside_the_vocabulary_and_written_exactly(names_run, capsys):
    _, out, test_rows = names_run
    run = load_run(str(out))
    names = [row["summary"] for row in test_rows]
    assert not {name.lower() for name in names} & set(run.vocab.tokens)
    summaries, _ = summarize_texts(run.export, [row["text"] for row in test_rows])
    assert summaries == names  # the spelling of the mail, capital first letter included
    assert json.loads((out / "metrics.json").read_text())["test_rouge1"] == 100.0


def test_the_cli_writes_the_names(names_run, tmp_path, capsys):
    _, out, test_rows = names_run
    documents = tmp_path / "mails.txt"
    documents.write_text("".join(row["text"] + "\n" for row in test_rows[:3]), encoding="utf-8")
    capsys.readouterr()
    assert use_main(["summarize", "--model", str(out), str(documents)]) == 0
    assert capsys.readouterr().out.splitlines() == [row["summary"] for row in test_rows[:3]]


SERVING_CHECK = """
import sys
for name in ("keras", "tf_keras", "textlstm"):
    sys.modules[name] = None
import tensorflow as tf
model = tf.saved_model.load(sys.argv[1])
texts = sys.argv[2:]
outputs = model.signatures["serving_default"](text=tf.constant(texts))  # the text alone
print("\\n".join(value.decode("utf-8") for value in outputs["summary"].numpy()))
"""


def test_the_saved_model_writes_the_names_without_textlstm(names_run):
    _, out, test_rows = names_run
    texts = [row["text"] for row in test_rows[:3]]
    # Bad input: a mail of unknown words only, one whose name lies beyond the 80 tokens kept, and an empty one.
    texts += ["Xylophant Quibbleworth Zanzibarian", "hello , " * 41 + "please send the report to Farfalla .", ""]
    result = subprocess.run([sys.executable, "-c", SERVING_CHECK, str(out / "saved_model"), *texts],
                            capture_output=True, text=True, cwd="/", env=ENVIRONMENT, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    lines = result.stdout.split("\n")
    assert lines[:3] == [row["summary"] for row in test_rows[:3]]
    assert lines[3] and set(lines[3].split()) <= {"Xylophant", "Quibbleworth", "Zanzibarian"}  # the only words there
    assert "Farfalla" not in lines[4]  # cut away with the rest of the long mail
    assert lines[5] == ""
