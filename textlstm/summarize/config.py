"""SummarizeConfig: every setting of a summarization run, with its default."""

import dataclasses

from textlstm.config import TrainConfig, option, override
from textlstm.seq2seq.decode import Decoding, check_decoding


@dataclasses.dataclass
class SummarizeConfig(Decoding, TrainConfig):
    """Settings of `train.py summarize`; each field is also a flag (`max_source_len` is `--max-source-len`).

    The fields shared with `train.py lm` come from `TrainConfig`, the
    decoding settings (the SavedModel's defaults) from `Decoding`. The
    defaults train a small model on the sample set in `data/summarize` in a
    few minutes on two CPU cores.

    Example:

    >>> config = SummarizeConfig(units=8, num_layers=2)
    >>> config.model_arguments(vocab_size=30)["num_layers"], config.beam_size
    (2, 4)
    """

    data: str = override(TrainConfig, "data", "data/summarize")
    out: str = override(TrainConfig, "out", "runs/summarize")
    units: int = override(TrainConfig, "units", 96)
    embedding_dim: int = override(TrainConfig, "embedding_dim", 64)
    lr: float = override(TrainConfig, "lr", 0.01)
    epochs: int = override(TrainConfig, "epochs", 12)
    source_field: str = option("", "column of the documents; empty picks text, document, article or email_body")
    target_field: str = option("", "column of the summaries; empty picks summary, highlights, headline, subject "
                               "or title")
    target_list: str = option("first", "where a summary column holds lists of summaries: train on the first of "
                              "each list, or on each of them; ROUGE scores against all of them",
                              choices=("first", "each"))
    max_source_len: int = option(80, "source tokens kept (the rest is cut) in training and serving", minimum=1,
                                 maximum=4096)
    max_target_len: int = option(16, "summary tokens kept in training", minimum=1, maximum=1024)
    bidirectional: bool = option(True, "run the encoder in both directions")
    attention: str = option("luong", "attention score: multiplicative (luong) or additive (bahdanau)",
                            choices=("luong", "bahdanau"))
    copy: bool = option(True, "mix copying of source words into the output distribution (pointer-generator), "
                        "words outside the vocabulary included")
    coverage: bool = option(True, "give the attention the attention paid so far and add the coverage loss, which "
                            "discourages attending to the same words again", absent=False)
    coverage_weight: float = option(1.0, "weight of the coverage loss", minimum=0)
    coverage_epochs: int = option(0, "add the coverage loss in the last N epochs only; 0 adds it from the start",
                                  minimum=0)
    label_smoothing: float = option(0.0, "weight of the uniform distribution mixed into the targets; 0 is off",
                                    minimum=0, below=1)

    def validate(self):
        super().validate()
        check_decoding(min_len=self.min_len, max_len=self.max_len)

    def model_arguments(self, vocab_size):
        """The arguments of `Seq2Seq` for a vocabulary of vocab_size tokens."""
        names = ("embedding_dim", "units", "num_layers", "cell", "bidirectional", "attention", "dropout",
                 "tie_weights", "copy", "coverage", "coverage_weight")
        return {"vocab_size": vocab_size, "weight_dropout": self.weight_drop,
                **{name: getattr(self, name) for name in names}}
