"""Running the command line in a new process from the repository, as a user's shell does."""

import os
import subprocess
import sys

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def run_python(arguments, **environment):
    """Runs `python ARGUMENTS` in the repository; returns the `subprocess.CompletedProcess` (text output).

    `TF_CPP_MIN_LOG_LEVEL` is unset, as in a user's shell (an earlier `main()`
    in the test process may have set it), unless environment sets it.
    """
    variables = {key: value for key, value in os.environ.items() if key != "TF_CPP_MIN_LOG_LEVEL"}
    return subprocess.run([sys.executable, *arguments], cwd=REPO, env={**variables, **environment},
                          capture_output=True, text=True, timeout=600)
