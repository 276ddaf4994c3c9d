"""The command-line verbs of the memory tools, for any argparse CLI: `inspect`, `memory-task`, `gradient-flow`.

Each verb is a pair of functions: `add_<verb>_arguments(parser)` adds its
flags to an argparse parser, and `run_<verb>(args)` runs it from the parsed
arguments, raising `UsageError` on bad input. `VERBS` lists them:

    for name, (help_text, add_arguments, run) in VERBS.items():
        add_arguments(subcommands.add_parser(name, help=help_text))
"""

import dataclasses
import os

from textlstm.config import add_flags
from textlstm.errors import UsageError, first_line
from textlstm.files import check_writable_directory, check_writable_file, utf8_lines
from textlstm.run import load_run

INSPECT_HELP = "write an HTML report of what each recurrent layer of a run does over a text"
MEMORY_TASK_HELP = "train a cell on the adding or copy problem (Arjovsky et al. 2016); writes OUT/metrics.json"
GRADIENT_FLOW_HELP = "measure ‖∂L_T/∂h_t‖ against T − t, at initialization and trained on the adding problem"


def _load_model(run):
    """The run's best model, without compiling; a file Keras cannot read is one `UsageError`."""
    try:
        return run.load_model()
    except UsageError:
        raise
    except Exception as error:  # Keras raises many types for a file it cannot read; the user needs the message
        raise UsageError(f"cannot load the model of {run.path}: {first_line(error)}") from None


def add_inspect_arguments(parser):
    """Adds the flags of `inspect` to parser."""
    parser.add_argument("--model", required=True, help="run directory of a finished train.py run (lm or summarize)")
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--text", help="the text to read (a summarizer: one document)")
    source.add_argument("--file", help="a UTF-8 text file to read (a summarizer: one document per line); "
                                       "also lists each unit's most active contexts")
    parser.add_argument("--out", default="report.html", help="the HTML file to write (default: report.html)")
    parser.add_argument("--png", action="store_true",
                        help="also write each layer's heat map and saturation plot as .png beside the HTML")


def run_inspect(args, log=print):
    """Writes the HTML report (and with --png the figures); returns the paths written."""
    from textlstm.memory import figures, report, traces

    check_writable_file(args.out, "out")
    text = args.text if args.text is not None else _read_text(args.file)
    if not text.strip():
        raise UsageError(f"{'text' if args.file is None else f'file {args.file}'} is empty: it has no token to inspect")
    run = load_run(args.model)
    config, vocab, model = run.config, run.vocab, _load_model(run)
    if run.task == "summarize":
        documents = [line for line in text.splitlines() if line.strip()] if args.file else [text]
        data = traces.trace_summarizer(model, config, vocab, documents, run.tokenizer)
    else:
        data = traces.trace_language_model(model, config, vocab, text, run.tokenizer)
    notes = [note for note in [traces.keep_first_units(data)] if note]
    if args.file:
        for layer in data["layers"]:
            layer["top_contexts"] = {name: traces.top_contexts(values) for name, values in layer["values"].items()}
    for note in notes:
        log(f"note: {note}")
    report.write_report(data, args.out, title=args.model, notes=notes)
    paths = [args.out] + (figures.write_figures(data, args.out) if args.png else [])
    for path in paths:
        log(f"wrote {path}")
    return paths


def _read_text(path):
    try:
        with open(path, "rb") as file:
            return "".join(utf8_lines(file, f"file {path}"))
    except OSError as error:
        raise UsageError(f"cannot read file {path}: {error.strerror}") from None


def add_memory_task_arguments(parser):
    """Adds the flags of `memory-task` to parser, one per `MemoryTaskConfig` field (defaults included)."""
    from textlstm.memory.tasks import TASKS, MemoryTaskConfig

    parser.add_argument("task", help=f"the problem: {' or '.join(TASKS)}")
    add_flags(parser, MemoryTaskConfig, exclude=("task",))
    parser.add_argument("--out", required=True, help="directory for metrics.json")


def run_memory_task(args, log=print):
    """Trains on the memory task and writes OUT/metrics.json; returns the metrics."""
    from textlstm.memory.tasks import MemoryTaskConfig, train_memory_task

    names = [field.name for field in dataclasses.fields(MemoryTaskConfig)]
    config = MemoryTaskConfig(**{name: getattr(args, name) for name in names})
    _, metrics = train_memory_task(config, args.out, log=log)
    score = "  ".join(f"{key} {metrics[key]:.4f}" for key in ("test_mse", "baseline_mse", "test_loss",
                                                             "baseline_loss", "test_accuracy") if key in metrics)
    log(f"{score}  ({metrics['train_seconds']:.0f} s of training)")
    log(f"wrote {os.path.join(args.out, 'metrics.json')}")
    return metrics


def add_gradient_flow_arguments(parser):
    """Adds the flags of `gradient-flow` to parser."""
    parser.add_argument("--cells", default="simple,gru,lstm", help="comma-separated cells (default: simple,gru,lstm)")
    parser.add_argument("--length", type=int, default=100, help="T, the adding problem's length (default: 100)")
    parser.add_argument("--steps", type=int, default=1000, help="training steps before the second measurement "
                                                                "(default: 1000)")
    parser.add_argument("--units", type=int, default=128, help="size of the recurrent state (default: 128)")
    parser.add_argument("--seed", type=int, default=1, help="seed of the weights and the batches (default: 1)")
    parser.add_argument("--out", required=True, help="directory for gradient_flow.csv and gradient_flow.png")


def run_gradient_flow(args, log=print):
    """Measures the gradient flow and writes OUT/gradient_flow.csv and OUT/gradient_flow.png; returns the rows."""
    from textlstm.memory import gradient_flow

    cells = [cell.strip() for cell in args.cells.split(",") if cell.strip()]
    if not cells:
        raise UsageError(f"cells must name at least one cell. Received: cells={args.cells!r}")
    check_writable_directory(args.out, "out")
    rows = gradient_flow.measure_gradient_flow(cells, args.length, args.steps, args.units, args.seed, log=log)
    csv_path = os.path.join(args.out, "gradient_flow.csv")
    gradient_flow.write_csv(rows, csv_path)
    gradient_flow.plot(rows, os.path.join(args.out, "gradient_flow.png"))
    log(f"wrote {csv_path} and gradient_flow.png")
    return rows


VERBS = {
    "inspect": (INSPECT_HELP, add_inspect_arguments, run_inspect),
    "memory-task": (MEMORY_TASK_HELP, add_memory_task_arguments, run_memory_task),
    "gradient-flow": (GRADIENT_FLOW_HELP, add_gradient_flow_arguments, run_gradient_flow),
}
"""Verb name -> (help text, function adding its flags to a parser, function running it from the parsed args)."""

