"""Every default of the summarization task, in one dataclass."""

import dataclasses


@dataclasses.dataclass
class Seq2SeqConfig:
    """Settings of an attention encoder-decoder and of its decoding.

    The model fields are `Seq2Seq`'s constructor arguments (see
    `model_kwargs`); the decoding fields are `beam_search`'s options. Field
    names are the spelling of the CLI flags (with dashes) and of the keys of
    a run's `config.json`.

    Example:

    >>> config = Seq2SeqConfig(vocab_size=20, units=8, beam_size=2)
    >>> sorted(config.model_kwargs())[:3]
    ['attention', 'bidirectional', 'cell']
    """

    vocab_size: int = 0  # size of the shared source/target vocabulary, pad id 0 included
    embedding_dim: int = 64  # width of the token embeddings
    units: int = 128  # width of every recurrent layer (per direction in the encoder)
    num_layers: int = 1  # recurrent layers in the encoder and in the decoder
    cell: str = "lstm"  # recurrent layer: lstm, peephole, coupled, gru or simple
    bidirectional: bool = False  # run the encoder in both directions
    attention: str = "luong"  # attention score: luong (multiplicative) or bahdanau (additive)
    dropout: float = 0.0  # dropout on embeddings, between layers and on the attentional hidden state
    tie_embeddings: bool = False  # reuse the embedding matrix as the output projection
    copy: bool = False  # mix copying from the source into the output distribution (pointer-generator)
    beam_size: int = 4  # hypotheses kept while decoding; 1 is greedy
    max_len: int = 20  # most tokens generated per summary, end token included
    min_len: int = 0  # fewest tokens before the end token is allowed
    length_penalty: float = 0.6  # alpha of the GNMT length penalty ((5 + length) / 6) ** alpha
    no_repeat_ngram_size: int = 0  # forbid repeating any n-gram of this size; 0 disables

    def model_kwargs(self):
        """The fields that `Seq2Seq` takes, as a dict."""
        names = (
            "vocab_size",
            "embedding_dim",
            "units",
            "num_layers",
            "cell",
            "bidirectional",
            "attention",
            "dropout",
            "tie_embeddings",
            "copy",
        )
        values = dataclasses.asdict(self)
        return {name: values[name] for name in names}

    def decode_kwargs(self):
        """The fields that `beam_search` takes, as a dict."""
        names = ("beam_size", "max_len", "min_len", "length_penalty", "no_repeat_ngram_size")
        values = dataclasses.asdict(self)
        return {name: values[name] for name in names}
