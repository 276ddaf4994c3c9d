"""Per-word latency at batch 1 of a next-word model's faces, side by side in one process.

    python bench/latency.py [--sizes gboard,small] [--steps 1000] [--rounds 5] [--threads 2]

One word, as a keyboard app feeds it: the token and the state in, the three
likeliest next tokens and the new state out (embedding, recurrent layers,
output layer, softmax, top-3). Contenders, with random weights:

- `SavedModel step`: the exported `step` signature (`tf.saved_model.load`);
- `LiteRT float`, `LiteRT dynamic`: the files of `textlstm export-litert`
  (`ai_edge_litert` interpreter, `--threads` threads);
- `keras.layers.LSTM step`: the same model with Keras's LSTM (one step of a
  length-1 sequence, unrolled), in a `tf.function`;
- `torch.nn.LSTM step`: the same in PyTorch (if installed), under `torch.inference_mode`;
- for contrast, the SavedModel's whole-prompt `top_k` on prompts of 5 and 50 words.

Sizes: `gboard`, the coupled-gate (CIFG) LSTM of Hard et al. 2018 (670
units, 96-dimensional embedding, 10,000 words; Keras and torch have no CIFG
and run a 4-gate LSTM), without the projection Gboard uses to tie its
weights, so the output layer is 670 x 10,000; `small`, 2 x 200 LSTM with
tied weights, 10,000 words. Each round runs `--steps / --rounds` words of
every contender in turn, each word timed on its own; the table gives the
median and the 99th percentile over all of them, after a warm-up, and the
load average before and after.
"""

import argparse
import os
import tempfile
import time

from torch_first import torch  # before TensorFlow

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
from ai_edge_litert.interpreter import Interpreter  # noqa: E402

from textlstm.lm.config import LMConfig  # noqa: E402
from textlstm.lm.export import export_language_model  # noqa: E402
from textlstm.lm.litert import convert_step  # noqa: E402
from textlstm.lm.model import build_language_model  # noqa: E402
from textlstm.vocab import SPECIAL_TOKENS, Vocabulary  # noqa: E402

SIZES = {
    "gboard": LMConfig(cell="coupled", num_layers=1, units=670, embedding_dim=96, tie_weights=False),
    "small": LMConfig(cell="lstm", num_layers=2, units=200, embedding_dim=200, tie_weights=True),
}
VOCAB_SIZE = 10_000
TOP_K = 3
PROMPT_LENGTHS = (5, 50)


def saved_model_contenders(model, vocab, config, directory):
    """The exported `step` and, for contrast, `top_k` on whole prompts: name -> function of a token id."""
    export_language_model(model, vocab, config, directory)
    loaded = tf.saved_model.load(directory)
    step, top_k = loaded.signatures["step"], loaded.signatures["top_k"]
    state = [tf.zeros([1, step.structured_input_signature[1]["state"].shape[1]])]
    k = tf.constant(TOP_K)

    def next_word(token):
        state[0] = step(token_id=tf.constant([token]), state=state[0], k=k)["state"]

    contenders = {"SavedModel step": next_word}
    for length in PROMPT_LENGTHS:
        prompt = tf.constant([" ".join(vocab.tokens[4 + index] for index in range(length))])
        contenders[f"SavedModel top_k, {length}-word prompt"] = lambda token, prompt=prompt: top_k(text=prompt, k=k)
    return contenders


def litert_contender(model, vocab, config, quantize, threads):
    flatbuffer, state_size = convert_step(model, vocab, config, quantize, TOP_K)
    step = Interpreter(model_content=flatbuffer, num_threads=threads).get_signature_runner("step")
    state = [np.zeros((1, state_size), np.float32)]

    def next_word(token):
        state[0] = step(token_id=np.array([token], np.int32), state=state[0])["state"]

    return next_word, len(flatbuffer)


