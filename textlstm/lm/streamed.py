"""A language-model corpus encoded from hub streams (`--hub-streaming`), with no copy of the whole text.

`load_hub_streams` opens `hf:NAME[:CONFIG]` with `streaming=True`, and one
pass over each split encodes its text as it arrives:

    rows -> text column, blank lines dropped (as `text_only`) -> tokens (as `encoded_corpus` splits them)
         -> provisional ids (scratch/<split>.ids, int32) and each line's end (scratch/<split>.ends, int64)

A token's provisional id is its place in the order of first appearance
across the splits, `<eos>` being 0. After the pass the training counts are
`np.bincount` of the training part of the provisional ids, the vocabulary
is `Vocabulary.from_counts` of them (so it is the vocabulary `encoded_corpus`
builds from the same data), and each split's ids are its provisional ids
put through a lookup array (provisional id -> vocabulary id), a chunk at a
time. Memory holds one batch of lines and the distinct tokens, never a split.

One pass rather than two (count, then encode) because each pass over a hub
stream downloads it again, while the scratch files cost local disk, 4 bytes
a token and 8 a line. The line ends also let a dataset without valid or
test split be cut as `load_splits` cuts it (consecutive blocks of non-blank
lines by `FRACTIONS`) once the pass has counted its lines, which a stream
does not tell in advance.
"""

import os
import shutil

import numpy as np

from textlstm.corpus import SPLITS, as_text, cut_points
from textlstm.errors import UsageError, first_line
from textlstm.lm.data import split_words, text_column
from textlstm.vocab import EOS, Vocabulary

BATCH_LINES = 10_000  # rows read from a stream at a time
CHUNK_IDS = 1 << 20  # ids read back from a scratch file at a time


def encode_streams(streams, data, settings, directory, head_lines):
    """Encodes streamed splits into `<split>.ids` files (raw int32, each line's ids followed by `<eos>`).

    Args:
        streams: {split: `datasets.IterableDataset`} from `load_hub_streams`;
            "train" is always there; without "valid" and "test" the
            training stream is cut, and a split it has replaces its cut block.
        data: The `--data` value, for messages.
        settings: {"level": ..., "max_vocab": ..., "min_count": ...}.
        directory: Where the ids files go; the scratch files go to its
            `scratch/` and are removed at the end.
        head_lines: How many of the first test lines to give back as tokens.

    Returns:
        (the `Vocabulary` of the training split, the first head_lines test
        lines as token lists each ending in `<eos>`).

    Raises:
        UsageError: A stream fails, has no text column or no text, or a
            training stream to be cut has fewer than 3 lines.
    """
    scratch = os.path.join(directory, "scratch")
    os.makedirs(scratch)
    table = ProvisionalIds()
    paths = {name: os.path.join(scratch, name) for name in streams}
    lines = {name: write_provisional(stream, settings["level"], table, paths[name], f"the {name} split of {data}")
             for name, stream in streams.items()}
    parts = split_parts(lines, data)
    ranges = {split: (paths[name], token_position(paths[name], first), token_position(paths[name], end))
              for split, (name, first, end) in parts.items()}
    counts = np.zeros(len(table.tokens), dtype=np.int64)
    for chunk in read_ids(*ranges["train"]):
        counts += np.bincount(chunk, minlength=len(counts))
    vocab = Vocabulary.from_counts({table.tokens[index]: int(counts[index]) for index in np.flatnonzero(counts)},
                                   settings["max_vocab"], settings["min_count"])
    lookup = np.array([vocab.ids.get(token, vocab.unk_id) for token in table.tokens], dtype=np.int32)
    for split, (path, start, stop) in ranges.items():
        with open(os.path.join(directory, f"{split}.ids"), "wb") as file:
            for chunk in read_ids(path, start, stop):
                file.write(lookup[chunk].tobytes())
    name, first, end = parts["test"]
    head = []
    for line in range(first, min(end, first + head_lines)):
        ids = np.concatenate(list(read_ids(paths[name], token_position(paths[name], line),
                                           token_position(paths[name], line + 1))))
        head.append([table.tokens[index] for index in ids])
    shutil.rmtree(scratch)
    return vocab, head


class ProvisionalIds:
    """Ids for the tokens of a stream in order of first appearance, `<eos>` first (id 0).

    Example:

    >>> import pyarrow
    >>> table = ProvisionalIds()
    >>> table.ids(pyarrow.array(["b", "a", "b"])).tolist(), table.ids(pyarrow.array(["c", "a"])).tolist()
    ([1, 2, 1], [3, 2])
    >>> table.tokens
    ['<eos>', 'b', 'a', 'c']
    """

    def __init__(self):
        self.tokens = [EOS]
        self.index = {EOS: 0}

    def ids(self, tokens):
        """The int32 ids of an Arrow array of tokens; a new token takes the next id."""
        import pyarrow.compute

        distinct = pyarrow.compute.unique(tokens)  # in order of first appearance
        distinct_ids = np.zeros(len(distinct), dtype=np.int32)
        for position, token in enumerate(distinct.to_pylist()):
            if token not in self.index:
                self.index[token] = len(self.tokens)
                self.tokens.append(token)
            distinct_ids[position] = self.index[token]
        return distinct_ids[pyarrow.compute.index_in(tokens, value_set=distinct).to_numpy()]


