"""SummarizeConfig: every setting of a summarization run, with its default."""

import dataclasses

from textlstm import training
from textlstm.errors import UsageError
from textlstm.layers import LAYERS_BY_NAME
from textlstm.seq2seq.config import Seq2SeqConfig


@dataclasses.dataclass
class SummarizeConfig:
    """Settings of `train.py summarize`; each field is also a flag (`max_source_len` is `--max-source-len`).

    The flags that mean the same as in `train.py lm` share its spelling.
    The defaults train a small model on the sample set in `data/summarize`
    in a few minutes on two CPU cores.

    Example:

    >>> config = SummarizeConfig(units=8, layers=2)
    >>> config.model_config(vocab_size=30).num_layers
    2
    """

    data: str = "data/summarize"  # directory with train/valid/test files, one data file, or hf:NAME[:CONFIG]
    out: str = "runs/summarize"  # run directory: config, vocabulary, checkpoints, metrics, export
    source_field: str = ""  # column of the documents; empty picks text, document, article or email_body
    target_field: str = ""  # column of the summaries; empty picks summary, highlights, subject or title
    max_source_len: int = 80  # source tokens kept (the rest is cut) in training and serving
    max_target_len: int = 16  # summary tokens kept in training
    max_vocab: int = 10000  # largest vocabulary, special tokens included; 0 means no limit
    min_count: int = 1  # words seen fewer times in training become <unk>
    cell: str = "lstm"  # recurrent layer: lstm, peephole, coupled, gru or simple
    layers: int = 1  # recurrent layers in the encoder and in the decoder
    units: int = 96  # size of each recurrent layer's state (per direction in the encoder)
    embedding_dim: int = 64  # size of the word vectors, shared by source and summary
    bidirectional: bool = True  # run the encoder in both directions
    attention: str = "luong"  # attention score: luong (multiplicative) or bahdanau (additive)
    copy: bool = True  # mix copying of source words into the output distribution (pointer-generator)
    dropout: float = 0.0  # dropout on embeddings, between layers and on the attentional state
    batch_size: int = 32  # examples per training step
    optimizer: str = "adam"  # sgd or adam
    lr: float = 0.01  # learning rate (high: attention is learned only after a plateau; clipping keeps it stable)
    epochs: int = 12  # maximum number of passes over the training data
    patience: int = 3  # stop after this many epochs without validation-loss improvement; 0 never stops early
    clipnorm: float = 0.0  # clip each gradient tensor to this norm on its own; 0 is off
    global_clipnorm: float = 1.0  # clip all gradients together to this global norm; 0 is off
    label_smoothing: float = 0.0  # weight of the uniform distribution mixed into the targets; 0 is off
    beam_size: int = 4  # hypotheses kept by beam search; 1 is greedy (a SavedModel input, this its default)
    min_len: int = 1  # fewest summary tokens before the end token is allowed
    max_len: int = 20  # most summary tokens generated, end token included (a SavedModel input, this its default)
    length_penalty: float = 0.6  # alpha of the GNMT length penalty; larger favours longer summaries
    no_repeat_ngram_size: int = 0  # forbid repeating any n-gram of this size in a summary; 0 is off
    seed: int = 1  # random seed for initialization, dropout and the order of the examples
    export: str = ""  # SavedModel directory; empty means saved_model/ in the run directory
    overwrite: bool = False  # replace a finished run in --out instead of refusing

    def model_config(self, vocab_size):
        """The `Seq2SeqConfig` of the model and its decoding, for a vocabulary of vocab_size tokens."""
        return Seq2SeqConfig(
            vocab_size=vocab_size, embedding_dim=self.embedding_dim, units=self.units, num_layers=self.layers,
            cell=self.cell, bidirectional=self.bidirectional, attention=self.attention, copy=self.copy,
            dropout=self.dropout, beam_size=self.beam_size, max_len=self.max_len, min_len=self.min_len,
            length_penalty=self.length_penalty, no_repeat_ngram_size=self.no_repeat_ngram_size)

    def validate(self):
        """Raises `UsageError` naming the first setting that is out of range."""
        values = dataclasses.asdict(self)
        choices = {"cell": tuple(LAYERS_BY_NAME), "attention": ("luong", "bahdanau"),
                   "optimizer": ("sgd", "adam")}
        for name, allowed in choices.items():
            if values[name] not in allowed:
                flag = name.replace("_", "-")
                raise UsageError(f"{flag} must be one of {', '.join(allowed)}. Received: {flag}={values[name]!r}")
        positive = ("max_source_len", "max_target_len", "layers", "units", "embedding_dim", "batch_size", "epochs",
                    "min_count", "beam_size", "max_len")
        for name in positive:
            if values[name] < 1:
                flag = name.replace("_", "-")
                raise UsageError(f"{flag} must be a positive integer. Received: {flag}={values[name]}")
        for name in ("max_vocab", "patience", "min_len", "no_repeat_ngram_size"):
            if values[name] < 0:
                flag = name.replace("_", "-")
                raise UsageError(f"{flag} must be 0 or positive. Received: {flag}={values[name]}")
        if self.min_len >= self.max_len:
            raise UsageError(f"min-len must be smaller than max-len. Received: min-len={self.min_len}, "
                             f"max-len={self.max_len}")
        for name in ("dropout", "label_smoothing"):
            if not 0 <= values[name] < 1:
                flag = name.replace("_", "-")
                raise UsageError(f"{flag} must be in [0, 1). Received: {flag}={values[name]}")
        training.check_optimizer_settings(self)
