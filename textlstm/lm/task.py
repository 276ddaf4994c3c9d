"""The language-model task's parts, as the task registry (`textlstm.tasks`) lists them."""

from textlstm.corpus.tokenizers import load_tokenizer
from textlstm.lm.config import LMConfig

config_class = LMConfig


def train(config):
    """Trains, evaluates and exports a language model (`train_language_model`); the final metrics."""
    from textlstm.lm.train import train_language_model

    return train_language_model(config)


def print_training(metrics):
    """Prints the perplexities, bits per character, the vocabulary, the speed and the generated samples."""
    print(f"valid perplexity {metrics['valid_perplexity']:.2f}  test perplexity "
          f"{metrics['test_perplexity']:.2f}  (vocabulary {metrics['vocab_size']}, "
          f"{metrics['tokens_per_second']:.0f} tokens/s, {metrics['wall_time_seconds']:.0f} s)")
    print(f"valid bits per character {metrics['valid_bits_per_character']:.3f}  test bits per character "
          f"{metrics['test_bits_per_character']:.3f}  (<unk>: {metrics['test_unknown_share']:.1%} of the test tokens"
          f"{', so a lower bound' if metrics['test_unknown_share'] else ''})")
    for sample in metrics["samples"]:
        print(f"  {sample['prompt']} |{sample['text']}".replace("\n", " / "))


def evaluate(run, data, split, source_field=None, target_field=None):
    """Perplexity of the run on other data (`evaluate_run`); a language model has no fields to pick."""
    from textlstm.lm.inference import evaluate_run

    return evaluate_run(run, data, split)


def print_evaluation(result):
    print(f"perplexity {result['perplexity']:.2f} over {result['tokens']} tokens ({result['unknown_tokens']} <unk>)  "
          f"top-1 recall {result['top1_recall']:.1%}  top-3 recall {result['top3_recall']:.1%}")


def tokenizer(level, directory):
    """The run's tokenizer: words, characters, or the subword model in directory (`load_tokenizer`)."""
    return load_tokenizer(level, directory)
