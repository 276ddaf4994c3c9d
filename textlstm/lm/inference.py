"""Using a trained language model: next-word predictions, generated text, perplexity and keyboard metrics.

The functions that take a `textlstm.run.Run` (from `load_run(path)`) of a
language-model run get predictions and text from its SavedModel.
Keyboard metrics are those of Hard et al. 2018 ("Federated Learning for
Mobile Keyboard Prediction"): top-1 and top-3 next-word recall, the share of
the targets (`<unk>` left out) that are the likeliest prediction, or among
the three likeliest.
"""

import keras
import numpy as np

from textlstm.batches import batches_dataset, epoch_positions
from textlstm.corpus import split_name
from textlstm.errors import UsageError
from textlstm.lm.data import num_windows, window_rows
from textlstm.lm.encoded import encoded_text
from textlstm.lm.export import MAX_GENERATED_WORDS, banned_ids, without_banned
from textlstm.lm.model import compile_language_model
from textlstm.lm.perplexity import Perplexity, evaluate_perplexity

RECALL_AT = (1, 3)  # the k of the top-k recalls reported


def check_prompt(prompt, run):
    """Raises `UsageError` naming the prompt if it is empty or all its tokens are outside the vocabulary."""
    tokens = run.tokenizer.split([prompt]).to_pylist()[0]
    if not tokens:
        raise UsageError(f"prompt {prompt!r} is empty")
    if all(token not in run.vocab.ids for token in tokens):
        raise UsageError(f"prompt {prompt!r} has only words outside the vocabulary")


def _check_prompts(prompts, run):
    if not prompts:
        raise UsageError("no prompt given")
    for prompt in prompts:
        check_prompt(prompt, run)


def predict_next_words(run, prompts, k=5):
    """Returns, for each prompt, the k most likely next tokens as (token, probability) pairs.

    Raises:
        UsageError: A prompt that is empty or has only unknown words (the
            message names it), or k below 1 (above the vocabulary size, it is the vocabulary size).
    """
    run.require("lm", "predict")
    _check_prompts(prompts, run)
    if k < 1:
        raise UsageError(f"top-k must be a positive integer. Received: top-k={k}")
    outputs = run.export.top_k(text=prompts, k=min(k, len(run.vocab)))
    words = outputs["words"].numpy()
    probabilities = outputs["probabilities"].numpy()
    return [[(word.decode("utf-8"), float(probability)) for word, probability in zip(row_words, row_probabilities)]
            for row_words, row_probabilities in zip(words, probabilities)]


def generate_text(run, prompts, words=30, temperature=1.0, top_k=0, seed=0):
    """Returns one generated continuation per prompt, sampled inside the SavedModel's graph.

    Args:
        run: A finished language-model `Run`.
        prompts: List of prompt strings.
        words: Number of tokens to generate, 0 to `MAX_GENERATED_WORDS` (0 gives "").
        temperature: Softmax temperature; 0 or less picks the most likely token.
        top_k: Sample among the top_k most likely tokens; 0 means no limit.
        seed: The same seed gives the same text.
    """
    run.require("lm", "generate")
    _check_prompts(prompts, run)
    if not 0 <= words <= MAX_GENERATED_WORDS:
        raise UsageError(f"words must be in [0, {MAX_GENERATED_WORDS}]. Received: words={words}")
    if top_k < 0:
        raise UsageError(f"top-k must be 0 (no limit) or positive. Received: top-k={top_k}")
    if not -2**63 <= seed < 2**63:
        raise UsageError(f"seed must fit in 64 bits. Received: seed={seed}")
    text = run.export.generate(prompt=prompts, max_words=words, temperature=float(temperature),
                               top_k=min(top_k, len(run.vocab)), seed=seed)["text"]
    return [value.decode("utf-8") for value in text.numpy()]


class NextWordRecall(keras.metrics.SparseTopKCategoricalAccuracy):
    """Top-k next-word recall: the weighted share of targets among the k likeliest predictions.

    Targets that are `<unk>` are left out (weight 0), and the ids the exports
    never predict (`banned_ids`) are never among the predictions here either,
    so the figure is that of the exported models' top-k.

    Args:
        k: How many predictions count.
        vocab: The `Vocabulary`.
        **kwargs: Base metric arguments.

    Example:

    >>> from textlstm.vocab import Vocabulary
    >>> recall = NextWordRecall(1, Vocabulary.build([["a", "b"]]))
    >>> logits = [[[0.0, 0, 0, 0, 5, 0], [0.0, 0, 0, 0, 5, 0], [9.0, 0, 0, 0, 0, 5]]]  # <pad> (id 0) is never predicted
    >>> recall.update_state([[4, 1, 5]], logits)  # a hit, an <unk> target (left out), a hit
    >>> float(recall.result())
    1.0
    """

    def __init__(self, k, vocab, **kwargs):
        super().__init__(k=k, name=kwargs.pop("name", f"top{k}_recall"), **kwargs)
        self.unk_id = vocab.unk_id
        self.banned = banned_ids(vocab)

    def update_state(self, y_true, y_pred, sample_weight=None):
        known = keras.ops.cast(keras.ops.not_equal(y_true, self.unk_id), self.dtype)
        weight = known if sample_weight is None else keras.ops.cast(sample_weight, self.dtype) * known
        y_pred = without_banned(keras.ops.convert_to_tensor(y_pred, self.dtype), self.banned)
        return super().update_state(y_true, y_pred, sample_weight=weight)


