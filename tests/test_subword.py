"""Text in any language: subword models through training, the exports and every verb; bits per character; warnings."""

import contextlib
import io
import json
import math
import random
import subprocess
import sys
import textwrap

import keras
import numpy as np
import pytest
import tensorflow as tf

import train
from lm_corpus import tiny_flags, write_corpus
from summarize_data import tiny_flags as summarize_flags
from summarize_data import write_jsonl
from test_tokenizers import ROUND_TRIPS, TRAINING_TEXT
from textlstm.__main__ import main as use_main
from textlstm.config import TrainConfig
from textlstm.lm.config import LMConfig
from textlstm.lm.data import stream_windows
from textlstm.lm.encoded import encoded_corpus
from textlstm.lm.train import prepare
from textlstm.run import load_run

# Subjects of Chinese mails.
CHINESE_PHRASES = ["会议改到周五下午三点", "请把预算表发给我", "新的办公室在三楼", "明天的培训取消了", "春风又绿江南岸",
                   "报告已经写好了", "晚上一起吃饭吧", "项目下周开始"]


def train_quietly(flags):
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        assert train.main(flags) == 0
    return printed.getvalue()


@pytest.fixture(scope="module")
def subword_run(tmp_path_factory):
    """A tiny language model on five scripts at subword level: (data directory, run directory, what train printed)."""
    data = tmp_path_factory.mktemp("mixed")
    lines = TRAINING_TEXT
    for split, text in (("train", lines), ("valid", lines[:18]), ("test", lines[9:27])):
        (data / f"{split}.txt").write_text("\n".join(text) + "\n", encoding="utf-8")
    out = tmp_path_factory.mktemp("runs") / "subword"
    printed = train_quietly(tiny_flags(data, out, "--level", "subword", "--max-vocab", "600", "--epochs", "1",
                                       "--units", "16", "--embedding-dim", "16"))
    return data, out, printed


def test_a_subword_model_trains_and_reports_bits_per_character(subword_run):
    _, out, printed = subword_run
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["test_unknown_share"] == 0 and metrics["test_bits_per_character"] > 0
    assert "test bits per character" in printed and (out / "tokenizer.model").is_file()
    assert "\u2581" not in printed  # samples are detokenized


def test_the_exports_tokens_are_the_trainers_tokens(subword_run):
    _, out, _ = subword_run
    run = load_run(str(out))
    tokenized = run.export.signatures["tokenize"](text=tf.constant(ROUND_TRIPS))
    for text, ids, length in zip(ROUND_TRIPS, tokenized["ids"].numpy(), tokenized["lengths"].numpy()):
        assert ids[:length].tolist() == run.vocab.encode(run.tokenizer.split([text]).to_pylist()[0])


def test_generated_text_and_next_words_are_text_without_marks_or_unknown_tokens(subword_run, capsys):
    _, out, _ = subword_run
    assert use_main(["generate", "--model", str(out), "--words", "40", "--seed", "2", "春风", "the"]) == 0
    generated = capsys.readouterr().out
    assert generated.startswith("春风") and "\u2581" not in generated and "<unk>" not in generated
    assert use_main(["predict", "--model", str(out), "--top-k", "600", "明月"]) == 0
    words = capsys.readouterr().out.split("\t")[1]
    assert "\u2581" not in words and "<unk>" not in words and "<pad>" not in words and "<bos>" not in words


def test_inspect_shows_the_pieces_with_their_word_starts(subword_run, tmp_path):
    _, out, _ = subword_run
    assert use_main(["inspect", "--model", str(out), "--text", "the lazy dog 春风", "--out",
                     str(tmp_path / "report.html")]) == 0
    report = (tmp_path / "report.html").read_text(encoding="utf-8")
    assert "\u2581the" in report and "春" in report


def test_bits_per_character_is_the_summed_negative_log2_likelihood_per_character(subword_run):
    data, out, _ = subword_run
    run = load_run(str(out))
    corpus = encoded_corpus(str(data), "subword", 600, 1, subword_model="unigram", seed=run.config.seed)
    model = run.load_model()  # stateful, of the run's batch size
    inputs, targets, weights = stream_windows(np.asarray(corpus.ids["test"]), run.config.batch_size, run.config.bptt)
    for layer in model.layers:
        if isinstance(layer, keras.layers.RNN) and layer.stateful:
            layer.reset_state()
    bits = 0.0
    for start in range(0, len(inputs), run.config.batch_size):
        rows = slice(start, start + run.config.batch_size)
        logits = model(inputs[rows], training=False).numpy().astype(np.float64)  # the states carry on
        largest = logits.max(-1, keepdims=True)
        log_probabilities = logits - largest - np.log(np.exp(logits - largest).sum(-1, keepdims=True))
        chosen = np.take_along_axis(log_probabilities, targets[rows][..., None], axis=-1)[..., 0]
        bits -= (chosen * weights[rows]).sum() / math.log(2)
    lines = [line for line in (data / "test.txt").read_text(encoding="utf-8").splitlines() if line.strip()]
    characters = sum(len(line) + 1 for line in lines)
    expected = bits / characters
    assert json.loads((out / "metrics.json").read_text())["test_bits_per_character"] == pytest.approx(expected,
                                                                                                       rel=1e-4)


