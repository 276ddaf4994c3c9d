"""The `Example:` blocks in the memory tools' docstrings run and show what they claim."""

import doctest

import numpy as np
import pytest

import textlstm.memory.report
import textlstm.memory.tasks
import textlstm.memory.traces


@pytest.mark.parametrize("module", [textlstm.memory.tasks, textlstm.memory.traces, textlstm.memory.report])
def test_docstring_examples_run(module):
    result = doctest.testmod(module, extraglobs={"np": np}, optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0
    assert result.failed == 0
