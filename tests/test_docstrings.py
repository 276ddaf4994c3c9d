"""The `Example:` blocks of every module run and show what they claim."""

import doctest
import importlib
import pkgutil

import numpy as np
import pytest

import textlstm

MODULES = sorted(info.name for info in pkgutil.walk_packages(textlstm.__path__, "textlstm."))


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples_run(name):
    # An example may use numpy as np without importing it; every other name comes from its module or itself.
    result = doctest.testmod(importlib.import_module(name), extraglobs={"np": np}, optionflags=doctest.ELLIPSIS)
    assert result.failed == 0


def test_the_examples_cover_the_package():
    finders = doctest.DocTestFinder()
    modules_with_examples = [name for name in MODULES
                             if any(test.examples for test in finders.find(importlib.import_module(name)))]
    assert len(modules_with_examples) >= 15, modules_with_examples
