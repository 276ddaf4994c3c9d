"""Training a language model end to end: data -> model.fit with resumable callbacks -> test -> export."""

import dataclasses
import os
import time

import keras

import textlstm
from textlstm import training
from textlstm.errors import UsageError
from textlstm.files import write_json
from textlstm.lm.data import encode_stream, load_lines, stream_windows, tokenize_lines
from textlstm.lm.export import check_export_path, export_language_model
from textlstm.lm.inference import generate_text
from textlstm.lm.model import build_language_model, compile_language_model
from textlstm.lm.perplexity import evaluate_perplexity
from textlstm.vocab import Vocabulary

def windows_of_split(token_lists, vocab, config, split):
    """Returns (inputs, targets, weights) of one split laid out for stateful training."""
    ids = encode_stream(token_lists, vocab)
    if split == "train" and len(ids) < config.batch_size * config.bptt + 1:
        raise UsageError(
            f"the training split has {len(ids)} tokens, fewer than one batch window "
            f"(batch-size x bptt + 1 = {config.batch_size * config.bptt + 1}); use more text or smaller "
            f"--batch-size / --bptt")
    if len(ids) < 2:
        raise UsageError(f"the {split} split has {len(ids)} tokens; it needs at least 2")
    return stream_windows(ids, config.batch_size, config.bptt)


def _callbacks(config, train_tokens, val_history):
    monitors = []
    if config.schedule == "plateau":
        # The PyTorch word_language_model recipe: lr / 4 whenever validation perplexity does not improve.
        monitors.append(keras.callbacks.ReduceLROnPlateau(
            monitor="val_perplexity", mode="min", factor=config.lr_decay, patience=0, min_delta=0.0, verbose=1))
        schedule = []
    else:
        # Zaremba et al. 2014: constant lr for decay-start epochs, then multiplied by lr-decay every epoch.
        schedule = [keras.callbacks.LearningRateScheduler(
            lambda epoch, lr: config.lr * config.lr_decay ** max(0, epoch + 1 - config.decay_start))]
    if config.patience:
        monitors.append(keras.callbacks.EarlyStopping(monitor="val_perplexity", mode="min",
                                                      patience=config.patience))
    # Order matters at the end of an epoch: the plateau callback changes the learning rate before
    # BackupAndRestore saves the optimizer, so a resumed run starts with the reduced rate.
    return [
        training.ResetStates(),
        *schedule,
        *monitors,
        *training.run_callbacks(config.out, "val_perplexity", monitors, val_history, train_tokens),
    ]


def train_language_model(config, verbose=1, callbacks=()):
    """Trains, evaluates and exports a language model as `train.py lm` does.

    A killed run started again with the same config continues from its last
    finished epoch (weights, optimizer state, learning rate).

    Args:
        config: An `LMConfig`.
        verbose: Keras verbosity: 1 progress bar, 2 one line per epoch, 0 silent.
        callbacks: More Keras callbacks, run after textlstm's own.

    Returns:
        The final metrics dict, as written to metrics.json (with
        `valid_perplexity`, `test_perplexity`, `tokens_per_second`,
        `wall_time_seconds` and per-epoch records under `epochs`).

    Raises:
        UsageError: A bad setting, unreadable data, or a run directory that
            already holds a finished run.
    """
    config.validate()
    check_export_path(training.export_path(config))
    started = time.perf_counter()
    lines = load_lines(config.data)
    tokens = {split: tokenize_lines(split_lines, config.level) for split, split_lines in lines.items()}
    for split, token_lists in tokens.items():
        if not token_lists:
            raise UsageError(f"the {split} split of {config.data} has no text")
    vocab = Vocabulary.build(tokens["train"], config.max_vocab, config.min_count)
    windows = {split: windows_of_split(token_lists, vocab, config, split) for split, token_lists in tokens.items()}

    resume = training.prepare_run_directory(config.out, dataclasses.asdict(config), config.overwrite)
    vocab.save(os.path.join(config.out, training.VOCAB_FILE))
    metrics_path = os.path.join(config.out, training.METRICS_FILE)
    if not resume and os.path.exists(metrics_path):
        os.remove(metrics_path)
    val_history = training.best_so_far(metrics_path, "val_perplexity") if resume else []

    keras.utils.set_random_seed(config.seed)
    model = build_language_model(config, len(vocab), batch_size=config.batch_size, stateful=True)
    compile_language_model(model, config)
    inputs, targets, weights = windows["train"]
    train_tokens = int(weights.sum())
    model.fit(
        inputs, targets, sample_weight=weights, batch_size=config.batch_size, shuffle=False,
        epochs=config.epochs, validation_data=windows["valid"], validation_batch_size=config.batch_size,
        callbacks=_callbacks(config, train_tokens, val_history) + list(callbacks), verbose=verbose,
    )

    best = textlstm.load_model(os.path.join(config.out, training.BEST_MODEL_FILE))
    metrics = training.read_json(metrics_path)
    metrics["valid_perplexity"] = evaluate_perplexity(best, windows["valid"], config.batch_size)
    metrics["test_perplexity"] = evaluate_perplexity(best, windows["test"], config.batch_size)
    epochs = metrics["epochs"]
    metrics["best_epoch"] = 1 + min(range(len(epochs)), key=lambda index: epochs[index]["val_perplexity"])
    metrics["tokens_per_second"] = round(train_tokens * len(epochs) / sum(e["train_seconds"] for e in epochs), 1)
    metrics["vocab_size"] = len(vocab)
    metrics["train_tokens"] = train_tokens
    export_language_model(best, vocab, config, training.export_path(config))
    # Covers this invocation; a resumed run adds the epoch time of its earlier invocations.
    earlier = sum(epoch["epoch_seconds"] for epoch in epochs[: len(val_history)])
    metrics["wall_time_seconds"] = round(time.perf_counter() - started + earlier, 1)
    metrics["samples"] = _samples(config, tokens["test"], vocab)
    metrics["finished"] = True
    write_json(metrics_path, metrics)
    return metrics


def _samples(config, test_lines, vocab):
    """Generates a continuation of the first words of a few test lines, as a glimpse of what was learned."""
    separator, length = (" ", 2) if config.level == "word" else ("", 8)
    starts = [line[:-1][:length] for line in test_lines]  # line[:-1] drops the <eos>
    prompts = [separator.join(start) for start in starts if any(token in vocab.ids for token in start)][:3]
    if not prompts:
        return []
    texts = generate_text(config.out, prompts, words=20, temperature=0.8, top_k=40, seed=config.seed)
    return [{"prompt": prompt, "text": text} for prompt, text in zip(prompts, texts)]
