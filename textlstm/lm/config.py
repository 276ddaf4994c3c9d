"""LMConfig: every setting of a language-model run, with its default."""

import dataclasses

from textlstm.config import TrainConfig, option, override
from textlstm.errors import UsageError


@dataclasses.dataclass
class LMConfig(TrainConfig):
    """Settings of `train.py lm`; each field is also a flag (`max_vocab` is `--max-vocab`).

    The defaults train a small model on the sample corpus in `data/lm` in
    about two minutes on two CPU cores.

    Example:

    >>> config = LMConfig(units=8, embedding_dim=8)
    >>> config.num_layers, config.global_clipnorm, LMConfig(clipnorm=1.0).global_clipnorm
    (2, 0.25, 0.0)
    """

    data: str = override(TrainConfig, "data", "data/lm")
    out: str = override(TrainConfig, "out", "runs/lm")
    num_layers: int = override(TrainConfig, "num_layers", 2)
    dropout: float = override(TrainConfig, "dropout", 0.25)
    input_dropout: float = option(None, "locked dropout on the embedding output", minimum=0, below=1,
                                  unset="--dropout's")
    weight_drop: float = override(TrainConfig, "weight_drop", 0.2)
    embedding_dropout: float = option(0.05, "embedding dropout: the fraction of the vocabulary dropped whole (every "
                                      "occurrence of a dropped word) in each batch", minimum=0, below=1, absent=0.0)
    ar: float = option(1.0, "activation regularization: adds ar x the mean square of the last recurrent layer's "
                       "output after dropout to the training loss", minimum=0, absent=0.0)
    tar: float = option(1.0, "temporal activation regularization: adds tar x the mean square of the change of the "
                        "last recurrent layer's output from one step to the next to the training loss", minimum=0,
                        absent=0.0)
    state_reset: float = option(0.01, "the fraction of the token streams whose states restart from zeros at each "
                                "training step, so that the model also learns to predict from the zero states that "
                                "evaluation and prompts start from; 0 carries every stream through the epoch",
                                minimum=0, below=1, absent=0.0)
    tie_weights: bool = override(TrainConfig, "tie_weights", True)
    batch_size: int = override(TrainConfig, "batch_size", 20)
    optimizer: str = option("adam", "optimizer; ntasgd is SGD that averages its iterates once validation has not "
                            "improved for nonmono epochs", choices=("sgd", "adam", "ntasgd"))
    nonmono: int = option(5, "ntasgd: epochs without validation improvement before averaging starts", minimum=0)
    lr: float = override(TrainConfig, "lr", 0.003)
    epochs: int = override(TrainConfig, "epochs", 8)
    init_scale: float = option(0.0, "if > 0, all weights start uniform in [-init-scale, init-scale] (Zaremba); "
                               "0 keeps Keras's initializers", minimum=0)
    bptt: int = option(35, "time steps per window of truncated backpropagation through time", minimum=1,
                       maximum=2048)
    schedule: str = option("plateau", "plateau: lr x lr-decay whenever validation stops improving; "
                           "fixed: lr x lr-decay every epoch after decay-start; constant: lr throughout",
                           choices=("plateau", "fixed", "constant"))
    lr_decay: float = option(0.25, "factor applied to the learning rate at each decay", positive=True, below=1)
    decay_start: int = option(4, "fixed schedule: epochs at the initial learning rate", minimum=0)

    default_global_clipnorm = 0.25

    def __post_init__(self):
        super().__post_init__()
        if self.input_dropout is None:  # one --dropout for every place, unless the embeddings get their own
            self.input_dropout = self.dropout

    def validate(self):
        super().validate()
        if self.tie_weights and self.units != self.embedding_dim:
            raise UsageError(
                "tie-weights shares one matrix between the embedding and the output layer, so units must equal "
                f"embedding-dim. Received: units={self.units}, embedding-dim={self.embedding_dim} "
                "(pass --no-tie-weights or make them equal)")
