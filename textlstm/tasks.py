"""The tasks textlstm trains, listed once: the run layer and the command line read them from here.

Each task package holds a `task` module with the task's parts, which the
entry loads on first use (so that listing the tasks, as `textlstm --help`
does, imports no trainer):

    config_class                  the task's config dataclass (`LMConfig`, ...)
    train(config)                 trains, evaluates and exports as `train.py TASK` does; the final metrics
                                  (None on a multiworker worker other than the chief)
    print_training(metrics)       prints what training achieved
    evaluate(run, data, split, source_field, target_field)
                                  scores a finished run on other data (`textlstm evaluate`)
    print_evaluation(result)      prints that score
    tokenizer(level, directory)   the tokenizer of a run of this task (`Run.tokenizer`)

Example:

>>> sorted(TASKS), TASKS["lm"].kind
(['lm', 'summarize'], 'a language-model')
"""

import dataclasses


@dataclasses.dataclass(frozen=True)
class TaskEntry:
    """One task of the registry.

    Attributes:
        name: The name `train.py` takes and config.json records ("lm").
        kind: The run's kind in messages ("a language-model", as in "a language-model run").
        help: One line for the list of tasks.
        description: What `train.py TASK --help` says first.
        load: () -> the task package's `task` module, imported on the first call.
    """

    name: str
    kind: str
    help: str
    description: str
    load: callable


def _language_model():
    from textlstm.lm import task

    return task


def _summarizer():
    from textlstm.summarize import task

    return task


TASKS = {entry.name: entry for entry in (
    TaskEntry("lm", "a language-model", "next-word language model",
              "Train a next-word language model, report perplexity and export a SavedModel.", _language_model),
    TaskEntry("summarize", "a summarization", "attention encoder-decoder summarizer",
              "Train a summarizer, report test ROUGE beside the Lead baseline and export a SavedModel.", _summarizer),
)}
