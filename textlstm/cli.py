"""The command line: `textlstm VERB ...` (or `python -m textlstm VERB ...`), and `python train.py`.

    textlstm train lm --data data/lm --out runs/lm      # the same as: python train.py lm ...
    textlstm train summarize --out runs/summarize
    textlstm predict --model runs/lm "the cook"          # prompts as arguments, --prompts FILE, or stdin
    textlstm generate --model runs/lm "the cook" --words 30 --temperature 0.8 --top-k 40
    textlstm summarize --model runs/summarize mails.txt  # one document per line, or --source-field of JSON Lines
    textlstm evaluate --model runs/lm --data other_corpus.txt
    textlstm evaluate --model runs/summarize --data ../shared/data/aeslc
    textlstm export-litert --model runs/lm --out keyboard.tflite --quantize dynamic
    textlstm inspect --model runs/lm --text "the cook boils the rice ." --out report.html
    textlstm memory-task adding --cell lstm --length 100 --out runs/adding
    textlstm gradient-flow --cells simple,gru,lstm --length 100 --out runs/gradient-flow

Every verb that reads a run (`--model`) takes the task from it, and says so in
one line when the run is of the other task. Bad input is one `error: ...`
line on stderr and exit status 2 (1 when training diverged, 130 on Ctrl-C),
never a traceback. The tasks come from the registry, `textlstm.tasks`.
"""

import argparse
import json
import os
import sys

from textlstm.corpus import as_text
from textlstm.errors import TrainingDiverged, UsageError
from textlstm.files import utf8_lines
from textlstm.quiet import start_quietly
from textlstm.tasks import TASKS

INTERRUPTED = 130  # the shell's status for a process ended by SIGINT


def _formatter(prog):
    return argparse.HelpFormatter(prog, max_help_position=30, width=120)


def add_task_parsers(subparsers):
    """Adds one parser per task of the registry, each with one flag per field of its config."""
    from textlstm.config import add_flags

    for entry in TASKS.values():
        config_class = entry.load().config_class
        parser = subparsers.add_parser(entry.name, allow_abbrev=False, help=entry.help, formatter_class=_formatter,
                                       description=entry.description)
        add_flags(parser, config_class)
        parser.set_defaults(config_class=config_class)


def train(args):
    """Trains the task in args and prints what it achieved."""
    settings = {key: value for key, value in vars(args).items() if key not in ("verb", "task", "config_class",
                                                                                "handler")}
    config = args.config_class(**settings)
    task = TASKS[args.task].load()
    metrics = task.train(config)
    if metrics is None:
        print(f"worker done; the chief (worker 0 of TF_CONFIG) writes the run directory {config.out}")
        return
    task.print_training(metrics)
    print(f"run directory: {config.out}")


def read_prompts(prompts, path):
    """Returns the prompts given as arguments, else those in path (one per line), else stdin's lines."""
    if prompts:
        return list(prompts)
    if path:
        try:
            with open(path, encoding="utf-8") as file:
                return [line.rstrip("\n") for line in file if line.strip()]
        except (OSError, UnicodeDecodeError) as error:
            raise UsageError(f"cannot read prompts from {path}: {error}") from None
    return [line.rstrip("\n") for line in sys.stdin if line.strip()]


def read_documents(path, field, columns=()):
    """Returns the documents in path (or stdin for None / "-"): one per line, or a column of JSON Lines.

    The input is JSON Lines, one object per line, when field is given, when
    path ends in .jsonl or .json, or when its first non-blank line is a JSON
    object; the documents are then the field of each object, or without one
    the first of columns that the first object has. Blank lines are
    documents too (empty ones), so that output line n answers input line n.
    A field holding a list of strings is joined with spaces.

    Args:
        path: A file, or None or "-" for stdin.
        field: The column of the documents (`--source-field`), or "".
        columns: The columns to look for when field is "", in order.
    """
    name = path if path and path != "-" else "standard input"
    try:
        if path and path != "-":
            with open(path, "rb") as file:
                text = "".join(utf8_lines(file, name))
        else:
            text = "".join(utf8_lines(sys.stdin.buffer, name))
    except OSError as error:
        raise UsageError(f"cannot read documents from {path}: {error}") from None
    lines = text.splitlines()
    if not (field or name.lower().endswith((".jsonl", ".json")) or _is_json_object(text.lstrip().split("\n", 1)[0])):
        return lines
    documents = []
    for number, line in enumerate(lines, 1):
        if not line.strip():
            documents.append("")
            continue
        try:
            row = json.loads(line)
        except ValueError as error:
            raise UsageError(f"line {number} of {name} is not JSON: {error}") from None
        if not isinstance(row, dict):
            raise UsageError(f"line {number} of {name} is not a JSON object; JSON Lines hold one object per line")
        if not field:
            field = next((column for column in columns if column in row), None)
            if field is None:
                raise UsageError(f"{name} is JSON Lines, but line {number} has none of the columns "
                                 f"{', '.join(columns)}; its fields are {', '.join(row) or 'none'}; pass "
                                 "--source-field")
        if field not in row:
            raise UsageError(f"line {number} of {name} has no field {field!r}; its fields are "
                             f"{', '.join(row) or 'none'}")
        documents.append(as_text(row[field]))
    return documents


