"""Memory of the language model's data preparation does not grow with the corpus."""

import json
import os
import random
import subprocess
import sys
import textwrap

import pytest

# Peak memory of preparing a corpus and reading every training window, in a fresh process.
MEASURE = textwrap.dedent("""
    import json, resource, sys, threading

    def anonymous_kib():
        with open("/proc/self/status") as status:
            return next(int(line.split()[1]) for line in status if line.startswith("RssAnon:"))

    # Anonymous memory only: pages of memory-mapped files also count as resident once read, but the kernel
    # takes them back when it needs them. Sampled, since the kernel keeps no peak of it.
    peak = [anonymous_kib()]
    done = threading.Event()

    def sample():
        while not done.wait(0.002):
            peak[0] = max(peak[0], anonymous_kib())

    sampler = threading.Thread(target=sample)
    sampler.start()
    from textlstm.lm.data import num_windows, window_rows
    from textlstm.lm.encoded import encoded_corpus

    data, path, hub_streaming = sys.argv[1], sys.argv[2], sys.argv[3] == "stream"
    corpus = encoded_corpus(data, "word", 10000, 1, hub_streaming)
    ids = corpus.ids["train"]
    real = sum(window_rows(ids, 64, 35, window)[2].sum() for window in range(num_windows(len(ids), 64, 35)))
    assert real == len(ids) - 1
    done.set()
    sampler.join()
    peaks = [peak[0], resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss]  # children: `map`'s workers
    with open(path, "w") as file:
        json.dump({"peak_kib": max(peaks), "tokens": int(len(ids))}, file)
""")


def write_text_corpus(directory, megabytes, seed=0):
    """train/valid/test.txt of random lines over a 5,000-word vocabulary; train holds about `megabytes` MB."""
    rng = random.Random(seed)
    words = [f"w{index}" for index in range(5000)]
    directory.mkdir()
    for split, size in (("train", megabytes * 10**6), ("valid", 20_000), ("test", 20_000)):
        lines, written = [], 0
        while written < size:
            line = " ".join(rng.choices(words, k=rng.randint(5, 30)))
            lines.append(line)
            written += len(line) + 1
        (directory / f"{split}.txt").write_text("\n".join(lines) + "\n")
    return directory


def peak_of_preparing(data, tmp_path, prefix="", how="load"):
    """`MEASURE` of prefix + data (`hf:` for a hub name) in a fresh process, loaded or (how="stream") streamed."""
    result_path = tmp_path / f"{data.name}-{how}.json"
    subprocess.run([sys.executable, "-c", MEASURE, f"{prefix}{data}", str(result_path), how], check=True,
                   env={**os.environ, "PYTHONPATH": os.getcwd()})
    return json.loads(result_path.read_text())


@pytest.mark.slow  # about 20 s: two fresh processes, one tokenizing 10 MB
def test_peak_memory_of_data_preparation_does_not_grow_with_the_corpus(tmp_path):
    small = peak_of_preparing(write_text_corpus(tmp_path / "small", 1), tmp_path)
    large = peak_of_preparing(write_text_corpus(tmp_path / "large", 10), tmp_path)
    assert large["tokens"] > 9 * small["tokens"]
    # Whole-corpus Python lists took about 26 bytes per byte of text: 230 MB more for the 9 MB more here;
    # Arrow's default allocator kept freed batches, 40 MB more. What remains is about 6 MB.
    growth_mib = (large["peak_kib"] - small["peak_kib"]) / 1024
    assert growth_mib < 25, (small, large)


@pytest.mark.slow  # about 30 s: two fresh processes streaming 24 and 48 MB through `datasets`
def test_peak_memory_of_streamed_encoding_does_not_grow_with_the_corpus(tmp_path):
    # The `datasets` text reader takes 10 MB at a time and holds up to two such pieces as lines, so both
    # corpora are over 20 MB: a smaller one peaks lower.
    small = peak_of_preparing(write_text_corpus(tmp_path / "small", 24), tmp_path, "hf:", "stream")
    large = peak_of_preparing(write_text_corpus(tmp_path / "large", 48), tmp_path, "hf:", "stream")
    assert large["tokens"] > 1.9 * small["tokens"]
    # The growth left (about 20 MB) is the pages of train.ids that reading the windows touched; keeping the
    # training lines in a list added 45 MB more, their tokens far more.
    growth_mib = (large["peak_kib"] - small["peak_kib"]) / 1024
    assert growth_mib < 30, (small, large)
