"""Training a summarizer: the task's data, model, callbacks and evaluation for `textlstm.training.train`."""

import keras
import numpy as np
import tensorflow as tf
from keras import ops

from textlstm import training
from textlstm.batches import batches_dataset, epoch_positions, epoch_steps, num_batches, padded_rows
from textlstm.corpus import SPLITS
from textlstm.run import best_epoch, export_path, load_run
from textlstm.seq2seq.model import build_model as build_seq2seq
from textlstm.seq2seq.model import masked_loss, token_crossentropy
from textlstm.summarize.encoded import encoded_pairs
from textlstm.summarize.export import export_text_summarizer
from textlstm.summarize.inference import score_summaries

NUM_EXAMPLES = 5  # source / reference / output triples kept in metrics.json


def prepare(config, log=print):
    """Encodes the training and validation pairs into id arrays on disk (or finds them cached) and batches them."""
    pairs = encoded_pairs(config, log)
    log(f"encoded pairs: {pairs.path}")
    source_field, target_field = pairs.fields
    how = "as given" if config.source_field and config.target_field else "recognised by name"
    log(f"fields: {source_field} -> {target_field} ({how}); examples train {pairs.documents['train']}, "
        f"valid {pairs.documents['valid']}, test {len(pairs.test.source)}")
    skipped = {**pairs.skipped, "test": pairs.test.skipped}
    if any(skipped.values()):
        log("skipped rows with an empty document or summary: "
            + ", ".join(f"{split} {skipped[split]}" for split in SPLITS))
    lists = set(pairs.lists) | set(pairs.test.lists)
    if source_field in lists:
        log(f"{source_field} holds lists of sentences: each is joined with spaces into one document")
    if target_field in lists:
        log(f"{target_field} holds lists of summaries: training on "
            f"{'the first of each list' if config.target_list == 'first' else 'each of them'} "
            f"(--target-list {config.target_list}); ROUGE scores against all of them")
    totals = {split: num_batches(len(arrays["labels"]), config.batch_size) for split, arrays in pairs.arrays.items()}
    steps = epoch_steps(totals, config.steps_per_epoch)

    def batches(split, first_row=0, num_rows=None, epoch=0):
        arrays = pairs.arrays[split]
        inputs = {name: values for name, values in arrays.items() if name != "labels"}
        labels = arrays["labels"]
        rows = config.batch_size - first_row if num_rows is None else num_rows

        def make_batch(pass_index, batch):
            order = pass_order(len(labels), config.seed, pass_index) if split == "train" else np.arange(len(labels))
            indices, weights = padded_rows(order, batch, config.batch_size, first_row, rows)
            x = {name: values[indices] for name, values in inputs.items()}
            real = weights[:, None] > 0
            x["decoder_input"] = x["decoder_input"] * real  # a padding row's summary is all padding
            y = labels[indices] * real
            return x, y, (y != 0).astype(np.float32)  # weight 1 on each real target, as the loss's own mask

        target_shape = (rows, labels.shape[1])
        signature = ({name: tf.TensorSpec((rows, values.shape[1]), tf.int32) for name, values in inputs.items()},
                     tf.TensorSpec(target_shape, tf.int32), tf.TensorSpec(target_shape, tf.float32))
        return batches_dataset(epoch_positions(epoch, steps(split), totals[split]), make_batch, signature)

    # Exact for whole passes; with --steps-per-epoch, the pass's tokens in proportion to the batches taken.
    train_tokens = round(pairs.label_tokens["train"] * steps("train") / totals["train"])
    return training.TaskData(vocab=pairs.vocab, batches=batches, steps=steps, train_tokens=train_tokens,
                             splits={"pairs": pairs}, tokenizer=pairs.tokenizer)


def pass_order(num_examples, seed, pass_index):
    """The order of the training examples in one pass: a permutation fixed by the seed and the pass.

    Example:

    >>> order = pass_order(5, seed=1, pass_index=0)
    >>> sorted(order.tolist()), order.tolist() == pass_order(5, seed=1, pass_index=0).tolist()
    ([0, 1, 2, 3, 4], True)
    """
    return np.random.default_rng([seed, pass_index]).permutation(num_examples)


def build_model(config, data):
    model = build_seq2seq(**config.model_arguments(len(data.vocab)))
    model.compile(optimizer=training.make_optimizer(config), loss=masked_loss(config.label_smoothing))
    return model


