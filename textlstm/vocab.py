"""Vocabulary: the token list shared by data, models and exports."""

import collections
import json

from textlstm.errors import UsageError
from textlstm.files import write_atomically

PAD = "<pad>"
UNK = "<unk>"
EOS = "<eos>"
BOS = "<bos>"
SPECIAL_TOKENS = (PAD, UNK, EOS, BOS)
VOCAB_FILE = "vocab.json"  # the name of a vocabulary file in a run directory or a cache entry


class Vocabulary:
    """Maps tokens to ids and back; id 0 is `<pad>`, then `<unk>`, `<eos>`, `<bos>`.

    Args:
        tokens: Every token, in id order, starting with the special tokens.

    Example:

    >>> vocab = Vocabulary.build([["a", "b", "a"]], max_size=0, min_count=1)
    >>> vocab.tokens
    ['<pad>', '<unk>', '<eos>', '<bos>', 'a', 'b']
    >>> vocab.encode(["a", "zzz"])
    [4, 1]
    """

    def __init__(self, tokens):
        tokens = list(tokens)
        if tuple(tokens[: len(SPECIAL_TOKENS)]) != SPECIAL_TOKENS:
            raise ValueError(f"tokens must start with {list(SPECIAL_TOKENS)}. Received: tokens={tokens[:4]}")
        if len(set(tokens)) != len(tokens):
            raise ValueError("tokens must be unique. Received: a list with repeated tokens")
        self.tokens = tokens
        self.ids = {token: index for index, token in enumerate(tokens)}

    @classmethod
    def build(cls, token_lists, max_size=0, min_count=1):
        """Builds a vocabulary from tokenized text, most frequent tokens first.

        Args:
            token_lists: Iterable of lists of tokens.
            max_size: Largest vocabulary size, special tokens included; 0 means no limit.
            min_count: Tokens seen fewer times become `<unk>`.

        Returns:
            A `Vocabulary`.
        """
        counts = collections.Counter()
        for tokens in token_lists:
            counts.update(tokens)
        return cls.from_counts(counts, max_size, min_count)

    @classmethod
    def from_counts(cls, counts, max_size=0, min_count=1):
        """Builds a vocabulary from token counts, most frequent tokens first (ties alphabetically).

        Args:
            counts: Mapping from token to the times it was seen in training.
            max_size: Largest vocabulary size, special tokens included; 0 means no limit.
            min_count: Tokens seen fewer times become `<unk>`.

        Returns:
            A `Vocabulary`.

        Example:

        >>> Vocabulary.from_counts({"b": 2, "a": 2, "c": 1}, min_count=2).tokens[4:]
        ['a', 'b']
        """
        if max_size and max_size <= len(SPECIAL_TOKENS):
            raise UsageError(f"max-vocab must be 0 (no limit) or more than {len(SPECIAL_TOKENS)}. "
                             f"Received: max-vocab={max_size}")
        # Ties broken alphabetically so that the same corpus always gives the same ids.
        kept = [token for token, count in counts.items() if count >= min_count and token not in SPECIAL_TOKENS]
        ordered = sorted(kept, key=lambda token: (-counts[token], token))
        if max_size:
            ordered = ordered[: max_size - len(SPECIAL_TOKENS)]
        return cls(list(SPECIAL_TOKENS) + ordered)

    def __len__(self):
        return len(self.tokens)

    @property
    def unk_id(self):
        return self.ids[UNK]

    @property
    def eos_id(self):
        return self.ids[EOS]

    def encode(self, tokens):
        """Returns the ids of tokens, `<unk>`'s id for unknown ones."""
        unk = self.unk_id
        return [self.ids.get(token, unk) for token in tokens]

    def decode(self, ids):
        """Returns the tokens of ids."""
        return [self.tokens[index] for index in ids]

    def save(self, path):
        """Writes the vocabulary as JSON (a list of tokens in id order) through a temporary file."""
        write_atomically(path, json.dumps({"tokens": self.tokens}, ensure_ascii=False, indent=0))

    @classmethod
    def load(cls, path):
        """Reads a vocabulary written by `save`."""
        try:
            with open(path, encoding="utf-8") as file:
                return cls(json.load(file)["tokens"])
        except (OSError, ValueError, KeyError) as error:
            raise UsageError(f"cannot read the vocabulary {path}: {error}") from None
