"""Tokenizers: how a line of text becomes tokens and tokens become text again.

`Words` splits on white space, `Characters` takes each character, and
`Subwords` cuts text into the pieces of a SentencePiece model (unigram,
Kudo 2018, or byte-pair encoding, Sennrich et al. 2016) learnt from the
training text. Each turns a batch of texts into an Arrow list array of
token strings (`split`), the form the encoding layer writes to disk, and
joins tokens back into text (`join`). Each also does both inside an
exported graph, in TensorFlow ops: `graph_split` cuts a batch of strings
into its tokens as spelled, `graph_normalize` makes them the vocabulary's
(a tokenizer that lower-cases does it there), and a token's `surface` is
what it adds to text, so that text is the tokens' surfaces end to end
(`textlstm.export.join_surfaces`). The subword model runs in the graph as
tensorflow-text's SentencePiece op (a SavedModel using it loads after
`import tensorflow_text`).

A subword model is trained with `pad`, `unk`, `eos` and `bos` as ids 0 to 3
(the vocabulary's special tokens, in its order), no normalization of the
text but its white space (every character `str.split` splits on becomes a
space, and runs of spaces one), and byte fallback: a character the model
never learnt is written as its UTF-8 bytes (`<0xE2>`...), so every text is
encoded without `<unk>` and decoded back as it was, white space folded.
"""

import os

from textlstm.errors import UsageError
from textlstm.vocab import BOS, EOS, PAD, UNK, Vocabulary

SUBWORD_MODELS = ("unigram", "bpe")
SUBWORD_MODEL_FILE = "tokenizer.model"
# SentencePiece keeps at most this many training lines (a random sample of them) in memory.
SUBWORD_SAMPLE_LINES = 2_000_000
# Share of the training text's characters the subword model must hold as pieces of their own; the rarest rest
# is written as bytes (SentencePiece's default for Chinese and Japanese).
CHARACTER_COVERAGE = 0.9995
# What `str.split()` splits on: a subword model folds each of them into a space.
WHITE_SPACE = "".join(chr(code) for code in range(0x3001) if chr(code).isspace())
# The U+2581 mark that starts a piece that starts a word.
WORD_START = "\u2581"


class Words:
    """Tokens are the white-space-separated words of a line (as `str.split()` splits it).

    Example:

    >>> Words().split(["the  cat ", "sat", "  "]).to_pylist(), Words().join(["the", "cat"])
    ([['the', 'cat'], ['sat'], []], 'the cat')
    """

    level = "word"
    parallel = True  # may run in `map`'s worker processes

    def split(self, texts):
        import pyarrow
        import pyarrow.compute

        trimmed = pyarrow.compute.utf8_trim_whitespace(_arrow(texts))
        words = pyarrow.compute.utf8_split_whitespace(trimmed)
        words = words.combine_chunks() if isinstance(words, pyarrow.ChunkedArray) else words
        if pyarrow.compute.any(pyarrow.compute.equal(trimmed, "")).as_py():  # Arrow splits "" into [""]
            rows = zip(words.to_pylist(), trimmed.to_pylist())
            words = pyarrow.array([row if text else [] for row, text in rows], pyarrow.list_(pyarrow.string()))
        return words

    def join(self, tokens):
        return " ".join(tokens)

    def graph_split(self, text):
        import tensorflow as tf

        return tf.strings.split(text)

    def graph_normalize(self, tokens):
        return tokens

    def surface(self, token):
        return " " + token  # the space at the start of a line is dropped

    def graph_surface(self, tokens):
        import tensorflow as tf

        return tf.strings.join([" ", tokens])


