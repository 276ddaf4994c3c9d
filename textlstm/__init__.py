"""textlstm: recurrent text models on LSTM cells whose equations are written out."""

import os

# TensorFlow's C++ start-up messages stay off unless the user asks for them.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402

from textlstm.cells import (  # noqa: E402
    CoupledLSTMCell,
    GRUCell,
    LSTMCell,
    PeepholeLSTMCell,
    RecurrentCell,
    SimpleRNNCell,
)
from textlstm.layers import GRU, LSTM, CoupledLSTM, PeepholeLSTM, RecurrentLayer, SimpleRNN  # noqa: E402
from textlstm.run import load_run  # noqa: E402
# Registered with Keras, so that load_model knows every class a run's .keras file names.
import textlstm.embedding  # noqa: E402, F401
import textlstm.lm.perplexity  # noqa: E402, F401
import textlstm.seq2seq  # noqa: E402, F401

__version__ = "0.1.0"


def load_model(path, compile=True):
    """Loads a `.keras` file that uses textlstm layers; nothing else needs importing.

    Args:
        path: Path of the `.keras` file.
        compile: Whether to compile the model after loading.

    Returns:
        The `keras.Model`.
    """
    return keras.saving.load_model(path, compile=compile)
