"""The long-memory experiments: every textlstm cell on the adding and copy problems, table and plot into docs/memory.md.

    python bench/memory_tasks.py                 # the grid; finished runs in --out are kept, not run again
    python bench/memory_tasks.py --table-only    # rewrite the table and the plot from the runs in --out
    python bench/memory_tasks.py tune            # the optimizer comparison behind MemoryTaskConfig's defaults

Each run is `python -m textlstm memory-task TASK --cell CELL --length T --steps N --out OUT/TASK-CELL-T`.
The steps per length (`STEPS`) keep the whole grid at about two hours of this 2-core machine.
"""

import argparse
import json
import os
import re
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from textlstm.files import write_atomically, write_json  # noqa: E402
from textlstm.layers import LAYERS_BY_NAME  # noqa: E402
from textlstm.memory.figures import pyplot  # noqa: E402
from textlstm.memory.tasks import MemoryTaskConfig, train_memory_task  # noqa: E402

DOCS = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "docs")
LENGTHS = {"adding": (50, 100, 200, 400), "copy": (50, 100)}
# Training steps per (task, T), in the order the grid runs them (the short sequences first, so that a grid cut
# short still has them). A step's cost grows with T, so longer sequences get fewer steps: about 500,000
# (time steps x training steps) per gated cell. On 2026-12-02, with other jobs keeping this 2-core machine's
# load at 5-14, the grid took 90 minutes as four processes side by side (`--cells` split), 193 minutes if run
# one after another.
STEPS = {("adding", 50): 1500, ("adding", 100): 1000, ("copy", 50): 600, ("copy", 100): 500,
         ("adding", 200): 500, ("adding", 400): 300}
# The optimizer comparison: LSTM(128), adding problem at T = 50, batch 64, global norm clipped at 1.
TUNE_SETTINGS = [("adam", 1e-3), ("adam", 3e-3), ("adam", 1e-2), ("rmsprop", 1e-3), ("rmsprop", 3e-3), ("adam", 3e-2)]
TUNE_STEPS = 1200
SOLVED_MSE = 0.01  # the adding problem counts as solved below this test MSE (the baseline is 0.167)
TABLE_START, TABLE_END = "<!-- memory-tasks table: start -->", "<!-- memory-tasks table: end -->"


def run_name(task, cell, length):
    return f"{task}-{cell}-T{length}"


def run_grid(out, cells):
    for task, length in STEPS:
        for cell in cells:
            directory = os.path.join(out, run_name(task, cell, length))
            if os.path.exists(os.path.join(directory, "metrics.json")):
                continue
            config = MemoryTaskConfig(task=task, cell=cell, length=length, steps=STEPS[task, length])
            started = time.perf_counter()
            _, metrics = train_memory_task(config, directory, log=None)
            score = metrics.get("test_mse", metrics.get("test_loss"))
            print(f"{run_name(task, cell, length)}: {score:.4f} in {time.perf_counter() - started:.0f} s", flush=True)


def read_runs(out):
    runs = {}
    for name in sorted(os.listdir(out)) if os.path.isdir(out) else []:
        path = os.path.join(out, name, "metrics.json")
        if os.path.exists(path):
            with open(path, encoding="utf-8") as file:
                metrics = json.load(file)
            runs[metrics["task"], metrics["cell"], metrics["length"]] = metrics
    return runs


def first_step_below(curve, key, threshold):
    steps = [point["step"] for point in curve if point[key] < threshold]
    return steps[0] if steps else None


def adding_cell(metrics):
    solved = first_step_below(metrics["curve"], "test_mse", SOLVED_MSE)
    return f"{metrics['test_mse']:.4f}" + (f" ({solved})" if solved else "")


def copy_cell(metrics):
    return f"{metrics['test_loss']:.4f} / {metrics['baseline_loss']:.4f} / {metrics['test_accuracy']:.3f}"


def task_table(runs, cells, task, heading, cell_text):
    """A Markdown table of one task: a row per cell, a column per T, `cell_text(metrics)` in each ('-' if not run)."""
    lines = [heading, "", "| cell | " + " | ".join(f"T = {length} ({STEPS[task, length]} steps)"
                                                for length in LENGTHS[task]) + " |",
             "|---|" + "---|" * len(LENGTHS[task])]
    for cell in cells:
        row = [cell_text(runs[task, cell, length]) if (task, cell, length) in runs else "-" for length in LENGTHS[task]]
        lines.append(f"| {cell} | " + " | ".join(row) + " |")
    return lines


