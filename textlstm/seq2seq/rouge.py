"""ROUGE scores with Google's `rouge-score`, on words or on characters, and the Lead baseline.

rouge-score's own tokenizer keeps only the letters a to z and the digits
of a text (lower-cased, stemmed): Chinese, Japanese, Korean, Greek or
Russian text leaves it nothing to count. For such text (`rouge_unit`
says which) every score here counts characters instead, and the Lead
baseline takes characters too.
"""

from rouge_score import rouge_scorer, tokenizers

ROUGE_TYPES = ("rouge1", "rouge2", "rougeL")
UNITS = ("words", "characters")


class CharacterTokenizer(tokenizers.Tokenizer):
    """rouge-score's tokenizer for text scored by characters: every character but white space, lower-cased.

    Example:

    >>> CharacterTokenizer().tokenize("春风 Ab")
    ['春', '风', 'a', 'b']
    """

    def tokenize(self, text):
        return [character for character in text.lower() if not character.isspace()]


def rouge_unit(texts):
    """"words" if rouge-score's tokenizer keeps at least half of the texts' characters, else "characters".

    Example:

    >>> rouge_unit(["the cat sat"]), rouge_unit(["春风又绿江南岸"]), rouge_unit(["서울은 한국의 수도"])
    ('words', 'characters', 'characters')
    """
    kept = sum(len("".join(tokenizers.DefaultTokenizer().tokenize(text))) for text in texts)
    total = sum(len("".join(text.split())) for text in texts)
    return "words" if 2 * kept >= total else "characters"


def rouge(references, predictions, unit="words"):
    """ROUGE-1, ROUGE-2 and ROUGE-L F1, averaged over pairs, in percent.

    On words: `rouge_scorer.RougeScorer(["rouge1", "rouge2", "rougeL"],
    use_stemmer=True)`, which lowercases, keeps letters and digits and
    applies the Porter stemmer. On characters: the same scorer with
    `CharacterTokenizer`. A prediction with several references gets, per
    ROUGE type, the score of the reference it matches best
    (`RougeScorer.score_multi`).

    Args:
        references: List of reference summaries: each a string, or a list
            of strings for several references.
        predictions: List of predicted summaries, as many as `references`.
        unit: "words" or "characters" (`rouge_unit` of the references).

    Returns:
        Dict from `"rouge1"`, `"rouge2"`, `"rougeL"` to floats in [0, 100].

    Example:

    >>> rouge(["the cat sat"], ["the cat ran"])["rouge1"]
    66.66...
    >>> rouge([["a dog ran", "the cat sat"]], ["the cat sat"])["rouge1"]
    100.0
    >>> rouge(["春风又绿"], ["春风绿"], unit="characters")["rouge1"]
    85.71...
    """
    if len(references) != len(predictions):
        raise ValueError(
            "references and predictions must have the same length. "
            f"Received: len(references)={len(references)}, len(predictions)={len(predictions)}"
        )
    if not references:
        raise ValueError("references must not be empty. Received: references=[]")
    if unit not in UNITS:
        raise ValueError(f"unit must be one of {', '.join(UNITS)}. Received: unit={unit!r}")
    if unit == "words":
        scorer = rouge_scorer.RougeScorer(list(ROUGE_TYPES), use_stemmer=True)
    else:
        scorer = rouge_scorer.RougeScorer(list(ROUGE_TYPES), tokenizer=CharacterTokenizer())
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


def mean_length(summaries, unit="words"):
    """The mean number of whitespace-separated words (or of characters but white space) of `summaries`, rounded.

    Args:
        summaries: Non-empty list of strings, e.g. the training targets.
        unit: "words" or "characters".

    Returns:
        An int, at least 1.

    Example:

    >>> mean_length(["a b", "a b c d"]), mean_length(["春风", "又绿江南"], "characters")
    (3, 3)
    """
    if not summaries:
        raise ValueError("summaries must not be empty. Received: summaries=[]")
    return max(1, round(sum(_length(summary, unit) for summary in summaries) / len(summaries)))


def _length(text, unit):
    return len(text.split()) if unit == "words" else len("".join(text.split()))


def lead(texts, length, unit="words"):
    """The Lead baseline: the first `length` words (or characters but white space, white space kept) of each text.

    Args:
        texts: List of source texts.
        length: Positive int; usually `mean_length` of the training targets.
        unit: "words" or "characters".

    Returns:
        List of strings.

    Example:

    >>> lead(["hi anna the meeting moved", "ok"], 3), lead(["春风 又绿江南岸"], 3, "characters")
    (['hi anna the', 'ok'], ['春风 又'])
    """
    if isinstance(length, bool) or not isinstance(length, int) or length <= 0:
        raise ValueError(f"length must be a positive integer. Received: length={length!r}")
    if unit == "words":
        return [" ".join(text.split()[:length]) for text in texts]
    leads = []
    for text in texts:
        text, kept, end = " ".join(text.split()), 0, 0
        while end < len(text) and kept < length:
            kept += not text[end].isspace()
            end += 1
        leads.append(text[:end])
    return leads
