"""Greedy and beam search for `Seq2Seq`, in graph, one decoder step at a time.

Both searches encode the source once, then run `Seq2Seq.decode_step` inside
a `tf.while_loop`, so they trace inside a `tf.function` whose input has a
dynamic batch (and source length) and can be exported in a SavedModel.
Beam search folds the beams into the batch dimension: row `b * beam_size +
k` holds beam `k` of source `b`.

Conventions shared by both:

- The output holds the generated tokens, (batch, max_len), padded with 0
  after the end; the end token itself is not in it. With a copying model
  given `source_extended`, a token may be a temporary id (`vocab_size` and
  above) of a word of its document (`textlstm.seq2seq.copying`).
- With a coverage model, the coverage is part of each hypothesis's state.
- `max_len` counts the end token: at most `max_len` steps are run.
- The pad id 0, the unknown-word id 1 and `bos_id` are never generated
  (a summary of `<unk>`s says nothing); `eos_id` is forbidden
  while fewer than `min_len` tokens have been generated.
- With `no_repeat_ngram_size=n > 0`, a token that would complete an n-gram
  already present in the hypothesis is forbidden.
- The score is the log-probability of the tokens (end token included; the
  forbidden tokens are removed without renormalising) divided by the GNMT
  length penalty `((5 + length) / 6) ** length_penalty` (Wu et al. 2016),
  where `length` counts the end token. `length_penalty=0` gives the plain
  log-probability; larger values favour longer outputs.
"""

import dataclasses

import tensorflow as tf

from textlstm.config import check_field, flag, option
from textlstm.errors import UsageError
from textlstm.seq2seq.copying import PAD_ID, UNK_ID, extended_size

FORBIDDEN = -1e9  # log-probability of a forbidden token; finite so that sums never give nan
# The largest beam and summary length a SavedModel accepts (it clips larger requests).
MAX_BEAM_SIZE = 16
MAX_SUMMARY_LEN = 200


@dataclasses.dataclass
class Decoding:
    """The decoding settings, with their defaults: the summarizer's config and the searches below share them.

    Example:

    >>> Decoding(beam_size=1).max_len
    20
    """

    beam_size: int = option(4, "hypotheses kept by beam search; 1 is greedy", minimum=1, maximum=MAX_BEAM_SIZE)
    min_len: int = option(1, "fewest summary tokens before the end token is allowed", minimum=0)
    max_len: int = option(20, "most summary tokens generated, end token included", minimum=1,
                          maximum=MAX_SUMMARY_LEN)
    length_penalty: float = option(0.6, "alpha of the GNMT length penalty ((5 + length) / 6) ** alpha; larger "
                                   "favours longer summaries", minimum=0)
    no_repeat_ngram_size: int = option(2, "forbid repeating any n-gram of this size in a summary (2: no word thrice "
                                       "in a row); 0 is off", minimum=0)


DEFAULT = Decoding()


def gnmt_length_penalty(length, alpha):
    """The GNMT length penalty `((5 + length) / 6) ** alpha`.

    Args:
        length: Tensor of lengths (end token included).
        alpha: Float exponent; 0 gives 1.

    Returns:
        Float32 tensor shaped like `length`.

    Example:

    >>> float(gnmt_length_penalty(tf.constant(7), 1.0))
    2.0
    """
    return ((5.0 + tf.cast(length, tf.float32)) / 6.0) ** alpha


