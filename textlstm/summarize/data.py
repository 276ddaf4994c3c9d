"""Summarization data: (document, summary) pairs read through `datasets`, tokenized, padded into id arrays.

Tokenization is the same TensorFlow function in training and in the exported
SavedModel (`tokenize_graph`), so serving sees exactly the tokens training saw.
"""

import dataclasses

import numpy as np

from textlstm.corpus import SPLITS, as_references, as_text, column_names, load_splits, read_file
from textlstm.corpus.tokenizers import load_tokenizer
from textlstm.errors import UsageError
from textlstm.seq2seq.copying import PAD_ID, extended_ids
from textlstm.vocab import BOS, EOS

SOURCE_FIELDS = ("text", "document", "article", "email_body")
TARGET_FIELDS = ("summary", "highlights", "headline", "subject", "title")
# A single file is shuffled with this seed before it is cut into train, valid and test.
SINGLE_FILE_SEED = 0
# ASCII punctuation, split off the words around it (RE2 and Python `re` read this class alike).
PUNCTUATION = r"([!-/:-@\[-`{-~])"


def tokenize_graph(text):
    """Tokenizes a batch of strings with TensorFlow ops: lowercase, punctuation split off, whitespace split.

    Used in training (eagerly) and inside the exported SavedModel.

    Args:
        text: String tensor, (batch,).

    Returns:
        A `tf.RaggedTensor` of strings, (batch, tokens).

    Example:

    >>> import tensorflow as tf
    >>> tokenize_graph(tf.constant(["Re: the Q3 budget, again!"])).to_list()
    [[b're', b':', b'the', b'q3', b'budget', b',', b'again', b'!']]
    """
    import tensorflow as tf

    return split_words(tf.strings.lower(text, encoding="utf-8"))


def split_words(text):
    """`tokenize_graph` without lowercasing: the words as spelled (lowercasing moves no word boundary).

    Example:

    >>> import tensorflow as tf
    >>> split_words(tf.constant(["Re: Q3"])).to_list()
    [[b'Re', b':', b'Q3']]
    """
    import tensorflow as tf

    return tf.strings.split(tf.strings.regex_replace(text, PUNCTUATION, r" \1 "))


def tokenize(texts):
    """Returns one list of token strings per text, as `tokenize_graph` splits them."""
    import tensorflow as tf

    tokens = []
    for start in range(0, len(texts), 4096):  # bounded memory for large splits
        ragged = tokenize_graph(tf.constant(texts[start: start + 4096], dtype=tf.string))
        tokens += [[token.decode("utf-8") for token in row] for row in ragged.to_list()]
    return tokens


class SummaryWords:
    """The summarizer's words: lower-cased, ASCII punctuation split off (`tokenize_graph`), as the SavedModel cuts them.

    A tokenizer as `textlstm.corpus.tokenizers` describes them; in a graph,
    `graph_split` keeps the words as spelled (a copied word keeps its case)
    and `graph_normalize` lower-cases them.

    Example:

    >>> SummaryWords().split(["Re: Q3!"]).to_pylist()
    [['re', ':', 'q3', '!']]
    """

    level = "word"
    parallel = False  # TensorFlow's runtime does not survive the fork of `map`'s worker processes

    def split(self, texts):
        import pyarrow

        texts = texts.to_pylist() if isinstance(texts, (pyarrow.Array, pyarrow.ChunkedArray)) else list(texts)
        return pyarrow.array(tokenize(texts), pyarrow.list_(pyarrow.string()))

    def join(self, tokens):
        return " ".join(tokens)

    def graph_split(self, text):
        return split_words(text)

    def graph_normalize(self, tokens):
        import tensorflow as tf

        return tf.ragged.map_flat_values(tf.strings.lower, tokens, encoding="utf-8")

    def surface(self, token):
        return " " + token

    def graph_surface(self, tokens):
        import tensorflow as tf

        return tf.strings.join([" ", tokens])


def summary_tokenizer(level, directory=None):
    """The summarizer's tokenizer of a level: `SummaryWords`, or as `load_tokenizer` gives it.

    Example:

    >>> summary_tokenizer("word").level, summary_tokenizer("char").level
    ('word', 'char')
    """
    return SummaryWords() if level == "word" else load_tokenizer(level, directory)


