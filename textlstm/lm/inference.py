"""Using a trained language model: next-word predictions, generated text and perplexity on another corpus.

Each function takes a `textlstm.run.Run` (from `load_run(path)`) of a
language-model run; predictions and text come from its SavedModel.
"""

from textlstm.batches import batches_dataset, epoch_positions
from textlstm.corpus import split_name
from textlstm.corpus.tokenizers import load_tokenizer
from textlstm.errors import UsageError
from textlstm.lm.data import num_windows, tokenize, window_rows
from textlstm.lm.encoded import encoded_text
from textlstm.lm.export import MAX_GENERATED_WORDS
from textlstm.lm.model import compile_language_model
from textlstm.lm.perplexity import evaluate_perplexity


def check_prompt(prompt, run):
    """Raises `UsageError` naming the prompt if it is empty or all its tokens are outside the vocabulary."""
    tokens = tokenize(prompt, run.config.level)
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


def evaluate_run(run, data, split="test"):
    """Perplexity of a run's best model on another corpus, tokenized with the run's vocabulary.

    The text is encoded into token ids on disk with `encoded_text` (or found
    in the encoded-corpus cache) and its windows are read memory-mapped, as
    training reads its splits, so the corpus is never held in memory.

    Args:
        run: A finished language-model `Run`.
        data: As `--data`: a directory, a text file or `hf:NAME[:CONFIG]`.
            A directory or hub dataset is scored on `split`; a single file whole.
        split: "train", "valid" (or "validation", "dev") or "test".

    Returns:
        A dict with `perplexity`, `tokens` (targets scored) and `unknown_tokens` (ids that are `<unk>`).

    Raises:
        UsageError: A bad split name, or data that cannot be read or has no text.
    """
    run.require("lm", "evaluate")
    config, vocab = run.config, run.vocab
    text = encoded_text(data, split_name(split), vocab, load_tokenizer(config.level, run.path))
    model = compile_language_model(run.load_model(), config)
    perplexity = evaluate_perplexity(model, _windows(text.ids, config.batch_size, config.bptt))
    return {"perplexity": perplexity, "tokens": len(text.ids) - 1, "unknown_tokens": text.unknown}


def _windows(ids, batch_size, bptt):
    """The batches of `stream_windows(ids, batch_size, bptt)` in order, each read from ids when it is needed."""
    import tensorflow as tf

    total = num_windows(len(ids), batch_size, bptt)
    spec = tf.TensorSpec((batch_size, bptt), tf.int32)
    signature = (spec, spec, tf.TensorSpec((batch_size, bptt), tf.float32))
    return batches_dataset(epoch_positions(0, total, total),
                           lambda _, window: window_rows(ids, batch_size, bptt, window), signature)
