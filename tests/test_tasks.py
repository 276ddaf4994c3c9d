"""The task registry: one list of tasks that the run layer and the command line read; task packages apart."""

import ast
import pathlib
import subprocess
import sys

import pytest

from killed_runs import REPO
from textlstm.tasks import TASKS

PACKAGE = pathlib.Path(REPO) / "textlstm"


def imported_modules(path):
    """Every module a Python file imports, absolute names."""
    tree = ast.parse(path.read_text())
    names = [alias.name for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names]
    return names + [node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom) and node.module]


@pytest.mark.parametrize("task, other", [("lm", "summarize"), ("summarize", "lm")])
def test_no_task_package_imports_another(task, other):
    for path in (PACKAGE / task).glob("*.py"):
        assert not [name for name in imported_modules(path) if name.startswith(f"textlstm.{other}")], path


@pytest.mark.parametrize("module", ["run.py", "training.py", "callbacks.py", "export.py", "cli.py"])
def test_the_run_layer_and_the_command_line_name_no_task(module):
    tree = ast.parse((PACKAGE / module).read_text())
    compared = [node.value for compare in ast.walk(tree) if isinstance(compare, ast.Compare)
                for node in ast.walk(compare) if isinstance(node, ast.Constant) and node.value in TASKS]
    assert compared == []  # no branch on a task's name
    if module != "cli.py":  # the verbs of one task (predict, summarize) use its inference
        assert not [name for name in imported_modules(PACKAGE / module)
                    if name.split(".")[:2] in (["textlstm", "lm"], ["textlstm", "summarize"])]


def test_each_task_module_has_the_parts_the_registry_promises():
    for entry in TASKS.values():
        task = entry.load()
        assert task.config_class().out.endswith(entry.name)  # runs/lm, runs/summarize
        for part in ("train", "print_training", "evaluate", "print_evaluation"):
            assert callable(getattr(task, part)), (entry.name, part)


@pytest.mark.slow
def test_the_command_line_lists_the_registry_without_importing_a_trainer():
    code = ("import sys; from textlstm.cli import build_parser; help_text = build_parser().format_help(); "
            "from textlstm.cli import add_task_parsers; import argparse; tasks = argparse.ArgumentParser(); "
            "add_task_parsers(tasks.add_subparsers()); print(tasks.format_help()); "
            "print(sorted(name for name in sys.modules if name.startswith('textlstm.') and "
            "name.endswith(('.train', '.inference', '.encoded'))))")
    lines = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True,
                           check=True).stdout.strip().splitlines()
    assert lines[-1] == "[]"  # no trainer, no inference, no encoding module
    for entry in TASKS.values():
        assert any(entry.name in line and entry.help in line for line in lines), entry.name
