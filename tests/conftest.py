import contextlib
import io

import pytest


def assert_one_line_error(capsys, expected):
    """What a bad input must give: one `error: ...` line on stderr that says expected, and no traceback."""
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and expected in lines[0], captured.err
    assert "Traceback" not in captured.err


@pytest.fixture(autouse=True)
def _huggingface_cache_in_tmp(tmp_path_factory, monkeypatch):
    # `datasets` caches what it reads; keep that out of the user's home and off the network.
    cache = tmp_path_factory.getbasetemp() / "hf_home"
    monkeypatch.setenv("HF_HOME", str(cache))
    monkeypatch.setenv("HF_DATASETS_CACHE", str(cache / "datasets"))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")


@pytest.fixture(scope="session", autouse=True)
def _textlstm_cache_in_tmp(tmp_path_factory):
    # Session-wide, so that module- and session-scoped runs keep their encoded corpora out of the home too.
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("TEXTLSTM_CACHE", str(tmp_path_factory.getbasetemp() / "textlstm_cache"))
        yield


@pytest.fixture
def corpus(tmp_path):
    """A directory with the tiny language-model corpus of `lm_corpus.write_corpus` (300 training lines)."""
    from lm_corpus import write_corpus

    directory = tmp_path / "corpus"
    directory.mkdir()
    return write_corpus(directory)


@pytest.fixture(scope="session")
def finished_lm_run(tmp_path_factory):
    """A tiny finished language-model run, trained once per session: (data directory, run directory).

    Tests read it and never change it (a test that writes into a run copies it first).
    """
    import train
    from lm_corpus import tiny_flags, write_corpus

    data = write_corpus(tmp_path_factory.mktemp("corpus"))
    out = tmp_path_factory.mktemp("runs") / "tiny"
    with contextlib.redirect_stdout(io.StringIO()):
        assert train.main(tiny_flags(data, out)) == 0
    return data, out


@pytest.fixture(scope="session")
def finished_summarize_run(tmp_path_factory):
    """A tiny finished run, trained once per session: (data directory, run directory, what train.py printed)."""
    import train
    from summarize_data import tiny_flags, write_sample

    data = write_sample(tmp_path_factory.mktemp("sample"))
    out = tmp_path_factory.mktemp("runs") / "tiny"
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        assert train.main(tiny_flags(data, out, "--epochs", "2", "--label-smoothing", "0.1")) == 0
    return data, out, printed.getvalue()
