"""Tokenizers for every language: text -> tokens -> the same text, and subword corpora encoded through the cache."""

import json

import numpy as np
import pytest

from lm_corpus import split_lines
from summarize_data import write_sample
from textlstm.corpus.tokenizers import Characters, Subwords, Words, load_tokenizer
from textlstm.errors import UsageError
from textlstm.lm.encoded import encoded_corpus
from textlstm.summarize.config import SummarizeConfig
from textlstm.summarize.data import load_pairs
from textlstm.summarize.encoded import encoded_pairs, pair_arrays
from textlstm.vocab import EOS

# Lines of five scripts; the round trips below also read characters none of them holds.
TRAINING_TEXT = [
    "the quick brown fox jumps over the lazy dog",
    "a language model predicts the next word of a sentence",
    "春风又绿江南岸，明月何时照我还。",
    "床前明月光，疑是地上霜。举头望明月，低头思故乡。",
    "吾輩は猫である。名前はまだ無い。",
    "東京は日本の首都です。きょうはいい天気ですね。",
    "서울은 한국의 수도입니다. 오늘은 날씨가 좋네요.",
    "안녕하세요 만나서 반갑습니다",
    "emoji stay as they are 😀 🎉",
] * 30

ROUND_TRIPS = [
    "the lazy fox predicts a sentence",
    "明月几时有？把酒问青天。",
    "吾輩は猫である。ここはどこ？",
    "한국의 날씨가 좋네요",
    "party time 🥳🎉 ok",
    "  spaced   out\ttext  ",
]


def normalised(text):
    return " ".join(text.split())


@pytest.fixture(scope="module", params=["unigram", "bpe"])
def subwords(request):
    return Subwords.train(TRAINING_TEXT, vocab_size=600, model_type=request.param)


@pytest.mark.parametrize("text", ROUND_TRIPS)
def test_subwords_give_back_the_text_in_every_language(subwords, text):
    pieces = subwords.split([text]).to_pylist()[0]
    assert subwords.join(pieces) == normalised(text)
    assert "<unk>" not in pieces  # characters never seen are written as their bytes
    assert all(piece in subwords.vocabulary().ids for piece in pieces)


@pytest.mark.parametrize("text", ROUND_TRIPS)
def test_words_and_characters_give_back_the_text(text):
    assert Words().join(Words().split([text]).to_pylist()[0]) == normalised(text)
    assert Characters().join(Characters().split([text]).to_pylist()[0]) == text.strip()


def test_a_subword_model_learns_whole_words_and_keeps_the_special_ids(subwords):
    vocab = subwords.vocabulary()
    assert vocab.tokens[:4] == ["<pad>", "<unk>", "<eos>", "<bos>"] and len(vocab) <= 600
    pieces = subwords.split(["the lazy dog"]).to_pylist()[0]
    assert "\u2581the" in pieces and len(pieces) < len("the lazy dog") - 2  # pieces, not characters


def test_a_subword_model_saved_and_loaded_cuts_alike(subwords, tmp_path):
    subwords.save(tmp_path / "tokenizer.model")
    loaded = load_tokenizer("subword", tmp_path)
    assert loaded.split(ROUND_TRIPS).to_pylist() == subwords.split(ROUND_TRIPS).to_pylist()


def test_a_vocabulary_too_small_for_the_characters_is_one_line():
    with pytest.raises(UsageError, match="max-vocab 100 cannot hold the .* characters .* raise --max-vocab above"):
        Subwords.train(TRAINING_TEXT, vocab_size=100)


def write_mixed_corpus(directory):
    for split, lines in (("train", TRAINING_TEXT), ("valid", TRAINING_TEXT[:9]), ("test", ROUND_TRIPS[:5])):
        (directory / f"{split}.txt").write_text("\n".join(lines) + "\n\n", encoding="utf-8")
    return directory


@pytest.mark.parametrize("model_type", ["unigram", "bpe"])
def test_a_subword_corpus_is_the_model_pieces_of_each_line(tmp_path, model_type):
    data = str(write_mixed_corpus(tmp_path))
    corpus = encoded_corpus(data, "subword", 500, 1, subword_model=model_type)
    model = Subwords.train(split_lines(data)["train"], 500, model_type)
    assert corpus.tokenizer.model == model.model and corpus.vocab.tokens == model.vocabulary().tokens
    for split, lines in split_lines(data).items():
        expected = [index for line in lines for index in corpus.vocab.encode(model.split([line]).to_pylist()[0] + [EOS])]
        np.testing.assert_array_equal(corpus.ids[split], expected)
        assert corpus.characters[split] == sum(len(line) + 1 for line in lines) and corpus.unknown[split] == 0
    assert corpus.test_head[0] == model.split([ROUND_TRIPS[0]]).to_pylist()[0] + [EOS]
    assert encoded_corpus(data, "subword", 500, 1, subword_model=model_type).path == corpus.path
    assert encoded_corpus(data, "subword", 400, 1, subword_model=model_type).path != corpus.path


def test_word_and_character_corpora_count_characters_and_unknown_tokens(tmp_path):
    data = str(write_mixed_corpus(tmp_path))
    lines = split_lines(data)
    for level in ("word", "char"):
        corpus = encoded_corpus(data, level, 0, 2)
        for split in ("train", "valid", "test"):
            assert corpus.characters[split] == sum(len(line) + 1 for line in lines[split])
            assert corpus.unknown[split] == int(np.count_nonzero(np.asarray(corpus.ids[split]) == 1))
        assert corpus.unknown["test"] > 0 and corpus.unknown["train"] == 0


def test_subword_summaries_are_the_model_pieces(tmp_path):
    config = SummarizeConfig(data=str(write_sample(tmp_path, train=40, valid=6, test=4)), level="subword",
                             max_vocab=400)
    got = encoded_pairs(config)
    pairs, _ = load_pairs(config.data)
    model = Subwords.train(pairs["train"].source + pairs["train"].target, 400)  # one batch: documents, then summaries
    assert got.tokenizer.model == model.model and got.vocab.tokens == model.vocabulary().tokens
    for split in ("train", "valid"):
        sources, targets = pairs[split].training_pairs("first")
        expected = pair_arrays(model.split(sources).to_pylist(), model.split(targets).to_pylist(), got.vocab, config)
        for name, values in expected.items():
            np.testing.assert_array_equal(got.arrays[split][name], values, err_msg=f"{split} {name}")
    meta = json.loads(open(f"{got.path}/meta.json").read())
    assert meta["level"] == "subword"
