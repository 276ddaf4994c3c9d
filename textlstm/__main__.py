"""`python -m textlstm VERB ...`, the same as the `textlstm` command (see `textlstm.cli`)."""

import sys

from textlstm.cli import main

if __name__ == "__main__":
    sys.exit(main())
