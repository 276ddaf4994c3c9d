"""Peak memory and encoding throughput of `train.py lm` as the corpus grows.

For each size it writes a generated corpus (train.txt of about SIZE MB of
random lines over a 5,000-word vocabulary: one 20 MB block written over and
over; valid.txt and test.txt of 200 KB), then, each time with empty
`datasets` and textlstm caches:

1. encodes it alone (`textlstm.lm.encoded.encoded_corpus`, which reads the
   text files into Arrow, counts the vocabulary and writes the ids) and
   reports MB of text per second;
2. runs `train.py lm --units 16 --embedding-dim 16 --batch-size 64
   --epochs 1 --steps-per-epoch STEPS` under GNU `time -v` and reports its
   peak resident memory (data preparation, STEPS training steps, the
   evaluation on valid and test, the export).

It prints one Markdown table row per size.

Usage:
    python bench/memory.py [--sizes 20,200,1000] [--steps 50] [--work /tmp/textlstm-memory]
        [--code PATH] [--no-steps-flag]

`--code` runs another textlstm tree (such as a checkout of an older commit)
for a before-and-after comparison; `--no-steps-flag` is for trees without
`--steps-per-epoch` (they train a whole epoch).
"""

import argparse
import os
import random
import re
import shutil
import subprocess
import sys
import time

BLOCK_BYTES = 20 * 10**6
EVAL_BYTES = 200_000
# Times the encoding alone, after the imports.
ENCODE = ("import sys, time; from textlstm.lm.encoded import encoded_corpus; started = time.perf_counter(); "
          "encoded_corpus(sys.argv[1], 'word', 10000, 1); print(time.perf_counter() - started)")


def random_text(size, seed):
    """Lines of 5 to 30 random words from a 5,000-word vocabulary, about size bytes."""
    rng = random.Random(seed)
    words = [f"w{index}" for index in range(5000)]
    lines, written = [], 0
    while written < size:
        line = " ".join(rng.choices(words, k=rng.randint(5, 30)))
        lines.append(line)
        written += len(line) + 1
    return "\n".join(lines) + "\n"


def write_corpus(directory, megabytes):
    """Writes train/valid/test.txt into directory (kept between runs if the sizes match); returns their bytes."""
    os.makedirs(directory, exist_ok=True)
    train = os.path.join(directory, "train.txt")
    if not os.path.exists(train) or abs(os.path.getsize(train) - megabytes * 10**6) > BLOCK_BYTES:
        block = random_text(min(BLOCK_BYTES, megabytes * 10**6), seed=0)
        with open(train + ".partial", "w") as file:
            for _ in range(max(1, round(megabytes * 10**6 / len(block)))):
                file.write(block)
        os.replace(train + ".partial", train)
        for seed, split in enumerate(("valid", "test"), 1):
            with open(os.path.join(directory, f"{split}.txt"), "w") as file:
                file.write(random_text(EVAL_BYTES, seed))
    return sum(os.path.getsize(os.path.join(directory, f"{split}.txt")) for split in ("train", "valid", "test"))


def fresh_environment(work, code):
    """Environment variables with empty `datasets` and textlstm caches under work."""
    for name in ("hf", "textlstm-cache"):
        shutil.rmtree(os.path.join(work, name), ignore_errors=True)
    return {**os.environ, "PYTHONPATH": code, "HF_HOME": os.path.join(work, "hf"),
            "HF_DATASETS_CACHE": os.path.join(work, "hf", "datasets"), "HF_HUB_OFFLINE": "1",
            "TEXTLSTM_CACHE": os.path.join(work, "textlstm-cache"), "TF_CPP_MIN_LOG_LEVEL": "2"}


def encoding_seconds(data, work, code):
    """Seconds `encoded_corpus` takes on data from empty caches (text to Arrow, vocabulary, ids on disk)."""
    result = subprocess.run([sys.executable, "-c", ENCODE, data], check=True, env=fresh_environment(work, code),
                            capture_output=True, text=True)
    return float(result.stdout.strip().splitlines()[-1])


def training_peak_mib(data, work, code, steps):
    """Peak RSS of `train.py lm` (GNU time's maximum over the process and its children), and its seconds."""
    out = os.path.join(work, "run")
    shutil.rmtree(out, ignore_errors=True)
    command = ["/usr/bin/time", "-v", sys.executable, os.path.join(code, "train.py"), "lm", "--data", data,
               "--out", out, "--units", "16", "--embedding-dim", "16", "--batch-size", "64", "--epochs", "1"]
    if steps:
        command += ["--steps-per-epoch", str(steps)]
    started = time.perf_counter()
    result = subprocess.run(command, env=fresh_environment(work, code), cwd=code, capture_output=True, text=True)
    seconds = time.perf_counter() - started
    if result.returncode:
        raise SystemExit(f"train.py failed:\n{result.stderr[-2000:]}")
    peak_kib = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", result.stderr).group(1))
    return peak_kib / 1024, seconds


def main():
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="20,200,1000", help="training text sizes in MB, comma-separated")
    parser.add_argument("--steps", type=int, default=50, help="training steps (--steps-per-epoch)")
    parser.add_argument("--work", default="/tmp/textlstm-memory", help="where corpora, caches and the run go")
    parser.add_argument("--code", default=root, help="the textlstm tree to run")
    parser.add_argument("--no-steps-flag", action="store_true", help="the tree has no --steps-per-epoch")
    parser.add_argument("--skip-encoding", action="store_true", help="measure only the peak memory")
    args = parser.parse_args()
    print("| train text | encoding | encoding MB/s | train.py lm peak RSS | train.py lm seconds |")
    print("|---|---|---|---|---|")
    for megabytes in (int(size) for size in args.sizes.split(",")):
        data = os.path.join(args.work, f"corpus-{megabytes}mb")
        total = write_corpus(data, megabytes)
        encoding = "" if args.skip_encoding else encoding_seconds(data, args.work, args.code)
        peak, seconds = training_peak_mib(data, args.work, args.code, None if args.no_steps_flag else args.steps)
        rate = f"{total / 1e6 / encoding:.1f}" if encoding else "-"
        shown = f"{encoding:.1f} s" if encoding else "-"
        print(f"| {total / 1e6:,.0f} MB | {shown} | {rate} | {peak:,.0f} MiB | {seconds:.0f} |", flush=True)


if __name__ == "__main__":
    main()
