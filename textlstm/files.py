"""Files that are never half written (temporary path, then rename), JSON that is always valid, locks, partials."""

import fcntl
import json
import math
import os
import re
import shutil
import tempfile

from textlstm.errors import UsageError

NON_FINITE_NOTE = "null stands for a value that was not a finite number (nan or infinity)"


def write_atomically(path, content):
    """Writes content to path through a temporary file in the same directory, then renames it.

    Plain writes, so that a full disk is an `OSError` (ENOSPC); whatever
    stops the write (a full disk, path a directory, Ctrl-C), the temporary
    file is removed and path keeps what it held.

    Args:
        path: Destination file.
        content: The whole content: a string (written as UTF-8) or bytes.

    Raises:
        OSError: The write failed; its `filename` is path.
    """
    directory = os.path.dirname(os.path.abspath(path))
    temporary = f"{path}.tmp-{os.getpid()}"
    data = content.encode("utf-8") if isinstance(content, str) else content
    try:
        os.makedirs(directory, exist_ok=True)
        with open(temporary, "wb") as file:
            file.write(data)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, path)
    except BaseException as error:
        if os.path.exists(temporary):
            os.remove(temporary)
        if isinstance(error, OSError) and not error.filename:
            raise OSError(error.errno, error.strerror, path) from None
        raise


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


def check_writable_file(path, name):
    """Raises `UsageError` unless a file could be written at path: `check_writable`, and path is no directory."""
    if path and (os.path.isdir(path) or path.endswith(os.sep)):
        raise UsageError(f"{name} {path} names a directory; give the path of a file")
    check_writable(path, name)


def check_writable_directory(path, name):
    """Raises `UsageError` unless a directory could be written at path: `check_writable`, and path is no file."""
    if os.path.exists(path) and not os.path.isdir(path):
        raise UsageError(f"{name} {path} is a file, not a directory")
    check_writable(path, name)


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


def lock_file(path, refusal):
    """Takes the exclusive lock (`flock`) of path, creating the file, and writes our process into it.

    The lock is released when the returned file is closed or the process
    ends, however it ends.

    Args:
        path: The lock file.
        refusal: The `UsageError` message when another process holds the
            lock, with `{holder}` where that process goes ("process 123").

    Returns:
        The open lock file.

    Raises:
        OSError: path cannot be created.
    """
    handle = open(path, "a+")
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.seek(0)
        holder = handle.read().strip() or "another process"
        handle.close()
        raise UsageError(refusal.format(holder=holder)) from None
    handle.seek(0)
    handle.truncate()
    handle.write(f"process {os.getpid()}\n")
    handle.flush()
    return handle


def remove_stale_partials(parent, marker, name=None):
    """Removes the partial directories in parent that a process now gone left behind.

    A partial directory is named `.NAME.partial-PID`, PID being the process
    id of its writer (`.saved_model.partial-4242`), and holds the file
    `marker` while it is written. It is removed only if both hold and no
    process of that id is alive; a directory being written by a live
    process is left alone.

    Args:
        parent: The directory to look in.
        marker: The name of the file inside that marks them as ours.
        name: Only the partial directories of this NAME; None for any.

    Example:

    >>> import tempfile
    >>> parent = tempfile.mkdtemp()
    >>> for pid in (os.getpid(), 2**22 + 1):  # ours, alive; and one above Linux's largest process id
    ...     os.makedirs(os.path.join(parent, f".x.partial-{pid}"))
    ...     open(os.path.join(parent, f".x.partial-{pid}", ".mark"), "w").close()
    >>> remove_stale_partials(parent, ".mark", "x")
    >>> os.listdir(parent) == [f".x.partial-{os.getpid()}"]
    True
    """
    if not os.path.isdir(parent):
        return
    pattern = r"\." + (re.escape(name) if name is not None else ".+") + r"\.partial-(\d+)"
    for entry in os.listdir(parent):
        match = re.fullmatch(pattern, entry)
        path = os.path.join(parent, entry)
        if match and os.path.isfile(os.path.join(path, marker)) and not process_alive(int(match.group(1))):
            shutil.rmtree(path, ignore_errors=True)


def process_alive(pid):
    """True if a process of this id exists (on this machine)."""
    try:
        os.kill(pid, 0)
    except (ProcessLookupError, OverflowError):  # none, or an id larger than any
        return False
    except PermissionError:  # another user's
        return True
    return True


def utf8_lines(file, name):
    r"""The lines of a binary file (or any iterable of bytes lines) decoded as UTF-8, line ends kept.

    Args:
        file: Opened in binary mode.
        name: What the file is, for the message ("data file corpus.txt").

    Raises:
        UsageError: A line is not UTF-8; the message names the first bad one.

    Example:

    >>> "".join(utf8_lines([b"caf\xc3\xa9\n", b"ok\n"], "notes.txt"))
    'café\nok\n'
    >>> list(utf8_lines([b"ok\n", b"\xff\n"], "notes.txt"))
    Traceback (most recent call last):
    ...
    textlstm.errors.UsageError: notes.txt is not UTF-8 text (bad byte at line 2)
    """
    for number, line in enumerate(file, 1):
        try:
            yield line.decode("utf-8")
        except UnicodeDecodeError:
            raise UsageError(f"{name} is not UTF-8 text (bad byte at line {number})") from None
