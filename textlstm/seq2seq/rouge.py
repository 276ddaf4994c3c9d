"""ROUGE scores with Google's `rouge-score`, and the Lead baseline."""

from rouge_score import rouge_scorer

ROUGE_TYPES = ("rouge1", "rouge2", "rougeL")


def rouge(references, predictions):
    """ROUGE-1, ROUGE-2 and ROUGE-L F1, averaged over pairs, in percent.

    Uses `rouge_scorer.RougeScorer(["rouge1", "rouge2", "rougeL"],
    use_stemmer=True)`, which lowercases, keeps letters and digits and
    applies the Porter stemmer. A prediction with several references gets,
    per ROUGE type, the score of the reference it matches best
    (`RougeScorer.score_multi`).

    Args:
        references: List of reference summaries: each a string, or a list
            of strings for several references.
        predictions: List of predicted summaries, as many as `references`.

    Returns:
        Dict from `"rouge1"`, `"rouge2"`, `"rougeL"` to floats in [0, 100].

    Example:

    >>> rouge(["the cat sat"], ["the cat ran"])["rouge1"]
    66.66...
    >>> rouge([["a dog ran", "the cat sat"]], ["the cat sat"])["rouge1"]
    100.0
    """
    if len(references) != len(predictions):
        raise ValueError(
            "references and predictions must have the same length. "
            f"Received: len(references)={len(references)}, len(predictions)={len(predictions)}"
        )
    if not references:
        raise ValueError("references must not be empty. Received: references=[]")
    scorer = rouge_scorer.RougeScorer(list(ROUGE_TYPES), use_stemmer=True)
    totals = dict.fromkeys(ROUGE_TYPES, 0.0)
    for reference, prediction in zip(references, predictions):
        reference = [reference] if isinstance(reference, str) else reference
        if len(reference) == 1:
            scores = scorer.score(reference[0], prediction)
        else:
            scores = scorer.score_multi(reference, prediction)
        for rouge_type in ROUGE_TYPES:
            totals[rouge_type] += scores[rouge_type].fmeasure
    return {rouge_type: 100.0 * total / len(references) for rouge_type, total in totals.items()}


def mean_length(summaries):
    """The mean number of whitespace-separated words of `summaries`, rounded.

    Args:
        summaries: Non-empty list of strings, e.g. the training targets.

    Returns:
        An int, at least 1.

    Example:

    >>> mean_length(["a b", "a b c d"])
    3
    """
    if not summaries:
        raise ValueError("summaries must not be empty. Received: summaries=[]")
    return max(1, round(sum(len(summary.split()) for summary in summaries) / len(summaries)))


def lead(texts, num_words):
    """The Lead baseline: the first `num_words` words of each text.

    Args:
        texts: List of source texts.
        num_words: Positive int; usually `mean_length` of the training targets.

    Returns:
        List of strings.

    Example:

    >>> lead(["hi anna the meeting moved", "ok"], 3)
    ['hi anna the', 'ok']
    """
    if isinstance(num_words, bool) or not isinstance(num_words, int) or num_words <= 0:
        raise ValueError(f"num_words must be a positive integer. Received: num_words={num_words!r}")
    return [" ".join(text.split()[:num_words]) for text in texts]
