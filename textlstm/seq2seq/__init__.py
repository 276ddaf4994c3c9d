"""Summarization models: an attention encoder-decoder, its decoding and its metrics."""

from textlstm.seq2seq.decode import Decoding, beam_search, greedy_search
from textlstm.seq2seq.model import Seq2Seq, build_model, masked_loss
from textlstm.seq2seq.rouge import lead, mean_length, rouge
