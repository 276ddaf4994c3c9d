import dataclasses
import json
import os

import pytest

import train
from killed_runs import Interrupt, InterruptAfterEpoch, kill_after_first_epoch
from summarize_data import tiny_flags, write_sample
from textlstm.summarize.config import SummarizeConfig
from textlstm.summarize.train import train_summarizer

@pytest.mark.slow
def test_an_interrupted_run_continues_from_its_last_epoch(tmp_path):
    data = write_sample(tmp_path / "data", train=30, valid=4, test=4)
    config = SummarizeConfig(data=str(data), out=str(tmp_path / "run"), units=8, embedding_dim=8, batch_size=16,
                             epochs=3, patience=0, beam_size=1, max_len=4, seed=3)
    with pytest.raises(Interrupt):
        train_summarizer(config, verbose=0, callbacks=[InterruptAfterEpoch(2)], log=None)
    first = json.loads((tmp_path / "run" / "metrics.json").read_text())["epochs"]
    assert len(first) == 2 and os.path.isdir(tmp_path / "run" / "checkpoints")

    metrics = train_summarizer(config, verbose=0, log=None)
    assert [epoch["epoch"] for epoch in metrics["epochs"]] == [1, 2, 3]
    assert metrics["epochs"][:2] == first  # kept, not retrained
    assert metrics["finished"] and not os.path.exists(tmp_path / "run" / "checkpoints")


@pytest.mark.slow
def test_a_killed_run_continues_after_kill_9(tmp_path):
    data = write_sample(tmp_path / "data", train=400, valid=4, test=4)
    out = tmp_path / "run"
    flags = tiny_flags(data, out, "--epochs", "3", "--patience", "0")
    kill_after_first_epoch(flags, out, timeout=300)
    first = json.loads((out / "metrics.json").read_text())
    assert 1 <= len(first["epochs"]) < 3 and not first.get("finished")

    assert train.main(flags) == 0
    metrics = json.loads((out / "metrics.json").read_text())
    assert [epoch["epoch"] for epoch in metrics["epochs"]] == [1, 2, 3]
    assert metrics["epochs"][0] == first["epochs"][0]
    assert metrics["finished"]


@pytest.mark.slow  # about 80 s: four runs of up to three epochs
def test_an_interrupted_run_with_dropout_makes_the_epochs_of_an_uninterrupted_one(tmp_path):
    data = write_sample(tmp_path / "data", train=30, valid=4, test=4)

    def config(name):
        return SummarizeConfig(data=str(data), out=str(tmp_path / name), units=8, embedding_dim=8, batch_size=16,
                               epochs=3, patience=0, beam_size=1, max_len=4, seed=3, dropout=0.3, weight_drop=0.3)

    def losses(metrics):
        return [loss for epoch in metrics["epochs"] for loss in (epoch["loss"], epoch["val_loss"])]

    whole = train_summarizer(config("whole"), verbose=0, log=None)
    undropped = train_summarizer(dataclasses.replace(config("undropped"), dropout=0.0, weight_drop=0.0), verbose=0,
                                 log=None)
    assert losses(undropped) != pytest.approx(losses(whole))  # the masks do change the training
    with pytest.raises(Interrupt):
        train_summarizer(config("cut"), verbose=0, callbacks=[InterruptAfterEpoch(1)], log=None)
    resumed = train_summarizer(config("cut"), verbose=0, log=None)
    assert losses(resumed) == pytest.approx(losses(whole), rel=1e-6)