def banned_ngram_tokens(tokens, step, ngram_size, vocab_size):
    """Which next tokens would repeat an n-gram of the hypothesis.

    Args:
        tokens: (rows, max_len) ids; positions `< step` hold the hypothesis.
        step: Scalar, the position of the token about to be generated.
        ngram_size: Positive Python int `n`.
        vocab_size: Int or scalar int32 tensor.

    Returns:
        Bool (rows, vocab_size), True for a token `w` such that the last
        `n - 1` tokens followed by `w` already occur in the hypothesis.

    Example:

    >>> tokens = tf.constant([[5, 6, 5, 0]])
    >>> banned_ngram_tokens(tokens, 3, 2, 8).numpy()[0].nonzero()[0]
    array([6])
    """
    max_len = tokens.shape[1]
    rows = tf.shape(tokens)[0]
    if max_len is None:  # a max_len given as a tensor, e.g. a SavedModel input
        windows = tf.maximum(tf.shape(tokens)[1] - ngram_size + 1, 0)
    else:
        windows = max_len - ngram_size + 1  # n-grams that fit: start j, last token at j + n - 1
        if windows <= 0:
            return tf.zeros((rows, vocab_size), dtype=tf.bool)
    match = tf.range(windows)[None, :] <= step - ngram_size  # only n-grams that lie before `step`
    for offset in range(ngram_size - 1):
        prefix_token = tf.gather(tokens, tf.maximum(step - ngram_size + 1 + offset, 0), axis=1)  # (rows,)
        match &= tokens[:, offset : offset + windows] == prefix_token[:, None]  # (rows, windows)
    following = tokens[:, ngram_size - 1 : ngram_size - 1 + windows]  # (rows, windows)
    match = tf.broadcast_to(match, tf.shape(following))  # n = 1 compares no prefix: match is still (1, windows)
    row_ids = tf.broadcast_to(tf.range(rows)[:, None], tf.shape(following))
    indices = tf.reshape(tf.stack([row_ids, following], axis=-1), (-1, 2))
    counts = tf.scatter_nd(indices, tf.reshape(tf.cast(match, tf.int32), (-1,)), (rows, vocab_size))
    return counts > 0


def next_token_log_probs(logits, tokens, step, bos_id, eos_id, min_len, no_repeat_ngram_size):
    """Log-softmax of the logits, with the forbidden tokens set to `FORBIDDEN`.

    Args:
        logits: (rows, vocab_size), or (rows, extended_size).
        tokens: (rows, max_len), the hypotheses so far.
        step: Scalar, the position of the token about to be generated.
        bos_id, eos_id: Ids of the start and end tokens.
        min_len: Fewest tokens before `eos_id`.
        no_repeat_ngram_size: Size of the n-grams not to repeat; 0 disables.

    Returns:
        (rows, vocab_size) float32.
    """
    log_probs = tf.nn.log_softmax(tf.cast(logits, tf.float32), axis=-1)
    vocab_size = tf.shape(log_probs)[-1]  # the extended size with a copying model
    banned = tf.reduce_any(tf.range(vocab_size)[:, None] == [PAD_ID, UNK_ID, bos_id], axis=-1)  # (vocab_size,)
    banned |= (tf.range(vocab_size) == eos_id) & (step < min_len)
    banned = tf.broadcast_to(banned, tf.shape(log_probs))
    if no_repeat_ngram_size > 0:
        banned |= banned_ngram_tokens(tokens, step, no_repeat_ngram_size, vocab_size)
    return tf.where(banned, FORBIDDEN, log_probs)


def check_decoding(spell=flag, **options):
    """Raises `UsageError` naming the first decoding option out of its `Decoding` range, or a min_len not below max_len.

    Args:
        spell: How the message spells an option: its flag (`beam-size`) by
            default; `str` gives the Python argument (`beam_size`).
        **options: `Decoding` fields and their values. A scalar tensor (a
            SavedModel input) is left out: its caller bounds it.

    Example:

    >>> check_decoding(spell=str, beam_size=0)
    Traceback (most recent call last):
    ...
    textlstm.errors.UsageError: beam_size must be a positive integer. Received: beam_size=0
    """
    fields = {field.name: field for field in dataclasses.fields(Decoding)}
    values = {name: value for name, value in options.items() if not tf.is_tensor(value)}
    for name, value in values.items():
        check_field(fields[name], value, spell(name))
    if "min_len" in values and "max_len" in values and values["min_len"] >= values["max_len"]:
        shortest, longest = spell("min_len"), spell("max_len")
        raise UsageError(f"{shortest} must be smaller than {longest}. Received: {shortest}={values['min_len']}, "
                         f"{longest}={values['max_len']}")


