"""What both tasks' SavedModels share: the vocabulary as a lookup table, tokens joined into text, safe writing.

A SavedModel is written into a temporary directory next to its destination
(named `.NAME.partial-PID` and holding a marker file while it is written),
then renamed into place, so an earlier export is replaced only by a
complete one. A write that fails (a full disk, Ctrl-C) removes its
temporary directory; one left by a killed process is recognised by its
marker and its process id and removed by the next export to the same place,
never while its process lives.
"""

import errno
import os
import shutil

import tensorflow as tf

from textlstm.files import remove_stale_partials, replace_directory
from textlstm.run import check_export_path
from textlstm.vocab import EOS, SPECIAL_TOKENS

PARTIAL_MARKER = ".textlstm-partial-export"


def vocabulary_table(vocab):
    """A `tf.lookup.StaticHashTable` from token strings to int64 ids, `<unk>`'s id for unknown tokens."""
    return tf.lookup.StaticHashTable(
        tf.lookup.KeyValueTensorInitializer(tf.constant(vocab.tokens), tf.range(len(vocab), dtype=tf.int64)),
        default_value=vocab.unk_id,
    )


def surface_table(tokenizer, vocab):
    """What each id adds to text, as a string tensor (vocab,): the token's surface; `<eos>` a line break.

    `<pad>`, `<unk>` and `<bos>` add nothing (none of them is ever predicted).
    """
    surfaces = []
    for token in vocab.tokens:
        if token == EOS:
            surfaces.append(b"\n")
        elif token in SPECIAL_TOKENS:
            surfaces.append(b"")
        else:
            surface = tokenizer.surface(token)
            surfaces.append(surface if isinstance(surface, bytes) else surface.encode("utf-8"))
    return tf.constant(surfaces)


def join_surfaces(surfaces, continuing=False):
    r"""The text of tokens' surfaces (strings, tokens on the last axis): end to end, each line's first space dropped.

    Byte pieces join into the characters they spell; bytes that spell none
    (a byte piece sampled without the rest of its character) become U+FFFD,
    so the text is always valid UTF-8.

    Args:
        surfaces: A string tensor of surfaces (`surface_table`).
        continuing: The text continues another (a prompt): its own first
            space, which parts it from what it continues, stays.

    Example:

    >>> join_surfaces(tf.constant([[" the", " cat", "\n", " a"]])).numpy().tolist()
    [b'the cat\na']
    >>> join_surfaces(tf.constant([[" the", " cat"], ["s", " sat"]]), continuing=True).numpy().tolist()
    [b' the cat', b's sat']
    >>> join_surfaces(tf.constant([[b" \xe6", b"\x98\xa5", b"\x98"]])).numpy()[0].decode()
    '春\ufffd'
    """
    text = tf.strings.reduce_join(surfaces, axis=-1)
    text = tf.strings.unicode_transcode(text, "UTF-8", "UTF-8", errors="replace")
    text = tf.strings.regex_replace(text, "\n ", "\n")
    return text if continuing else tf.strings.regex_replace(text, "^ ", "")


def write_saved_model(path, save):
    """Writes a SavedModel to path through a temporary directory beside it.

    Args:
        path: Destination directory; an earlier SavedModel there is replaced
            only once the new one is complete.
        save: Function of a directory that writes the SavedModel into it.

    Raises:
        OSError: The disk is full (errno ENOSPC, filename path); nothing of
            the new SavedModel is left.
    """
    check_export_path(path)
    path = os.path.abspath(path)
    parent, name = os.path.split(path)
    os.makedirs(parent, exist_ok=True)
    remove_stale_partials(parent, PARTIAL_MARKER, name)
    temporary = os.path.join(parent, f".{name}.partial-{os.getpid()}")
    shutil.rmtree(temporary, ignore_errors=True)  # left by an earlier attempt of this process
    try:
        os.makedirs(temporary)
        with open(os.path.join(temporary, PARTIAL_MARKER), "w", encoding="utf-8") as file:
            file.write("a SavedModel being written by textlstm; removed once it is complete\n")
        save(temporary)
    except BaseException as error:
        shutil.rmtree(temporary, ignore_errors=True)
        if (isinstance(error, OSError) and error.errno == errno.ENOSPC
                or isinstance(error, tf.errors.ResourceExhaustedError) and os.strerror(errno.ENOSPC) in str(error)):
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), path) from None
        raise
    replace_directory(temporary, path)
    os.remove(os.path.join(path, PARTIAL_MARKER))
