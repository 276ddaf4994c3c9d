"""The `Example:` blocks in the docstrings run and show what they claim."""

import doctest

import keras
import numpy as np
import pytest

import textlstm.cells.gru
import textlstm.cells.lstm
import textlstm.cells.simple_rnn
import textlstm.layers


@pytest.mark.parametrize("module", [textlstm.cells.lstm, textlstm.cells.gru, textlstm.cells.simple_rnn, textlstm.layers])
def test_docstring_examples_run(module):
    result = doctest.testmod(module, extraglobs={"np": np, "keras": keras}, optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0
    assert result.failed == 0
