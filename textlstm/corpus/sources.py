"""Where a corpus comes from: train / valid / test splits read through `datasets`, and what identifies them.

`--data` is a directory of split files, one data file (cut into splits), or
`hf:NAME[:CONFIG]` for a Hugging Face hub dataset, loaded or (with
`--hub-streaming`) streamed. Text files are read as lines; JSON Lines, JSON,
CSV, TSV and Parquet files as rows of columns. A column may hold a list of
strings (SciTLDR's sentences, several reference summaries): `as_text` joins
such a list with spaces and `as_references` keeps its items apart.

A `Source` names the data and says what identifies its content (for the
cache key of `textlstm.corpus.cache`) before anything is read; its
`splits` reads them, a stream being written once to a scratch Arrow file
so that every source ends as the same memory-mapped `datasets.Dataset`s,
cut the same way when there is no valid or test split.
"""

import functools
import hashlib
import json
import os
import re
import socket
import urllib.parse

import numpy as np

from textlstm.errors import UsageError, first_line
from textlstm.files import utf8_lines

SPLITS = ("train", "valid", "test")
# How split files and hub splits may be named, and which split each name is.
SPLIT_NAMES = {"train": "train", "valid": "valid", "validation": "valid", "dev": "valid", "test": "test"}
# A corpus without valid and test splits is cut: the first 90% of rows train, then 5% valid and 5% test.
FRACTIONS = (0.9, 0.05, 0.05)
# File extension -> (`datasets` builder, its extra arguments), for files read as rows of columns.
FORMATS = {".jsonl": ("json", {}), ".json": ("json", {}), ".csv": ("csv", {}), ".tsv": ("csv", {"delimiter": "\t"}),
           ".parquet": ("parquet", {})}
HUB_PROBE_SECONDS = 5
# Bytes of a text file `datasets` reads at a time: its default of 10 MB held about 100 MB at its peak.
TEXT_CHUNK_BYTES = 1 << 20
# Rows from which `map` and `filter` run in worker processes; below it, starting them costs more.
PARALLEL_ROWS = 200_000
# Most bytes of a memory-mapped dataset one worker reads: every page it reads stays in its resident memory, so
# a large dataset is cut into more parts than there are cores to keep each worker's peak small.
WORKER_BYTES = 128 << 20
# Rows per Arrow record batch of a text file (at most; a batch is one chunk of TEXT_CHUNK_BYTES): with the
# default of 1,000, opening the memory-mapped file touched nearly every page of it.
TEXT_WRITER_ROWS = 100_000
STREAM_BATCH_ROWS = 10_000  # rows read from a stream at a time
HASH_CHUNK_BYTES = 1 << 22