class Characters:
    """Tokens are the characters of a line without its leading and trailing white space.

    Example:

    >>> Characters().split([" ab c "]).to_pylist(), Characters().join(["a", " ", "b"])
    ([['a', 'b', ' ', 'c']], 'a b')
    """

    level = "char"
    parallel = True

    def split(self, texts):
        import pyarrow

        return pyarrow.array([list(text.strip()) for text in _python(texts)], pyarrow.list_(pyarrow.string()))

    def join(self, tokens):
        return "".join(tokens)

    def graph_split(self, text):
        import tensorflow as tf

        return tf.strings.unicode_split(tf.strings.strip(text), "UTF-8")

    def graph_normalize(self, tokens):
        return tokens

    def surface(self, token):
        return token

    def graph_surface(self, tokens):
        return tokens


class Subwords:
    """Tokens are the pieces of a SentencePiece model.

    Args:
        model: The serialized model (`Subwords.train`, or the bytes of a `tokenizer.model` file).

    Example:

    >>> subwords = Subwords.train(["the cat sat on the mat"] * 20, vocab_size=300)
    >>> pieces = subwords.split(["the cat"]).to_pylist()[0]
    >>> subwords.join(pieces), subwords.vocabulary().tokens[:4]
    ('the cat', ['<pad>', '<unk>', '<eos>', '<bos>'])
    """

    level = "subword"
    parallel = True

    def __init__(self, model):
        import sentencepiece

        self.model = model
        self.processor = sentencepiece.SentencePieceProcessor(model_proto=model)

    @classmethod
    def train(cls, texts, vocab_size, model_type="unigram", seed=1):
        """Learns a SentencePiece model of at most vocab_size pieces from texts.

        Args:
            texts: An iterable of lines, read once (SentencePiece keeps a
                random sample of at most `SUBWORD_SAMPLE_LINES` of them).
            vocab_size: Most pieces, the four special tokens and the 256 bytes included.
            model_type: "unigram" or "bpe".
            seed: Seed of the sample.

        Raises:
            UsageError: vocab_size cannot hold the special tokens, the bytes
                and the characters the text needs, or the text is empty.
        """
        import io
        import tempfile

        import sentencepiece
        from sentencepiece import sentencepiece_model_pb2

        if model_type not in SUBWORD_MODELS:
            raise UsageError(f"subword-model must be one of {', '.join(SUBWORD_MODELS)}. "
                             f"Received: subword-model={model_type!r}")
        model = io.BytesIO()
        sentencepiece.set_random_generator_seed(seed)
        with tempfile.NamedTemporaryFile("w", suffix=".tsv", encoding="utf-8") as rules:
            rules.write("".join(f"{ord(space):X}\t20\n" for space in WHITE_SPACE if space != " "))
            rules.flush()
            cls._train(texts, vocab_size, model_type, model, rules.name)
        proto = sentencepiece_model_pb2.ModelProto.FromString(model.getvalue())
        proto.normalizer_spec.normalization_rule_tsv = ""  # the temporary file's name: the same text, the same bytes
        return cls(proto.SerializeToString())

    @staticmethod
    def _train(texts, vocab_size, model_type, model, rules):
        import sentencepiece

        try:
            sentencepiece.SentencePieceTrainer.train(
                sentence_iterator=(text for text in texts if text.strip()), model_writer=model,
                vocab_size=vocab_size, model_type=model_type, hard_vocab_limit=False,
                pad_id=0, unk_id=1, eos_id=2, bos_id=3, pad_piece=PAD, unk_piece=UNK, eos_piece=EOS, bos_piece=BOS,
                normalization_rule_tsv=rules, byte_fallback=True, character_coverage=CHARACTER_COVERAGE,
                input_sentence_size=SUBWORD_SAMPLE_LINES, shuffle_input_sentence=True,
                max_sentence_length=1 << 16, num_threads=os.cpu_count() or 1, minloglevel=2)
        except RuntimeError as error:
            raise UsageError(_training_error(str(error), vocab_size)) from None

    @classmethod
    def load(cls, path):
        """The model saved in a `tokenizer.model` file."""
        try:
            with open(path, "rb") as file:
                return cls(file.read())
        except (OSError, RuntimeError) as error:
            raise UsageError(f"cannot read the subword model {path}: {error}") from None

    def save(self, path):
        """Writes the model to path (through a temporary file)."""
        temporary = f"{path}.tmp-{os.getpid()}"
        with open(temporary, "wb") as file:
            file.write(self.model)
        os.replace(temporary, path)

    def vocabulary(self):
        """The model's pieces in id order, as the run's `Vocabulary`."""
        return Vocabulary([self.processor.id_to_piece(index) for index in range(self.processor.get_piece_size())])

    def split(self, texts):
        import pyarrow

        pieces = self.processor.encode(list(_python(texts)), out_type=str)
        return pyarrow.array(pieces, pyarrow.list_(pyarrow.string()))

    def join(self, tokens):
        return self.processor.decode_pieces(list(tokens))

    def graph_split(self, text):
        return self.graph_pieces().tokenize(text)

    def graph_pieces(self):
        """tensorflow-text's SentencePiece op of this model (made once): it cuts strings into pieces in a graph."""
        if getattr(self, "_graph_pieces", None) is None:
            import tensorflow as tf
            import tensorflow_text

            self._graph_pieces = tensorflow_text.SentencepieceTokenizer(model=self.model, out_type=tf.string)
        return self._graph_pieces

    def graph_normalize(self, tokens):
        return tokens

    def surface(self, token):
        """A piece's text: the word-start mark as a space, a byte piece (`<0xE2>`) as its byte."""
        if len(token) == 6 and token.startswith("<0x") and token.endswith(">"):
            return bytes([int(token[3:5], 16)])
        return token.replace(WORD_START, " ")

    def graph_surface(self, tokens):
        import tensorflow as tf

        return tf.strings.regex_replace(tokens, WORD_START, " ")

    def __reduce__(self):  # `map`'s worker processes get the model's bytes
        return Subwords, (self.model,)


