"""Using a trained run: next-word predictions, generated text and perplexity on another corpus."""

import os

import textlstm
from textlstm import training
from textlstm.errors import UsageError
from textlstm.lm.config import LMConfig
from textlstm.lm.data import check_text_file, encode_stream, load_lines, stream_windows, tokenize, tokenize_lines
from textlstm.lm.model import compile_language_model
from textlstm.lm.perplexity import evaluate_perplexity
from textlstm.vocab import Vocabulary



def load_run(run_dir):
    """Returns the (LMConfig, Vocabulary) of a run directory.

    Raises:
        UsageError: run_dir is not a finished run directory.
    """
    config = training.config_from(training.read_run_config(run_dir), LMConfig)
    return config, Vocabulary.load(os.path.join(run_dir, training.VOCAB_FILE))


def check_prompts(prompts, vocab, level):
    """Raises `UsageError` for an empty prompt or one whose tokens are all unknown."""
    if not prompts:
        raise UsageError("no prompt given")
    for prompt in prompts:
        tokens = tokenize(prompt, level)
        if not tokens:
            raise UsageError("prompt is empty")
        if all(token not in vocab.ids for token in tokens):
            raise UsageError(f"prompt has only words outside the vocabulary. Received: prompt={prompt!r}")


def load_export(run_dir):
    """Loads a run's SavedModel with `tf.saved_model.load`, after checking it exists."""
    config, vocab = load_run(run_dir)
    return training.load_export(run_dir, config), config, vocab


def predict_next_words(run_dir, prompts, k=5):
    """Returns, for each prompt, the k most likely next tokens as (token, probability) pairs."""
    exported, config, vocab = load_export(run_dir)
    check_prompts(prompts, vocab, config.level)
    if k < 1:
        raise UsageError(f"top-k must be a positive integer. Received: top-k={k}")
    outputs = exported.serving_default(text=prompts, k=k)
    words = outputs["words"].numpy()
    probabilities = outputs["probabilities"].numpy()
    return [[(word.decode("utf-8"), float(probability)) for word, probability in zip(row_words, row_probabilities)]
            for row_words, row_probabilities in zip(words, probabilities)]


def generate_text(run_dir, prompts, words=30, temperature=1.0, top_k=0, seed=0):
    """Returns one generated continuation per prompt, sampled inside the SavedModel's graph.

    Args:
        run_dir: A finished run directory.
        prompts: List of prompt strings.
        words: Number of tokens to generate.
        temperature: Softmax temperature; 0 or less picks the most likely token.
        top_k: Sample among the top_k most likely tokens; 0 means no limit.
        seed: The same seed gives the same text.
    """
    exported, config, vocab = load_export(run_dir)
    check_prompts(prompts, vocab, config.level)
    if words < 1:
        raise UsageError(f"words must be a positive integer. Received: words={words}")
    if top_k < 0:
        raise UsageError(f"top-k must be 0 (no limit) or positive. Received: top-k={top_k}")
    text = exported.generate(prompt=prompts, max_words=words, temperature=float(temperature), top_k=top_k,
                             seed=seed)["text"]
    return [value.decode("utf-8") for value in text.numpy()]


def evaluate_run(run_dir, data, split="test"):
    """Perplexity of a run's best model on another corpus, tokenized with the run's vocabulary.

    Args:
        run_dir: A finished run directory.
        data: As `--data`: a directory, a text file or `hf:NAME[:CONFIG]`.
            A directory or hub dataset is scored on `split`; a single file whole.
        split: "train", "valid" or "test".

    Returns:
        A dict with `perplexity`, `tokens` and `unknown_tokens`.
    """
    config, vocab = load_run(run_dir)
    if os.path.isfile(data):
        check_text_file(data)
        with open(data, encoding="utf-8") as file:
            lines = file.read().splitlines()
    else:
        lines = load_lines(data)[split]
    ids = encode_stream(tokenize_lines(lines, config.level), vocab)
    if len(ids) < 2:
        raise UsageError(f"data {data} has {len(ids)} tokens; it needs at least 2")
    model = textlstm.load_model(os.path.join(run_dir, training.BEST_MODEL_FILE), compile=False)
    compile_language_model(model, config)
    perplexity = evaluate_perplexity(model, stream_windows(ids, config.batch_size, config.bptt), config.batch_size)
    return {"perplexity": perplexity, "tokens": int(len(ids) - 1), "unknown_tokens": int((ids == vocab.unk_id).sum())}
