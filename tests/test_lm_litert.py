"""`textlstm export-litert`: a builtin-only LiteRT file whose next words agree with the SavedModel's."""

import functools
import json
import os
import shutil
import subprocess
import sys

import keras
import numpy as np
import pytest
import tensorflow as tf
from ai_edge_litert.interpreter import Interpreter

import train
from conftest import assert_one_line_error
from lm_corpus import encode_lines, split_lines, tiny_flags, write_corpus
from textlstm.__main__ import main as use_main
from textlstm.files import write_json
from textlstm.lm.config import LMConfig
from textlstm.lm.data import stream_windows
from textlstm.lm.export import serving_signatures
from textlstm.lm.inference import recall_at, step_predictions
from textlstm.lm.litert import convert_step
from textlstm.lm.model import build_language_model
from textlstm.run import load_run
from textlstm.vocab import Vocabulary

VOCAB = Vocabulary.build([["the", "cat", "sees", "a", "dog", "likes", "the", "ball", "."]])
REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CELLS = ["lstm", "peephole", "coupled", "gru", "simple"]
# The coupled cell (Gboard's) runs in the default suite; the others with the slow tests.
CELL_PARAMETERS = [cell if cell == "coupled" else pytest.param(cell, marks=pytest.mark.slow) for cell in CELLS]


def litert_step(flatbuffer):
    """The file's `step` signature runner, from an interpreter with the builtin operations only."""
    return Interpreter(model_content=flatbuffer).get_signature_runner("step")


@pytest.mark.parametrize("cell", CELL_PARAMETERS)
def test_the_litert_step_is_builtin_only_and_answers_as_the_saved_model_step(cell):
    keras.utils.set_random_seed(1)
    config = LMConfig(cell=cell, units=4, embedding_dim=4, num_layers=2, init_scale=1.0)
    model = build_language_model(config, len(VOCAB))
    flatbuffer, state_size = convert_step(model, VOCAB, config, top_k=3)
    interpreter = Interpreter(model_content=flatbuffer)
    assert interpreter.get_signature_list() == {
        "step": {"inputs": ["state", "token_id"], "outputs": ["state", "top_ids", "top_probs"]}}
    operations = {operation["op_name"] for operation in interpreter._get_ops_details()}
    assert not {name for name in operations if name.startswith("Flex") or name in (
        "CUSTOM", "WHILE", "VAR_HANDLE", "READ_VARIABLE", "CALL_ONCE")}, operations
    litert, saved = litert_step(flatbuffer), serving_signatures(model, VOCAB, config)[0]["step"]
    litert_state = saved_state = np.zeros((1, state_size), np.float32)
    for token in [VOCAB.eos_id] + VOCAB.encode("the cat sees a zebra .".split()):
        from_litert = litert(token_id=np.array([token], np.int32), state=litert_state)
        from_saved = {name: value.numpy() for name, value in saved(tf.constant([token]), saved_state, 3).items()}
        assert from_litert["top_ids"].tolist() == from_saved["top_ids"].tolist()
        np.testing.assert_allclose(from_litert["top_probs"], from_saved["top_probs"], rtol=1e-5)
        np.testing.assert_allclose(from_litert["state"], from_saved["state"], rtol=1e-5, atol=1e-6)
        litert_state, saved_state = from_litert["state"], from_saved["state"]


@pytest.mark.slow  # about 4 s: two conversions
def test_a_tied_matrix_is_stored_once_in_int8():
    # A vocabulary of 2,000 words and 32 units: the tied matrix is most of the weights.
    vocab = Vocabulary(VOCAB.tokens + [f"w{index}" for index in range(2000 - len(VOCAB))])
    config = LMConfig(cell="coupled", units=32, embedding_dim=32, num_layers=1)
    model = build_language_model(config, len(vocab))
    sizes = {quantize: len(convert_step(model, vocab, config, quantize)[0]) for quantize in ("none", "dynamic")}
    assert sizes["dynamic"] <= 0.35 * sizes["none"], sizes  # stored twice in int8, it would be over half


