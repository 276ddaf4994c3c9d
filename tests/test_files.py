"""Files that are never half written, locks that name their holder."""

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
