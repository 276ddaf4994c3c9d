import json
import os
import subprocess
import sys
import textwrap

import pytest

import train
from conftest import assert_one_line_error
from lm_corpus import tiny_flags, write_corpus
from textlstm.__main__ import main as use_main
from textlstm.lm.inference import predict_next_words
from textlstm.run import load_run

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@pytest.fixture
def finished_run(finished_lm_run):
    return finished_lm_run


def test_train_writes_the_run_directory(finished_run, capsys):
    _, out = finished_run
    names = set(os.listdir(out))
    assert {"config.json", "vocab.json", "best.keras", "metrics.json", "logs", "saved_model"} <= names
    assert "checkpoints" not in names  # removed once training finished
    metrics = json.loads((out / "metrics.json").read_text())
    assert [epoch["epoch"] for epoch in metrics["epochs"]] == [1, 2]
    for key in ("perplexity", "val_perplexity", "tokens_per_second", "learning_rate"):
        assert key in metrics["epochs"][0]
    assert metrics["finished"] and metrics["wall_time_seconds"] > 0
    assert 1 < metrics["test_perplexity"] < metrics["vocab_size"]
    config = json.loads((out / "config.json").read_text())
    assert config["units"] == 8 and config["max_vocab"] == 10000  # flag spelling = field = key


