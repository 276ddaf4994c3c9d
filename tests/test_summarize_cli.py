import json
import os
import subprocess
import sys

import pytest

import train
from summarize_data import tiny_flags, write_jsonl, write_sample
from textlstm.__main__ import main as use_main

ENVIRONMENT = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2")


@pytest.fixture
def finished_run(finished_summarize_run):
    return finished_summarize_run


def test_train_writes_the_run_directory_and_metrics(finished_run, capsys):
    _, out, _ = finished_run
    assert {"config.json", "vocab.json", "best.keras", "metrics.json", "logs", "saved_model"} <= set(os.listdir(out))
    assert "checkpoints" not in os.listdir(out)
    metrics = json.loads((out / "metrics.json").read_text())
    assert [epoch["epoch"] for epoch in metrics["epochs"]] == [1, 2]
    assert {"loss", "val_loss", "learning_rate"} <= set(metrics["epochs"][0])
    for key in ("test_rouge1", "test_rouge2", "test_rougeL", "lead_rouge1", "lead_rouge2", "lead_rougeL"):
        assert 0 <= metrics[key] <= 100
    assert metrics["finished"] and metrics["fields"] == ["text", "summary"] and metrics["lead_words"] >= 1
    assert len(metrics["examples"]) == 5 and set(metrics["examples"][0]) == {"source", "reference", "output"}
    config = json.loads((out / "config.json").read_text())
    assert config["max_source_len"] == 80 and config["label_smoothing"] == 0.1  # flag = field = key
    vocab = json.loads((out / "vocab.json").read_text())["tokens"]
    assert vocab[:4] == ["<pad>", "<unk>", "<eos>", "<bos>"]


def test_train_prints_the_rouge_table_and_examples(finished_run):
    out = finished_run[2]
    assert "fields: text -> summary (recognised by name)" in out
    assert "ROUGE-1  ROUGE-2  ROUGE-L" in out and "\nmodel " in out and "\nLead-" in out
    assert out.count("reference: ") == 5


@pytest.mark.slow
def test_other_cells_and_attention_train_end_to_end(tmp_path, capsys):
    data = write_sample(tmp_path / "data", train=30, valid=4, test=4)
    assert train.main(tiny_flags(data, tmp_path / "run", "--no-bidirectional", "--attention", "bahdanau",
                                 "--cell", "gru", "--num-layers", "2", "--no-repeat-ngram-size", "2")) == 0
    assert "\nmodel " in capsys.readouterr().out


def test_summarize_reads_lines_and_writes_one_summary_per_line(finished_run, tmp_path, capsys):
    _, out, _ = finished_run
    documents = tmp_path / "documents.txt"
    documents.write_text("hi anna , the budget meeting on monday is cancelled . thanks , ben\n\n" + "word " * 5000 + "\n")
    assert use_main(["summarize", "--model", str(out), "--scores", str(documents)]) == 0
    lines = capsys.readouterr().out.split("\n")[:-1]
    assert len(lines) == 3
    assert lines[1] == "0.0000\t"  # an empty document gets an empty summary
    assert all(line.split("\t")[1] for line in (lines[0], lines[2]))


