"""The encoded-corpus cache: token ids on disk, reused while the data and the settings that decide them are unchanged.

An entry is a directory under `cache_root()` named by `entry_key`: a hash
of what identifies the data (`Source.identity`) and of the settings that
decide the ids. It is written into `.KEY.partial-PID` beside it, which
holds a marker file while it is written, and renamed into place only when
complete; its `entry.json` lists the size and SHA-256 of every file in it.
`cached_entry` checks an entry against that list before handing it out,
and writes a damaged one again. A partial directory whose process is gone
(killed while encoding) is removed by the next entry written in the same
root; one whose process still runs is left alone.
"""

import contextlib
import hashlib
import json
import os
import shutil

from textlstm.corpus.sources import file_fingerprint
from textlstm.errors import UsageError
from textlstm.files import remove_stale_partials

CACHE_VERSION = 2  # raise it when the layout of an entry changes
ENTRY_FILE = "entry.json"
PARTIAL_MARKER = ".textlstm-partial-entry"
SCRATCH = "scratch"


def cache_root():
    """Where entries live: `$TEXTLSTM_CACHE`, else `$XDG_CACHE_HOME/textlstm`, else `~/.cache/textlstm`."""
    if os.environ.get("TEXTLSTM_CACHE"):
        return os.environ["TEXTLSTM_CACHE"]
    return os.path.join(os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "textlstm")


def entry_key(kind, identity, settings):
    """The name of an entry: its kind, then a hash of what identifies the data and of the settings.

    Args:
        kind: "lm", "lm-eval" (a text `textlstm evaluate` scores) or "summarize".
        identity: `Source.identity` (or any JSON-able description of the data).
        settings: JSON-able dict of the settings that decide the ids (tokenizer, max_vocab, ...).

    Example:

    >>> entry_key("lm", {"files": {"train": {"size": 5, "sha256": "ab"}}}, {"level": "word"})[:3]
    'lm-'
    """
    described = json.dumps({"version": CACHE_VERSION, "source": identity, "settings": settings}, sort_keys=True)
    return f"{kind}-{hashlib.sha256(described.encode()).hexdigest()[:24]}"


def cached_entry(key, fill, log=None):
    """The directory of a complete, intact entry: found in the cache, or written now.

    Args:
        key: From `entry_key`.
        fill: (directory, scratch) -> None: writes the entry's files into
            directory; scratch is an empty directory for temporary files,
            removed afterwards.
        log: Called with one line when a damaged entry is written again; None is silent.

    Raises:
        UsageError: The cache directory cannot be written, or what fill raises.
    """
    path = os.path.join(cache_root(), key)
    if os.path.isdir(path):
        damage = entry_damage(path)
        if damage is None:
            return path
        if log:
            log(f"the cached entry {path} is damaged ({damage}); encoding again")
        _discard(path)
    return _write_entry(key, fill)


def entry_damage(path):
    """What is wrong with an entry, in a few words, or None when every file matches its `entry.json`."""
    try:
        with open(os.path.join(path, ENTRY_FILE), encoding="utf-8") as file:
            files = json.load(file)["files"]
    except (OSError, ValueError, KeyError, TypeError):
        return f"no readable {ENTRY_FILE}"
    for name, expected in files.items():
        file_path = os.path.join(path, name)
        if not os.path.isfile(file_path):
            return f"{name} is missing"
        size = os.path.getsize(file_path)
        if size != expected["size"]:
            return f"{name} has {size} bytes, not {expected['size']}"
        if file_fingerprint(file_path) != expected:
            return f"{name} does not hold what was written"
    return None


def _write_entry(key, fill):
    """Writes an entry through `.KEY.partial-PID` and renames it into place; returns its directory.

    If another process finished the same entry first, that one is kept and ours is removed.
    """
    root = cache_root()
    temporary = os.path.join(root, f".{key}.partial-{os.getpid()}")
    try:
        os.makedirs(root, exist_ok=True)
        remove_stale_partials(root, PARTIAL_MARKER)
        shutil.rmtree(temporary, ignore_errors=True)  # a leftover of an earlier process with our PID
        os.makedirs(temporary)
        with open(os.path.join(temporary, PARTIAL_MARKER), "w", encoding="utf-8") as file:
            file.write("an encoded-corpus entry being written by textlstm; removed once it is complete\n")
    except OSError as error:
        raise UsageError(f"cannot write the encoded-corpus cache in {root} ({error.strerror}); "
                         "set TEXTLSTM_CACHE to a writable directory") from None
    try:
        _use_system_allocator()
        with _scratch(temporary) as scratch:
            fill(temporary, scratch)
        names = sorted(name for name in os.listdir(temporary) if name != PARTIAL_MARKER)
        with open(os.path.join(temporary, ENTRY_FILE), "w", encoding="utf-8") as file:
            json.dump({"files": {name: file_fingerprint(os.path.join(temporary, name)) for name in names}}, file,
                      indent=1)
        os.remove(os.path.join(temporary, PARTIAL_MARKER))
        path = os.path.join(root, key)
        try:
            os.rename(temporary, path)
        except OSError:
            if not os.path.isdir(path):
                raise
        return path
    finally:
        shutil.rmtree(temporary, ignore_errors=True)  # only our own partial directory, if it is still there


def _use_system_allocator():
    """Arrow allocates through the C library's allocator from here on (worker processes forked later too).

    Arrow's default, mimalloc, keeps the memory of freed batches: encoding a
    15 MB corpus in one process held 60 MB more than with this one, more the
    larger the corpus, at the same speed.
    """
    import pyarrow

    pyarrow.set_memory_pool(pyarrow.system_memory_pool())


@contextlib.contextmanager
def _scratch(directory):
    """A `scratch/` directory inside directory for the duration of the block."""
    scratch = os.path.join(directory, SCRATCH)
    os.makedirs(scratch)
    try:
        yield scratch
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def _discard(path):
    """Removes a damaged entry (named by a key, in the cache root: ours) by renaming it aside first.

    Another process may be reading it: its open files stay readable until it closes them.
    """
    aside = os.path.join(os.path.dirname(path), f".{os.path.basename(path)}.damaged-{os.getpid()}")
    try:
        os.rename(path, aside)
    except OSError:
        return  # another process moved it first
    shutil.rmtree(aside, ignore_errors=True)
