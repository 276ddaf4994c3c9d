"""The configs: one field per flag with its help and range, defaults in one place, the docs in step."""

import dataclasses
import pathlib
import re

import pytest

import train
from textlstm.config import TrainConfig, config_from, flag
from textlstm.errors import UsageError
from textlstm.lm.config import LMConfig
from textlstm.summarize.config import SummarizeConfig

DOCS = pathlib.Path(__file__).parents[1] / "docs" / "cli.md"


@pytest.mark.parametrize("config_class", [LMConfig, SummarizeConfig])
def test_every_field_is_a_flag_whose_help_is_its_metadata(config_class, capsys):
    task = "lm" if config_class is LMConfig else "summarize"
    with pytest.raises(SystemExit):
        train.main([task, "--help"])
    printed = " ".join(capsys.readouterr().out.split())
    for field in dataclasses.fields(config_class):
        assert " ".join(field.metadata["help"].split()) in printed, field.name
        assert f"--{flag(field.name)}" in printed


def test_both_tasks_share_the_base_fields_under_one_name():
    shared = [field.name for field in dataclasses.fields(TrainConfig)]
    for config_class in (LMConfig, SummarizeConfig):
        names = [field.name for field in dataclasses.fields(config_class)]
        assert names[: len(shared)] == shared
    assert "layers" not in shared and "num_layers" in shared and "tie_weights" in shared


def test_docs_list_every_training_flag():
    documented = set(re.findall(r"`(--[a-z-]+)`", DOCS.read_text()))
    for config_class in (LMConfig, SummarizeConfig):
        for field in dataclasses.fields(config_class):
            assert f"--{flag(field.name)}" in documented, field.name


@pytest.mark.parametrize("changes, message", [
    ({"units": 0}, "units must be a positive integer. Received: units=0"),
    ({"cell": "transformer"}, "cell must be one of lstm, peephole, coupled, gru, simple"),
    ({"lr_decay": 1.0}, "lr-decay must be in (0, 1). Received: lr-decay=1.0"),
    ({"units": 8, "embedding_dim": 6}, "units=8, embedding-dim=6"),
    ({"max_vocab": -1}, "max-vocab must be an integer >= 0"),
])
def test_settings_out_of_range_are_named(changes, message):
    with pytest.raises(UsageError, match=re.escape(message)):
        LMConfig(**changes).validate()


def test_summarizer_settings_out_of_range_are_named():
    with pytest.raises(UsageError, match=re.escape("beam-size must be an integer <= 16")):
        SummarizeConfig(beam_size=17).validate()
    with pytest.raises(UsageError, match=re.escape("min-len=5, max-len=5")):
        SummarizeConfig(min_len=5, max_len=5).validate()


def test_a_run_that_predates_coverage_loads_without_it():
    values = dataclasses.asdict(SummarizeConfig())
    del values["coverage"]
    assert config_from(values, SummarizeConfig).coverage is False
    assert config_from({**values, "coverage": True}, SummarizeConfig).coverage is True
    assert SummarizeConfig().coverage is True
