"""The encoding layer: text from any source becomes token ids on disk, the same way for every task.

    Source (files, a hub dataset, hub streams; `sources`)
        -> splits, each a memory-mapped `datasets.Dataset`
        -> tokens (`tokenizers`: words, characters, subwords), a batch at a time (`encoding.map_batches`)
        -> counts of the training tokens -> the vocabulary (or a subword model's pieces)
        -> ids in int32 files, memory-mapped when read back
        all inside one cache entry, checked before each use (`cache`)

A task says how it tokenizes a batch of rows and what it writes from the
tokens (the language model: one stream of ids, `<eos>` after each line;
the summarizer: fixed-width rows of sources and summaries); the rest is here.
"""

from textlstm.corpus.cache import cache_root, cached_entry, entry_key
from textlstm.corpus.encoding import count_tokens, file_batches, map_batches, token_ids
from textlstm.corpus.sources import (SPLITS, Source, as_references, as_text, check_text_file, column_names,
                                     cut_into_splits, find_split_files, load_splits, read_file, split_name,
                                     text_columns, workers)

__all__ = ["SPLITS", "Source", "as_references", "as_text", "cache_root", "cached_entry", "check_text_file",
           "column_names", "count_tokens", "cut_into_splits", "entry_key", "file_batches", "find_split_files",
           "load_splits", "map_batches", "read_file", "split_name", "text_columns", "token_ids", "workers"]
