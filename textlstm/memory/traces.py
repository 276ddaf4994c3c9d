"""What the recurrent layers of a trained run do over a text: every gate, every step, as plain arrays.

The data of `python -m textlstm inspect`, for notebooks too:

    data = trace_language_model(model, config, vocab, "the cook boils the rice .")
    data["layers"][0]["values"]["f"]          # (tokens, units) forget gate of the first layer
    saturation(data["layers"][0]["values"]["f"])

The values are those of each layer's `trace()`, unchanged (float32).
"""

import numpy as np

from textlstm.corpus.tokenizers import load_tokenizer
from textlstm.errors import UsageError
from textlstm.lm.model import build_language_model, copy_weights
from textlstm.vocab import BOS, EOS

MAX_TOKENS = 5000  # longest text inspect reads
# Above this many values (tokens x units x quantities x layers, about 11 bytes each in the page) only the first
# units of each layer are kept, so that the page stays small enough to open (2 million: about 22 MB).
MAX_VALUES = 2_000_000
SATURATION_LOW, SATURATION_HIGH = 0.1, 0.9  # Karpathy, Johnson & Fei-Fei 2015
GATES = ("i", "f", "o", "z", "r")  # the quantities that are gates (values in (0, 1)) among trace()'s names
TOP_CONTEXTS = 5  # contexts kept per unit and quantity


def saturation(values, low=SATURATION_LOW, high=SATURATION_HIGH):
    """The fraction of steps each unit's gate spends left-saturated (< low) and right-saturated (> high).

    Args:
        values: (steps, units) gate values.

    Returns:
        `(left, right)`, float64 arrays (units,).

    Example:

    >>> left, right = saturation(np.array([[0.05, 0.5], [0.95, 0.99], [0.5, 0.92], [0.01, 0.2]]))
    >>> left.tolist(), right.tolist()
    ([0.5, 0.0], [0.25, 0.5])
    """
    values = np.asarray(values)
    return (values < low).mean(axis=0), (values > high).mean(axis=0)


def top_contexts(values, k=TOP_CONTEXTS):
    """For each unit, the k steps where its value is highest, highest first.

    Args:
        values: (steps, units).

    Returns:
        int array (units, min(k, steps)) of step indices.

    Example:

    >>> top_contexts(np.array([[0.1, 3.0], [0.9, 1.0], [0.5, 2.0]]), k=2).tolist()
    [[1, 2], [0, 2]]
    """
    values = np.asarray(values)
    order = np.argsort(-values, axis=0, kind="stable")  # (steps, units)
    return order[:k].T


def layer_trace(layer, inputs, initial_state=None):
    """`layer.trace(inputs)` of a batch of one, as NumPy arrays (steps, units) in reading order.

    A layer that runs backwards (the backward half of a `Bidirectional`)
    visits the steps last to first; its values are put back in reading
    order, so that step t is token t for both directions.
    """
    values = {name: np.asarray(value)[0] for name, value in layer.trace(inputs, initial_state=initial_state).items()}
    if layer.go_backwards:
        values = {name: value[::-1] for name, value in values.items()}
    return values


def _layer_entry(name, cell, tokens, values):
    """One layer of the data: its values, and the saturation of its gates."""
    return {"name": name, "cell": cell, "tokens": list(tokens), "values": values,
            "saturation": {gate: dict(zip(("left", "right"), saturation(values[gate])))
                           for gate in GATES if gate in values}}


def check_length(count, what="text"):
    """Raises `UsageError` for an empty text or one longer than `MAX_TOKENS`."""
    if count == 0:
        raise UsageError(f"{what} is empty: it has no token to inspect")
    if count > MAX_TOKENS:
        raise UsageError(f"{what} has {count} tokens; inspect reads at most {MAX_TOKENS} (pass a shorter part)")