def _is_json_object(line):
    try:
        return isinstance(json.loads(line), dict)
    except ValueError:
        return False


def usable_prompts(prompts, run):
    """The prompts the model can read; each other one gets an `error:` line naming it on stderr.

    Returns:
        (usable prompts, whether any was refused).
    """
    from textlstm.lm.inference import check_prompt

    if not prompts:
        raise UsageError("no prompt given")
    usable = []
    for prompt in prompts:
        try:
            check_prompt(prompt, run)
            usable.append(prompt)
        except UsageError as error:
            print(f"error: {error}", file=sys.stderr)
    return usable, len(usable) < len(prompts)


def predict(args):
    from textlstm.lm.inference import predict_next_words

    run = _load(args, "lm", "predict")
    prompts, refused = usable_prompts(read_prompts(args.prompt, args.prompts), run)
    if prompts:
        for prompt, words in zip(prompts, predict_next_words(run, prompts, args.top_k)):
            print(f"{prompt}\t" + "  ".join(
                f"{word if word.strip() else repr(word)} {probability:.3f}" for word, probability in words))
    return 2 if refused else 0


def generate(args):
    from textlstm.lm.inference import generate_text

    run = _load(args, "lm", "generate")
    prompts, refused = usable_prompts(read_prompts(args.prompt, args.prompts), run)
    if prompts:
        texts = generate_text(run, prompts, args.words, args.temperature, args.top_k, args.seed)
        for prompt, text in zip(prompts, texts):
            line = prompt + text  # the text continues the prompt, with the space that parts them if any
            print(line.replace("\n", " / ") if len(prompts) > 1 else line)
    return 2 if refused else 0


def summarize(args):
    from textlstm.summarize.data import SOURCE_FIELDS
    from textlstm.summarize.inference import summarize_texts

    run = _load(args, "summarize", "summarize")
    trained_on = run.config.source_field or (run.metrics.get("fields") or [""])[0]  # the column training read
    columns = [column for column in dict.fromkeys([trained_on, *SOURCE_FIELDS]) if column]
    documents = read_documents(args.input, args.source_field, columns)
    summaries, scores = summarize_texts(run.export, documents, args.beam_size, args.max_len)
    for summary, score in zip(summaries, scores):
        print(f"{score:.4f}\t{summary}" if args.scores else summary)


def evaluate(args):
    run = _load(args, None, "evaluate")
    task = TASKS[run.task].load()
    task.print_evaluation(task.evaluate(run, args.data, args.split, args.source_field, args.target_field))


def export_litert(args):
    from textlstm.lm.litert import export_litert as write_litert

    written = write_litert(_load(args, "lm", "export-litert"), args.out, args.quantize, args.top_k)
    stem = os.path.splitext(args.out)[0]
    print(f"{args.out}: {written['bytes']:,} bytes, step(token_id, state[{written['state_size']}]) -> the "
          f"{written['top_k']} likeliest next tokens; beside it {stem}.vocab.txt and {stem}.json")


def _load(args, task, verb):
    from textlstm.run import load_run

    run = load_run(args.model)
    if task:
        run.require(task, verb)
    return run


