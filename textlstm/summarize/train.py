"""Training a summarizer end to end: data -> model.fit with resumable callbacks -> export -> test ROUGE."""

import dataclasses
import os
import time

import keras

import textlstm
from textlstm import training
from textlstm.files import write_json
from textlstm.seq2seq.model import build_model, masked_loss
from textlstm.seq2seq.rouge import mean_length
from textlstm.summarize.data import encode_sources, encode_targets, load_pairs, tokenize
from textlstm.summarize.export import export_text_summarizer
from textlstm.summarize.inference import load_export, score_summaries
from textlstm.vocab import Vocabulary

NUM_EXAMPLES = 5  # source / reference / output triples kept in metrics.json


def _arrays(tokens, vocab, config):
    """Returns ({"source", "decoder_input"}, labels) id arrays of one split's {"source", "target"} token lists."""
    source = encode_sources(tokens["source"], vocab, config.max_source_len)
    decoder_input, labels = encode_targets(tokens["target"], vocab, config.max_target_len)
    return {"source": source, "decoder_input": decoder_input}, labels


def _callbacks(config, train_tokens, val_history):
    monitors = []
    if config.patience:
        monitors.append(keras.callbacks.EarlyStopping(monitor="val_loss", mode="min", patience=config.patience))
    return [*monitors, *training.run_callbacks(config.out, "val_loss", monitors, val_history, train_tokens)]


def train_summarizer(config, verbose=1, callbacks=(), log=print):
    """Trains, exports and scores a summarizer as `train.py summarize` does.

    A killed run started again with the same config continues from its last
    finished epoch (weights, optimizer state, epoch number). The test ROUGE
    is measured through the exported SavedModel, so it is the score of what
    was shipped.

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

    Raises:
        UsageError: A bad setting, unreadable data, or a run directory that
            already holds a finished run.
    """
    log = log or (lambda message: None)
    config.validate()
    export = training.export_path(config)
    training.check_export_path(export)
    started = time.perf_counter()
    pairs, fields, skipped = load_pairs(config.data, config.source_field, config.target_field)
    how = "as given" if config.source_field and config.target_field else "recognised by name"
    log(f"fields: {fields[0]} -> {fields[1]} ({how}); examples train {len(pairs['train']['source'])}, "
        f"valid {len(pairs['valid']['source'])}, test {len(pairs['test']['source'])}")
    if any(skipped.values()):
        log("skipped rows with an empty document or summary: "
            + ", ".join(f"{split} {count}" for split, count in skipped.items()))
    tokens = {split: {side: tokenize(texts) for side, texts in split_pairs.items()}
              for split, split_pairs in pairs.items()}
    vocab = Vocabulary.build(tokens["train"]["source"] + tokens["train"]["target"], config.max_vocab, config.min_count)
    arrays = {split: _arrays(split_tokens, vocab, config) for split, split_tokens in tokens.items()}

    resume = training.prepare_run_directory(config.out, dataclasses.asdict(config), config.overwrite)
    vocab.save(os.path.join(config.out, training.VOCAB_FILE))
    metrics_path = os.path.join(config.out, training.METRICS_FILE)
    if not resume and os.path.exists(metrics_path):
        os.remove(metrics_path)
    val_history = training.best_so_far(metrics_path, "val_loss") if resume else []

    keras.utils.set_random_seed(config.seed)
    model = build_model(config.model_config(len(vocab)))
    model.compile(optimizer=training.make_optimizer(config), loss=masked_loss(config.label_smoothing))
    inputs, labels = arrays["train"]
    target_tokens = int((labels != 0).sum())
    model.fit(inputs, labels, batch_size=config.batch_size, shuffle=True, epochs=config.epochs,
              validation_data=arrays["valid"], callbacks=_callbacks(config, target_tokens, val_history)
              + list(callbacks), verbose=verbose)

    best = textlstm.load_model(os.path.join(config.out, training.BEST_MODEL_FILE), compile=False)
    export_text_summarizer(best, vocab, config, export)
    exported, _ = load_export(config.out)
    metrics = training.read_json(metrics_path)
    epochs = metrics["epochs"]
    metrics["best_epoch"] = 1 + min(range(len(epochs)), key=lambda index: epochs[index]["val_loss"])
    metrics["valid_loss"] = epochs[metrics["best_epoch"] - 1]["val_loss"]
    metrics["lead_words"] = mean_length(pairs["train"]["target"])
    test = pairs["test"]
    scores, predictions = score_summaries(exported, test["source"], test["target"], metrics["lead_words"])
    metrics.update(scores)
    metrics["fields"] = list(fields)
    metrics["vocab_size"] = len(vocab)
    metrics["split_sizes"] = {split: len(split_pairs["source"]) for split, split_pairs in pairs.items()}
    metrics["skipped"] = skipped
    metrics["train_target_tokens"] = target_tokens
    metrics["tokens_per_second"] = round(target_tokens * len(epochs) / sum(e["train_seconds"] for e in epochs), 1)
    metrics["examples"] = [{"source": source, "reference": reference, "output": output}
                           for source, reference, output in
                           list(zip(test["source"], test["target"], predictions))[:NUM_EXAMPLES]]
    # Covers this invocation; a resumed run adds the epoch time of its earlier invocations.
    earlier = sum(epoch["epoch_seconds"] for epoch in epochs[: len(val_history)])
    metrics["wall_time_seconds"] = round(time.perf_counter() - started + earlier, 1)
    metrics["finished"] = True
    write_json(metrics_path, metrics)
    return metrics
