import pytest


@pytest.fixture(autouse=True)
def _huggingface_cache_in_tmp(tmp_path_factory, monkeypatch):
    # `datasets` caches what it reads; keep that out of the user's home and off the network.
    cache = tmp_path_factory.getbasetemp() / "hf_home"
    monkeypatch.setenv("HF_HOME", str(cache))
    monkeypatch.setenv("HF_DATASETS_CACHE", str(cache / "datasets"))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