def build_parser(prog="textlstm"):
    from textlstm.memory import commands as memory_commands

    parser = argparse.ArgumentParser(prog=prog, description="Train and use textlstm models.", allow_abbrev=False)
    verbs = parser.add_subparsers(dest="verb", required=True, metavar="VERB")
    model = argparse.ArgumentParser(add_help=False, allow_abbrev=False)
    model.add_argument("--model", required=True, metavar="RUN", help="run directory of a finished train.py run")
    prompts = argparse.ArgumentParser(add_help=False, allow_abbrev=False)
    prompts.add_argument("prompt", nargs="*", help="prompts; with none and no --prompts, one per line of stdin")
    prompts.add_argument("--prompts", metavar="FILE", help="file with one prompt per line")

    training = verbs.add_parser("train", allow_abbrev=False, help="train a model (the same as python train.py)")
    add_task_parsers(training.add_subparsers(dest="task", required=True, metavar="TASK"))
    training.set_defaults(handler=train)

    command = verbs.add_parser("predict", allow_abbrev=False, parents=[model, prompts],
                               help="language model: likeliest next words")
    command.add_argument("--top-k", type=int, default=5, help="number of next words to print (default: 5)")
    command.set_defaults(handler=predict)

    command = verbs.add_parser("generate", allow_abbrev=False, parents=[model, prompts],
                               help="language model: continue each prompt")
    command.add_argument("--words", type=int, default=30, help="tokens to generate, 0 to 10000 (default: 30)")
    command.add_argument("--temperature", type=float, default=1.0, help="0 picks the most likely word (default: 1)")
    command.add_argument("--top-k", type=int, default=0, help="sample among the k most likely; 0 = all (default: 0)")
    command.add_argument("--seed", type=int, default=0, help="the same seed gives the same text (default: 0)")
    command.set_defaults(handler=generate)

    command = verbs.add_parser("summarize", allow_abbrev=False, parents=[model],
                               help="summarizer: one summary per document")
    command.add_argument("input", nargs="?", default="-", help="file with one document per line, or JSON Lines "
                                                               "(.jsonl, .json or lines of objects) (default: stdin)")
    command.add_argument("--source-field", help="read JSON Lines and summarize this field of each line (default: the "
                                                "run's source column, else text, document, article or email_body)")
    command.add_argument("--beam-size", type=int, help="beam width, 1 to 16 (default: the run's)")
    command.add_argument("--max-len", type=int, help="most summary tokens, 1 to 200 (default: the run's)")
    command.add_argument("--scores", action="store_true", help="prefix each summary with its score and a tab")
    command.set_defaults(handler=summarize)

    command = verbs.add_parser("evaluate", allow_abbrev=False, parents=[model],
                               help="language model: perplexity on another corpus; summarizer: ROUGE on another set")
    command.add_argument("--data", required=True, help="a data file (scored whole), a directory or hf:NAME[:CONFIG]")
    command.add_argument("--split", default="test", help="split of a directory or hub dataset: train, valid "
                                                         "(validation, dev) or test (default: test)")
    command.add_argument("--source-field", help="summarizer: column of the documents (default: the run's)")
    command.add_argument("--target-field", help="summarizer: column of the summaries (default: the run's)")
    command.set_defaults(handler=evaluate)

    command = verbs.add_parser("export-litert", allow_abbrev=False, parents=[model],
                               help="language model: a LiteRT file that predicts one word at a time (for phones)")
    command.add_argument("--out", required=True, metavar="FILE.tflite",
                         help="the .tflite file to write; FILE.vocab.txt and FILE.json go beside it")
    command.add_argument("--quantize", default="none",
                         help="none (float32 weights) or dynamic (int8 weights, dynamic-range) (default: none)")
    command.add_argument("--top-k", type=int, default=3, help="next words each step returns (default: 3)")
    command.set_defaults(handler=export_litert)

    for name, (help_text, add_arguments, run) in memory_commands.VERBS.items():
        command = verbs.add_parser(name, allow_abbrev=False, help=help_text, description=help_text,
                                   formatter_class=_formatter)
        add_arguments(command)
        command.set_defaults(handler=run)
    return parser


def run_handler(args):
    """Runs args.handler; returns the exit status, turning the project's errors and Ctrl-C into one line on stderr."""
    try:
        status = args.handler(args)
        return status if isinstance(status, int) else 0
    except UsageError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except TrainingDiverged as error:
        print(f"error: training diverged: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("error: interrupted; run the same command again to continue", file=sys.stderr)
        return INTERRUPTED


def main(argv=None):
    """`textlstm VERB ...`; returns the exit status."""
    start_quietly()
    return run_handler(build_parser().parse_args(argv))


def train_main(argv=None):
    """`python train.py [lm|summarize] ...`, the task defaulting to lm; returns the exit status."""
    start_quietly()
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] not in (*TASKS, "-h", "--help"):
        argv = ["lm"] + argv
    parser = argparse.ArgumentParser(prog="train.py", description="Train textlstm models. The task defaults to lm.",
                                     allow_abbrev=False)
    add_task_parsers(parser.add_subparsers(dest="task", required=True, metavar="TASK"))
    parser.set_defaults(handler=train)
    return run_handler(parser.parse_args(argv))
