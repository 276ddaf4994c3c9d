"""Next-word prediction: data, model, training, export and use of word- or character-level language models."""
