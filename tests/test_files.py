"""Files written through a temporary path: nothing half written, nothing left behind."""

import os

import pytest

from textlstm.files import write_atomically


def test_a_failed_write_leaves_the_destination_as_it_was_and_no_temporary_file(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "report.html").write_text("earlier")
    (tmp_path / "a_directory").mkdir()
    with pytest.raises(IsADirectoryError):
        write_atomically("a_directory", "new")
    with pytest.raises(FileNotFoundError):
        write_atomically("", "new")

    def full_disk(source, destination):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", full_disk)
    with pytest.raises(OSError, match="No space left"):
        write_atomically("report.html", "new")
    assert sorted(os.listdir(tmp_path)) == ["a_directory", "report.html"]
    assert (tmp_path / "report.html").read_text() == "earlier" and os.listdir(tmp_path / "a_directory") == []


def test_a_write_replaces_the_file_whole(tmp_path):
    write_atomically(tmp_path / "notes.txt", "first")
    write_atomically(tmp_path / "notes.txt", "second")
    assert os.listdir(tmp_path) == ["notes.txt"] and (tmp_path / "notes.txt").read_text() == "second"
