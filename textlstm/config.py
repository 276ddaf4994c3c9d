"""The settings every training run shares, each with its help text, its range and its default.

A task's config (`LMConfig`, `SummarizeConfig`) is a dataclass that extends
`TrainConfig`. Each field is also a command-line flag (`max_vocab` is
`--max-vocab`) and a key of the run's `config.json`, one spelling for all
three; its help text is written once, in the field's metadata, and `--help`
shows it.
"""

import argparse
import dataclasses
import math

from textlstm.errors import UsageError
from textlstm.layers import LAYERS_BY_NAME

# The largest state (units) and vector (embedding-dim) sizes any task takes. Each flag whose size turns into
# memory has a maximum far above what a run needs that keeps it, the other flags at their defaults, within a
# few GB: a mistyped value is refused before anything runs instead of exhausting the machine's memory.
MAX_STATE_SIZE = 4096


def option(default, help, *, choices=None, minimum=None, maximum=None, positive=False, below=None,
           absent=dataclasses.MISSING, unset=None):
    """A config field with its help text and the range `validate` checks.

    Args:
        default: The default value; None for one that `__post_init__` sets
            from other fields, as `unset` tells `--help`.
        help: One line for `--help`.
        unset: What `--help` shows as a default of None (`{config}` is the config class).
        absent: The value of a run whose config.json predates the field (the
            behaviour it was trained with), if that is not the default.
        choices: The allowed values, if only a few are.
        minimum, maximum: Inclusive bounds of a number.
        positive: The number must be above 0.
        below: Exclusive upper bound of a number.
    """
    checks = {"choices": choices, "minimum": minimum, "maximum": maximum, "positive": positive, "below": below}
    return dataclasses.field(default=default, metadata={"help": help, "absent": absent, "unset": unset, **checks})


def override(config_class, name, default):
    """The field `name` of config_class with another default, its help and range unchanged."""
    inherited = {field.name: field for field in dataclasses.fields(config_class)}[name]
    return dataclasses.field(default=default, metadata=inherited.metadata)


def flag(name):
    """The command-line spelling of a field: `max_vocab` -> `max-vocab`."""
    return name.replace("_", "-")


@dataclasses.dataclass
class TrainConfig:
    """What every `train.py` run has: data, run directory, vocabulary, model size, optimizer, clipping.

    Tasks override the defaults (`override`) and add their own fields.
    """

    data: str = option("", "a directory with train/valid/test files, one data file (cut 90/5/5), or hf:NAME[:CONFIG]")
    hub_streaming: bool = option(False, "hf: data: stream the dataset, each split read once, without a copy "
                                 "under HF_HOME")
    out: str = option("", "run directory; the same command continues an interrupted run")
    level: str = option("word", "tokens: words, characters, or subwords learnt from the training text",
                        choices=("word", "char", "subword"))
    subword_model: str = option("unigram", "level subword: SentencePiece's unigram model or byte-pair encoding",
                                choices=("unigram", "bpe"))
    max_vocab: int = option(10000, "largest vocabulary, special tokens included (subword: the number of pieces); 0 "
                            "means no limit (word and char)", minimum=0, maximum=1_000_000)
    min_count: int = option(1, "words or characters seen fewer times in training become <unk>", minimum=1)
    cell: str = option("lstm", "recurrent layer", choices=tuple(LAYERS_BY_NAME))
    num_layers: int = option(1, "number of stacked recurrent layers", minimum=1, maximum=64)
    units: int = option(128, "size of each recurrent layer's state", minimum=1, maximum=MAX_STATE_SIZE)
    embedding_dim: int = option(128, "size of the word vectors", minimum=1, maximum=MAX_STATE_SIZE)
    dropout: float = option(0.0, "locked dropout (one mask per sequence, the same at each of its steps) on the "
                            "embeddings, between layers and before the output layer (on the language model's "
                            "embeddings only when input dropout is not given)", minimum=0, below=1)
    weight_drop: float = option(0.0, "weight dropout (DropConnect) on each recurrent layer's recurrent kernel U: the "
                                "fraction of its entries dropped, one mask per batch", minimum=0, below=1, absent=0.0)
    tie_weights: bool = option(False, "share one matrix between the embedding and the output layer")
    batch_size: int = option(32, "examples (language model: contiguous token streams) per training step", minimum=1,
                             maximum=2048)
    optimizer: str = option("adam", "optimizer", choices=("sgd", "adam"))
    lr: float = option(0.001, "initial learning rate", positive=True)
    epochs: int = option(10, "maximum number of passes over the training data", minimum=1)
    steps_per_epoch: int = option(0, "training batches in one epoch, for corpora too large for whole passes "
                                     "(later epochs continue where the last one stopped); 0 is a whole pass",
                                  minimum=0)
    patience: int = option(3, "stop after this many epochs without validation improvement; 0 never stops early",
                           minimum=0)
    clipnorm: float = option(0.0, "clip each gradient tensor to this norm on its own; 0 is off", minimum=0)
    global_clipnorm: float = option(None, "clip all gradients together to this global norm; 0 is off", minimum=0,
                                    unset="{config.default_global_clipnorm}, or 0 with --clipnorm")
    strategy: str = option("none", "where to train: none (one device), mirrored (this machine's GPUs, or --devices "
                           "CPU parts), multiworker (machines named in TF_CONFIG)",
                           choices=("none", "mirrored", "multiworker"))
    devices: int = option(0, "mirrored: use the first N GPUs (without GPUs: split the CPU into N devices); "
                          "0 means every GPU", minimum=0)
    seed: int = option(1, "random seed for initialization, dropout and the order of the examples", minimum=0,
                       maximum=2**32 - 1)
    export: str = option("", "SavedModel directory; empty means saved_model/ in the run directory")
    overwrite: bool = option(False, "replace a finished run, or one with other settings, in --out (only ever a "
                             "textlstm run) instead of refusing; an unfinished run with the same settings continues")

    # The global norm used when neither clipping flag is given; a task sets its own.
    default_global_clipnorm = 1.0

    def __post_init__(self):
        # The two clipping flags exclude each other only when both are given: --clipnorm alone turns the
        # global default off.
        if self.global_clipnorm is None:
            self.global_clipnorm = 0.0 if self.clipnorm else self.default_global_clipnorm

    def validate(self):
        """Raises `UsageError` naming the first setting that is out of range (nothing is written before)."""
        check_fields(self)
        if self.clipnorm and self.global_clipnorm:
            raise UsageError("use clipnorm or global-clipnorm, not both. "
                             f"Received: clipnorm={self.clipnorm}, global-clipnorm={self.global_clipnorm}")
        if self.hub_streaming and not self.data.startswith("hf:"):
            raise UsageError(f"hub-streaming reads hf:NAME[:CONFIG] data only. Received: data={self.data}")
        if self.level == "subword" and not self.max_vocab:
            raise UsageError("max-vocab is the number of subword pieces and must be positive with level subword. "
                             f"Received: max-vocab={self.max_vocab}")
        if self.devices and self.strategy != "mirrored":
            raise UsageError(f"devices is for --strategy mirrored. Received: devices={self.devices}, "
                             f"strategy={self.strategy}")


