"""How often summaries repeat themselves: a word trigram twice, or one word twice in a row."""


def repetition_rates(summaries):
    """The fractions of summaries that repeat a word trigram, and that repeat a word back to back.

    Words are the summary split on whitespace, lowercased.

    Args:
        summaries: List of strings.

    Returns:
        Dict with `repeated_trigram` and `repeated_word`, fractions in [0, 1] (0 for no summaries).

    Example:

    >>> repetition_rates(["shares shares fall", "a b c a b c", "a b c"])
    {'repeated_trigram': 0.333..., 'repeated_word': 0.333...}
    """
    trigram = word = 0
    for summary in summaries:
        words = summary.lower().split()
        trigrams = list(zip(words, words[1:], words[2:]))
        trigram += len(set(trigrams)) < len(trigrams)
        word += any(first == second for first, second in zip(words, words[1:]))
    count = max(len(summaries), 1)
    return {"repeated_trigram": trigram / count, "repeated_word": word / count}