def keras_contender(config):
    """The model with `keras.layers.LSTM` (one step, unrolled) and a `Dense` output layer."""
    embedding = keras.layers.Embedding(VOCAB_SIZE, config.embedding_dim)
    layers = [keras.layers.LSTM(config.units, return_state=True, unroll=True) for _ in range(config.num_layers)]
    output = keras.layers.Dense(VOCAB_SIZE)

    @tf.function
    def step(token, states):
        x, new_states = embedding(token), []  # (1, 1, embedding_dim)
        for layer, (h, c) in zip(layers, states):
            x, h, c = layer(x, initial_state=[h, c])
            new_states.append((h, c))
            x = x[:, None]
        probabilities, ids = tf.math.top_k(tf.nn.softmax(output(x[:, 0])), k=TOP_K)
        return ids, new_states

    states = [[(tf.zeros([1, config.units]), tf.zeros([1, config.units])) for _ in layers]]

    def next_word(token):
        _, states[0] = step(tf.constant([[token]]), states[0])

    return next_word


def torch_contender(config, threads):
    torch.set_num_threads(threads)
    embedding = torch.nn.Embedding(VOCAB_SIZE, config.embedding_dim)
    lstm = torch.nn.LSTM(config.embedding_dim, config.units, num_layers=config.num_layers, batch_first=True)
    output = torch.nn.Linear(config.units, VOCAB_SIZE)
    zeros = torch.zeros(config.num_layers, 1, config.units)
    state = [(zeros, zeros)]

    def next_word(token):
        with torch.inference_mode():
            x, state[0] = lstm(embedding(torch.tensor([[token]])), state[0])
            torch.topk(torch.softmax(output(x[:, 0]), dim=-1), TOP_K)

    return next_word


def measure(contenders, steps, rounds, warmup=20):
    """Microseconds of each contender's words, each timed on its own, contenders taking turns each round."""
    tokens = np.random.default_rng(0).integers(len(SPECIAL_TOKENS), VOCAB_SIZE, size=steps + warmup)
    for run in contenders.values():
        for token in tokens[:warmup]:
            run(int(token))
    times = {name: [] for name in contenders}
    per_round = steps // rounds
    for round_index in range(rounds):
        for name, run in contenders.items():
            for token in tokens[warmup + round_index * per_round: warmup + (round_index + 1) * per_round]:
                start = time.perf_counter_ns()
                run(int(token))
                times[name].append((time.perf_counter_ns() - start) / 1e3)
    return times


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="gboard,small", help="comma-separated subset of: " + ", ".join(SIZES))
    parser.add_argument("--steps", type=int, default=1000, help="timed words per contender (at least 1,000)")
    parser.add_argument("--rounds", type=int, default=5, help="rounds the words of each contender are cut into")
    parser.add_argument("--threads", type=int, default=2, help="threads of LiteRT and torch (TensorFlow: its own)")
    args = parser.parse_args()
    vocab = Vocabulary(list(SPECIAL_TOKENS) + [f"w{index}" for index in range(VOCAB_SIZE - len(SPECIAL_TOKENS))])
    print(f"load average before: {os.getloadavg()[0]:.2f}; TensorFlow {tf.__version__}, Keras {keras.__version__}, "
          f"torch {torch.__version__ if torch else '-'}; {args.threads} LiteRT and torch threads")
    print("| size | contender | median µs | p99 µs | median / SavedModel step |")
    print("|---|---|---|---|---|")
    for size in args.sizes.split(","):
        config = SIZES[size]
        keras.utils.set_random_seed(0)
        model = build_language_model(config, VOCAB_SIZE)
        with tempfile.TemporaryDirectory() as directory:
            contenders = saved_model_contenders(model, vocab, config, os.path.join(directory, "saved_model"))
            for quantize in ("none", "dynamic"):
                name = "LiteRT float" if quantize == "none" else "LiteRT dynamic"
                contenders[name], size_bytes = litert_contender(model, vocab, config, quantize, args.threads)
                print(f"{size}: {name} file {size_bytes / 1e6:.1f} MB", flush=True)
            contenders["keras.layers.LSTM step"] = keras_contender(config)
            if torch is not None:
                contenders["torch.nn.LSTM step"] = torch_contender(config, args.threads)
            times = measure(contenders, args.steps, args.rounds)
        reference = np.median(times["SavedModel step"])
        for name, values in times.items():
            median = np.median(values)
            print(f"| {size} | {name} | {median:.0f} | {np.percentile(values, 99):.0f} | {median / reference:.2f} |",
                  flush=True)
    print(f"load average after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
