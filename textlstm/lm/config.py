"""LMConfig: every setting of a language-model run, with its default."""

import dataclasses

from textlstm import training
from textlstm.errors import UsageError
from textlstm.layers import LAYERS_BY_NAME


@dataclasses.dataclass
class LMConfig:
    """Settings of `train.py lm`; each field is also a flag (`max_vocab` is `--max-vocab`).

    The defaults train a small model on the sample corpus in `data/lm` in
    about two minutes on two CPU cores.
    """

    data: str = "data/lm"  # directory with train/valid/test files, one text file, or hf:NAME[:CONFIG]
    out: str = "runs/lm"  # run directory: config, vocabulary, checkpoints, metrics, export
    level: str = "word"  # tokens are whitespace-separated words ("word") or characters ("char")
    max_vocab: int = 10000  # largest vocabulary, special tokens included; 0 means no limit
    min_count: int = 1  # words seen fewer times in training become <unk>
    cell: str = "lstm"  # recurrent layer: lstm, peephole, coupled, gru or simple
    layers: int = 2  # number of stacked recurrent layers
    units: int = 128  # size of each recurrent layer's state
    embedding_dim: int = 128  # size of the word vectors
    dropout: float = 0.1  # dropout on the embedding, between layers and before the softmax
    tie_weights: bool = True  # share embedding and output matrices (needs units == embedding-dim)
    init_scale: float = 0.0  # if > 0, all weights start uniform in [-init-scale, init-scale] (Zaremba); 0 keeps Keras's
    bptt: int = 35  # time steps per window of truncated backpropagation through time
    batch_size: int = 20  # number of contiguous token streams trained side by side
    optimizer: str = "adam"  # sgd or adam
    lr: float = 0.003  # initial learning rate
    schedule: str = "plateau"  # plateau: divide lr by 4 when validation stops improving; fixed: decay after decay-start
    lr_decay: float = 0.25  # factor applied to lr at each decay
    decay_start: int = 4  # fixed schedule: lr decays at the end of every epoch after this many
    epochs: int = 8  # maximum number of passes over the training data
    patience: int = 3  # stop after this many epochs without validation improvement; 0 never stops early
    clipnorm: float = 0.0  # clip each gradient tensor to this norm on its own; 0 is off
    global_clipnorm: float = 0.25  # clip all gradients together to this global norm; 0 is off
    seed: int = 1  # random seed for initialization and dropout (the data order is fixed)
    export: str = ""  # SavedModel directory; empty means saved_model/ in the run directory
    overwrite: bool = False  # replace a finished run in --out instead of refusing

    def validate(self):
        """Raises `UsageError` naming the first setting that is out of range."""
        values = dataclasses.asdict(self)
        choices = {"level": ("word", "char"), "cell": tuple(LAYERS_BY_NAME),
                   "optimizer": ("sgd", "adam"), "schedule": ("plateau", "fixed")}
        for name, allowed in choices.items():
            value = values[name]
            if value not in allowed:
                flag = name.replace("_", "-")
                raise UsageError(f"{flag} must be one of {', '.join(allowed)}. Received: {flag}={value!r}")
        positive = ("layers", "units", "embedding_dim", "bptt", "batch_size", "epochs", "min_count")
        for name in positive:
            if values[name] < 1:
                flag = name.replace("_", "-")
                raise UsageError(f"{flag} must be a positive integer. Received: {flag}={values[name]}")
        if not 0 <= self.dropout < 1:
            raise UsageError(f"dropout must be in [0, 1). Received: dropout={self.dropout}")
        training.check_optimizer_settings(self)
        if not 0 < self.lr_decay < 1:
            raise UsageError(f"lr-decay must be in (0, 1). Received: lr-decay={self.lr_decay}")
        if self.tie_weights and self.units != self.embedding_dim:
            raise UsageError(
                "tie-weights shares one matrix between the embedding and the output layer, so units must equal "
                f"embedding-dim. Received: units={self.units}, embedding-dim={self.embedding_dim} "
                "(pass --no-tie-weights or make them equal)")