@pytest.mark.slow  # about 10 s: a fresh process
def test_the_subword_export_answers_in_a_process_without_textlstm_after_import_tensorflow_text(subword_run):
    _, out, _ = subword_run
    script = textwrap.dedent(f"""
        import sys
        for name in ("textlstm", "sentencepiece"):  # (tensorflow_text imports keras itself)
            sys.modules[name] = None
        import tensorflow as tf
        import tensorflow_text  # the SentencePiece op the graph holds
        model = tf.saved_model.load({str(out / "saved_model")!r})
        words = model.signatures["top_k"](text=tf.constant(["春风又绿"]), k=tf.constant(3))["words"]
        text = model.signatures["generate"](prompt=tf.constant(["明月"]), max_words=tf.constant(8),
                                            temperature=tf.constant(0.0), top_k=tf.constant(0),
                                            seed=tf.constant(1, tf.int64))["text"]
        print(words.shape[1], text.numpy()[0].decode("utf-8"))
    """)
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    k, generated = result.stdout.split(" ", 1)
    assert k == "3" and "\u2581" not in generated


def chinese_summaries(directory, seed=0):
    """Mails in Chinese (several phrases, no spaces) whose subject is their first phrase."""
    rng = random.Random(seed)
    for split, count in (("train", 80), ("valid", 8), ("test", 6)):
        rows = []
        for _ in range(count):
            phrases = rng.sample(CHINESE_PHRASES, 4)
            rows.append({"text": "，".join(phrases) + "。", "summary": phrases[0]})
        write_jsonl(directory / f"{split}.jsonl", rows)
    return directory


@pytest.mark.slow  # about 20 s: a summarizer trained, exported and scored
def test_a_subword_summarizer_takes_and_returns_chinese_scored_on_characters(tmp_path):
    data = chinese_summaries(tmp_path)
    out = tmp_path / "run"
    printed = train_quietly(summarize_flags(data, out, "--level", "subword", "--max-vocab", "400", "--epochs", "3",
                                            "--units", "16", "--embedding-dim", "16", "--max-len", "12"))
    metrics = json.loads((out / "metrics.json").read_text())
    subjects = [json.loads(line)["summary"] for line in (data / "train.jsonl").read_text().splitlines()]
    lead = round(sum(map(len, subjects)) / len(subjects))
    assert metrics["rouge_unit"] == "characters" and metrics["lead_characters"] == lead
    assert f"Lead-{lead} chars" in printed and metrics["lead_rouge1"] > 0
    run = load_run(str(out))
    summary = run.export.signatures["serving_default"](text=tf.constant(["新的办公室在三楼，请把预算表发给我。"]))
    text = summary["summary"].numpy()[0].decode("utf-8")
    assert text and "\u2581" not in text and " " not in text


def test_word_level_warns_on_text_without_spaces_and_not_on_english(tmp_path, corpus):
    poems = tmp_path / "poems"
    poems.mkdir()
    for split in ("train", "valid", "test"):
        (poems / f"{split}.txt").write_text("\n".join(TRAINING_TEXT[2:4] * 20) + "\n", encoding="utf-8")
    notes = []
    data = prepare(LMConfig(data=str(poems), batch_size=2, bptt=2), log=notes.append)
    warnings = [note for note in notes if note.startswith("warning: ")]
    assert len(warnings) == 1 and "words average 20.0 characters" in warnings[0] and "--level subword" in warnings[0]
    assert data.splits["warnings"] == [warnings[0].removeprefix("warning: ")]
    notes.clear()
    prepare(LMConfig(data=str(corpus)), log=notes.append)
    assert not [note for note in notes if note.startswith("warning: ")]


def test_word_level_warns_when_a_third_of_the_validation_tokens_are_unknown(tmp_path):
    rng = random.Random(0)
    for split in ("train", "valid", "test"):
        words = [f"{split}{index}" for index in range(50)]  # valid and test share no word with train
        lines = [" ".join(rng.choice(words) for _ in range(6)) for _ in range(30)]
        (tmp_path / f"{split}.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
    notes = []
    prepare(LMConfig(data=str(tmp_path), batch_size=2, bptt=2), log=notes.append)
    assert [note for note in notes if "of the validation tokens are <unk>" in note]


@pytest.mark.slow  # about 6 s: a model trained
def test_generation_and_prediction_never_give_unknown_or_padding(tmp_path, capsys):
    data = write_corpus(tmp_path)
    out = tmp_path / "run"
    train_quietly(tiny_flags(data, out, "--max-vocab", "9"))  # 5 words: most of the text is <unk>
    assert use_main(["generate", "--model", str(out), "--words", "200", "--temperature", "2", "the"]) == 0
    assert "<unk>" not in capsys.readouterr().out
    assert use_main(["predict", "--model", str(out), "--top-k", "9", "the"]) == 0
    words = capsys.readouterr().out
    assert "<unk>" not in words and "<pad>" not in words and "<bos>" not in words


def test_subword_needs_a_number_of_pieces():
    from textlstm.errors import UsageError

    with pytest.raises(UsageError, match="max-vocab is the number of subword pieces"):
        TrainConfig(level="subword", max_vocab=0).validate()
