"""The `Example:` blocks of the language-model modules run and show what they claim."""

import doctest

import numpy as np
import pytest

import textlstm.lm.data
import textlstm.lm.perplexity
import textlstm.lm.reversible_embedding
import textlstm.vocab


@pytest.mark.parametrize(
    "module", [textlstm.vocab, textlstm.lm.data, textlstm.lm.perplexity, textlstm.lm.reversible_embedding])
def test_docstring_examples_run(module):
    result = doctest.testmod(module, extraglobs={"np": np}, optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0
    assert result.failed == 0
