"""Trains textlstm models from the command line; the same as `textlstm train`.

    python train.py                 # next-word model on data/lm, exported to runs/lm
    python train.py lm --help       # every flag of the language-model task
    python train.py lm --data ../shared/data/ptb --out runs/ptb --epochs 13
    python train.py summarize       # summarizer on data/summarize, exported to runs/summarize
    python train.py summarize --help
"""

import sys

from textlstm.cli import train_main as main

if __name__ == "__main__":
    sys.exit(main())
