"""Training a language model: the task's data, model, callbacks and evaluation for `textlstm.training.train`."""

import keras

from textlstm import training
from textlstm.errors import UsageError
from textlstm.lm.data import encode_stream, load_lines, stream_windows, tokenize_lines
from textlstm.lm.export import export_language_model
from textlstm.lm.inference import generate_text
from textlstm.lm.model import build_language_model, compile_language_model, copy_weights
from textlstm.lm.perplexity import evaluate_perplexity
from textlstm.run import export_path, load_run
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


def prepare(config):
    """Reads and tokenizes the corpus, builds the vocabulary and lays every split out in windows."""
    lines = load_lines(config.data)
    tokens = {split: tokenize_lines(split_lines, config.level) for split, split_lines in lines.items()}
    for split, token_lists in tokens.items():
        if not token_lists:
            raise UsageError(f"the {split} split of {config.data} has no text")
    vocab = Vocabulary.build(tokens["train"], config.max_vocab, config.min_count)
    windows = {split: windows_of_split(token_lists, vocab, config, split) for split, token_lists in tokens.items()}
    # Global batch k is window k of every stream, row b of stream b, never shuffled.
    batches, steps = training.batches_from_arrays({split: windows[split] for split in ("train", "valid")},
                                                  config.batch_size)
    return training.TaskData(vocab=vocab, batches=batches, steps=steps, train_tokens=int(windows["train"][2].sum()),
                             splits={"windows": windows, "test_lines": tokens["test"]})


def build_model(config, data):
    """The model that trains: windows and states in, logits and states out, so that each replica carries its own."""
    return compile_language_model(build_language_model(config, len(data.vocab), state_inputs=True), config)


def stateful_model(config, data, model):
    """The stateful twin of the training model, with its weights: what the run saves, evaluates and exports."""
    twin = compile_language_model(
        build_language_model(config, len(data.vocab), batch_size=config.batch_size, stateful=True), config)
    twin.optimizer.build(twin.trainable_variables)
    copy_weights(model, twin)
    return twin


def token_loss(config):
    """Summed cross-entropy of the weighted target tokens, and the summed weights (`Task.loss`)."""

    def loss(targets, logits, weights):
        cross_entropy = keras.losses.sparse_categorical_crossentropy(targets, logits, from_logits=True)
        return keras.ops.sum(cross_entropy * weights), keras.ops.sum(weights)

    return loss


def task_callbacks(config):
    """The learning-rate schedule and early stopping; the second list watches validation perplexity."""
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
    return [*schedule, *monitors], monitors


def finish(model, config, data, run):
    """Perplexity of the best model on the valid and test splits, the export, and a few generated samples."""
    windows = data.splits["windows"]
    metrics = {"valid_perplexity": evaluate_perplexity(model, windows["valid"], config.batch_size),
               "test_perplexity": evaluate_perplexity(model, windows["test"], config.batch_size),
               "vocab_size": len(data.vocab)}
    export_language_model(model, data.vocab, config, export_path(config))
    metrics["samples"] = _samples(load_run(run.path), data.splits["test_lines"])
    return metrics


def _samples(run, test_lines):
    """Generates a continuation of the first words of a few test lines, as a glimpse of what was learned."""
    separator, length = (" ", 2) if run.config.level == "word" else ("", 8)
    starts = [line[:-1][:length] for line in test_lines]  # line[:-1] drops the <eos>
    prompts = [separator.join(start) for start in starts if any(token in run.vocab.ids for token in start)][:3]
    if not prompts:
        return []
    texts = generate_text(run, prompts, words=20, temperature=0.8, top_k=40, seed=run.config.seed)
    return [{"prompt": prompt, "text": text} for prompt, text in zip(prompts, texts)]


LANGUAGE_MODEL = training.Task(name="lm", prepare=prepare, build_model=build_model, monitor="val_perplexity",
                               callbacks=task_callbacks, finish=finish, loss=token_loss, carry_states=True,
                               perplexity=True, saved_model=stateful_model)


def train_language_model(config, verbose=1, callbacks=()):
    """Trains, evaluates and exports a language model as `train.py lm` does (see `textlstm.training.train`).

    Returns:
        The final metrics dict, as written to metrics.json (with
        `valid_perplexity`, `test_perplexity`, `tokens_per_second`,
        `wall_time_seconds` and per-epoch records under `epochs`).
    """
    return training.train(LANGUAGE_MODEL, config, verbose=verbose, callbacks=callbacks)
