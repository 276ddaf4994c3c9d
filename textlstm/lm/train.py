"""Training a language model: the task's data, model, callbacks and evaluation for `textlstm.training.train`."""

import keras
import tensorflow as tf

from textlstm import training
from textlstm.batches import batches_dataset, epoch_positions, epoch_steps
from textlstm.errors import UsageError
from textlstm.lm.data import num_windows, real_targets, window_rows
from textlstm.lm.encoded import encoded_corpus
from textlstm.lm.export import export_language_model
from textlstm.lm.inference import generate_text, next_word_scores
from textlstm.lm.model import build_language_model, compile_language_model, copy_weights
from textlstm.lm.perplexity import bits_per_character, evaluate_perplexity
from textlstm.ntasgd import AverageWhenStalled
from textlstm.run import export_path, load_run


def check_split_lengths(ids, config):
    """Raises `UsageError` if the training split is shorter than one batch window or a split under 2 tokens."""
    train = len(ids["train"])
    if train < config.batch_size * config.bptt + 1:
        raise UsageError(
            f"the training split has {train} tokens, fewer than one batch window "
            f"(batch-size x bptt + 1 = {config.batch_size * config.bptt + 1}); use more text or smaller "
            f"--batch-size / --bptt")
    for split, split_ids in ids.items():
        if len(split_ids) < 2:
            raise UsageError(f"the {split} split has {len(split_ids)} tokens; it needs at least 2")


# Word level warns when the words average more characters than this (Chinese, Japanese, unspaced text)...
LONG_WORD_CHARACTERS = 15
# ... or when more than this share of the validation tokens are <unk> (an inflected language, a small vocabulary).
UNKNOWN_SHARE = 1 / 3


def text_warnings(corpus):
    """Warnings about a word-level corpus that white space cuts badly, each one line naming its figure.

    Returns:
        A list of strings (empty for other levels, and for text that words suit).
    """
    if corpus.tokenizer.level != "word":
        return []
    warnings = []
    words = len(corpus.ids["train"]) - corpus.lines["train"]
    length = (corpus.characters["train"] - corpus.lines["train"]) / max(words, 1)
    if length > LONG_WORD_CHARACTERS:
        warnings.append(f"the training text's white-space-separated words average {length:.1f} characters: text "
                        "without spaces between words (Chinese, Japanese) reads better with --level char or "
                        "--level subword")
    share = corpus.unknown["valid"] / len(corpus.ids["valid"])
    if share > UNKNOWN_SHARE:
        warnings.append(f"{share:.0%} of the validation tokens are <unk> at word level: --level subword (or "
                        "--level char) reads every word")
    return warnings


def prepare(config, log=print):
    """Encodes the corpus into token ids on disk (or finds it cached) and reads every split's windows from them.

    Global batch k of a split is window k of all `batch_size` streams, as
    `stream_windows` lays them out, never shuffled: a stateful model carries
    each stream from one batch to the next.
    """
    corpus = encoded_corpus(config.data, config.level, config.max_vocab, config.min_count, config.hub_streaming,
                            log, config.subword_model, config.seed)
    log(f"encoded corpus: {corpus.path}")
    warnings = text_warnings(corpus)
    for warning in warnings:
        log(f"warning: {warning}")
    check_split_lengths(corpus.ids, config)
    totals = {split: num_windows(len(ids), config.batch_size, config.bptt) for split, ids in corpus.ids.items()}
    steps = epoch_steps(totals, config.steps_per_epoch)

    def batches(split, first_row=0, num_rows=None, epoch=0):
        ids, rows = corpus.ids[split], config.batch_size - first_row if num_rows is None else num_rows
        positions = epoch_positions(epoch, steps(split), totals[split])
        spec = tf.TensorSpec((rows, config.bptt), tf.int32)
        signature = (spec, spec, tf.TensorSpec((rows, config.bptt), tf.float32))
        return batches_dataset(positions, lambda _, window: window_rows(
            ids, config.batch_size, config.bptt, window, first_row, rows), signature)

    passes, rest = divmod(steps("train"), totals["train"])
    train_tokens = sum(count * real_targets(len(corpus.ids["train"]), config.batch_size, config.bptt, windows)
                       for count, windows in ((passes, totals["train"]), (1, rest)))
    return training.TaskData(vocab=corpus.vocab, batches=batches, steps=steps, train_tokens=train_tokens,
                             splits={"test_lines": corpus.test_head, "corpus": corpus, "warnings": warnings},
                             tokenizer=corpus.tokenizer)


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
    """The learning-rate schedule, NT-ASGD's trigger and early stopping; the second list watches val_perplexity."""
    monitors, schedule = [], []
    if config.schedule == "plateau":
        # The PyTorch word_language_model recipe: lr / 4 whenever validation perplexity does not improve.
        monitors.append(keras.callbacks.ReduceLROnPlateau(
            monitor="val_perplexity", mode="min", factor=config.lr_decay, patience=0, min_delta=0.0, verbose=1))
    elif config.schedule == "fixed":
        # Zaremba et al. 2014: constant lr for decay-start epochs, then multiplied by lr-decay every epoch.
        schedule = [keras.callbacks.LearningRateScheduler(
            lambda epoch, lr: config.lr * config.lr_decay ** max(0, epoch + 1 - config.decay_start))]
    if config.optimizer == "ntasgd":
        monitors.append(AverageWhenStalled("val_perplexity", config.nonmono))
    if config.patience:
        monitors.append(keras.callbacks.EarlyStopping(monitor="val_perplexity", mode="min",
                                                      patience=config.patience))
    return [*schedule, *monitors], monitors