def line_tokens(lines, level):
    """The tokens of lines end to end as an Arrow string array, and each line's number of tokens.

    Words are split as `split_words` splits them for `encoded_corpus`,
    characters as `tokenize` does.

    Example:

    >>> tokens, lengths = line_tokens([" a  b ", "c"], "word")
    >>> tokens.to_pylist(), lengths.tolist()
    (['a', 'b', 'c'], [2, 1])
    >>> line_tokens([" ab "], "char")[0].to_pylist()
    ['a', 'b']
    """
    import pyarrow

    if level == "word":
        words = split_words(pyarrow.array(lines, pyarrow.string()))
        return words.flatten(), np.diff(words.offsets.to_numpy())
    stripped = [line.strip() for line in lines]
    characters = pyarrow.array([character for line in stripped for character in line], pyarrow.string())
    return characters, np.array([len(line) for line in stripped], dtype=np.int64)


def write_provisional(stream, level, table, path, source):
    """Reads a stream once, writing its lines' provisional ids to `path.ids` and where each line ends to `path.ends`.

    Each line's ids are followed by `<eos>`'s; a line's end is the position after its `<eos>`.

    Args:
        stream: A `datasets.IterableDataset`.
        level: "word" or "char".
        table: The `ProvisionalIds` shared by every split.
        path: The scratch files' path without extension.
        source: What the stream is, for messages.

    Returns:
        The number of non-blank lines read.

    Raises:
        UsageError: The stream fails, has no text column, or no text.
    """
    import datasets

    column, written, lines = None, 0, 0
    with open(f"{path}.ids", "wb") as ids_file, open(f"{path}.ends", "wb") as ends_file:
        for batch in arrow_batches(stream, source):
            column = column or text_column(datasets.Dataset(batch), source)
            texts = [text for text in (as_text(value) for value in batch.column(column).to_pylist()) if text.strip()]
            tokens, lengths = line_tokens(texts, level)
            line_ends = np.cumsum(lengths)
            ids = np.insert(table.ids(tokens), line_ends, table.index[EOS])
            ids_file.write(ids.tobytes())
            ends_file.write((written + line_ends + np.arange(1, len(texts) + 1)).astype(np.int64).tobytes())
            written, lines = written + len(ids), lines + len(texts)
    if not lines:
        raise UsageError(f"{source} has no text")
    return lines


def arrow_batches(stream, source):
    """The rows of a stream as `pyarrow.Table`s of up to `BATCH_LINES` rows; a failed read is a `UsageError`."""
    batches = iter(stream.with_format("arrow").iter(batch_size=BATCH_LINES))
    while True:
        try:
            batch = next(batches)
        except StopIteration:
            return
        except Exception as error:  # the hub and the file readers raise many types; the user needs the message
            raise UsageError(f"cannot read {source}: {first_line(error)}") from None
        yield batch


def split_parts(line_counts, source):
    """Which lines of which stream each split is: {split: (stream, first line, end line)}.

    A stream named after its split is that split; without valid and test
    streams, the training stream is cut by `cut_points` as `load_splits` cuts it.

    Example:

    >>> split_parts({"train": 20}, "hf:numbers")
    {'train': ('train', 0, 18), 'valid': ('train', 18, 19), 'test': ('train', 19, 20)}
    >>> split_parts({"train": 20, "valid": 4}, "hf:numbers")["valid"]
    ('valid', 0, 4)
    """
    parts = {split: (split, 0, count) for split, count in line_counts.items()}
    if len(parts) < len(SPLITS):
        valid_start, test_start = cut_points(line_counts["train"], source)
        cut = {"train": ("train", 0, valid_start), "valid": ("train", valid_start, test_start),
               "test": ("train", test_start, line_counts["train"])}
        parts = {**cut, **{split: part for split, part in parts.items() if split != "train"}}
    return parts


def token_position(path, line):
    """Where a line starts in the scratch ids at path: the end of the line before it, read from `path.ends`."""
    if not line:
        return 0
    return int(np.fromfile(f"{path}.ends", dtype=np.int64, count=1, offset=(line - 1) * 8)[0])


def read_ids(path, start, stop):
    """The scratch ids at path from start to stop, in chunks of `CHUNK_IDS`, read without memory-mapping."""
    for begin in range(start, stop, CHUNK_IDS):
        yield np.fromfile(f"{path}.ids", dtype=np.int32, count=min(CHUNK_IDS, stop - begin), offset=begin * 4)
