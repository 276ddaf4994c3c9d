"""The summarization task's parts, as the task registry (`textlstm.tasks`) lists them."""

from textlstm.summarize.config import SummarizeConfig

config_class = SummarizeConfig


def train(config):
    """Trains, exports and scores a summarizer (`train_summarizer`); the final metrics."""
    from textlstm.summarize.train import train_summarizer

    return train_summarizer(config)


def print_training(metrics):
    """Prints the test ROUGE beside the Lead baseline, and a few examples."""
    from textlstm.summarize.inference import rouge_table

    print(f"test ROUGE F1 (%) on {metrics['split_sizes']['test']} examples, best epoch "
          f"{metrics['best_epoch']}, {metrics['wall_time_seconds']:.0f} s:")
    print(rouge_table(metrics))
    for example in metrics["examples"]:
        source = " ".join(example["source"].split())
        print(f"  source:    {source[:150]}{'...' if len(source) > 150 else ''}")
        print(f"  reference: {example['reference']}")
        print(f"  output:    {example['output']}")


def evaluate(run, data, split, source_field=None, target_field=None):
    """ROUGE of the run's SavedModel on other data, beside the Lead baseline (`evaluate_run`)."""
    from textlstm.summarize.inference import evaluate_run

    return evaluate_run(run, data, split, source_field, target_field)


def print_evaluation(result):
    from textlstm.summarize.inference import rouge_table

    print(f"ROUGE F1 (%) on {result['examples']} examples ({result['skipped']} skipped)")
    print(rouge_table(result))


def tokenizer(level, directory):
    """The run's tokenizer: the summarizer's words, characters, or the subword model in directory."""
    from textlstm.summarize.data import summary_tokenizer

    return summary_tokenizer(level, directory)
