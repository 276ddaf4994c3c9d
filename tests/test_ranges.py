"""Every integer flag whose size turns into memory has a maximum, checked before anything runs."""

import dataclasses
import tracemalloc

import pytest

import train
from conftest import assert_one_line_error
from textlstm.__main__ import main as use_main
from textlstm.batches import epoch_positions
from textlstm.config import flag
from textlstm.errors import UsageError
from textlstm.lm.config import LMConfig
from textlstm.memory.tasks import MemoryTaskConfig
from textlstm.summarize.config import SummarizeConfig

# The fields whose values size arrays, models or loops; each must be bounded.
SIZES = {
    LMConfig: ("max_vocab", "num_layers", "units", "embedding_dim", "batch_size", "bptt"),
    SummarizeConfig: ("max_vocab", "num_layers", "units", "embedding_dim", "batch_size", "max_source_len",
                      "max_target_len", "beam_size", "max_len"),
    MemoryTaskConfig: ("length", "steps", "batch_size", "units", "test_size"),
}


@pytest.mark.parametrize("config_class", list(SIZES))
def test_each_size_accepts_its_maximum_and_names_the_flag_value_and_bound_above_it(config_class):
    fields = {field.name: field for field in dataclasses.fields(config_class)}
    untied = {"tie_weights": False} if "tie_weights" in fields else {}
    for name in SIZES[config_class]:
        maximum = fields[name].metadata["maximum"]
        assert maximum is not None, name
        config_class(**untied, **{name: maximum}).validate()
        with pytest.raises(UsageError) as raised:
            config_class(**untied, **{name: maximum + 1}).validate()
        assert str(raised.value) == (f"{flag(name)} must be an integer <= {maximum}. "
                                     f"Received: {flag(name)}={maximum + 1}")


def test_an_epoch_of_any_number_of_steps_costs_nothing_to_hold():
    tracemalloc.start()
    positions = epoch_positions(2, steps=10**6, total=7)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert peak < 10_000
    huge = epoch_positions(3, steps=10**12, total=7)
    assert len(huge) == 10**12 and huge[0] == divmod(3 * 10**12, 7) and huge[-1] == divmod(4 * 10**12 - 1, 7)
    assert list(huge[5:8]) == [divmod(3 * 10**12 + index, 7) for index in range(5, 8)]
    assert list(epoch_positions(1, steps=5, total=3)) == [(1, 2), (2, 0), (2, 1), (2, 2), (3, 0)]
    assert len(positions) == 10**6 and positions[10**6 - 1] == divmod(3 * 10**6 - 1, 7)


# The data does not exist: a size out of range must be found before the data is looked at.
@pytest.mark.parametrize("arguments, message", [
    (["lm", "--units", "100000", "--no-tie-weights"], "units must be an integer <= 4096. Received: units=100000"),
    (["lm", "--bptt", "1000000"], "bptt must be an integer <= 2048. Received: bptt=1000000"),
    (["lm", "--batch-size", "1000000"], "batch-size must be an integer <= 2048"),
    (["summarize", "--max-source-len", "1000000"], "max-source-len must be an integer <= 4096"),
    (["summarize", "--num-layers", "1000"], "num-layers must be an integer <= 64"),
])
def test_trainers_refuse_a_size_out_of_range_before_reading_data(tmp_path, capsys, arguments, message):
    out = tmp_path / "run"
    assert train.main([*arguments, "--data", str(tmp_path / "missing"), "--out", str(out)]) == 2
    assert_one_line_error(capsys, message)
    assert not out.exists()


# --seed -1 is checked after the sizes: before they had maxima, it was the error reported, and nothing ran.
@pytest.mark.parametrize("arguments, message", [
    (["memory-task", "adding", "--length", "1000000"], "length must be an integer <= 10000. Received: length=1000000"),
    (["memory-task", "copy", "--batch-size", "100000"], "batch-size must be an integer <= 4096"),
    (["memory-task", "adding", "--test-size", "10000000"], "test-size must be an integer <= 100000"),
    (["memory-task", "adding", "--steps", "10000000000"], "steps must be an integer <= 10000000"),
    (["gradient-flow", "--length", "1000000"], "length must be an integer <= 10000"),
    (["gradient-flow", "--units", "100000"], "units must be an integer <= 4096"),
])
def test_memory_verbs_refuse_a_size_out_of_range_before_any_work(tmp_path, capsys, arguments, message):
    out = tmp_path / "out"
    assert use_main([*arguments, "--seed", "-1", "--out", str(out)]) == 2
    assert_one_line_error(capsys, message)
    assert not out.exists()
