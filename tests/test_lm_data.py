import numpy as np
import pytest
import tensorflow as tf

from lm_corpus import split_lines
from textlstm.errors import UsageError
from textlstm.lm.config import LMConfig
from textlstm.corpus import find_split_files
from textlstm.lm.data import stream_windows, tokenize_lines
from textlstm.lm.model import build_language_model, compile_language_model, copy_weights
from textlstm.lm.perplexity import evaluate_perplexity
from textlstm.vocab import EOS, Vocabulary


def test_windows_continue_each_stream_from_batch_to_batch():
    ids = np.arange(1, 24)  # 22 targets, 3 streams of 8 (2 padded), windows of 3
    inputs, targets, weights = stream_windows(ids, batch_size=3, bptt=3)
    batches = inputs.reshape(-1, 3, 3)  # (window, stream, step)
    streams = np.concatenate(list(batches), axis=1)  # (stream, all steps)
    assert streams[0, :8].tolist() == list(range(1, 9))
    assert streams[1, :8].tolist() == list(range(9, 17))
    assert streams[2, :6].tolist() == list(range(17, 23))
    np.testing.assert_array_equal(targets[weights > 0], inputs[weights > 0] + 1)


def test_windows_weight_every_real_target_once_and_no_padding():
    ids = np.arange(1, 101)
    inputs, targets, weights = stream_windows(ids, batch_size=4, bptt=7)
    assert weights.sum() == len(ids) - 1
    assert sorted(targets[weights > 0].tolist()) == list(range(2, 101))
    assert (targets[weights == 0] == 0).all()


def test_perplexity_carries_state_and_counts_only_real_tokens():
    config = LMConfig(num_layers=2, units=6, embedding_dim=6, dropout=0.0, tie_weights=False, seed=0)
    vocab_size, batch_size, bptt = 12, 3, 4
    ids = np.random.default_rng(0).integers(1, vocab_size, size=30)  # 29 targets: last stream is padded
    stateful = build_language_model(config, vocab_size, batch_size=batch_size, stateful=True)
    compile_language_model(stateful, config)
    windows = tf.data.Dataset.from_tensor_slices(stream_windows(ids, batch_size, bptt)).batch(batch_size)
    reported = evaluate_perplexity(stateful, windows)

    # By hand: run each stream whole in one call (no windows, so nothing to carry), keep real positions only.
    whole = build_language_model(config, vocab_size)
    copy_weights(stateful, whole)
    stream_length = -(-29 // batch_size)
    losses = []
    for stream in range(batch_size):
        start = stream * stream_length
        end = min(start + stream_length, 29)
        logits = np.asarray(whole(ids[None, start:end]))[0]  # (time, vocab)
        log_probabilities = logits - np.log(np.exp(logits).sum(-1, keepdims=True))
        losses += [-log_probabilities[t, ids[start + t + 1]] for t in range(end - start)]
    assert len(losses) == 29
    np.testing.assert_allclose(reported, np.exp(np.mean(losses)), rtol=1e-5)

    # Resetting the state at every window would be a different (worse) number.
    windowed = []
    for start in range(0, 29, bptt):
        end = min(start + bptt, 29)
        logits = np.asarray(whole(ids[None, start:end]))[0]
        log_probabilities = logits - np.log(np.exp(logits).sum(-1, keepdims=True))
        windowed += [-log_probabilities[t, ids[start + t + 1]] for t in range(end - start)]
    assert abs(np.exp(np.mean(windowed)) - reported) > 1e-4


def test_vocabulary_keeps_frequent_words_and_maps_the_rest_to_unk(tmp_path):
    vocab = Vocabulary.build([["a", "b", "a", "c", "a", "b"]], max_size=6, min_count=1)
    assert vocab.tokens[4:] == ["a", "b"]
    assert vocab.encode(["c", "a"]) == [vocab.unk_id, 4]
    vocab.save(tmp_path / "vocab.json")
    assert Vocabulary.load(tmp_path / "vocab.json").tokens == vocab.tokens
    assert Vocabulary.build([["a", "b", "a"]], min_count=2).tokens[4:] == ["a"]


def test_every_line_ends_in_one_eos_and_chars_keep_spaces():
    assert tokenize_lines(["a b", "", "c"], "word") == [["a", "b", EOS], ["c", EOS]]
    assert tokenize_lines(["ab c"], "char") == [["a", "b", " ", "c", EOS]]


def test_split_files_are_found_by_ptb_style_names(tmp_path):
    for split in ("train", "valid", "test"):
        (tmp_path / f"ptb.{split}.txt").write_text("x\n")
    assert find_split_files(str(tmp_path)) == {split: str(tmp_path / f"ptb.{split}.txt")
                                               for split in ("test", "train", "valid")}


def test_a_single_file_is_cut_into_consecutive_blocks(tmp_path):
    path = tmp_path / "corpus.txt"
    path.write_text("\n".join(f"line {index}" for index in range(100)) + "\n")
    splits = split_lines(str(path))
    assert [len(splits[split]) for split in ("train", "valid", "test")] == [90, 5, 5]
    assert splits["valid"][0] == "line 90" and splits["test"][-1] == "line 99"
    assert split_lines(str(path)) == splits


def test_a_directory_without_training_file_is_refused(tmp_path):
    (tmp_path / "notes.txt").write_text("x\n")
    with pytest.raises(UsageError, match="no training file"):
        split_lines(str(tmp_path))


def test_hub_style_names_load_through_datasets(tmp_path):
    # `hf:` goes through datasets.load_dataset(NAME); a local folder stands in for the hub here.
    for split in ("train", "validation", "test"):
        (tmp_path / f"{split}.txt").write_text(f"{split} one\n{split} two\n")
    splits = split_lines(f"hf:{tmp_path}")
    assert splits["valid"] == ["validation one", "validation two"]
    assert splits["train"][0] == "train one"


def test_a_column_of_sentence_lists_is_joined_into_lines():
    import datasets

    from textlstm.lm.data import text_only

    dataset = datasets.Dataset.from_dict({"id": [1, 2, 3], "sentences": [["a b", "c"], [], ["d"]]})
    assert list(text_only(dataset, "a hub split")["text"]) == ["a b c", "d"]