def table(runs, cells):
    """The Markdown tables of the grid: adding MSE and copy loss / accuracy per cell and T."""
    every = MemoryTaskConfig().eval_every
    lines = task_table(runs, cells, "adding", "Adding problem, test MSE after training (baseline 0.167; in brackets "
                       f"the first evaluated step below {SOLVED_MSE}, evaluated every {every} steps):", adding_cell)
    lines += [""] + task_table(runs, cells, "copy", "Copy memory, test cross-entropy per step / the baseline "
                               "10 log 8 / (T + 20) / accuracy on the 10 copied symbols (chance 0.125):", copy_cell)
    seconds = sum(metrics["train_seconds"] for metrics in runs.values())
    lines += ["", f"{len(runs)} runs, {seconds / 60:.0f} minutes of training in all (evaluation not counted)."]
    return "\n".join(lines)


def plot(runs, cells, path):
    """Error against T per cell: adding MSE / baseline and copy loss / baseline, log scale."""
    plt = pyplot()
    figure, axes = plt.subplots(1, 2, figsize=(10, 3.8))
    for axis, task, key, baseline in ((axes[0], "adding", "test_mse", "baseline_mse"),
                                      (axes[1], "copy", "test_loss", "baseline_loss")):
        for cell in cells:
            points = [(length, runs[task, cell, length][key] / runs[task, cell, length][baseline])
                      for length in LENGTHS[task] if (task, cell, length) in runs]
            if points:
                axis.plot(*zip(*points), marker="o", label=cell)
        axis.axhline(1.0, color="grey", linestyle="--", linewidth=1, label="baseline")
        axis.set_xscale("log", base=2)
        axis.set_xticks(LENGTHS[task], [str(length) for length in LENGTHS[task]])
        axis.set_yscale("log")
        axis.set_xlabel("T")
        axis.set_ylabel(f"{key} / baseline")
        axis.set_title(f"{task} problem")
    axes[0].legend(fontsize=8)
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)


def write_docs(runs, cells, docs_path):
    """Puts the table between the markers of docs/memory.md and the plot beside it."""
    plot(runs, cells, os.path.join(os.path.dirname(docs_path), "memory_tasks.png"))
    with open(docs_path, encoding="utf-8") as file:
        text = file.read()
    block = f"{TABLE_START}\n{table(runs, cells)}\n{TABLE_END}"
    text, count = re.subn(re.escape(TABLE_START) + ".*?" + re.escape(TABLE_END), lambda match: block, text,
                          flags=re.S)
    if count != 1:
        raise SystemExit(f"{docs_path} has no table markers {TABLE_START} ... {TABLE_END}")
    write_atomically(docs_path, text)


def tune(out):
    """Trains the LSTM on the adding problem at T = 50 with each setting; prints when each left the plateau."""
    results = []
    for optimizer, lr in TUNE_SETTINGS:
        config = MemoryTaskConfig(task="adding", cell="lstm", length=50, steps=TUNE_STEPS, optimizer=optimizer,
                                  lr=lr, global_clipnorm=1.0, eval_every=100)
        _, metrics = train_memory_task(config, log=None)
        solved = first_step_below(metrics["curve"], "test_mse", SOLVED_MSE)
        results.append({"optimizer": optimizer, "lr": lr, "test_mse": metrics["test_mse"], "solved_at": solved,
                        "train_seconds": metrics["train_seconds"],
                        "curve": [round(point["test_mse"], 4) for point in metrics["curve"]]})
        print(json.dumps(results[-1]), flush=True)
    write_json(os.path.join(out, "tune.json"), results)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("mode", nargs="?", choices=("grid", "tune"), default="grid", help="what to run")
    parser.add_argument("--out", default="runs/memory", help="directory of the runs (default: runs/memory)")
    parser.add_argument("--cells", default=",".join(LAYERS_BY_NAME), help="comma-separated cells (default: all)")
    parser.add_argument("--table-only", action="store_true", help="only rewrite the table and plot from --out")
    parser.add_argument("--docs", default=os.path.join(DOCS, "memory.md"), help="the Markdown file to update")
    args = parser.parse_args(argv)
    cells = args.cells.split(",")
    if args.mode == "tune":
        tune(args.out)
        return 0
    started = time.perf_counter()
    if not args.table_only:
        run_grid(args.out, cells)
        print(f"grid: {(time.perf_counter() - started) / 60:.1f} minutes", flush=True)
    write_docs(read_runs(args.out), cells, args.docs)
    return 0


if __name__ == "__main__":
    sys.exit(main())
