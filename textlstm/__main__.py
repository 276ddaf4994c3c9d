"""Uses trained textlstm models from the command line.

    python -m textlstm predict --model runs/lm "the cook"
    python -m textlstm generate --model runs/lm --prompt "the cook" --words 30 --temperature 0.8 --top-k 40
    python -m textlstm evaluate --model runs/lm --data other_corpus.txt
    python -m textlstm summarize --model runs/summarize mails.txt > subjects.txt
    python -m textlstm summarize --model runs/summarize --field email_body < mails.jsonl
    python -m textlstm evaluate --model runs/summarize --data ../shared/data/aeslc
    python -m textlstm inspect --model runs/lm --text "the cook boils the rice ." --out report.html
    python -m textlstm memory-task adding --cell lstm --length 100 --out runs/adding
    python -m textlstm gradient-flow --cells simple,gru,lstm --length 100 --out runs/gradient-flow

`predict` and `generate` read prompts from the command line, from `--prompts FILE`
(one per line) or, with neither, from standard input.
"""

import argparse
import json
import sys

from textlstm.errors import UsageError
from textlstm.memory import commands as memory_commands


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


def read_documents(path, field):
    """Returns the documents in path (or stdin for None / "-"): one per line, or the field of each JSON line.

    Blank lines are documents too (empty ones), so that output line n answers input line n.
    """
    try:
        if path and path != "-":
            with open(path, "rb") as file:
                content = file.read()
        else:
            content = sys.stdin.buffer.read()
    except OSError as error:
        raise UsageError(f"cannot read documents from {path}: {error}") from None
    name = path if path and path != "-" else "standard input"
    try:
        text = content.decode("utf-8")
    except UnicodeDecodeError as error:
        line = content[: error.start].count(b"\n") + 1
        raise UsageError(f"{name} is not UTF-8 text (bad byte at line {line})") from None
    lines = text.splitlines()
    if not field:
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
        if not isinstance(row, dict) or field not in row:
            fields = ", ".join(row) if isinstance(row, dict) else "none (not an object)"
            raise UsageError(f"line {number} of {name} has no field {field!r}; its fields are {fields}")
        documents.append(row[field] if isinstance(row[field], str) else "" if row[field] is None else str(row[field]))
    return documents


def build_parser():
    parser = argparse.ArgumentParser(prog="python -m textlstm", description="Use trained textlstm models.")
    commands = parser.add_subparsers(dest="command", required=True)

    predict = commands.add_parser("predict", help="print the most likely next words after each prompt")
    predict.add_argument("--model", required=True, help="run directory of a finished train.py run")
    predict.add_argument("--top-k", type=int, default=5, help="number of next words to print (default: 5)")
    predict.add_argument("--prompts", help="file with one prompt per line")
    predict.add_argument("prompt", nargs="*", help="prompts; with none and no --prompts, read stdin")

    generate = commands.add_parser("generate", help="continue each prompt with sampled text")
    generate.add_argument("--model", required=True, help="run directory of a finished train.py run")
    generate.add_argument("--prompt", action="append", help="a prompt; repeat for more")
    generate.add_argument("--prompts", help="file with one prompt per line")
    generate.add_argument("--words", type=int, default=30, help="tokens to generate (default: 30)")
    generate.add_argument("--temperature", type=float, default=1.0, help="0 picks the most likely word (default: 1)")
    generate.add_argument("--top-k", type=int, default=0, help="sample among the k most likely; 0 = all (default: 0)")
    generate.add_argument("--seed", type=int, default=0, help="the same seed gives the same text (default: 0)")

    evaluate = commands.add_parser(
        "evaluate", help="language model: perplexity on another corpus; summarizer: ROUGE on another test set")
    evaluate.add_argument("--model", required=True, help="run directory of a finished train.py run")
    evaluate.add_argument("--data", required=True, help="a data file (scored whole), a directory or hf:NAME[:CONFIG]")
    evaluate.add_argument("--split", default="test", help="split of a directory or hub dataset (default: test)")
    evaluate.add_argument("--source-field", help="summarizer: column of the documents (default: the run's)")
    evaluate.add_argument("--target-field", help="summarizer: column of the summaries (default: the run's)")

    summarize = commands.add_parser("summarize", help="write one summary per document")
    summarize.add_argument("--model", required=True, help="run directory of a finished train.py summarize run")
    summarize.add_argument("--field", help="read JSON Lines and summarize this field of each line")
    summarize.add_argument("--beam-size", type=int, help="beam width (default: the run's)")
    summarize.add_argument("--max-len", type=int, help="most summary tokens (default: the run's)")
    summarize.add_argument("--scores", action="store_true", help="prefix each summary with its score and a tab")
    summarize.add_argument("input", nargs="?", default="-", help="file with one document per line (default: stdin)")

    for name, (help_text, add_arguments, _) in memory_commands.VERBS.items():
        add_arguments(commands.add_parser(name, help=help_text, description=help_text))
    return parser


def main(argv=None):
    """Runs one subcommand; returns the exit status (2 with a one-line message on bad input)."""
    args = build_parser().parse_args(argv)
    from textlstm.lm import inference
    from textlstm.summarize import inference as summarize_inference

    try:
        if args.command in memory_commands.VERBS:
            memory_commands.VERBS[args.command][2](args)
        elif args.command == "summarize":
            for name in ("beam_size", "max_len"):
                value = getattr(args, name)
                if value is not None and value < 1:
                    flag = name.replace("_", "-")
                    raise UsageError(f"{flag} must be a positive integer. Received: {flag}={value}")
            exported, _ = summarize_inference.load_export(args.model)
            documents = read_documents(args.input, args.field)
            summaries, scores = summarize_inference.summarize_texts(exported, documents, args.beam_size, args.max_len)
            for summary, score in zip(summaries, scores):
                print(f"{score:.4f}\t{summary}" if args.scores else summary)
        elif args.command == "evaluate" and summarize_inference.is_summarization_run(args.model):
            result = summarize_inference.evaluate_run(args.model, args.data, args.split, args.source_field,
                                                      args.target_field)
            print(f"ROUGE F1 (%) on {result['examples']} examples ({result['skipped']} skipped)")
            print(summarize_inference.rouge_table(result))
        elif args.command == "predict":
            prompts = read_prompts(args.prompt, args.prompts)
            for prompt, words in zip(prompts, inference.predict_next_words(args.model, prompts, args.top_k)):
                print(f"{prompt}\t" + "  ".join(
                    f"{word if word.strip() else repr(word)} {probability:.3f}" for word, probability in words))
        elif args.command == "generate":
            prompts = read_prompts(args.prompt, args.prompts)
            texts = inference.generate_text(args.model, prompts, args.words, args.temperature, args.top_k, args.seed)
            for prompt, text in zip(prompts, texts):
                print(f"{prompt} {text}".replace("\n", " / ") if len(prompts) > 1 else f"{prompt} {text}")
        elif args.command == "evaluate":
            result = inference.evaluate_run(args.model, args.data, args.split)
            print(f"perplexity {result['perplexity']:.2f} over {result['tokens']} tokens "
                  f"({result['unknown_tokens']} <unk>)")
    except UsageError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
