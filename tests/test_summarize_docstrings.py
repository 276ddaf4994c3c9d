"""The `Example:` blocks of the summarization modules run and show what they claim."""

import doctest

import numpy as np
import pytest
import tensorflow as tf

import textlstm.seq2seq.model
import textlstm.summarize.config
import textlstm.summarize.data


@pytest.mark.parametrize("module", [textlstm.summarize.config, textlstm.summarize.data, textlstm.seq2seq.model])
def test_docstring_examples_run(module):
    result = doctest.testmod(module, extraglobs={"np": np, "tf": tf}, optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0
    assert result.failed == 0