@pytest.fixture
def unfinished_runs(tmp_path):
    """A language-model and a summarization run directory, each with its settings and vocabulary, no model yet."""
    runs = {}
    for task in ("lm", "summarize"):
        runs[task] = tmp_path / task
        runs[task].mkdir()
        write_json(runs[task] / "config.json", {"task": task})
        VOCAB.save(runs[task] / "vocab.json")
    return runs


@pytest.mark.parametrize("flags, message", [
    (["--quantize", "int8"], "quantize must be one of none, dynamic. Received: quantize='int8'"),
    (["--top-k", "0"], "top-k must be in [1, 9] (the tokens that may be predicted). Received: top-k=0"),
    (["--top-k", "10"], "top-k must be in [1, 9]"),
    (["--out", "{tmp}/model.bin"], "out must be a file name ending in .tflite. Received: out="),
    (["--out", "/proc/textlstm-test/model.tflite"], "out /proc/textlstm-test/model.tflite is not writable"),
    (["--out", "{tmp}/theirs.tflite"], "theirs.tflite exist(s) and are not an earlier export of textlstm"),
    (["--out", "{tmp}/folder.tflite"], "folder.tflite is a directory; choose another --out"),
    ([], "has no best.keras; is the run finished?"),
])
def test_bad_export_requests_are_one_line_and_write_nothing(unfinished_runs, tmp_path, capsys, flags, message):
    (tmp_path / "theirs.tflite").write_bytes(b"someone else's model")
    (tmp_path / "folder.tflite").mkdir()
    before = sorted(os.listdir(tmp_path))
    flags = [flag.format(tmp=tmp_path) for flag in flags]
    out = [] if "--out" in flags else ["--out", str(tmp_path / "model.tflite")]
    assert use_main(["export-litert", "--model", str(unfinished_runs["lm"]), *out, *flags]) == 2
    assert_one_line_error(capsys, message)
    assert sorted(os.listdir(tmp_path)) == before


def test_a_summarization_run_is_refused(unfinished_runs, tmp_path, capsys):
    model = unfinished_runs["summarize"]
    assert use_main(["export-litert", "--model", str(model), "--out", str(tmp_path / "model.tflite")]) == 2
    assert_one_line_error(capsys, f"export-litert needs a language-model run; model {model} is a summarization run")


@pytest.fixture(scope="module", params=CELLS + ["coupled --no-tie-weights"])
def exported_run(request, tmp_path_factory):
    """A small trained run of each cell and its two LiteRT exports: (data, run, {quantize: .tflite path}).

    128 units, so that the weights outweigh what a file holds besides them.
    """
    data = write_corpus(tmp_path_factory.mktemp("corpus"))
    cell, *flags = request.param.split()
    out = tmp_path_factory.mktemp("runs") / cell
    assert train.main(tiny_flags(data, out, "--cell", cell, "--units", "128", "--embedding-dim", "128", *flags)) == 0
    files = {quantize: str(out / f"{quantize}.tflite") for quantize in ("none", "dynamic")}
    for quantize, path in files.items():
        assert use_main(["export-litert", "--model", str(out), "--out", path, "--quantize", quantize]) == 0
    return data, load_run(str(out)), files


@pytest.mark.slow  # about 20 s a run: training, two conversions
def test_the_litert_files_agree_with_the_saved_model_on_the_test_split(exported_run):
    data, run, files = exported_run
    ids = encode_lines(split_lines(str(data))["test"], run.config.level, run.vocab)
    description = json.loads(open(files["dynamic"].replace(".tflite", ".json")).read())
    saved_model = step_predictions(functools.partial(run.export.signatures["step"], k=tf.constant(3)), ids,
                                   description["state_size"])
    predictions = {quantize: step_predictions(litert_step(open(path, "rb").read()), ids, description["state_size"])
                   for quantize, path in files.items()}
    agreement = {quantize: (top[:, 0] == saved_model[:, 0]).mean() for quantize, top in predictions.items()}
    recall = {quantize: recall_at(top[:-1], ids[1:], run.vocab.unk_id, 3) for quantize, top in predictions.items()}
    sizes = {quantize: os.path.getsize(path) for quantize, path in files.items()}
    assert agreement["none"] >= 0.995 and agreement["dynamic"] >= 0.97, agreement
    assert abs(recall["dynamic"] - recall["none"]) <= 0.005, recall
    assert sizes["dynamic"] <= 0.35 * sizes["none"], sizes
    assert description == {
        "exported_by": "textlstm export-litert", "signature": "step", "state_size": description["state_size"],
        "top_k": 3, "quantize": "dynamic", "level": "word", "vocab_size": len(run.vocab), "pad_id": 0, "unk_id": 1,
        "eos_id": 2, "cell": run.config.cell, "num_layers": 1, "units": 128}
    assert open(files["none"].replace(".tflite", ".vocab.txt"), encoding="utf-8").read().split("\n")[:-1] == \
        run.vocab.tokens


