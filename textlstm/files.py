"""Files that are never half written: temporary path, then rename; JSON that is always valid."""

import json
import math
import os
import shutil
import tempfile

from textlstm.errors import UsageError

NON_FINITE_NOTE = "null stands for a value that was not a finite number (nan or infinity)"


def write_atomically(path, text):
    """Writes text to path through a temporary file in the same directory, then renames it.

    Args:
        path: Destination file.
        text: The whole content, as a string (written as UTF-8) or as bytes.
    """
    directory = os.path.dirname(os.path.abspath(path))
    os.makedirs(directory, exist_ok=True)
    temporary = f"{path}.tmp-{os.getpid()}"
    with open(temporary, "wb") as file:
        file.write(text if isinstance(text, bytes) else text.encode("utf-8"))
        file.flush()
        os.fsync(file.fileno())
    os.replace(temporary, path)


def finite_or_none(value):
    """value with every float that is nan or infinite replaced by None, and whether any was.

    Example:

    >>> finite_or_none({"loss": float("nan"), "epochs": [1.5, float("inf")]})
    ({'loss': None, 'epochs': [1.5, None]}, True)
    """
    if isinstance(value, float) and not math.isfinite(value):
        return None, True
    if isinstance(value, dict):
        pairs = [(key, finite_or_none(item)) for key, item in value.items()]
        return {key: item for key, (item, _) in pairs}, any(replaced for _, (_, replaced) in pairs)
    if isinstance(value, (list, tuple)):
        items = [finite_or_none(item) for item in value]
        return [item for item, _ in items], any(replaced for _, replaced in items)
    return value, False


def write_json(path, value):
    """Writes value as indented JSON through a temporary file.

    The result is always valid JSON: a non-finite float is written as null,
    and a dict then gets a `note` saying so.
    """
    value, replaced = finite_or_none(value)
    if replaced and isinstance(value, dict):
        value = {**value, "note": NON_FINITE_NOTE}
    write_atomically(path, json.dumps(value, indent=2, allow_nan=False) + "\n")


def read_json(path):
    """Returns the JSON value in path, or None if the file does not exist.

    Raises:
        UsageError: The file exists but is not JSON.
    """
    if not os.path.exists(path):
        return None
    try:
        with open(path, encoding="utf-8") as file:
            return json.load(file)
    except (OSError, ValueError) as error:
        raise UsageError(f"cannot read {path}: {error}") from None


def check_writable(path, name):
    """Raises `UsageError` unless a file or directory could be created at path.

    Looks for the nearest existing ancestor and creates (and removes) a
    temporary file there, so that a read-only location, a file standing
    where a directory should be, or an empty path are found before any work
    is done. Nothing is left behind.

    Args:
        path: The file or directory to be written.
        name: The flag that gave it, for the message (such as "out").
    """
    if not path:
        raise UsageError(f"{name} must not be empty. Received: {name}={path!r}")
    ancestor = os.path.abspath(path)
    while not os.path.exists(ancestor):
        ancestor = os.path.dirname(ancestor)
    if ancestor != os.path.abspath(path) and not os.path.isdir(ancestor):
        raise UsageError(f"{name} {path} cannot be created: {ancestor} is a file, not a directory")
    probe_directory = ancestor if os.path.isdir(ancestor) else os.path.dirname(ancestor)
    try:
        with tempfile.TemporaryFile(dir=probe_directory):
            pass
    except OSError as error:
        raise UsageError(f"{name} {path} is not writable: {error.strerror or error} ({probe_directory})") from None


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
