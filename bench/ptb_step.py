"""textlstm's Penn Treebank training step against a PyTorch reference of the same model, side by side.

textlstm trains as `train.py lm` does (`textlstm.training.train`: the
`TrainingLoop`, batches read from the encoded corpus, the run's callbacks
and progress bar) with the Zaremba small configuration of bench/ptb.py
(2 x 200 LSTM, 10,000-word softmax, batch 20, 20 steps, SGD, global norm
0.25) and `--steps-per-epoch --steps`; the evaluation and export after
training are left out. Its time per step is each epoch's `train_seconds`
(metrics.json) over the epoch's steps.

The reference is written here after pytorch/examples word_language_model:
embedding 200, `nn.LSTM(200, 200, 2)`, a linear decoder to the vocabulary,
cross-entropy, SGD at learning rate 20 with `clip_grad_norm_(0.25)`, the
training ids as 20 contiguous streams, windows of 20 steps with the hidden
state carried from one window to the next and detached. It reads the same
encoded ids and runs as many rounds of `--steps` steps.

Each contender runs in a fresh process, `--turns` times, each going first
in turn, so that the machine's other jobs weigh on all alike. The first
epoch (round) of each run traces and warms up and is not counted; a run's
figure is the median over its other rounds of the round's milliseconds
per step. The load column is the range of the 1-minute load average
before, between and after the runs of one turn. torch runs with its
default threads (one per core), as the example does, unless
`--torch-threads` says otherwise. `--code` names the textlstm tree to
time; given several times (a checkout of an older commit and this one),
each tree is a contender of its own, and `--no-torch` compares them with
the first alone.

Usage:
    python bench/ptb_step.py [--data ../shared/data/ptb] [--steps 200] [--rounds 3] [--turns 3]
        [--torch-threads N] [--code PATH ...] [--no-torch]
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def run_textlstm(args):
    """Milliseconds per step of each epoch of `train.py lm`'s training, the small configuration."""
    import dataclasses

    sys.path[:0] = [args.code, ROOT]

    from bench.ptb import small_config
    from textlstm.lm.train import language_model_task
    from textlstm.training import train

    with tempfile.TemporaryDirectory() as out:
        config = small_config(args.data, os.path.join(out, "run"), epochs=args.rounds)
        config.steps_per_epoch = args.steps
        task = dataclasses.replace(language_model_task(log=None), finish=lambda *_: {})
        metrics = train(task, config, verbose=1)
    return [epoch["train_seconds"] * 1000 / args.steps for epoch in metrics["epochs"]]