def check_fields(config):
    """Raises `UsageError` if a field of the dataclass config breaks the range in its metadata."""
    for field in dataclasses.fields(config):
        check_field(field, getattr(config, field.name))


# What a field's value must be, by the field's type; a float field also takes an integer.
TYPE_NAMES = {bool: "true or false", int: "an integer", float: "a number", str: "a string"}


def check_field(field, value, name=None):
    """Raises `UsageError` if value is not of the field's type or breaks the range in its metadata.

    Args:
        field: A config dataclass field made by `option`.
        value: Its value.
        name: How the message spells the field; its flag (`max-vocab`) by default.
    """
    checks, name = field.metadata, name or flag(field.name)
    accepted = (int, float) if field.type is float else field.type
    is_bool = isinstance(value, bool)
    if field.type in TYPE_NAMES and (not isinstance(value, accepted) or is_bool != (field.type is bool)):
        raise UsageError(f"{name} must be {TYPE_NAMES[field.type]}. Received: {name}={value!r}")
    if checks.get("choices") and value not in checks["choices"]:
        raise UsageError(f"{name} must be one of {', '.join(checks['choices'])}. Received: {name}={value!r}")
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return
    kind = "an integer" if isinstance(value, int) else "a number"
    if isinstance(value, float) and not math.isfinite(value):
        raise UsageError(f"{name} must be a finite number. Received: {name}={value}")
    if checks.get("positive") and not value > 0:
        raise UsageError(f"{name} must be positive. Received: {name}={value}")
    minimum, maximum, below = checks.get("minimum"), checks.get("maximum"), checks.get("below")
    if below is not None and not (value < below and (minimum is None or value >= minimum)):
        interval = f"[{minimum}, {below})" if minimum is not None else f"(0, {below})"
        raise UsageError(f"{name} must be in {interval}. Received: {name}={value}")
    if minimum is not None and value < minimum:
        if minimum == 1 and isinstance(value, int):
            raise UsageError(f"{name} must be a positive integer. Received: {name}={value}")
        raise UsageError(f"{name} must be {kind} >= {minimum}. Received: {name}={value}")
    if maximum is not None and value > maximum:
        raise UsageError(f"{name} must be {kind} <= {maximum}. Received: {name}={value}")

def add_flags(parser, config_class, exclude=()):
    """Adds one flag per field of config_class (but those named in exclude) to an argparse parser."""
    defaults = config_class()
    for field in dataclasses.fields(config_class):
        if field.name in exclude:
            continue
        default = getattr(defaults, field.name)
        shown = repr(default)
        help_text = field.metadata["help"]
        choices = field.metadata.get("choices")
        metavar = "{" + ",".join(choices) + "}" if choices else field.name.split("_")[-1].upper()
        if field.type is bool:
            parser.add_argument(f"--{flag(field.name)}", action=argparse.BooleanOptionalAction, default=default,
                                help=f"{help_text} (default: {default})")
        else:
            if field.default is None:  # set by the config's __post_init__
                default, shown = None, field.metadata["unset"].format(config=config_class)
            parser.add_argument(f"--{flag(field.name)}", type=field.type, default=default, metavar=metavar,
                                help=f"{help_text} (default: {shown})")


def config_from(values, config_class):
    """A config_class from a run's config.json values.

    Keys it does not know (such as `task`) are left out; a field the run
    predates takes its `absent` value, or else its default.
    """
    fields = dataclasses.fields(config_class)
    absent = {field.name: field.metadata.get("absent", dataclasses.MISSING) for field in fields}
    values = {**{name: value for name, value in absent.items() if value is not dataclasses.MISSING}, **values}
    return config_class(**{key: value for key, value in values.items() if key in absent})