@pytest.mark.slow
@pytest.mark.parametrize("exported_run", ["coupled"], indirect=True)
def test_the_keyboard_metrics_of_a_run_are_those_of_its_saved_model_step(exported_run, capsys):
    data, run, _ = exported_run
    config = run.config
    ids = encode_lines(split_lines(str(data))["test"], config.level, run.vocab)
    # Every stream of the evaluator at once, one token at a time: a batch of `batch_size` rows.
    inputs, targets, weights = stream_windows(ids, config.batch_size, bptt=-(-(len(ids) - 1) // config.batch_size))
    step = run.export.signatures["step"]
    state = tf.zeros([config.batch_size, step.structured_input_signature[1]["state"].shape[1]])
    top_ids = []
    for position in range(inputs.shape[1]):
        outputs = step(token_id=tf.constant(inputs[:, position]), state=state, k=tf.constant(3))
        state = outputs["state"]
        top_ids.append(outputs["top_ids"].numpy())
    top_ids = np.stack(top_ids, axis=1)[weights > 0]  # (real targets, 3)
    for k in (1, 3):
        recall = recall_at(top_ids, targets[weights > 0], run.vocab.unk_id, k)
        assert run.metrics[f"test_top{k}_recall"] == pytest.approx(recall, abs=1e-6)
    assert use_main(["evaluate", "--model", run.path, "--data", str(data)]) == 0
    assert f"top-1 recall {run.metrics['test_top1_recall']:.1%}  top-3 recall " in capsys.readouterr().out


@pytest.mark.slow  # a fresh process
@pytest.mark.parametrize("exported_run", ["coupled"], indirect=True)
def test_the_readme_example_prints_the_next_words_of_the_saved_model(exported_run, tmp_path):
    _, run, files = exported_run
    readme = open(os.path.join(REPO, "README.md"), encoding="utf-8").read()
    example = readme.split("## On a phone")[1].split("```python\n")[1].split("```")[0]
    for extension in (".tflite", ".vocab.txt", ".json"):
        shutil.copy(files["none"].replace(".tflite", extension), tmp_path / f"keyboard{extension}")
    result = subprocess.run([sys.executable, "-c", example], capture_output=True, text=True, cwd=tmp_path,
                            env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2"), timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    expected = run.export.signatures["top_k"](text=tf.constant(["the farmer"]), k=tf.constant(3))["words"]
    assert result.stdout.strip() == str([word.decode() for word in expected.numpy()[0]])


@pytest.mark.slow
@pytest.mark.parametrize("exported_run", ["coupled"], indirect=True)
def test_an_earlier_export_is_replaced(exported_run, tmp_path, capsys):
    _, run, _ = exported_run
    out = str(tmp_path / "keyboard.tflite")
    for quantize, top_k in (("none", "3"), ("dynamic", "5")):
        assert use_main(["export-litert", "--model", run.path, "--out", out, "--quantize", quantize,
                         "--top-k", top_k]) == 0
        assert f"{out}: " in capsys.readouterr().out
    assert sorted(os.listdir(tmp_path)) == ["keyboard.json", "keyboard.tflite", "keyboard.vocab.txt"]
    assert json.loads((tmp_path / "keyboard.json").read_text())["quantize"] == "dynamic"
    runner = litert_step((tmp_path / "keyboard.tflite").read_bytes())
    outputs = runner(token_id=np.array([run.vocab.eos_id], np.int32), state=np.zeros((1, 128 * 2), np.float32))
    assert outputs["top_ids"].shape == (1, 5)
