"""Files that are never half written (nothing left behind), locks that name their holder."""

import errno
import os

import pytest

from textlstm import files
from textlstm.errors import UsageError


def test_a_write_that_fails_leaves_the_file_as_it_was_and_no_temporary(tmp_path, monkeypatch):
    path = tmp_path / "metrics.json"
    files.write_atomically(path, "before")

    def disk_full(descriptor):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(os, "fsync", disk_full)
    with pytest.raises(OSError) as raised:
        files.write_atomically(path, b"after")
    assert raised.value.errno == errno.ENOSPC and raised.value.filename == path
    assert os.listdir(tmp_path) == ["metrics.json"] and path.read_text() == "before"


def test_a_held_lock_is_refused_naming_its_holder(tmp_path):
    held = files.lock_file(tmp_path / ".lock", "unused")
    try:
        with pytest.raises(UsageError, match=f"^taken by process {os.getpid()}; wait$"):
            files.lock_file(tmp_path / ".lock", "taken by {holder}; wait")
    finally:
        held.close()
    files.lock_file(tmp_path / ".lock", "unused").close()  # free again once closed


def test_a_failed_write_leaves_the_destination_as_it_was_and_no_temporary_file(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "report.html").write_text("earlier")
    (tmp_path / "a_directory").mkdir()
    with pytest.raises(IsADirectoryError):
        files.write_atomically("a_directory", "new")
    with pytest.raises(FileNotFoundError):
        files.write_atomically("", "new")

    def full_disk(source, destination):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", full_disk)
    with pytest.raises(OSError, match="No space left"):
        files.write_atomically("report.html", "new")
    assert sorted(os.listdir(tmp_path)) == ["a_directory", "report.html"]
    assert (tmp_path / "report.html").read_text() == "earlier" and os.listdir(tmp_path / "a_directory") == []


def test_a_write_replaces_the_file_whole(tmp_path):
    files.write_atomically(tmp_path / "notes.txt", "first")
    files.write_atomically(tmp_path / "notes.txt", "second")
    assert os.listdir(tmp_path) == ["notes.txt"] and (tmp_path / "notes.txt").read_text() == "second"
