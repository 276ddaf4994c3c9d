import dataclasses
import html.parser
import json
import re

import keras
import numpy as np
import pytest

from conftest import assert_one_line_error
from textlstm.__main__ import main as use_main
from textlstm.lm.config import LMConfig
from textlstm.lm.model import build_language_model
from textlstm.memory import report, traces
from textlstm.run import BEST_MODEL_FILE, CONFIG_FILE, VOCAB_FILE
from textlstm.seq2seq.model import build_model
from textlstm.summarize.config import SummarizeConfig
from textlstm.vocab import Vocabulary

WORDS = "the cat dog sat on mat and ran far".split()
TEXT = "the cat sat on the mat\nthe dog ran far and the zebra sat"


def embedded_data(page):
    match = re.search(r'<script type="application/json" id="trace-data">(.*?)</script>', page, re.S)
    return json.loads(match.group(1))


def language_model(cell="lstm", layers=2):
    keras.utils.set_random_seed(0)
    config = LMConfig(cell=cell, num_layers=layers, units=6, embedding_dim=6)
    vocab = Vocabulary.build([WORDS])
    return config, vocab, build_language_model(config, len(vocab))


def reference_traces(model, config, vocab, tokens):
    """Each layer's trace() over the previous layer's output, computed here without textlstm.memory."""
    x = model.get_layer("embedding")(np.array([vocab.encode(tokens)]))
    result = []
    for index in range(1, config.num_layers + 1):
        layer = model.get_layer(f"recurrent_{index}")
        values = {name: np.asarray(value)[0] for name, value in layer.trace(x).items()}
        result.append(values)
        x = layer(x)
    return result


@pytest.mark.parametrize("cell", ["lstm", "gru", "simple"])
def test_embedded_json_equals_trace_exactly(cell):
    config, vocab, model = language_model(cell)
    data = traces.trace_language_model(model, config, vocab, TEXT)
    parsed = embedded_data(report.render(data, "run"))
    tokens = TEXT.split("\n")[0].split() + ["<eos>"] + TEXT.split("\n")[1].split() + ["<eos>"]
    assert parsed["tokens"] == tokens
    assert [tokens[index] for index in parsed["unknown"]] == ["zebra"]
    expected = reference_traces(model, config, vocab, tokens)
    assert [layer["name"] for layer in parsed["layers"]] == ["recurrent_1", "recurrent_2"]
    for layer, values in zip(parsed["layers"], expected):
        assert layer["tokens"] == tokens
        assert set(layer["values"]) == set(values)
        for name, value in values.items():
            embedded = np.array(layer["values"][name], dtype=np.float32)
            assert embedded.shape == (len(tokens), 6)
            np.testing.assert_array_equal(embedded, value)  # exactly: the JSON round-trips float32


def test_float32_values_round_trip_through_the_json_text():
    values = np.random.default_rng(0).normal(size=(50, 7)).astype(np.float32) ** 3
    values[0, :3] = [1e-30, -0.0, 3.4e38]
    text = report.to_json({"values": values})
    np.testing.assert_array_equal(np.array(json.loads(text)["values"], dtype=np.float32), values)


class References(html.parser.HTMLParser):
    """Collects every attribute that could load something: src, href, srcset, data, poster, action."""

    def __init__(self):
        super().__init__()
        self.found = []

    def handle_starttag(self, tag, attributes):
        self.found += [(tag, name, value) for name, value in attributes
                       if name in ("src", "href", "srcset", "data", "poster", "action", "xlink:href")]


def test_the_page_has_no_external_references():
    config, vocab, model = language_model()
    data = traces.trace_language_model(model, config, vocab, 'see <a href="http://x.org/y.js"> url(http://z)')
    page = report.render(data, "run")
    parser = References()
    parser.feed(page)
    assert parser.found == []
    outside_data = page.replace(re.search(r'<script type="application/json".*?</script>', page, re.S).group(0), "")
    for pattern in (r"\bsrc\s*=", r"\bhref\s*=", r"url\(", r"@import", r"<link\b", r"<iframe\b", r"\bfetch\(",
                    r"XMLHttpRequest", r"<img\b"):
        assert not re.search(pattern, outside_data, re.I), pattern
    # The one URL in the page is the SVG namespace name, which nothing loads.
    assert set(re.findall(r"https?://[^\s\"')]+", outside_data)) == {"http://www.w3.org/2000/svg"}
    assert "<script src" not in page and page.count("<script") == 2
    # The text's own "<a href=...>" is data, escaped inside the JSON, never markup.
    assert '<a href="http://x.org/y.js">' in " ".join(embedded_data(page)["tokens"])