def token_loss(config):
    """Summed crossentropy of the weighted target tokens, and the summed weights (`Task.loss`).

    The weights are per target token, as `TaskData.batches` gives them: 1 on
    real targets, 0 on padding and on the rows that fill up a last batch.
    """

    def loss(labels, logits, weights):
        per_token = token_crossentropy(labels, logits, config.label_smoothing)
        return ops.sum(per_token * weights), ops.sum(weights)

    return loss


class CoverageSchedule(keras.callbacks.Callback):
    """Sets the model's coverage-loss weight at each epoch: 0 before epoch `first_epoch` (0-based), `weight` from it.

    Args:
        weight: The coverage-loss weight once it is on.
        first_epoch: The first epoch with the coverage loss.
    """

    def __init__(self, weight, first_epoch):
        super().__init__()
        self.weight = weight
        self.first_epoch = first_epoch

    def on_epoch_begin(self, epoch, logs=None):
        self.model.coverage_loss_weight.assign(self.weight if epoch >= self.first_epoch else 0.0)


def coverage_start(config):
    """The first epoch (0-based) with the coverage loss: 0, or the first of the last `coverage_epochs`."""
    return max(config.epochs - config.coverage_epochs, 0) if config.coverage_epochs else 0


def task_callbacks(config):
    """The coverage-loss schedule, and early stopping on the validation loss, never before the coverage epochs."""
    own, monitors = [], []
    if config.coverage:
        own.append(CoverageSchedule(config.coverage_weight, coverage_start(config)))
    if config.patience:
        monitors.append(keras.callbacks.EarlyStopping(monitor="val_loss", mode="min", patience=config.patience,
                                                      start_from_epoch=coverage_start(config) if config.coverage else 0))
    return own + monitors, monitors


def finish(model, config, data, run):
    """The export, then test ROUGE of what was exported, beside the Lead baseline."""
    path = export_path(config)
    export_text_summarizer(model, data.vocab, config, path, data.tokenizer)
    pairs = data.splits["pairs"]
    test = pairs.test
    metrics = {"lead_words": pairs.lead_words, "lead_characters": pairs.lead_characters}
    scores, predictions = score_summaries(load_run(run.path).export, test.source, test.references,
                                          {"words": pairs.lead_words, "characters": pairs.lead_characters})
    best = best_epoch(run.metrics()["epochs"], "val_loss")
    metrics.update(scores)
    metrics.update(valid_loss=best["val_loss"], fields=list(pairs.fields), vocab_size=len(data.vocab),
                   split_sizes={**pairs.documents, "test": len(test.source)},
                   skipped={**pairs.skipped, "test": test.skipped})
    metrics["examples"] = [{"source": source, "reference": references[0], "output": output}
                           for source, references, output in
                           list(zip(test.source, test.references, predictions))[:NUM_EXAMPLES]]
    return metrics


def summarizer_task(log=print):
    """The summarization `Task`; log gets one-line notes about the data (fields picked, rows skipped)."""
    log = log or (lambda message: None)
    return training.Task(name="summarize", prepare=lambda config: prepare(config, log), build_model=build_model,
                         monitor="val_loss", callbacks=task_callbacks, finish=finish, loss=token_loss, log=log)


def train_summarizer(config, verbose=1, callbacks=(), log=print):
    """Trains, exports and scores a summarizer as `train.py summarize` does (see `textlstm.training.train`).

    The test ROUGE is measured through the exported SavedModel, so it is the
    score of what was shipped.

    Args:
        config: A `SummarizeConfig`.
        verbose: Keras verbosity: 1 progress bar, 2 one line per epoch, 0 silent.
        callbacks: More Keras callbacks, run after textlstm's own.
        log: Called with one-line notes (fields picked, rows skipped); None is silent.

    Returns:
        The final metrics dict, as written to metrics.json: per-epoch records
        under `epochs`, `test_rouge1`, `test_rouge2`, `test_rougeL`,
        `lead_rouge1`, `lead_rouge2`, `lead_rougeL` (F1 in percent), `lead_words`,
        `examples` (source / reference / output triples), `wall_time_seconds`.
    """
    return training.train(summarizer_task(log), config, verbose=verbose, callbacks=callbacks)