def workers(dataset):
    """The `num_proc` for a `map` or `filter` over dataset: None for a small one, else a worker per core or more.

    Example:

    >>> import datasets
    >>> print(workers(datasets.Dataset.from_dict({"text": ["a line"] * 10})))
    None
    """
    if len(dataset) < PARALLEL_ROWS:
        return None
    return max(os.cpu_count() or 1, -(-dataset.data.nbytes // WORKER_BYTES))


def non_blank(dataset):
    """The rows of dataset whose `text` column holds more than white space."""
    kept = dataset.filter(lambda batch: [bool(text.strip()) for text in batch["text"]], batched=True,
                          num_proc=workers(dataset))
    # Without blank rows, the dataset itself: reading through the filter's index mapping takes twice as long.
    return dataset if len(kept) == len(dataset) else kept


def split_name(name):
    """The split a name stands for: "validation" and "dev" are "valid".

    Raises:
        UsageError: The name is none of train, valid (validation, dev), test.

    Example:

    >>> split_name("validation")
    'valid'
    """
    if name not in SPLIT_NAMES:
        raise UsageError(f"split must be train, valid (or validation, dev) or test. Received: split={name!r}")
    return SPLIT_NAMES[name]


def find_split_files(directory):
    """Returns {split: path} for the train / valid / test files of a directory.

    Accepts `train.txt`, `ptb.train.txt`, `wiki.valid.tokens`, `dev.jsonl`
    and the like: a file whose name has a split name as a dot-, dash- or
    underscore-separated part.
    """
    found = {}
    for name in sorted(os.listdir(directory)):
        path = os.path.join(directory, name)
        if not os.path.isfile(path):
            continue
        parts = [part for part in re.split(r"[._-]", name.lower()) if part in SPLIT_NAMES]
        if parts and SPLIT_NAMES[parts[0]] not in found:
            found[SPLIT_NAMES[parts[0]]] = path
    if "train" not in found:
        raise UsageError(f"data directory {directory} has no training file "
                         "(train.txt, ptb.train.txt, train.jsonl, ...)")
    missing = [split for split in SPLITS if split not in found]
    if missing:
        raise UsageError(f"data directory {directory} has no {' or '.join(missing)} file next to its training file")
    return found


def check_text_file(path):
    """Raises `UsageError` if path is missing, empty or not UTF-8 (naming the line of the first bad byte)."""
    if not os.path.isfile(path):
        raise UsageError(f"data file {path} does not exist")
    if os.path.getsize(path) == 0:
        raise UsageError(f"data file {path} is empty")
    with open(path, "rb") as file:
        for _ in utf8_lines(file, f"data file {path}"):
            pass


def read_file(path, lines=False, split="train"):
    """Reads one data file into a `datasets.Dataset`.

    Args:
        path: The file.
        lines: Read it as text, one row (column `text`) per line, blank
            lines too, whatever its extension; otherwise by its extension, as JSON
            Lines, JSON, CSV, TSV or Parquet.
        split: The split name `datasets` gives it.

    Raises:
        UsageError: The file is missing, empty, not UTF-8, of another type,
            malformed (with the line of the first bad JSON line), or has no rows.
    """
    import datasets

    datasets.disable_progress_bars()
    extension = os.path.splitext(path)[1].lower()
    if not lines and extension not in FORMATS:
        raise UsageError(f"data file {path} has an unsupported type; use one of {', '.join(FORMATS)}")
    if extension == ".parquet" and not lines:
        if not os.path.isfile(path):
            raise UsageError(f"data file {path} does not exist")
    else:
        check_text_file(path)
    builder, options = ("text", {"chunksize": TEXT_CHUNK_BYTES, "writer_batch_size": TEXT_WRITER_ROWS}) if lines else FORMATS[extension]
    try:
        dataset = datasets.load_dataset(builder, data_files={split: path}, split=split, **options)
    except Exception as error:  # pyarrow and datasets raise many types; the user needs the message
        if builder == "json":
            _raise_first_json_error(path)
        if "corresponds to no data" in str(error):
            raise UsageError(f"data file {path} has no rows") from None
        raise UsageError(f"cannot read data file {path}: {first_line(error)}") from None
    if not len(dataset):
        raise UsageError(f"data file {path} has no rows")
    return dataset


def _raise_first_json_error(path):
    """Raises `UsageError` naming the first line of path that is not JSON (1-based), if there is one."""
    with open(path, encoding="utf-8") as file:
        text = file.read()
    try:
        json.loads(text)
        return  # one JSON document: the trouble is elsewhere
    except ValueError:
        pass
    for number, line in enumerate(text.splitlines(), 1):
        if line.strip():
            try:
                json.loads(line)
            except ValueError as error:
                raise UsageError(f"line {number} of {path} is not JSON: {error}") from None


class Source:
    """`--data` as one task reads it: what identifies its content, and its train / valid / test splits.

    Nothing is read to make a `Source`. `identity` reads only what tells
    the content apart (a hash of each local file, the fingerprints of a
    loaded hub dataset, the hash of a streamed one's builder); `splits`
    reads the data.

    Args:
        data: A directory with train / valid (or validation, dev) / test
            files, one data file, or `hf:NAME[:CONFIG]`.
        lines: Read files as text lines (see `read_file`).
        prepare: Optional function (dataset, source) -> dataset applied to
            each split before a corpus without valid / test is cut (the
            language model keeps only its text column this way).
        shuffle_seed: How a corpus is cut when it has no valid / test split:
            None takes consecutive rows (a text keeps its order), a seed
            shuffles the rows first.
        streaming: Open `hf:` data with `streaming=True`: nothing is
            downloaded ahead, and `splits` reads each stream once.
    """

    def __init__(self, data, lines=False, prepare=None, shuffle_seed=None, streaming=False):
        self.data = data
        self.lines = lines
        self.prepare = prepare
        self.shuffle_seed = shuffle_seed
        self.streaming = streaming

    @functools.cached_property
    def identity(self):
        """A JSON-able value that changes whenever the data's content may have.

        Local files: each split file's size and SHA-256 (so a file changed
        with its size and modification time kept is told apart). A loaded
        hub dataset: its splits' `datasets` fingerprints. A stream: the hash
        `datasets` gives its builder, which covers the configs and the data
        files' revision (on the hub) or modification time (in a local folder).

        Raises:
            UsageError: The data is missing or cannot be opened.
        """
        if self.streaming:
            return {"data": self.data, "builder": self._streams[1]}
        if self.data.startswith("hf:"):
            return {"data": self.data,
                    "fingerprints": {split: dataset._fingerprint for split, dataset in self._hub_splits.items()}}
        return {"files": {split: file_fingerprint(path) for split, path in self._files.items()}}

    def splits(self, scratch=None):
        """Reads the splits: {split: `datasets.Dataset`} for "train", "valid" and "test".

        Args:
            scratch: A directory for the Arrow files streams are written to
                (needed with `streaming`); the datasets read from them.

        Raises:
            UsageError: The data cannot be read.
        """
        if self.streaming:
            splits = {split: stream_to_dataset(stream, os.path.join(scratch, f"{split}-rows.arrow"),
                                               f"the {split} split of {self.data}")
                      for split, stream in self._streams[0].items()}
        elif self.data.startswith("hf:"):
            splits = self._hub_splits
        else:
            splits = {split: read_file(path, self.lines, split) for split, path in self._files.items()}
        if self.prepare is not None:
            splits = {split: self.prepare(dataset, f"the {split} split of {self.data}")
                      for split, dataset in splits.items()}
        if len(splits) < len(SPLITS):
            cut = cut_into_splits(splits["train"], self.data, self.shuffle_seed)
            splits = {**cut, **{split: dataset for split, dataset in splits.items() if split != "train"}}
        return splits

    @functools.cached_property
    def _files(self):
        """{split: path} of local data: a directory's split files, or one file as "train"."""
        if os.path.isdir(self.data):
            return find_split_files(self.data)
        if not os.path.exists(self.data):
            raise UsageError(f"data path {self.data} does not exist")
        return {"train": self.data}

    @functools.cached_property
    def _hub_splits(self):
        return load_hub_splits(self.data)

    @functools.cached_property
    def _streams(self):
        return load_hub_streams(self.data)


def load_splits(data, lines=False, prepare=None, shuffle_seed=None):
    """Reads the train / valid / test splits of a corpus (the arguments are `Source`'s).

    Returns:
        {split: `datasets.Dataset`} for "train", "valid" and "test".
    """
    return Source(data, lines, prepare, shuffle_seed).splits()


def file_fingerprint(path):
    """A file's size and the SHA-256 of its content.

    Example:

    >>> import tempfile
    >>> with tempfile.NamedTemporaryFile() as file:
    ...     file_fingerprint(file.name)["size"]
    0
    """
    digest = hashlib.sha256()
    with open(path, "rb") as file:
        while chunk := file.read(HASH_CHUNK_BYTES):
            digest.update(chunk)
    return {"size": os.path.getsize(path), "sha256": digest.hexdigest()}


def stream_to_dataset(stream, path, source):
    """Writes the rows of a stream, read once, to an Arrow file at path and opens it as a `datasets.Dataset`.

    The dataset is memory-mapped, as a loaded one is, so that what follows
    reads streamed and loaded data alike.

    Raises:
        UsageError: The stream fails, has no rows, or changes its columns' types.
    """
    import datasets
    import pyarrow

    schema, rows = None, 0
    with pyarrow.OSFile(path, "wb") as sink:
        writer = None
        for batch in arrow_batches(stream, source):
            if writer is None:
                schema = stream.features.arrow_schema if stream.features is not None else batch.schema
                writer = pyarrow.ipc.new_stream(sink, schema)
            try:
                writer.write_table(batch.select(schema.names).cast(schema))
            except (pyarrow.ArrowInvalid, pyarrow.ArrowNotImplementedError, KeyError) as error:
                raise UsageError(f"cannot read {source}: the rows after row {rows} do not have the columns "
                                 f"of the first ones ({first_line(error)})") from None
            rows += batch.num_rows
        if writer is not None:
            writer.close()
    if not rows:
        raise UsageError(f"{source} has no rows")
    return datasets.Dataset.from_file(path)


def arrow_batches(stream, source):
    """The rows of a stream as `pyarrow.Table`s of up to `STREAM_BATCH_ROWS` rows; a failed read is a `UsageError`."""
    batches = iter(stream.with_format("arrow").iter(batch_size=STREAM_BATCH_ROWS))
    while True:
        try:
            batch = next(batches)
        except StopIteration:
            return
        except Exception as error:  # the hub and the file readers raise many types; the user needs the message
            raise UsageError(f"cannot read {source}: {first_line(error)}") from None
        yield batch


def cut_into_splits(dataset, source, shuffle_seed=None):
    """Cuts a dataset (or list) into train / valid / test by `FRACTIONS`.

    Args:
        dataset: A `datasets.Dataset` or a list.
        source: What it was read from, for the message.
        shuffle_seed: None cuts consecutive blocks; a seed shuffles first.

    Example:

    >>> {split: rows for split, rows in cut_into_splits(list(range(20)), "numbers").items()}
    {'train': [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17], 'valid': [18], 'test': [19]}
    """
    count = len(dataset)
    valid_start, test_start = cut_points(count, source)
    order = np.arange(count) if shuffle_seed is None else np.random.RandomState(shuffle_seed).permutation(count)
    blocks = {"train": order[:valid_start], "valid": order[valid_start:test_start], "test": order[test_start:]}
    if isinstance(dataset, list):
        return {split: [dataset[index] for index in indices] for split, indices in blocks.items()}
    return {split: dataset.select(indices) for split, indices in blocks.items()}


def cut_points(count, source):
    """Where `cut_into_splits` cuts count rows: (first valid row, first test row).

    Raises:
        UsageError: count is under 3.

    Example:

    >>> cut_points(20, "numbers"), cut_points(4, "numbers")
    ((18, 19), (2, 3))
    """
    if count < 3:
        raise UsageError(f"data {source} has {count} non-empty rows; it needs at least 3 to make train, valid "
                         "and test splits")
    valid_start = min(max(1, int(count * FRACTIONS[0])), count - 2)  # at least one row for valid and for test
    return valid_start, min(max(valid_start + 1, int(count * sum(FRACTIONS[:2]))), count - 1)


def load_hub_splits(data):
    """Loads `hf:NAME[:CONFIG]` with `datasets.load_dataset(NAME, CONFIG)`.

    Returns:
        {split: datasets.Dataset} for the splits found under the names of
        `SPLIT_NAMES`; "train" is always there, "valid" and "test" may be missing.

    Raises:
        UsageError: The hub is out of reach (found in a few seconds, not
            after a minute of retries), or cannot load it, or it has no train split.
    """
    import datasets

    return _named_splits(_from_hub(data, "load", datasets.load_dataset), data)


def load_hub_streams(data):
    """Opens `hf:NAME[:CONFIG]` as streams, as `datasets.load_dataset(NAME, CONFIG, streaming=True)` does.

    Nothing is downloaded ahead: a stream reads the data files as it is iterated.

    Returns:
        ({split: datasets.IterableDataset} named as by `load_hub_splits`,
        the hash `datasets` gives this dataset's builder: it covers the
        configs and the data files with their revision (on the hub) or
        modification time (in a local folder), so it changes with the data).

    Raises:
        UsageError: data is not `hf:`, the hub is out of reach, or cannot open the dataset, or it has no
            train split.
    """
    import datasets

    if not data.startswith("hf:"):
        raise UsageError(f"hub streaming reads hf:NAME[:CONFIG] data only. Received: data={data}")

    def stream(name, config):
        builder = datasets.load_dataset_builder(name, config)
        if builder.name in ("text", "json"):  # their default of 10 MB at a time grows the reader's peak with the data
            builder.config.chunksize = TEXT_CHUNK_BYTES
        return builder.as_streaming_dataset(), builder.hash

    loaded, builder_hash = _from_hub(data, "stream", stream)
    return _named_splits(loaded, data), builder_hash


def _from_hub(data, verb, open_dataset):
    """`open_dataset(NAME, CONFIG or None)` for `hf:NAME[:CONFIG]` once the hub is known to be in reach.

    Raises:
        UsageError: The hub is out of reach, or open_dataset fails (the message names the verb and its error).
    """
    import datasets

    datasets.disable_progress_bars()
    name, _, config = data[3:].partition(":")
    if not os.path.exists(name):
        _check_hub_reachable(data)
    try:
        return open_dataset(name, config or None)
    except Exception as error:  # the hub raises many types; the user needs the message
        raise UsageError(f"cannot {verb} Hugging Face dataset {data}: {first_line(error)}") from None


def _named_splits(loaded, data):
    """{split: dataset} of a loaded dataset dict, under the names of `SPLIT_NAMES`; raises if there is no train."""
    splits = {}
    for hub_name in loaded:
        split = SPLIT_NAMES.get(hub_name)
        if split and split not in splits:
            splits[split] = loaded[hub_name]
    if "train" not in splits:
        raise UsageError(f"dataset {data} has no train split. Received: splits {list(loaded)}")
    return splits


def _check_hub_reachable(data):
    if os.environ.get("HF_HUB_OFFLINE", "0").lower() in ("1", "true", "yes", "on"):
        return  # datasets reads its local cache and says what is missing
    endpoint = urllib.parse.urlparse(os.environ.get("HF_ENDPOINT", "https://huggingface.co"))
    port = endpoint.port or (443 if endpoint.scheme == "https" else 80)
    try:
        socket.create_connection((endpoint.hostname, port), timeout=HUB_PROBE_SECONDS).close()
    except OSError as error:
        raise UsageError(f"cannot load Hugging Face dataset {data}: the hub {endpoint.hostname} is out of reach "
                         f"({error.strerror or error}); for a dataset already in the cache, set HF_HUB_OFFLINE=1"
                         ) from None


def column_names(dataset):
    """A dataset's columns; a stream whose features are not known before it is read is asked for its first row.

    Example:

    >>> import datasets
    >>> column_names(datasets.Dataset.from_dict({"text": ["a"]}).to_iterable_dataset())
    ['text']
    """
    if dataset.column_names is not None:
        return list(dataset.column_names)
    return list(next(iter(dataset), {}))


def text_columns(dataset):
    """The columns of a dataset that hold strings or lists of strings."""
    import datasets

    def is_text(feature):
        if isinstance(feature, datasets.Value):
            return feature.dtype in ("string", "large_string")
        if isinstance(feature, (datasets.Sequence, datasets.LargeList)):
            return is_text(feature.feature)
        return isinstance(feature, list) and len(feature) == 1 and is_text(feature[0])

    return [name for name, feature in dataset.features.items() if is_text(feature)]


def as_text(value):
    """A column value as one string: a list (of sentences) joined with spaces, None as "".

    Example:

    >>> as_text(["Hi team.", "The review moved."]), as_text(None)
    ('Hi team. The review moved.', '')
    """
    if value is None:
        return ""
    if isinstance(value, (list, tuple)):
        return " ".join(text for text in (as_text(item) for item in value) if text)
    return value if isinstance(value, str) else str(value)


def as_references(value):
    """A column value as a list of non-empty strings: a list's items apart, a string alone.

    Example:

    >>> as_references(["tldr one", "", "tldr two"]), as_references("a subject")
    (['tldr one', 'tldr two'], ['a subject'])
    """
    items = value if isinstance(value, (list, tuple)) else [value]
    return [text for text in (as_text(item) for item in items) if text.strip()]
