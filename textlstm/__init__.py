"""textlstm: recurrent text models on LSTM cells whose equations are written out.

The public names are imported when first used (PEP 562), so that `import
textlstm.cli` does not start TensorFlow before the command line has set up
its quiet start (`textlstm.quiet`).
"""

import importlib

__version__ = "0.1.0"

# Public name -> the module that defines it.
_PUBLIC = {
    **dict.fromkeys(["CoupledLSTMCell", "GRUCell", "LSTMCell", "PeepholeLSTMCell", "RecurrentCell", "SimpleRNNCell"],
                    "textlstm.cells"),
    **dict.fromkeys(["GRU", "LSTM", "CoupledLSTM", "LockedDropout", "PeepholeLSTM", "RecurrentLayer", "SimpleRNN"],
                    "textlstm.layers"),
    "load_run": "textlstm.run",
}

__all__ = sorted([*_PUBLIC, "load_model"])


def __getattr__(name):
    if name not in _PUBLIC:
        raise AttributeError(f"module 'textlstm' has no attribute {name!r}")
    value = getattr(importlib.import_module(_PUBLIC[name]), name)
    globals()[name] = value
    return value


def __dir__():
    return sorted({*globals(), *_PUBLIC})


def load_model(path, compile=True):
    """Loads a `.keras` file that uses textlstm layers; nothing else needs importing.

    Args:
        path: Path of the `.keras` file.
        compile: Whether to compile the model after loading.

    Returns:
        The `keras.Model`.
    """
    import keras

    # Registered with Keras as they are imported: every class a run's .keras file names.
    import textlstm.embedding  # noqa: F401
    import textlstm.layers  # noqa: F401
    import textlstm.lm.perplexity  # noqa: F401
    import textlstm.seq2seq  # noqa: F401

    return keras.saving.load_model(path, compile=compile)