def trace_language_model(model, config, vocab, text, tokenizer=None):
    """The trace of every recurrent layer of a language model over a text.

    The text is tokenized as in training (words split on whitespace, or
    characters; `<eos>` after each line) and read as one stream from zero
    states. Each layer reads the previous layer's `h` (inference: no
    dropout).

    Args:
        model: The run's model (`best.keras`); a stateful model is rebuilt
            without state and gets its weights by layer name.
        config: The run's `LMConfig`.
        vocab: The run's `Vocabulary`.
        text: The text, lines separated by newlines.
        tokenizer: The run's tokenizer (`Run.tokenizer`); None for the words or characters of `config.level`.

    Returns:
        A dict: `kind` ("language_model"), `tokens` (the token strings as
        written in the text; `unknown` lists the positions the model read
        as `<unk>`), `layers` (per recurrent layer: `name`, `cell`,
        `tokens`, `values` {quantity: float32 array (tokens, units)} as
        `trace()` returns them, `saturation` {gate: {"left", "right"}}).

    Raises:
        UsageError: An empty text or one longer than `MAX_TOKENS` tokens.
    """
    tokenizer = tokenizer or load_tokenizer(config.level)
    lines = [line for line in text.splitlines() if line.strip()]
    tokens = [token for line in tokenizer.split(lines).to_pylist() for token in line + [EOS]]
    check_length(len(tokens))
    twin = build_language_model(config, len(vocab))
    copy_weights(model, twin)
    ids = np.asarray([vocab.encode(tokens)], dtype="int32")
    hidden = twin.get_layer("embedding")(ids)
    layers = []
    for index in range(1, config.num_layers + 1):
        layer = twin.get_layer(f"recurrent_{index}")
        values = layer_trace(layer, hidden)
        layers.append(_layer_entry(layer.name, config.cell, tokens, values))
        hidden = values["h"][None]  # the layer's output is its h
    unknown = [position for position, token in enumerate(tokens) if token not in vocab.ids]
    return {"kind": "language_model", "tokens": tokens, "unknown": unknown, "layers": layers}