@pytest.mark.parametrize("cell", ["lstm", "coupled", "gru"])
def test_saturation_fractions_match_numpy_on_the_trace(cell):
    config, vocab, model = language_model(cell, layers=1)
    layer = model.get_layer("recurrent_1")
    layer.set_weights([value * 8 for value in layer.get_weights()])  # large weights: gates near 0 and 1
    data = traces.trace_language_model(model, config, vocab, TEXT + "\n" + TEXT)
    parsed = embedded_data(report.render(data, "run"))["layers"][0]
    tokens = [token for line in (TEXT + "\n" + TEXT).split("\n") for token in line.split() + ["<eos>"]]
    trace = reference_traces(model, config, vocab, tokens)[0]
    gates = {"lstm": "ifo", "coupled": "ifo", "gru": "zr"}[cell]
    assert set(parsed["saturation"]) == set(gates)
    for gate in gates:
        left = (trace[gate] < 0.1).sum(axis=0) / len(tokens)
        right = (trace[gate] > 0.9).sum(axis=0) / len(tokens)
        np.testing.assert_allclose(parsed["saturation"][gate]["left"], left, rtol=0, atol=1e-12)
        np.testing.assert_allclose(parsed["saturation"][gate]["right"], right, rtol=0, atol=1e-12)
    assert any(parsed["saturation"][gate]["left"][unit] > 0 or parsed["saturation"][gate]["right"][unit] > 0
               for gate in gates for unit in range(6))


def test_top_contexts_are_the_highest_values_of_each_unit():
    values = np.random.default_rng(3).normal(size=(40, 5))
    top = traces.top_contexts(values, k=3)
    for unit in range(5):
        assert list(top[unit]) == list(np.argsort(values[:, unit])[::-1][:3])


def test_summarizer_trace_puts_the_backward_layer_in_reading_order_and_shows_attention_and_p_gen():
    config, vocab, model = summarizer()
    documents = ["hi anna the review moved to friday", "please confirm the review"]
    data = traces.trace_summarizer(model, config, vocab, documents)
    names = [layer["name"] for layer in data["layers"]]
    assert names == ["forward_encoder_0", "backward_encoder_0", "decoder_0"]
    source = vocab.encode("please confirm the review".split() + ["<eos>"])
    embedded = model.embedding(np.array([source]))
    backward = model.encoder_layers[0].backward_layer
    expected = np.asarray(backward.trace(embedded)["h"])[0][::-1]  # visited last to first
    second = data["examples"][1]
    np.testing.assert_array_equal(
        data["layers"][1]["values"]["h"][second["source_start"]: second["source_start"] + len(source)], expected)
    # The backward layer's h at token 0 is its last step: the same as the layer's final state.
    _, *states = backward(embedded)
    np.testing.assert_allclose(expected[0], np.asarray(states[0])[0], rtol=1e-6)
    for example in data["examples"]:
        attention = np.asarray(example["attention"])
        assert attention.shape == (len(example["summary"]), len(example["source"]))
        np.testing.assert_allclose(attention.sum(axis=1), 1, rtol=1e-5)
        assert example["summary"][-1] == "<eos>"
        assert len(example["p_gen"]) == len(example["summary"]) and all(0 < p < 1 for p in example["p_gen"])
    decoder = data["layers"][2]
    assert decoder["tokens"][0] == "<bos>"
    assert len(decoder["tokens"]) == sum(len(example["summary"]) for example in data["examples"])
    page = report.render(data, "run")
    assert embedded_data(page)["examples"][0]["source"][:2] == ["hi", "anna"]


def summarizer(bidirectional=True, copy=True):
    keras.utils.set_random_seed(1)
    vocab = Vocabulary.build(["hi anna the review moved to friday please confirm".split()])
    config = SummarizeConfig(units=5, embedding_dim=4, bidirectional=bidirectional, copy=copy, max_len=4)
    model = build_model(**config.model_arguments(len(vocab)))
    return config, vocab, model


def save_run(directory, config, vocab, model):
    directory.mkdir(parents=True, exist_ok=True)
    task = "summarize" if isinstance(config, SummarizeConfig) else "lm"
    (directory / CONFIG_FILE).write_text(json.dumps({"task": task, **dataclasses.asdict(config)}))
    vocab.save(str(directory / VOCAB_FILE))
    model.save(directory / BEST_MODEL_FILE)
    return directory


def test_inspect_command_writes_the_report_the_contexts_and_the_figures(tmp_path):
    config, vocab, model = language_model()
    run = save_run(tmp_path / "run", config, vocab, model)
    corpus = tmp_path / "corpus.txt"
    corpus.write_text(TEXT + "\n" + TEXT + "\n", encoding="utf-8")
    out = tmp_path / "report.html"
    assert use_main(["inspect", "--model", str(run), "--file", str(corpus), "--out", str(out), "--png"]) == 0
    data = embedded_data(out.read_text(encoding="utf-8"))
    layer = data["layers"][0]
    h = np.array(layer["values"]["h"])
    for unit, positions in enumerate(layer["top_contexts"]["h"]):
        assert len(positions) == traces.TOP_CONTEXTS and h[positions[0], unit] == h[:, unit].max()
    for name in ("recurrent_1", "recurrent_2"):
        for figure in ("heatmap", "saturation"):
            assert (tmp_path / f"report_{name}_{figure}.png").stat().st_size > 1000


