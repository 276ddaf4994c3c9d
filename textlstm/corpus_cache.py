"""The encoded-corpus cache: token ids on disk, reused while the data files and the vocabulary settings are unchanged.

An entry is a directory under `cache_root()` named by `cache_key`: a hash
of the data files' paths, sizes and modification times (or, for a hub
dataset, of its splits' `datasets` fingerprints) and of the settings that
decide the ids. It is written into a temporary directory beside it and
renamed into place only when complete, so an entry that exists is always
whole; a run killed while encoding leaves only a temporary directory that
no key ever names.
"""

import hashlib
import json
import os
import shutil
import tempfile

from textlstm.corpus import find_split_files
from textlstm.errors import UsageError

CACHE_VERSION = 1  # raise it when the layout of an entry changes


def cache_root():
    """Where entries live: `$TEXTLSTM_CACHE`, else `$XDG_CACHE_HOME/textlstm`, else `~/.cache/textlstm`."""
    if os.environ.get("TEXTLSTM_CACHE"):
        return os.environ["TEXTLSTM_CACHE"]
    return os.path.join(os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "textlstm")


def data_files(data):
    """The local files `--data` reads, or None for a hub dataset (`hf:NAME`) or a path that is not there."""
    if data.startswith("hf:") or not os.path.exists(data):
        return None
    if os.path.isdir(data):
        return sorted(find_split_files(data).values())
    return [data]


def describe_files(paths):
    """Each file's absolute path, size and modification time: what changes when its content may have.

    Example:

    >>> import tempfile
    >>> with tempfile.NamedTemporaryFile() as file:
    ...     [sorted(item) for item in describe_files([file.name])]
    [['mtime_ns', 'path', 'size']]
    """
    described = []
    for path in paths:
        status = os.stat(path)
        described.append({"path": os.path.abspath(path), "size": status.st_size, "mtime_ns": status.st_mtime_ns})
    return described


def cache_key(task, source, settings):
    """The name of an entry: task, then a hash of what was read and of the settings that decide the ids.

    Args:
        task: "lm", "lm-eval" (a text `textlstm evaluate` scores) or "summarize".
        source: JSON-able description of the data (`describe_files`, or hub fingerprints).
        settings: JSON-able dict of the settings that decide the ids (level, max_vocab, ...).

    Example:

    >>> cache_key("lm", [{"path": "/d/train.txt", "size": 5, "mtime_ns": 1}], {"level": "word"})[:3]
    'lm-'
    """
    described = json.dumps({"version": CACHE_VERSION, "source": source, "settings": settings}, sort_keys=True)
    return f"{task}-{hashlib.sha256(described.encode()).hexdigest()[:24]}"


def find_entry(key):
    """The entry's directory if it is complete, else None."""
    path = os.path.join(cache_root(), key)
    return path if os.path.isdir(path) else None


def write_entry(key, fill):
    """Writes an entry through a temporary directory and renames it into place.

    Args:
        key: From `cache_key`.
        fill: directory -> None: writes the entry's files into it.

    Returns:
        The entry's directory. If another process finished the same entry
        first, that one is kept and ours is removed.

    Raises:
        UsageError: The cache directory cannot be written.
    """
    root = cache_root()
    try:
        os.makedirs(root, exist_ok=True)
        temporary = tempfile.mkdtemp(prefix=f".{key}.partial-", dir=root)
    except OSError as error:
        raise UsageError(f"cannot write the encoded-corpus cache in {root} ({error.strerror}); "
                         "set TEXTLSTM_CACHE to a writable directory") from None
    try:
        fill(temporary)
        path = os.path.join(root, key)
        try:
            os.rename(temporary, path)
        except OSError:
            if not os.path.isdir(path):
                raise
        return path
    finally:
        shutil.rmtree(temporary, ignore_errors=True)  # only our own temporary directory, if it is still there
