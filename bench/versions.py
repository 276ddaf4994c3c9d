"""Versions of textlstm side by side in one process, each against Keras.

    python bench/versions.py REVISION [REVISION ...] [--layer LSTM] [--mode train] [--size small]
                             [--batch N] [--repeats 6] [--rounds 9] [--steps 10]

Each REVISION is a git revision of this repository, or `.` for the working
tree. Its `textlstm/` is copied to a temporary folder under another package
name (`textlstm_0`, `textlstm_1`, ...), so that all versions load into one
process and run round by round with Keras's twin layer, as in
`bench/layers.py`. Differences of a few percent between versions drown in
the noise between separate runs on a shared machine; side by side they show.
Prints each repeat's speed-up over Keras and, at the end, the median of each.
"""

import argparse
import importlib
import pathlib
import re
import shutil
import statistics
import subprocess
import sys
import tempfile

from layers import SIZES, TWINS, keras_step, measure, steps_per_round

REPOSITORY = pathlib.Path(__file__).resolve().parent.parent


def load(revision, name, folder):
    """Imports `textlstm` as of `revision` under the package name `name`."""
    target = folder / name
    if revision == ".":
        shutil.copytree(REPOSITORY / "textlstm", target, ignore=shutil.ignore_patterns("__pycache__"))
    else:
        archive = subprocess.run(
            ["git", "-C", str(REPOSITORY), "archive", revision, "textlstm"], capture_output=True, check=False
        )
        if archive.returncode:
            sys.exit(f"error: no such revision: {revision}")
        subprocess.run(["tar", "-x", "-C", str(folder)], input=archive.stdout, check=True)
        (folder / "textlstm").rename(target)
    for path in target.rglob("*.py"):  # absolute imports and Keras's registration names
        path.write_text(re.sub(r'\btextlstm\b(?=[. \n"])', name, path.read_text()))
    return importlib.import_module(name)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("revisions", nargs="+", help="git revisions, or . for the working tree")
    parser.add_argument("--layer", default="LSTM", help="a textlstm layer: " + ", ".join(t[0].__name__ for t in TWINS))
    parser.add_argument("--mode", choices=["train", "infer"], default="train")
    parser.add_argument("--size", choices=list(SIZES), default="small")
    parser.add_argument("--batch", type=int, help="batch size (default: the size's, or 1 for infer)")
    parser.add_argument("--repeats", type=int, default=6, help="measurements, each of --rounds rounds")
    parser.add_argument("--rounds", type=int, default=9)
    parser.add_argument("--steps", type=int, default=10, help="steps per contender per round (x4 for infer)")
    args = parser.parse_args()
    twins = {ours.__name__: theirs for ours, theirs, _ in TWINS}
    if args.layer not in twins:
        sys.exit(f"error: --layer must be one of {', '.join(twins)}. Received: {args.layer}")
    training = args.mode == "train"
    batch = args.batch or (SIZES[args.size][0] if training else 1)
    size = (batch,) + SIZES[args.size][1:]
    with tempfile.TemporaryDirectory() as folder:
        sys.path.insert(0, folder)
        modules = [load(revision, f"textlstm_{index}", pathlib.Path(folder)) for index, revision in enumerate(args.revisions)]
        contenders = {
            revision: keras_step(getattr(module, args.layer), size, training)
            for revision, module in zip(args.revisions, modules)
        }
        contenders["keras"] = keras_step(twins[args.layer], size, training)
        speed_ups = {revision: [] for revision in args.revisions}
        print(f"{args.layer} {args.mode} {size}: speed-up over Keras's {twins[args.layer].__name__}")
        for _ in range(args.repeats):
            seconds = measure(contenders, steps_per_round(args.steps, training), args.rounds)
            for revision in args.revisions:
                speed_ups[revision].append(seconds["keras"] / seconds[revision])
            print("  ".join(f"{revision} {speed_ups[revision][-1]:.3f}x" for revision in args.revisions), flush=True)
        print("median:", "  ".join(f"{revision} {statistics.median(values):.3f}x" for revision, values in speed_ups.items()))


if __name__ == "__main__":
    main()
