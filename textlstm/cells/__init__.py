"""Recurrent cells with their equations written out, one line each."""

from textlstm.cells.base import RecurrentCell
from textlstm.cells.gru import GRUCell
from textlstm.cells.lstm import CoupledLSTMCell, LSTMCell, PeepholeLSTMCell
from textlstm.cells.simple_rnn import SimpleRNNCell
