"""Peak memory of the summarizer's data preparation as the training set grows.

For each size it writes generated e-mails and subject lines
(`data/make_sample_summaries.py --train-size SIZE`, 300 valid and test),
(kept in --work for the next run), then, in a fresh process with empty `datasets` and textlstm caches, runs
`textlstm.summarize.train.prepare` (default settings, batch size 64) and
reads every training batch once. It prints one Markdown table row per size:
examples, MB of training text, seconds, peak resident memory of the process.

Usage:
    python bench/summarize_memory.py [--sizes 20000,200000] [--work /tmp/textlstm-summarize-memory] [--code PATH]

`--code` runs another textlstm tree (such as a checkout of an older commit)
for a before-and-after comparison.
"""

import argparse
import os
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PREPARE = """
import resource, sys, time
from textlstm.summarize.config import SummarizeConfig
from textlstm.summarize.train import prepare
started = time.perf_counter()
data = prepare(SummarizeConfig(data=sys.argv[1], batch_size=64), log=lambda message: None)
for batch in data.batches("train"):
    pass
print(time.perf_counter() - started, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
"""


def write_mails(directory, examples):
    """Writes train/valid/test.jsonl of generated mails into directory unless they are there; returns it."""
    if not os.path.exists(os.path.join(directory, "test.jsonl")):
        subprocess.run([sys.executable, os.path.join(ROOT, "data", "make_sample_summaries.py"), "--output-dir",
                        directory, "--train-size", str(examples)], check=True, stdout=subprocess.DEVNULL)
    return directory


def measure(data, code):
    """(seconds, peak MiB) of preparing data and reading its training batches once, with empty caches."""
    with tempfile.TemporaryDirectory() as caches:
        environment = {**os.environ, "PYTHONPATH": code, "HF_HOME": os.path.join(caches, "hf"),
                       "TEXTLSTM_CACHE": os.path.join(caches, "textlstm"), "TF_CPP_MIN_LOG_LEVEL": "2"}
        result = subprocess.run([sys.executable, "-c", PREPARE, data], env=environment, cwd=code, check=True,
                                capture_output=True, text=True)
    seconds, peak = result.stdout.split()[-2:]
    return float(seconds), float(peak)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="20000,200000", help="training examples per run, comma-separated")
    parser.add_argument("--work", default=os.path.join(tempfile.gettempdir(), "textlstm-summarize-memory"))
    parser.add_argument("--code", default=ROOT, help="the textlstm tree to measure")
    args = parser.parse_args(argv)
    print("| examples | train MB | seconds | peak RSS |\n|---|---|---|---|")
    for examples in (int(size) for size in args.sizes.split(",")):
        data = write_mails(os.path.join(args.work, str(examples)), examples)
        seconds, peak = measure(data, os.path.abspath(args.code))
        megabytes = os.path.getsize(os.path.join(data, "train.jsonl")) / 10**6
        print(f"| {examples:,} | {megabytes:.1f} | {seconds:.1f} | {peak:,.0f} MiB |", flush=True)


if __name__ == "__main__":
    main()
