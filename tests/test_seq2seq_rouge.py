import pytest

from textlstm.seq2seq import lead, mean_length, rouge
from textlstm.seq2seq.rouge import rouge_unit


def test_identical_summaries_score_100():
    scores = rouge(["meeting moved to friday"], ["meeting moved to friday"])
    assert scores == pytest.approx({"rouge1": 100.0, "rouge2": 100.0, "rougeL": 100.0})


def test_hand_computed_f1():
    # unigrams: 2 of 3 match both ways -> 2/3; bigrams: "the cat" of 2 -> 1/2;
    # longest common subsequence "the cat" -> 2/3.
    scores = rouge(["the cat sat"], ["the cat ran"])
    assert scores == pytest.approx({"rouge1": 200 / 3, "rouge2": 50.0, "rougeL": 200 / 3})


def test_rouge_l_follows_word_order():
    # Same words, reversed: ROUGE-1 is perfect, the LCS is one word, no bigram matches.
    scores = rouge(["alpha beta gamma"], ["gamma beta alpha"])
    assert scores == pytest.approx({"rouge1": 100.0, "rouge2": 0.0, "rougeL": 100 / 3})


def test_stemming_and_case_are_ignored():
    assert rouge(["Meetings moved"], ["meeting moves"])["rouge1"] == pytest.approx(100.0)


def test_scores_are_averaged_over_pairs():
    scores = rouge(["a b", "c d"], ["a b", "e f"])
    assert scores == pytest.approx({"rouge1": 50.0, "rouge2": 50.0, "rougeL": 50.0})


def test_mismatched_lengths_are_named():
    with pytest.raises(ValueError, match="len\\(predictions\\)=2"):
        rouge(["a"], ["a", "b"])


def test_lead_takes_the_first_words():
    assert lead(["hi anna , the meeting moved", "ok"], 3) == ["hi anna ,", "ok"]
    with pytest.raises(ValueError, match="length=0"):
        lead(["a"], 0)


def test_mean_length_rounds():
    assert mean_length(["a b", "a b c d"]) == 3
    assert mean_length(["a", "a b"]) == 2  # 1.5 rounds half to even
    with pytest.raises(ValueError, match="summaries=\\[\\]"):
        mean_length([])


def test_lead_baseline_end_to_end():
    sources = ["hi team , the demo moved to friday .", "dear sam , report due monday ."]
    targets = ["demo moved to friday", "report due monday"]
    predictions = lead(sources, mean_length(targets))  # 4 words: "hi team , the"
    assert predictions[0] == "hi team , the"
    # pair 1: no overlap; pair 2: "dear sam , report" vs "report due monday": 1 unigram,
    # precision 1/3 (the comma is dropped), recall 1/3 -> F1 1/3.
    assert rouge(targets, predictions)["rouge1"] == pytest.approx(100 / 6)


def test_several_references_score_the_best_match_per_rouge_type():
    scores = rouge([["a dog ran home", "the cat sat"]], ["the cat sat"])
    assert scores == {"rouge1": 100.0, "rouge2": 100.0, "rougeL": 100.0}
    assert rouge([["the cat sat"]], ["the cat ran"]) == rouge(["the cat sat"], ["the cat ran"])


def test_text_without_latin_letters_is_scored_on_characters():
    references = ["春风又绿江南岸", "明月何时照我还"]
    predictions = ["春风绿江南", "明月照我还"]
    assert rouge_unit(references) == "characters" and rouge_unit(["the cat sat"]) == "words"
    assert rouge(references, predictions) == {"rouge1": 0.0, "rouge2": 0.0, "rougeL": 0.0}  # rouge-score sees nothing
    scores = rouge(references, predictions, unit="characters")
    # 春风绿江南 against 春风又绿江南岸: 5 of 5 and 5 of 7 unigrams, F1 5/6; bigrams 春风 绿江 江南: 3/4, 3/6.
    assert scores["rouge1"] == pytest.approx(100 * (5 / 6 + 5 / 6) / 2)
    assert scores["rouge2"] == pytest.approx(100 * 2 * (3 / 4) * (3 / 6) / (3 / 4 + 3 / 6))
    assert lead(["春风 又绿江南岸"], mean_length(references, "characters"), "characters") == ["春风 又绿江南岸"]