def run_torch(args):
    """Milliseconds per step of each round of the PyTorch reference."""
    import numpy as np
    import torch

    sys.path.insert(0, ROOT)
    from textlstm.lm.encoded import encoded_corpus

    if args.torch_threads:
        torch.set_num_threads(args.torch_threads)
    corpus = encoded_corpus(args.data, "word", max_vocab=0, min_count=1)
    vocab_size, batch_size, bptt, units = len(corpus.vocab), 20, 20, 200
    ids = torch.from_numpy(np.array(corpus.ids["train"], dtype=np.int64))
    streams = ids[: len(ids) // batch_size * batch_size].view(batch_size, -1).t().contiguous()  # (time, batch)
    torch.manual_seed(1)

    class LanguageModel(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.embedding = torch.nn.Embedding(vocab_size, units)
            self.lstm = torch.nn.LSTM(units, units, 2)
            self.decoder = torch.nn.Linear(units, vocab_size)
            for weight in self.parameters():  # as textlstm's --init-scale 0.1
                torch.nn.init.uniform_(weight, -0.1, 0.1)

        def forward(self, tokens, state):
            outputs, state = self.lstm(self.embedding(tokens), state)
            return self.decoder(outputs), state

    model = LanguageModel()
    optimizer = torch.optim.SGD(model.parameters(), lr=20.0)
    loss_function = torch.nn.CrossEntropyLoss()
    state = tuple(torch.zeros(2, batch_size, units) for _ in range(2))
    milliseconds, window = [], 0
    for _ in range(args.rounds):
        start = time.perf_counter()
        for _ in range(args.steps):
            if (window + 1) * bptt + 1 > len(streams):
                window, state = 0, tuple(torch.zeros_like(part) for part in state)
            inputs = streams[window * bptt:(window + 1) * bptt]
            targets = streams[window * bptt + 1:(window + 1) * bptt + 1]
            window += 1
            state = tuple(part.detach() for part in state)
            optimizer.zero_grad()
            logits, state = model(inputs, state)
            loss = loss_function(logits.view(-1, vocab_size), targets.reshape(-1))
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 0.25)
            optimizer.step()
        milliseconds.append((time.perf_counter() - start) * 1000 / args.steps)
    return milliseconds


CONTENDERS = {"textlstm": run_textlstm, "torch": run_torch}


def run_fresh(contender, code, args):
    """Runs one contender in a new process; returns its milliseconds per step, round by round."""
    command = [sys.executable, os.path.abspath(__file__), "--contender", contender, "--code", code,
               "--data", args.data, "--steps", str(args.steps), "--rounds", str(args.rounds),
               "--torch-threads", str(args.torch_threads)]
    completed = subprocess.run(command, capture_output=True, text=True,
                               env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2"))
    if completed.returncode:
        sys.exit(f"error: {contender} failed:\n{completed.stderr[-3000:]}")
    return json.loads(completed.stdout.splitlines()[-1])


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=os.path.join(ROOT, "..", "shared", "data", "ptb"),
                        help="Penn Treebank: a directory of train/valid/test files")
    parser.add_argument("--steps", type=int, default=200, help="steps per round (per epoch for textlstm)")
    parser.add_argument("--rounds", type=int, default=3, help="rounds per run; the first is not counted")
    parser.add_argument("--turns", type=int, default=3, help="runs of each contender, in turn")
    parser.add_argument("--torch-threads", type=int, default=0, help="torch's threads; 0 is its default")
    parser.add_argument("--code", action="append",
                        help="a textlstm tree to time (repeat it to time several side by side); default this one")
    parser.add_argument("--no-torch", action="store_true", help="time only the textlstm trees, against the first")
    parser.add_argument("--contender", choices=CONTENDERS, help="run only this one, in this process (JSON out)")
    args = parser.parse_args()
    codes = [os.path.abspath(code) for code in args.code or [ROOT]]
    if args.contender:
        args.code = codes[0]
        print(json.dumps(CONTENDERS[args.contender](args)))
        return
    contenders = ([] if args.no_torch else [("torch", ROOT)]) + [("textlstm", code) for code in codes]
    names = [contender if len(codes) == 1 or contender == "torch" else f"textlstm {code}"
             for contender, code in contenders]
    print(f"| turn | {' | '.join(f'{name} ms/step' for name in names)} | "
          f"{' | '.join(f'{name} / {names[0]}' for name in names[1:])} | load (1 min) |")
    print("|---" * (2 * len(names) + 1) + "|")
    ratios = {name: [] for name in names[1:]}
    for turn in range(args.turns):
        order = contenders[turn % len(contenders):] + contenders[:turn % len(contenders)]  # each goes first in turn
        medians, loads = {}, [os.getloadavg()[0]]
        for contender, code in order:
            medians[(contender, code)] = statistics.median(run_fresh(contender, code, args)[1:])
            loads.append(os.getloadavg()[0])
        milliseconds = [medians[key] for key in contenders]
        for name, value in zip(names[1:], milliseconds[1:]):
            ratios[name].append(value / milliseconds[0])
        print(f"| {turn + 1} | {' | '.join(f'{value:.1f}' for value in milliseconds)} | "
              f"{' | '.join(f'{values[-1]:.2f}' for values in ratios.values())} | "
              f"{min(loads):.2f}-{max(loads):.2f} |", flush=True)
    for name, values in ratios.items():
        print(f"{name} / {names[0]}: median {statistics.median(values):.2f}, "
              f"range {min(values):.2f}-{max(values):.2f}")


if __name__ == "__main__":
    main()