def pick_fields(columns, source_field="", target_field=""):
    """Returns the (source, target) column names: the given ones, checked, or the first common names present.

    Args:
        columns: Column names of the data.
        source_field: Column of the documents, or "" to pick the first of `SOURCE_FIELDS` present.
        target_field: Column of the summaries, or "" to pick the first of `TARGET_FIELDS` present.

    Raises:
        UsageError: A named column is missing or no common name is present; the message lists the columns.

    Example:

    >>> pick_fields(["id", "email_body", "subject"])
    ('email_body', 'subject')
    """
    columns = list(columns)
    picked = []
    for flag, given, common in (("source-field", source_field, SOURCE_FIELDS),
                                ("target-field", target_field, TARGET_FIELDS)):
        if given:
            if given not in columns:
                raise UsageError(f"{flag} {given!r} is not a column of the data. Received: {flag}={given!r}; "
                                 f"the columns are {', '.join(columns)}")
            picked.append(given)
            continue
        present = [name for name in common if name in columns]
        if not present:
            what = "documents" if flag == "source-field" else "summaries"
            raise UsageError(f"cannot tell which column holds the {what} (none of {', '.join(common)}); "
                             f"the columns are {', '.join(columns)}; pass --{flag}")
        picked.append(present[0])
    if picked[0] == picked[1]:
        raise UsageError(f"source-field and target-field must differ. Received: both {picked[0]!r}")
    return tuple(picked)


@dataclasses.dataclass
class Pairs:
    """The usable (document, summaries) rows of one split or file.

    Attributes:
        source: The documents; a list of sentences is joined with spaces.
        references: Per document, its summaries: one, or several where the
            summary column holds a list.
        skipped: Rows left out because the document or every summary was empty.
        lists: The columns among (source, target) that held lists.
    """

    source: list
    references: list
    skipped: int
    lists: tuple

    @property
    def target(self):
        """The first summary of each document."""
        return [references[0] for references in self.references]

    def training_pairs(self, target_list):
        """(documents, summaries) to train on: each document with its first summary, or with each of them."""
        if target_list == "first":
            return self.source, self.target
        return ([source for source, references in zip(self.source, self.references) for _ in references],
                [reference for references in self.references for reference in references])


def usable_pairs(dataset, fields, name):
    """The `Pairs` of a dataset's rows whose document and at least one summary are non-empty.

    Raises:
        UsageError: A column is missing, or no row is usable.
    """
    check_columns(dataset, fields, name)
    values = dataset[fields[0]], dataset[fields[1]]
    pairs = usable_rows(*values, fields)
    if not pairs.source:
        raise no_usable_example(name, len(values[0]), fields)
    return pairs


def check_columns(dataset, fields, name):
    """Raises `UsageError` if dataset lacks one of fields, naming the columns it has."""
    columns = column_names(dataset)
    missing = [field for field in fields if field not in columns]
    if missing:
        raise UsageError(f"{name} has no column {', '.join(missing)}; its columns are {', '.join(columns)}")


def usable_rows(source_values, target_values, fields):
    """The `Pairs` of the (document, summary) column values whose document and a summary are non-empty.

    Example:

    >>> pairs = usable_rows(["a b", "", "c"], ["x", "y", ["", "z"]], ("text", "summary"))
    >>> pairs.source, pairs.references, pairs.skipped, pairs.lists
    (['a b', 'c'], [['x'], ['z']], 1, ('summary',))
    """
    sources, references, lists = [], [], set()
    for source, target in zip(source_values, target_values):
        lists.update(field for field, value in zip(fields, (source, target)) if isinstance(value, (list, tuple)))
        source, target = as_text(source), as_references(target)
        if source.strip() and target:
            sources.append(source)
            references.append(target)
    listed = tuple(field for field in fields if field in lists)
    return Pairs(sources, references, len(source_values) - len(sources), listed)


def no_usable_example(name, rows, fields):
    """The `UsageError` of a split or file of `rows` rows none of which is usable."""
    detail = f"all {rows} rows have an empty {' or '.join(fields)}" if rows else "no rows"
    return UsageError(f"{name} has no usable example ({detail})")


