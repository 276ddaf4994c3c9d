"""How closely a run's LiteRT files answer as its SavedModel: top-1 agreement, top-3 recall and file size.

    python bench/agreement.py RUN --text FILE [--tokens 0]

Converts the run's `step` to a float and a dynamic-range LiteRT file (as
`textlstm export-litert` does, in memory), feeds the tokens of FILE (each
line's, then `<eos>`, as the SavedModel's `tokenize` gives them) one at a
time from a zero state through the SavedModel's `step` and through both
files, and prints, for each: the share of positions whose likeliest next
token is the SavedModel's, top-1 and top-3 next-word recall (`<unk>`
targets left out) and the file's size.
"""

import argparse
import functools
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
from ai_edge_litert.interpreter import Interpreter  # noqa: E402

from textlstm.lm.inference import recall_at, step_predictions  # noqa: E402
from textlstm.lm.litert import QUANTIZATIONS, convert_step  # noqa: E402
from textlstm.run import load_run  # noqa: E402


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run", help="run directory of a finished language model")
    parser.add_argument("--text", required=True, help="a text file, such as the run's test split")
    parser.add_argument("--tokens", type=int, default=0, help="the first N tokens only; 0: all")
    args = parser.parse_args()
    run = load_run(args.run)
    with open(args.text, encoding="utf-8") as file:
        lines = [line for line in file.read().splitlines() if line.strip()]
    tokenized = run.export.signatures["tokenize"](text=tf.constant(lines))
    rows = zip(tokenized["ids"].numpy(), tokenized["lengths"].numpy())
    ids = np.concatenate([np.append(row[:length], run.vocab.eos_id) for row, length in rows])
    ids = ids[: args.tokens or len(ids)]
    model = run.load_model()
    files = {quantize: convert_step(model, run.vocab, run.config, quantize) for quantize in QUANTIZATIONS}
    state_size = files["none"][1]
    predictions = {"SavedModel": step_predictions(
        functools.partial(run.export.signatures["step"], k=tf.constant(3)), ids, state_size)}
    for quantize, (flatbuffer, _) in files.items():
        step = Interpreter(model_content=flatbuffer).get_signature_runner("step")
        predictions[f"LiteRT {quantize}"] = step_predictions(step, ids, state_size)
    print(f"{args.run}: {len(ids)} tokens of {args.text}; cell {run.config.cell}, {run.config.num_layers} x "
          f"{run.config.units}, vocabulary {len(run.vocab)}")
    print("| model | top-1 agreement | top-1 recall | top-3 recall | size |")
    print("|---|---|---|---|---|")
    saved = predictions["SavedModel"]
    for name, top in predictions.items():
        recalls = [recall_at(top[:-1], ids[1:], run.vocab.unk_id, k) for k in (1, 3)]
        size = "" if name == "SavedModel" else f"{len(files[name.split()[1]][0]) / 1e6:.2f} MB"
        print(f"| {name} | {(top[:, 0] == saved[:, 0]).mean():.2%} | {recalls[0]:.2%} | {recalls[1]:.2%} | {size} |")


if __name__ == "__main__":
    main()
