"""textlstm: recurrent text models on LSTM cells whose equations are written out."""

import keras

from textlstm.cells import (
    CoupledLSTMCell,
    GRUCell,
    LSTMCell,
    PeepholeLSTMCell,
    RecurrentCell,
    SimpleRNNCell,
)
from textlstm.layers import GRU, LSTM, CoupledLSTM, PeepholeLSTM, RecurrentLayer, SimpleRNN
import textlstm.seq2seq  # registers Seq2Seq, so that load_model knows it

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