def test_inspect_command_reads_a_summarization_run_one_document_per_line(tmp_path):
    config, vocab, model = summarizer(bidirectional=False, copy=False)
    run = save_run(tmp_path / "run", config, vocab, model)
    documents = tmp_path / "mails.txt"
    documents.write_text("hi anna the review moved to friday\n\nplease confirm\n", encoding="utf-8")
    out = tmp_path / "report.html"
    assert use_main(["inspect", "--model", str(run), "--file", str(documents), "--out", str(out)]) == 0
    data = embedded_data(out.read_text(encoding="utf-8"))
    assert data["kind"] == "summarization" and len(data["examples"]) == 2
    assert [layer["name"] for layer in data["layers"]] == ["encoder_0", "decoder_0"]
    assert data["layers"][0]["tokens"] == "hi anna the review moved to friday <eos> please confirm <eos>".split()
    assert all(example["p_gen"] is None for example in data["examples"])  # no copying, no p_gen


def test_units_are_cut_only_when_the_page_would_be_too_large():
    config, vocab, model = language_model()
    data = traces.trace_language_model(model, config, vocab, TEXT)
    assert traces.keep_first_units(data) is None
    full = data["layers"][0]["values"]["c"].copy()
    note = traces.keep_first_units(data, max_values=len(data["tokens"]) * 6 * 2 * 6 // 2)
    assert "first units" in note
    np.testing.assert_array_equal(data["layers"][0]["values"]["c"], full[:, :3])
    assert data["layers"][0]["units_total"] == 6 and len(data["layers"][0]["saturation"]["f"]["left"]) == 3


def test_inspect_bad_input_is_one_line(tmp_path, capsys):
    config, vocab, model = language_model(layers=1)
    run = save_run(tmp_path / "run", config, vocab, model)
    out = str(tmp_path / "r.html")
    assert use_main(["inspect", "--model", str(tmp_path), "--text", "the cat", "--out", out]) == 2
    assert_one_line_error(capsys, "is not a run directory")
    (tmp_path / "half").mkdir()
    (tmp_path / "half" / "config.json").write_text("{}")
    assert use_main(["inspect", "--model", str(tmp_path / "half"), "--text", "the cat", "--out", out]) == 2
    assert_one_line_error(capsys, "is not a textlstm run directory")
    assert use_main(["inspect", "--model", str(run), "--text", "  \n ", "--out", out]) == 2
    assert_one_line_error(capsys, "text is empty")
    long_text = tmp_path / "long.txt"
    long_text.write_text("the cat " * 2600, encoding="utf-8")
    assert use_main(["inspect", "--model", str(run), "--file", str(long_text), "--out", out]) == 2
    assert_one_line_error(capsys, f"inspect reads at most {traces.MAX_TOKENS}")
    (tmp_path / "binary.txt").write_bytes(b"the \xff cat")
    assert use_main(["inspect", "--model", str(run), "--file", str(tmp_path / "binary.txt"), "--out", out]) == 2
    assert_one_line_error(capsys, "is not UTF-8 text")
    assert use_main(["inspect", "--model", str(run), "--file", str(tmp_path / "none.txt"), "--out", out]) == 2
    assert_one_line_error(capsys, "cannot read file")
    assert not (tmp_path / "r.html").exists()


def test_inspect_refuses_an_out_it_cannot_write_before_any_work_and_leaves_nothing(tmp_path, capsys, monkeypatch):
    config, vocab, model = language_model(layers=1)
    run = save_run(tmp_path / "run", config, vocab, model)
    monkeypatch.chdir(tmp_path)
    (tmp_path / "a_file").write_text("x")
    (tmp_path / "a_directory").mkdir()
    cases = [("a_file/report.html", "a_file is a file, not a directory"),
             ("a_directory", "out a_directory names a directory"),
             ("/proc/textlstm-test.html", "out /proc/textlstm-test.html is not writable"),
             ("", "out must not be empty")]
    before = sorted(path.name for path in tmp_path.iterdir())
    for out, message in cases:
        assert use_main(["inspect", "--model", str(run), "--text", "the cat", "--out", out]) == 2
        assert_one_line_error(capsys, message)
    assert sorted(path.name for path in tmp_path.iterdir()) == before
    assert list((tmp_path / "a_directory").iterdir()) == []