def load_pairs(data, source_field="", target_field=""):
    """Reads the (document, summaries) pairs of train / valid / test through the `datasets` library.

    Args:
        data: A directory with train / valid (or dev, validation) / test files,
            one file (shuffled with a fixed seed and cut 90% / 5% / 5%), or
            `hf:NAME[:CONFIG]`. Files are JSON Lines, JSON, CSV, TSV or Parquet.
        source_field: Column of the documents; "" picks a common name.
        target_field: Column of the summaries; "" picks a common name.

    Returns:
        `(pairs, fields)`: {split: `Pairs`} for "train", "valid" and "test",
        and the (source, target) column names used.

    Raises:
        UsageError: Unreadable data, a missing column (the message names the
            columns there are), or a split with no usable row.
    """
    splits = load_splits(data, shuffle_seed=SINGLE_FILE_SEED)
    fields = pick_fields(splits["train"].column_names, source_field, target_field)
    return {split: usable_pairs(splits[split], fields, f"the {split} split of {data}") for split in SPLITS}, fields


def load_single_file(path, source_field="", target_field=""):
    """Reads every (document, summaries) pair of one file, as `load_pairs` reads a split."""
    dataset = read_file(path)
    fields = pick_fields(dataset.column_names, source_field, target_field)
    return usable_pairs(dataset, fields, f"data file {path}")


def encode_sources(token_lists, vocab, max_source_len):
    """Ids of the sources, cut to max_source_len tokens, each ending in `<eos>`, padded with 0.

    Returns:
        int32 array, (examples, longest source + 1).

    Example:

    >>> from textlstm.vocab import Vocabulary
    >>> vocab = Vocabulary.build([["a", "b"]])
    >>> encode_sources([["a", "b", "a"], []], vocab, max_source_len=2).tolist()
    [[4, 5, 2], [2, 0, 0]]
    """
    rows = [vocab.encode(tokens[:max_source_len] + [EOS]) for tokens in token_lists]
    return _pad(rows)


def encode_extended_sources(token_lists, vocab, max_source_len):
    """The sources' extended ids (`textlstm.seq2seq.copying`), cut and ended as `encode_sources` does.

    Returns:
        `(ids, oovs)`: int32 array (examples, longest source + 1), padded
        with 0, and per source its out-of-vocabulary words in the order of
        their temporary ids.

    Example:

    >>> from textlstm.vocab import Vocabulary
    >>> vocab = Vocabulary.build([["a", "b"]])  # 6 tokens
    >>> ids, oovs = encode_extended_sources([["zed", "a", "zed", "ork"]], vocab, max_source_len=3)
    >>> ids.tolist(), oovs
    ([[6, 4, 6, 2]], [['zed']])
    """
    rows, oovs = zip(*(extended_ids(tokens[:max_source_len] + [EOS], vocab) for tokens in token_lists))
    return _pad(rows), list(oovs)


def encode_targets(token_lists, vocab, max_target_len, oovs=None):
    """Teacher-forcing pairs: decoder inputs `<bos> y` and labels `y <eos>`, y cut to max_target_len.

    A label outside the vocabulary is its temporary id where it occurs in
    its document (`oovs`, from `encode_extended_sources`), and otherwise
    padding: the loss leaves it out, since the output layer never gives
    `<unk>` any probability. The decoder inputs keep `<unk>` for it.

    Args:
        token_lists: The summaries' tokens.
        vocab: The `Vocabulary`.
        max_target_len: Summary tokens kept.
        oovs: Per summary, its document's out-of-vocabulary words; None for none.

    Returns:
        `(decoder_input, labels)`, int32 arrays (examples, longest target + 1), padded with 0.

    Example:

    >>> from textlstm.vocab import Vocabulary
    >>> vocab = Vocabulary.build([["a", "b"]])
    >>> decoder_input, labels = encode_targets([["a", "zed", "b", "qix"]], vocab, 5, oovs=[["zed"]])
    >>> decoder_input.tolist(), labels.tolist()
    ([[3, 4, 1, 5, 1]], [[4, 6, 5, 0, 2]])
    """
    cut = [tokens[:max_target_len] for tokens in token_lists]
    oovs = oovs or [[] for _ in cut]
    labels = []
    for tokens, document_oovs in zip(cut, oovs):
        temporary = {word: len(vocab) + index for index, word in enumerate(document_oovs)}
        labels.append([vocab.ids.get(token, temporary.get(token, PAD_ID)) for token in tokens]
                      + [vocab.eos_id])
    return _pad([vocab.encode([BOS] + tokens) for tokens in cut]), _pad(labels)


def _pad(rows):
    array = np.zeros((len(rows), max(len(row) for row in rows)), dtype=np.int32)
    for index, row in enumerate(rows):
        array[index, : len(row)] = row
    return array