def greedy_search(
    model,
    source,
    bos_id,
    eos_id,
    max_len=DEFAULT.max_len,
    min_len=DEFAULT.min_len,
    length_penalty=DEFAULT.length_penalty,
    no_repeat_ngram_size=DEFAULT.no_repeat_ngram_size,
    source_extended=None,
):
    """Decodes by taking the most likely allowed token at each step.

    The reference for `beam_search`: with `beam_size=1` both give the same
    tokens and scores.

    Args:
        model: A built `Seq2Seq`.
        source: (batch, source_time) int ids, padded with 0.
        bos_id: Id of the start token fed at the first step.
        eos_id: Id of the end token.
        max_len: Most steps, end token included.
        min_len: Fewest tokens before the end token.
        length_penalty: Alpha of the GNMT length penalty.
        no_repeat_ngram_size: Forbid repeating n-grams of this size; 0 disables.
        source_extended: The source's extended ids, for a copying model to
            write words outside the vocabulary; None if it has none.

    Returns:
        `(tokens, scores)`: int32 (batch, max_len) padded with 0, and
        float32 (batch,) length-normalised log-probabilities.

    Example:

    >>> from textlstm.seq2seq.model import build_model
    >>> model = build_model(vocab_size=20, units=4, embedding_dim=4)
    >>> tokens, scores = greedy_search(model, tf.constant([[4, 5, 6]]), 2, 3, max_len=5)
    >>> tokens.shape, scores.shape
    (TensorShape([1, 5]), TensorShape([1]))
    """
    check_decoding(str, max_len=max_len, min_len=min_len, no_repeat_ngram_size=no_repeat_ngram_size)
    source = tf.cast(source, tf.int32)
    batch = tf.shape(source)[0]
    encoded = model.encode(source, source_extended=source_extended)

    def body(step, tokens, log_prob, length, finished, states):
        previous = tf.gather(tokens, tf.maximum(step - 1, 0), axis=1)
        previous = tf.where(step == 0, bos_id, previous)
        logits, states = model.decode_step(previous, states, encoded)
        log_probs = next_token_log_probs(logits, tokens, step, bos_id, eos_id, min_len, no_repeat_ngram_size)
        token = tf.argmax(log_probs, axis=-1, output_type=tf.int32)  # (batch,)
        token_log_prob = tf.gather(log_probs, token, batch_dims=1)
        token = tf.where(finished, PAD_ID, token)
        log_prob += tf.where(finished, 0.0, token_log_prob)
        length = tf.where(finished, length, step + 1)
        finished |= token == eos_id
        tokens = tf.where(tf.range(max_len)[None, :] == step, token[:, None], tokens)
        return step + 1, tokens, log_prob, length, finished, states

    _, tokens, log_prob, length, _, _ = tf.while_loop(
        lambda step, tokens, log_prob, length, finished, states: (step < max_len)
        & ~tf.reduce_all(finished),
        body,
        (
            tf.constant(0),
            tf.zeros((batch, max_len), tf.int32),
            tf.zeros((batch,), tf.float32),
            tf.zeros((batch,), tf.int32),
            tf.zeros((batch,), tf.bool),
            model.initial_states(encoded),
        ),
    )
    tokens = tf.where(tokens == eos_id, PAD_ID, tokens)
    return tokens, log_prob / gnmt_length_penalty(length, length_penalty)


def _repeat(tensor, beam_size):
    return tf.repeat(tensor, beam_size, axis=0)  # (batch, ...) -> (batch * beam_size, ...)


