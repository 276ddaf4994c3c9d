"""The gate report: one self-contained HTML page of a trace (`traces.py`), its data embedded once as JSON.

The page needs nothing from the network: its style and script are inline,
and it draws the heat maps and plots itself from the embedded data, which
other tools can read back:

    data = json.loads(re.search(r'<script type="application/json" id="trace-data">(.*?)</script>',
                                html, re.S).group(1))

Every float32 value is written as its shortest decimal that reads back as
the same float32, so the parsed values equal `trace()`'s exactly.
"""

import html
import json

import numpy as np

from textlstm.files import write_atomically
from textlstm.memory import page

DATA_ELEMENT_ID = "trace-data"


def to_json(value):
    """JSON text of value; float32 arrays and scalars as their shortest round-tripping decimals.

    Example:

    >>> to_json({"x": np.float32([0.1, 1 / 3]), "n": None, "s": "a<b"})
    '{"x":[0.1,0.33333334],"n":null,"s":"a\\\\u003cb"}'
    """
    if isinstance(value, dict):
        return "{" + ",".join(f"{to_json(str(key))}:{to_json(item)}" for key, item in value.items()) + "}"
    if isinstance(value, np.ndarray):
        if value.dtype.kind == "f":
            return _float_array(value if value.dtype == np.float32 else value.astype(np.float64))
        return to_json(value.tolist())
    if isinstance(value, (list, tuple)):
        return "[" + ",".join(to_json(item) for item in value) + "]"
    if isinstance(value, (np.floating, float)):
        return str(value) if isinstance(value, np.float32) else repr(float(value))
    if isinstance(value, (np.integer, np.bool_)):
        return json.dumps(value.item())
    # "<" escaped so that no string can close the <script> element that holds the data.
    return json.dumps(value, ensure_ascii=False).replace("<", "\\u003c")


def _float_array(array):
    if array.ndim == 0:
        return str(array[()]) if array.dtype == np.float32 else repr(float(array))
    if array.ndim == 1:
        text = map(str, array) if array.dtype == np.float32 else map(repr, array.tolist())
        return "[" + ",".join(text) + "]"
    return "[" + ",".join(_float_array(row) for row in array) + "]"


def render(data, title, notes=()):
    """The HTML page of a trace.

    Args:
        data: The dict of `trace_language_model` or `trace_summarizer`
            (optionally with `top_contexts` per layer).
        title: The page's heading, such as the run directory.
        notes: Lines shown under the heading (a cut text, units left out).

    Returns:
        The page, a string.
    """
    notes_html = "".join(f"<p class=note>{html.escape(note)}</p>" for note in notes)
    return (
        "<!DOCTYPE html>\n<html lang=en>\n<head>\n<meta charset=utf-8>\n"
        f"<title>{html.escape(title)}: inside the recurrent layers</title>\n"
        f"<style>{page.STYLE}</style>\n</head>\n<body>\n"
        f"<header><h1>Inside the recurrent layers</h1><p class=run>{html.escape(title)}</p>{notes_html}"
        f"{page.INTRODUCTION}</header>\n<main id=app></main>\n"
        f'<script type="application/json" id="{DATA_ELEMENT_ID}">{to_json(data)}</script>\n'
        f"<script>{page.SCRIPT}</script>\n</body>\n</html>\n"
    )


def write_report(data, path, title, notes=()):
    """Writes the HTML page of a trace to path (through a temporary file)."""
    write_atomically(path, render(data, title, notes))
