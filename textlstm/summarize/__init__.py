"""The summarization task: data, training, evaluation, export and use of a run."""
