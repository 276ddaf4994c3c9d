"""PyTorch for the benchmarks that compare with it: imported before TensorFlow, its threads spinning briefly.

`from torch_first import torch` gives the module, or None if it is not installed.

torch's OpenMP threads spin after each of its parallel regions. By default (a spin count of 300,000) they slow
down the TensorFlow contender that runs next (our small LSTM trained 1.25x Keras in one run, 1.63x with the short
spin below); with OMP_WAIT_POLICY=PASSIVE (no spin) torch 2.13's LSTM trained 2.1x slower at the small size
(32.1 against 15.3 ms when run alone). With a spin count of 10,000 it took 16.6 ms alone.
"""

import os

os.environ.setdefault("GOMP_SPINCOUNT", "10000")
try:  # before TensorFlow: imported after it, torch crashed (segfault) loading torch._dynamo for its optimizer
    import torch
    import torch._dynamo  # noqa: F401
except ImportError:
    torch = None
