"""Writes that never leave a half-written file behind: temporary path, then rename."""

import json
import os
import shutil


def write_atomically(path, text):
    """Writes text to path through a temporary file in the same directory, then renames it.

    Args:
        path: Destination file.
        text: The whole content, as a string.
    """
    directory = os.path.dirname(os.path.abspath(path))
    os.makedirs(directory, exist_ok=True)
    temporary = f"{path}.tmp-{os.getpid()}"
    with open(temporary, "w", encoding="utf-8") as file:
        file.write(text)
        file.flush()
        os.fsync(file.fileno())
    os.replace(temporary, path)


def write_json(path, value):
    """Writes value as indented JSON through a temporary file."""
    write_atomically(path, json.dumps(value, indent=2, sort_keys=False) + "\n")


def replace_directory(temporary, path):
    """Moves the finished directory temporary to path, replacing an earlier one only at the last moment.

    Args:
        temporary: A complete directory, next to path.
        path: Where it should end up.
    """
    previous = f"{path}.old-{os.getpid()}"
    if os.path.exists(path):
        os.replace(path, previous)
    os.replace(temporary, path)
    shutil.rmtree(previous, ignore_errors=True)