def beam_search(
    model,
    source,
    bos_id,
    eos_id,
    beam_size=DEFAULT.beam_size,
    max_len=DEFAULT.max_len,
    min_len=DEFAULT.min_len,
    length_penalty=DEFAULT.length_penalty,
    no_repeat_ngram_size=DEFAULT.no_repeat_ngram_size,
    source_extended=None,
):
    """Decodes by keeping the `beam_size` best hypotheses at each step.

    At each step every live hypothesis is extended by every allowed token;
    a finished hypothesis (one that produced `eos_id`) is carried over
    unchanged. Of these candidates, the `beam_size` with the best
    length-normalised score are kept. The search stops when all kept
    hypotheses are finished or after `max_len` steps; the best kept one is
    returned (finished or not).

    Args:
        model: A built `Seq2Seq`.
        source: (batch, source_time) int ids, padded with 0.
        bos_id: Id of the start token fed at the first step.
        eos_id: Id of the end token.
        beam_size: Hypotheses kept per source; an int or a scalar int32
            tensor (at least 1).
        max_len: Most steps, end token included; an int or a scalar int32
            tensor (more than `min_len`).
        min_len: Fewest tokens before the end token.
        length_penalty: Alpha of the GNMT length penalty.
        no_repeat_ngram_size: Forbid repeating n-grams of this size; 0 disables.
        source_extended: The source's extended ids, for a copying model to
            write words outside the vocabulary; None if it has none.

    Returns:
        `(tokens, scores)`: int32 (batch, max_len) padded with 0, and
        float32 (batch,) length-normalised log-probabilities.

    Example:

    >>> from textlstm.seq2seq.model import build_model
    >>> model = build_model(vocab_size=20, units=4, embedding_dim=4)
    >>> tokens, scores = beam_search(model, tf.constant([[4, 5, 6]]), 2, 3, beam_size=3, max_len=5)
    >>> tokens.shape, scores.shape
    (TensorShape([1, 5]), TensorShape([1]))
    """
    check_decoding(str, beam_size=beam_size, max_len=max_len, min_len=min_len,
                   no_repeat_ngram_size=no_repeat_ngram_size)
    source = tf.cast(source, tf.int32)
    batch = tf.shape(source)[0]
    rows = batch * beam_size
    encoded = tf.nest.map_structure(lambda tensor: _repeat(tensor, beam_size),
                                    model.encode(source, source_extended=source_extended))
    vocab_size = extended_size(encoded["copy_ids"], model.vocab_size) if model.copy else model.vocab_size
    # A finished hypothesis has one continuation, the pad id, at no cost.
    finished_log_probs = tf.where(tf.range(vocab_size) == PAD_ID, 0.0, FORBIDDEN)  # (vocab_size,)

    def body(step, tokens, log_prob, length, finished, states):
        previous = tf.gather(tokens, tf.maximum(step - 1, 0), axis=1)
        previous = tf.where(step == 0, bos_id, previous)  # (rows,)
        logits, states = model.decode_step(previous, states, encoded)
        log_probs = next_token_log_probs(logits, tokens, step, bos_id, eos_id, min_len, no_repeat_ngram_size)
        log_probs = tf.reshape(log_probs, (batch, beam_size, vocab_size))
        log_probs = tf.where(finished[..., None], finished_log_probs, log_probs)
        candidate_log_prob = log_prob[..., None] + log_probs  # (batch, beam, vocab)
        candidate_length = tf.where(finished, length, step + 1)  # (batch, beam)
        candidate_score = candidate_log_prob / gnmt_length_penalty(candidate_length, length_penalty)[..., None]
        _, best = tf.math.top_k(tf.reshape(candidate_score, (batch, beam_size * vocab_size)), k=beam_size)
        beam, token = best // vocab_size, best % vocab_size  # (batch, beam) each
        log_prob = tf.gather(tf.reshape(candidate_log_prob, (batch, -1)), best, batch_dims=1)
        length = tf.gather(candidate_length, beam, batch_dims=1)
        finished = tf.gather(finished, beam, batch_dims=1) | (token == eos_id)
        origin = tf.reshape(beam + tf.range(batch)[:, None] * beam_size, (-1,))  # (rows,) rows they extend
        tokens = tf.gather(tokens, origin)
        tokens = tf.where(tf.range(max_len)[None, :] == step, tf.reshape(token, (-1, 1)), tokens)
        states = tf.nest.map_structure(lambda state: tf.gather(state, origin), states)
        return step + 1, tokens, log_prob, length, finished, states

    # Only beam 0 is alive at the start, so the first step does not pick the same token beam_size times.
    initial_log_prob = tf.tile(tf.concat([[0.0], tf.fill([beam_size - 1], FORBIDDEN)], 0)[None], [batch, 1])
    _, tokens, log_prob, length, _, _ = tf.while_loop(
        lambda step, tokens, log_prob, length, finished, states: (step < max_len)
        & ~tf.reduce_all(finished),
        body,
        (
            tf.constant(0),
            tf.zeros((rows, max_len), tf.int32),
            initial_log_prob,
            tf.zeros((batch, beam_size), tf.int32),
            tf.zeros((batch, beam_size), tf.bool),
            model.initial_states(encoded),
        ),
    )
    scores = log_prob / gnmt_length_penalty(length, length_penalty)  # (batch, beam)
    best = tf.argmax(scores, axis=-1, output_type=tf.int32)  # (batch,)
    tokens = tf.gather(tf.reshape(tokens, (batch, beam_size, max_len)), best, batch_dims=1)
    tokens = tf.where(tokens == eos_id, PAD_ID, tokens)
    return tokens, tf.gather(scores, best, batch_dims=1)
