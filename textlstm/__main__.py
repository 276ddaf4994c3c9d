"""Uses trained textlstm models from the command line.

    python -m textlstm predict --model runs/lm "the cook"
    python -m textlstm generate --model runs/lm --prompt "the cook" --words 30 --temperature 0.8 --top-k 40
    python -m textlstm evaluate --model runs/lm --data other_corpus.txt

`predict` and `generate` read prompts from the command line, from `--prompts FILE`
(one per line) or, with neither, from standard input.
"""

import argparse
import sys

from textlstm.errors import UsageError


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

    evaluate = commands.add_parser("evaluate", help="perplexity on another corpus with the run's vocabulary")
    evaluate.add_argument("--model", required=True, help="run directory of a finished train.py run")
    evaluate.add_argument("--data", required=True, help="a text file (scored whole), a directory or hf:NAME[:CONFIG]")
    evaluate.add_argument("--split", default="test", help="split of a directory or hub dataset (default: test)")
    return parser


def main(argv=None):
    """Runs one subcommand; returns the exit status (2 with a one-line message on bad input)."""
    args = build_parser().parse_args(argv)
    from textlstm.lm import inference

    try:
        if args.command == "predict":
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