def test_predict_prints_top_k_words_with_probabilities(finished_run, capsys):
    _, out = finished_run
    assert use_main(["predict", "--model", str(out), "--top-k", "3", "the cat", "a dog likes"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 2 and lines[0].startswith("the cat\t")
    probabilities = [float(value) for value in lines[0].split("\t")[1].split()[1::2]]
    assert len(probabilities) == 3 and probabilities == sorted(probabilities, reverse=True)


def test_generate_is_reproducible_with_a_seed_and_reads_a_prompt_file(finished_run, capsys, tmp_path):
    _, out = finished_run
    prompts = tmp_path / "prompts.txt"
    prompts.write_text("the cat\nmy friend\n")
    flags = ["generate", "--model", str(out), "--prompts", str(prompts), "--words", "6", "--temperature", "0.8",
             "--top-k", "5", "--seed", "7"]
    assert use_main(flags) == 0
    first = capsys.readouterr().out
    assert use_main(flags) == 0
    assert capsys.readouterr().out == first
    assert [line.split()[:2] for line in first.strip().splitlines()] == [["the", "cat"], ["my", "friend"]]


def test_evaluate_reports_perplexity_on_another_corpus(finished_run, capsys):
    data, out = finished_run
    assert use_main(["evaluate", "--model", str(out), "--data", str(data / "valid.txt")]) == 0
    assert capsys.readouterr().out.startswith("perplexity ")


@pytest.mark.slow  # about 9 s: a fresh process
def test_export_answers_in_a_process_without_textlstm_or_keras(finished_run):
    _, out = finished_run
    script = textwrap.dedent(f"""
        import sys
        # TensorFlow 2.21 imports keras by itself when it is installed; make both unimportable instead.
        for name in ("keras", "tf_keras", "textlstm"):
            sys.modules[name] = None
        import tensorflow as tf
        model = tf.saved_model.load({str(out / "saved_model")!r})
        top = model.signatures["serving_default"](text=tf.constant(["the cat", "a dog"]))  # the text alone: k is 5
        assert top["words"].shape == (2, 5) and top["probabilities"].shape == (2, 5), top
        top = model.signatures["top_k"](text=tf.constant(["the cat", "a dog"]), k=tf.constant(4))
        assert top["words"].shape == (2, 4) and top["probabilities"].shape == (2, 4), top
        generate = model.signatures["generate"]
        args = dict(prompt=tf.constant(["the cat"]), max_words=tf.constant(5), temperature=tf.constant(1.0),
                    top_k=tf.constant(0), seed=tf.constant(11, tf.int64))
        first, second = generate(**args)["text"], generate(**args)["text"]
        assert first.numpy()[0] == second.numpy()[0] and first.numpy()[0], first
        # Out-of-range requests are clipped: no words gives empty texts, k below 1 gives one word.
        assert generate(**dict(args, max_words=tf.constant(0)))["text"].numpy().tolist() == [b""]
        assert generate(**dict(args, max_words=tf.constant(-1)))["text"].numpy().tolist() == [b""]
        top = model.signatures["top_k"](text=tf.constant(["the cat"]), k=tf.constant(-1))
        assert top["words"].shape == (1, 1), top
        loaded = [name for name, module in sys.modules.items()
                  if module is not None and name.split(".")[0] in ("keras", "tf_keras", "textlstm")]
        assert not loaded, loaded
        print("ok")
    """)
    environment = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2")
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd="/",
                            env=environment, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip() == "ok"


@pytest.mark.slow
def test_saved_model_cli_lists_and_runs_both_signatures(finished_run):
    _, out = finished_run
    cli = os.path.join(os.path.dirname(sys.executable), "saved_model_cli")
    environment = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2")
    shown = subprocess.run([cli, "show", "--dir", str(out / "saved_model"), "--all"], capture_output=True,
                           text=True, env=environment, timeout=120)
    for name in ("serving_default", "top_k", "generate"):
        assert f"signature_def['{name}']" in shown.stdout
    ran = subprocess.run([cli, "run", "--dir", str(out / "saved_model"), "--tag_set", "serve", "--signature_def",
                          "serving_default", "--input_exprs", "text=['the cat']"],
                         capture_output=True, text=True, env=environment, timeout=120)
    assert ran.returncode == 0 and "probabilities" in ran.stdout, ran.stderr[-2000:]
    ran = subprocess.run([cli, "run", "--dir", str(out / "saved_model"), "--tag_set", "serve", "--signature_def",
                          "generate", "--input_exprs",
                          "prompt=['the cat'];max_words=3;temperature=0.5;top_k=2;seed=1"],
                         capture_output=True, text=True, env=environment, timeout=120)
    assert ran.returncode == 0, ran.stderr[-2000:]
    assert "text" in ran.stdout


@pytest.mark.slow  # about 4 s: a run trained
def test_character_level_model_trains_and_predicts_characters(tmp_path, capsys):
    data = write_corpus(tmp_path, train_lines=60, eval_lines=10)
    out = tmp_path / "chars"
    assert train.main(tiny_flags(data, out, "--level", "char", "--epochs", "1")) == 0
    vocab = json.loads((out / "vocab.json").read_text())["tokens"]
    assert " " in vocab and all(len(token) == 1 for token in vocab[4:])
    [top] = predict_next_words(load_run(str(out)), ["the ca"], k=3)
    assert all(len(token) == 1 or token in ("<eos>", "<unk>") for token, _ in top)


def test_per_prompt_errors_name_the_prompt_and_let_the_others_through(finished_run, capsys):
    _, out = finished_run
    assert use_main(["predict", "--model", str(out), "the cat", "zebra quantum", "a dog"]) == 2
    captured = capsys.readouterr()
    assert [line.split("\t")[0] for line in captured.out.splitlines()] == ["the cat", "a dog"]
    assert captured.err.strip() == "error: prompt 'zebra quantum' has only words outside the vocabulary"


def test_generate_checks_the_number_of_words_and_zero_gives_the_prompt(finished_run, capsys):
    _, out = finished_run
    for words in ("2147483647", "3000000000", "-1"):
        assert use_main(["generate", "--model", str(out), "--words", words, "the cat"]) == 2
        assert_one_line_error(capsys, f"words must be in [0, 10000]. Received: words={words}")
    assert use_main(["generate", "--model", str(out), "--words", "0", "the cat"]) == 0
    assert capsys.readouterr().out == "the cat\n"


def test_evaluate_checks_the_split_and_knows_its_other_names(finished_run, capsys):
    data, out = finished_run
    assert use_main(["evaluate", "--model", str(out), "--data", str(data), "--split", "bogus"]) == 2
    assert_one_line_error(capsys, "split must be train, valid (or validation, dev) or test. Received: split='bogus'")
    assert use_main(["evaluate", "--model", str(out), "--data", str(data), "--split", "validation"]) == 0
    validation = capsys.readouterr().out
    assert use_main(["evaluate", "--model", str(out), "--data", str(data), "--split", "valid"]) == 0
    assert capsys.readouterr().out == validation


def test_verbs_say_when_a_run_is_of_the_other_task(finished_run, finished_summarize_run, capsys, tmp_path):
    _, out = finished_run
    _, summarizer, _ = finished_summarize_run
    assert use_main(["summarize", "--model", str(out)]) == 2
    assert_one_line_error(capsys, f"summarize needs a summarization run; model {out} is a language-model run")
    assert use_main(["predict", "--model", str(summarizer), "hello"]) == 2
    assert_one_line_error(capsys, "predict needs a language-model run; model")
    assert use_main(["generate", "--model", str(tmp_path), "hello"]) == 2
    assert_one_line_error(capsys, "is not a run directory")


@pytest.mark.slow  # about 12 s: the installed command in fresh processes
def test_the_textlstm_command_runs_the_same_verbs(finished_run):
    _, out = finished_run
    command = os.path.join(os.path.dirname(sys.executable), "textlstm")
    if not os.path.exists(command):
        pytest.skip("the textlstm command is installed by pip install -e .")
    result = subprocess.run([command, "predict", "--model", str(out), "--top-k", "2", "the cat"], capture_output=True,
                            text=True, env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2"), timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.startswith("the cat\t") and "Traceback" not in result.stderr