def next_word_scores(model, batches, vocab):
    """Perplexity and keyboard metrics of a stateful model over one split, state carried from a reset start.

    Args:
        model: A compiled model from `build_language_model(..., stateful=True)`;
            it is compiled again with these metrics.
        batches: The split's (inputs, targets, weights) batches in
            `stream_windows` order, of the model's batch size.
        vocab: The `Vocabulary`.

    Returns:
        A dict with `perplexity` (as `evaluate_perplexity`) and
        `top1_recall`, `top3_recall` (fractions of the real targets that are not `<unk>`).
    """
    recalls = [NextWordRecall(k, vocab) for k in RECALL_AT]
    model.compile(optimizer=model.optimizer, loss=model.loss, weighted_metrics=[Perplexity(), *recalls])
    perplexity = evaluate_perplexity(model, batches)
    return {"perplexity": perplexity, **{recall.name: float(recall.result()) for recall in recalls}}


def step_predictions(step, ids, state_size):
    """The likeliest next tokens after each token of ids, fed one at a time through a `step` signature.

    Args:
        step: Called with `token_id` (int32, (1,)) and `state` (float32, (1,
            state_size)), returns `top_ids` and the next `state`: a LiteRT
            file's signature runner, or the SavedModel's `step` with `k`
            bound (`functools.partial`).
        ids: Token ids in order; the state starts at zeros before the first.
        state_size: S, the width of the packed state.

    Returns:
        An int array (len(ids), K): row t holds the K likeliest tokens after `ids[: t + 1]`, likeliest first.
    """
    state, rows = np.zeros((1, state_size), np.float32), []
    for token in ids:
        outputs = step(token_id=np.array([token], np.int32), state=state)
        state = np.asarray(outputs["state"])
        rows.append(np.asarray(outputs["top_ids"])[0])
    return np.array(rows)


def recall_at(predictions, targets, unk_id, k):
    """Top-k next-word recall of predictions (`step_predictions`) against targets, `<unk>` targets left out.

    Example:

    >>> recall_at(np.array([[5, 6], [5, 6], [7, 5]]), np.array([6, 1, 4]), unk_id=1, k=2)
    0.5
    """
    known = targets != unk_id
    return float((predictions[known, :k] == targets[known, None]).any(axis=1).mean())


def evaluate_run(run, data, split="test"):
    """Perplexity and keyboard metrics of a run's best model on another corpus, tokenized with the run's vocabulary.

    The text is encoded into token ids on disk with `encoded_text` (or found
    in the encoded-corpus cache) and its windows are read memory-mapped, as
    training reads its splits, so the corpus is never held in memory.

    Args:
        run: A finished language-model `Run`.
        data: As `--data`: a directory, a text file or `hf:NAME[:CONFIG]`.
            A directory or hub dataset is scored on `split`; a single file whole.
        split: "train", "valid" (or "validation", "dev") or "test".

    Returns:
        A dict with `perplexity`, `top1_recall`, `top3_recall` (`next_word_scores`), `tokens` (targets
        scored) and `unknown_tokens` (ids that are `<unk>`).

    Raises:
        UsageError: A bad split name, or data that cannot be read or has no text.
    """
    run.require("lm", "evaluate")
    config, vocab = run.config, run.vocab
    text = encoded_text(data, split_name(split), vocab, run.tokenizer)
    model = compile_language_model(run.load_model(), config)
    scores = next_word_scores(model, _windows(text.ids, config.batch_size, config.bptt), vocab)
    return {**scores, "tokens": len(text.ids) - 1, "unknown_tokens": text.unknown}


def _windows(ids, batch_size, bptt):
    """The batches of `stream_windows(ids, batch_size, bptt)` in order, each read from ids when it is needed."""
    import tensorflow as tf

    total = num_windows(len(ids), batch_size, bptt)
    spec = tf.TensorSpec((batch_size, bptt), tf.int32)
    signature = (spec, spec, tf.TensorSpec((batch_size, bptt), tf.float32))
    return batches_dataset(epoch_positions(0, total, total),
                           lambda _, window: window_rows(ids, batch_size, bptt, window), signature)