def finish(model, config, data, run):
    """Perplexity and bits per character of the best model on the valid and test splits, test keyboard metrics, the
    export, a few samples."""
    corpus = data.splits["corpus"]
    scores = {"valid": {"perplexity": evaluate_perplexity(model, data.batches("valid"))},
              "test": next_word_scores(model, data.batches("test"), data.vocab)}
    metrics = {"vocab_size": len(data.vocab)}
    for split, split_scores in scores.items():
        metrics[f"{split}_perplexity"] = split_scores["perplexity"]
        metrics[f"{split}_bits_per_character"] = bits_per_character(split_scores["perplexity"],
                                                                    len(corpus.ids[split]) - 1,
                                                                    corpus.characters[split])
        metrics[f"{split}_unknown_share"] = corpus.unknown[split] / len(corpus.ids[split])
    metrics.update(test_top1_recall=scores["test"]["top1_recall"], test_top3_recall=scores["test"]["top3_recall"])
    if data.splits["warnings"]:
        metrics["warnings"] = data.splits["warnings"]
    export_language_model(model, data.vocab, config, export_path(config), data.tokenizer)
    metrics["samples"] = _samples(load_run(run.path), data.splits["test_lines"], data.tokenizer)
    return metrics


def _samples(run, test_lines, tokenizer):
    """Generates a continuation of the first tokens of a few test lines, as a glimpse of what was learned."""
    length = {"word": 2, "char": 8, "subword": 3}[tokenizer.level]
    starts = [line[:-1][:length] for line in test_lines]  # line[:-1] drops the <eos>
    prompts = [tokenizer.join(start) for start in starts if any(token in run.vocab.ids for token in start)][:3]
    if not prompts:
        return []
    texts = generate_text(run, prompts, words=20, temperature=0.8, top_k=40, seed=run.config.seed)
    return [{"prompt": prompt, "text": text} for prompt, text in zip(prompts, texts)]


def language_model_task(log=print):
    """The language-model `Task`; log gets one-line notes about the data (where the encoded corpus is)."""
    log = log or (lambda message: None)
    return training.Task(name="lm", prepare=lambda config: prepare(config, log), build_model=build_model,
                         monitor="val_perplexity", callbacks=task_callbacks, finish=finish, loss=token_loss,
                         carry_states=True, state_reset=lambda config: config.state_reset, perplexity=True,
                         saved_model=stateful_model, log=log)


def train_language_model(config, verbose=1, callbacks=(), log=print):
    """Trains, evaluates and exports a language model as `train.py lm` does (see `textlstm.training.train`).

    Args:
        config: An `LMConfig`.
        verbose: Keras verbosity: 1 progress bar, 2 one line per epoch, 0 silent.
        callbacks: More Keras callbacks, run after textlstm's own.
        log: Called with one-line notes (where the encoded corpus is cached); None is silent.

    Returns:
        The final metrics dict, as written to metrics.json (with
        `valid_perplexity`, `test_perplexity`, `tokens_per_second`,
        `wall_time_seconds` and per-epoch records under `epochs`).
    """
    return training.train(language_model_task(log), config, verbose=verbose, callbacks=callbacks)