def test_summarize_reads_a_field_of_json_lines(finished_run, capsys):
    data, out, _ = finished_run
    assert use_main(["summarize", "--model", str(out), "--source-field", "text", "--beam-size", "1", "--max-len", "3",
                     str(data / "test.jsonl")]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 8 and all(1 <= len(line.split()) <= 3 for line in lines)


def test_summarize_joins_a_field_that_holds_sentences(finished_run, tmp_path, capsys):
    _, out, _ = finished_run
    documents = write_jsonl(tmp_path / "papers.jsonl", [
        {"text": ["hi anna , the budget meeting on monday is cancelled .", "thanks , ben"]},
        {"text": "hi anna , the budget meeting on monday is cancelled . thanks , ben"}])
    assert use_main(["summarize", "--model", str(out), "--source-field", "text", str(documents)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 2 and lines[0] == lines[1] and "[" not in lines[0]


@pytest.mark.slow  # about 3 s: a set summarized and scored
def test_evaluate_scores_rouge_on_another_test_set(finished_run, tmp_path, capsys):
    _, out, _ = finished_run
    other = write_sample(tmp_path, train=3, valid=3, test=6, seed=5)
    capsys.readouterr()
    assert use_main(["evaluate", "--model", str(out), "--data", str(other)]) == 0
    printed = capsys.readouterr().out
    assert printed.startswith("ROUGE F1 (%) on 6 examples") and "\nLead-" in printed
    assert use_main(["evaluate", "--model", str(out), "--data", str(other / "valid.jsonl")]) == 0
    assert "on 3 examples" in capsys.readouterr().out


EXPORT_CHECK = """
import sys
for name in ("keras", "tf_keras", "textlstm"):
    sys.modules[name] = None
import tensorflow as tf
model = tf.saved_model.load(sys.argv[1])
documents = ["hi anna , the budget meeting on monday is cancelled . thanks , ben", "", "word " * 5000]
outputs = model.signatures["decode"](text=tf.constant(documents), beam_size=tf.constant(3), max_len=tf.constant(5))
summary, score = outputs["summary"].numpy(), outputs["score"].numpy()
assert summary.shape == (3,) and score.shape == (3,), outputs
assert summary[0] and summary[2] and summary[1] == b"" and score[1] == 0.0, outputs
assert len(summary[0].split()) <= 4
default = model.signatures["serving_default"](text=tf.constant(documents))  # the text alone: training's settings
assert default["summary"].shape == (3,) and default["summary"].numpy()[1] == b"", default
many = model.serving_default(tf.constant(["the sprint review is on friday ."] * 1000))
assert many["summary"].shape == (1000,) and len(set(many["summary"].numpy().tolist())) == 1
odd = model.decode(tf.constant(documents[:1]), beam_size=tf.constant(0), max_len=tf.constant(-4))
assert odd["summary"].shape == (1,)
loaded = [name for name, module in sys.modules.items()
          if module is not None and name.split(".")[0] in ("keras", "tf_keras", "textlstm")]
assert not loaded, loaded
print("ok")
"""


@pytest.mark.slow  # about 14 s: a fresh process
def test_export_answers_in_a_process_without_textlstm_or_keras(finished_run):
    _, out, _ = finished_run
    result = subprocess.run([sys.executable, "-c", EXPORT_CHECK, str(out / "saved_model")], capture_output=True,
                            text=True, cwd="/", env=ENVIRONMENT, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.strip() == "ok"


@pytest.mark.slow
def test_saved_model_cli_runs_the_signature_with_its_defaults(finished_run):
    _, out, _ = finished_run
    cli = os.path.join(os.path.dirname(sys.executable), "saved_model_cli")
    ran = subprocess.run([cli, "run", "--dir", str(out / "saved_model"), "--tag_set", "serve", "--signature_def",
                          "serving_default", "--input_exprs", "text=['the budget meeting is cancelled .', '']"],
                         capture_output=True, text=True, env=ENVIRONMENT, timeout=300)
    assert ran.returncode == 0, ran.stderr[-2000:]
    assert "summary" in ran.stdout and "score" in ran.stdout


@pytest.mark.slow  # three summarize commands: about 7 s
def test_summarize_reads_json_lines_by_their_text_column_without_source_field(finished_run, capsys, monkeypatch):
    data, out, _ = finished_run
    flags = ["summarize", "--model", str(out), "--beam-size", "1", "--max-len", "4"]
    assert use_main([*flags, "--source-field", "text", str(data / "test.jsonl")]) == 0
    expected = capsys.readouterr().out
    assert use_main([*flags, str(data / "test.jsonl")]) == 0
    assert capsys.readouterr().out == expected
    monkeypatch.setattr(sys, "stdin", open(data / "test.jsonl", encoding="utf-8"))  # lines of objects on stdin
    assert use_main(flags) == 0
    assert capsys.readouterr().out == expected


def test_json_lines_without_a_known_column_are_refused_naming_the_columns(finished_run, tmp_path, capsys):
    _, out, _ = finished_run
    other = write_jsonl(tmp_path / "other.jsonl", [{"body": "hi anna", "id": 1}])
    assert use_main(["summarize", "--model", str(out), str(other)]) == 2
    error = capsys.readouterr().err.strip().splitlines()
    assert error == [f"error: {other} is JSON Lines, but line 1 has none of the columns text, document, article, "
                     "email_body; its fields are body, id; pass --source-field"]


def test_json_lines_are_read_by_the_first_known_column_and_text_stays_text(tmp_path):
    from textlstm.cli import read_documents

    rows = write_jsonl(tmp_path / "rows.txt", [{"text": "one", "body": "two"}, {"text": "three", "body": "four"}])
    assert read_documents(str(rows), "", ["body", "text"]) == ["two", "four"]  # a .txt of objects is JSON Lines too
    assert read_documents(str(rows), "text", ["body"]) == ["one", "three"]
    plain = tmp_path / "mails.txt"
    plain.write_text("hi {anna}\n\n{not json\n", encoding="utf-8")
    assert read_documents(str(plain), "", ["text"]) == ["hi {anna}", "", "{not json"]