def trace_summarizer(model, config, vocab, documents, tokenizer=None):
    """The traces, attention and copy gate of a summarizer over documents and its own greedy summaries.

    Each document is tokenized and cut as in training and ends in `<eos>`.
    The encoder layers are traced over it (a bidirectional layer as its
    forward and its backward layer, both in reading order). The model
    summarizes it greedily; the decoder layers are then traced reading
    `<bos>` and that summary from the encoder's states, and
    `Seq2Seq.attention_and_copy` gives the attention weights and p_gen at
    each output token (the summary's tokens, then `<eos>`). The documents'
    tokens follow one another in each encoder layer's arrays, the
    summaries' in each decoder layer's; `examples` says where each begins.

    Args:
        model: The run's `Seq2Seq`.
        config: The run's `SummarizeConfig`.
        vocab: The run's `Vocabulary`.
        documents: List of document strings.
        tokenizer: The run's tokenizer (`Run.tokenizer`); None for the words or characters of `config.level`.

    Returns:
        A dict: `kind` ("summarization"), `tokens` (every document's
        tokens), `layers` (as in `trace_language_model`, encoder layers
        then decoder layers; decoder layers' `tokens` are the tokens they
        read), `examples` (per document: `source`, `summary` (the output
        tokens, `<eos>` last), `source_start`, `summary_start` (offsets into
        the layers' arrays), `attention` (summary × source) and `p_gen`
        (per output token, or None without copying)).

    Raises:
        UsageError: No document, an empty one, or more than `MAX_TOKENS` tokens in all.
    """
    from textlstm.seq2seq.decode import greedy_search
    from textlstm.summarize.data import encode_extended_sources, encode_sources, summary_tokenizer

    if not documents:
        raise UsageError("text is empty: it has no document to inspect")
    tokenizer = tokenizer or summary_tokenizer(config.level)
    token_lists = [tokens[: config.max_source_len] + [EOS] for tokens in tokenizer.split(documents).to_pylist()]
    for number, tokens in enumerate(token_lists, 1):
        if len(tokens) == 1:
            raise UsageError(f"document {number} is empty: it has no token to inspect")
    check_length(sum(len(tokens) for tokens in token_lists))
    per_layer, examples = {}, []
    source_start = summary_start = 0
    for tokens in token_lists:
        source = encode_sources([tokens[:-1]], vocab, config.max_source_len)  # (1, source_time)
        extended, [oovs] = encode_extended_sources([tokens[:-1]], vocab, config.max_source_len)
        summary, _ = greedy_search(model, source, vocab.ids[BOS], vocab.eos_id, max_len=config.max_len,
                                   source_extended=extended)
        summary = [int(index) for index in np.asarray(summary)[0] if index]  # the <eos> became padding
        words = [vocab.tokens[index] if index < len(vocab) else oovs[index - len(vocab)] for index in summary]
        # The decoder reads a copied word outside the vocabulary as <unk>, as in serving.
        read_ids = [vocab.unk_id if index >= len(vocab) else index for index in summary]
        decoder_input = np.asarray([[vocab.ids[BOS]] + read_ids], dtype="int32")
        read = vocab.decode(decoder_input[0])
        for name, side, values in _seq2seq_layer_traces(model, source, decoder_input):
            entry = per_layer.setdefault(name, {"tokens": [], "values": []})
            entry["tokens"] += tokens if side == "source" else read
            entry["values"].append(values)
        weights, p_gen = model.attention_and_copy(source, decoder_input)
        examples.append({"source": tokens, "summary": words + [EOS],
                         "source_start": source_start, "summary_start": summary_start,
                         "attention": np.asarray(weights)[0],
                         "p_gen": None if p_gen is None else np.asarray(p_gen)[0]})
        source_start += len(tokens)
        summary_start += len(read)
    layers = [_layer_entry(name, config.cell, entry["tokens"],
                           {key: np.concatenate([values[key] for values in entry["values"]])
                            for key in entry["values"][0]})
              for name, entry in per_layer.items()]
    return {"kind": "summarization", "tokens": [token for tokens in token_lists for token in tokens],
            "layers": layers, "examples": examples}


def _seq2seq_layer_traces(model, source, decoder_input):
    """Yields (layer name, side, values) for each encoder direction and decoder layer of a `Seq2Seq`."""
    encoded = model.encode(source)
    hidden = model.embedding(source)
    for layer in model.encoder_layers:
        directions = [layer.forward_layer, layer.backward_layer] if model.bidirectional else [layer]
        for direction in directions:
            yield direction.name, "source", layer_trace(direction, hidden)
        hidden = layer(hidden, training=False)[0]
    hidden = model.embedding(decoder_input)
    for layer, initial_state in zip(model.decoder_layers, encoded["states"]):
        values = layer_trace(layer, hidden, initial_state=initial_state)
        yield layer.name, "summary", values
        hidden = values["h"][None]


def keep_first_units(data, max_values=MAX_VALUES):
    """Cuts every layer to its first units if the data holds more than max_values values; returns a note or None.

    The values kept are unchanged; the saturation of the units left out is dropped with them.
    """
    total = sum(value.size for layer in data["layers"] for value in layer["values"].values())
    if total <= max_values:
        return None
    fraction = max_values / total
    for layer in data["layers"]:
        units = next(iter(layer["values"].values())).shape[1]
        kept = max(1, int(units * fraction))
        layer["values"] = {name: value[:, :kept] for name, value in layer["values"].items()}
        layer["saturation"] = {gate: {side: fractions[:kept] for side, fractions in sides.items()}
                               for gate, sides in layer["saturation"].items()}
        layer["units_total"] = units
    kept = ", ".join(f"{layer['name']}: {layer['values']['h'].shape[1]}" for layer in data["layers"])
    return (f"the page holds the first units of each layer only ({kept}), to stay under {max_values:,} values; "
            "pass a shorter text to see them all")