def load_tokenizer(level, directory=None):
    """The tokenizer of a level; a subword model is read from `tokenizer.model` in directory.

    Example:

    >>> load_tokenizer("char").level
    'char'
    """
    if level == "subword":
        return Subwords.load(os.path.join(directory, SUBWORD_MODEL_FILE))
    return {"word": Words, "char": Characters}[level]()


def save_tokenizer(tokenizer, directory):
    """Writes what the tokenizer needs besides the vocabulary into directory: a subword model's `tokenizer.model`."""
    if tokenizer is not None and tokenizer.level == "subword":
        tokenizer.save(os.path.join(directory, SUBWORD_MODEL_FILE))


def tokenizer_identity(tokenizer):
    """What tells tokenizers apart, for a cache key: the level, and a subword model's SHA-256.

    Example:

    >>> tokenizer_identity(Words())
    {'level': 'word'}
    """
    import hashlib

    if tokenizer.level == "subword":
        return {"level": "subword", "model": hashlib.sha256(tokenizer.model).hexdigest()}
    return {"level": tokenizer.level}


def _training_error(message, vocab_size):
    """The one line for a failed SentencePiece training."""
    if "Vocabulary size is smaller than required_chars" in message:
        needed = message.rsplit("vs", 1)[-1].strip(" .").split(".")[0]
        return (f"max-vocab {vocab_size} cannot hold the {needed} characters and special tokens the training text "
                f"needs as pieces; raise --max-vocab above {needed} or use --level char")
    if "Not found" in message or "no sentence" in message.lower() or "empty" in message.lower():
        return "the training text has no line to learn subwords from"
    return f"cannot learn a subword model: {message.splitlines()[0]}"


def _arrow(texts):
    import pyarrow

    return texts if isinstance(texts, (pyarrow.Array, pyarrow.ChunkedArray)) else pyarrow.array(texts, pyarrow.string())


def _python(texts):
    import pyarrow

    return texts.to_pylist() if isinstance(texts, (pyarrow.Array, pyarrow.ChunkedArray)) else texts
