"""Matplotlib figures of a trace: the units × tokens heat map and the gate saturation plot."""

import os

import numpy as np

from textlstm.memory.traces import SATURATION_HIGH, SATURATION_LOW


def pyplot():
    """`matplotlib.pyplot` on the file-only Agg backend (no display needed)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def quantity(values, name):
    """A layer's (tokens, units) values of one quantity; `tanh(c)` is computed from `c`."""
    return np.tanh(values["c"]) if name == "tanh(c)" else values[name]


def heat_map(layer, name, path, max_tokens=120):
    """Writes the units × tokens heat map of one quantity of one layer (the first max_tokens tokens) to path."""
    plt = pyplot()
    values = quantity(layer["values"], name)[:max_tokens].T  # (units, tokens)
    tokens = layer["tokens"][:max_tokens]
    gate = name in ("i", "f", "o", "z", "r")
    limit = 1.0 if gate else max(float(np.abs(values).max()), 1e-6)
    figure, axis = plt.subplots(figsize=(min(4 + 0.18 * len(tokens), 24), min(2 + 0.05 * values.shape[0], 12)))
    image = axis.imshow(values, aspect="auto", interpolation="nearest", cmap="viridis" if gate else "RdBu_r",
                        vmin=0.0 if gate else -limit, vmax=limit)
    axis.set_xticks(range(len(tokens)), tokens, rotation=90, fontsize=7)
    axis.set_ylabel("unit")
    axis.set_title(f"{layer['name']}: {name}, units × tokens")
    figure.colorbar(image, ax=axis, fraction=0.03, pad=0.01)
    figure.tight_layout()
    _save(figure, path)


def saturation_plot(layer, path):
    """Writes the gate saturation plot of one layer to path: per gate, one dot per unit.

    x is the fraction of steps the gate is below `SATURATION_LOW`
    (left-saturated), y the fraction above `SATURATION_HIGH`
    (right-saturated), as in Karpathy, Johnson & Fei-Fei 2015, figure 3.
    """
    plt = pyplot()
    gates = list(layer["saturation"])
    figure, axes = plt.subplots(1, max(len(gates), 1), figsize=(3.2 * max(len(gates), 1), 3.4), squeeze=False)
    for axis, gate in zip(axes[0], gates):
        fractions = layer["saturation"][gate]
        axis.scatter(fractions["left"], fractions["right"], s=10, alpha=0.6)
        axis.plot([0, 1], [1, 0], color="grey", linewidth=0.8, linestyle="--")
        axis.set_xlim(0, 1)
        axis.set_ylim(0, 1)
        axis.set_aspect("equal")
        axis.set_title(f"{gate} gate")
        axis.set_xlabel(f"fraction < {SATURATION_LOW}")
    axes[0][0].set_ylabel(f"fraction > {SATURATION_HIGH}")
    if not gates:
        axes[0][0].text(0.5, 0.5, "no gates in this cell", ha="center", va="center")
        axes[0][0].set_axis_off()
    figure.suptitle(f"{layer['name']}: gate saturation")
    figure.tight_layout()
    _save(figure, path)


def write_figures(data, html_path, name="h"):
    """Writes `<report>_<layer>_heatmap.png` and `<report>_<layer>_saturation.png` beside the HTML report.

    Returns:
        The paths written.
    """
    stem = os.path.splitext(html_path)[0]
    paths = []
    for layer in data["layers"]:
        heat_map_path = f"{stem}_{layer['name']}_heatmap.png"
        heat_map(layer, name if name in layer["values"] or name == "tanh(c)" and "c" in layer["values"] else "h",
                 heat_map_path)
        saturation_path = f"{stem}_{layer['name']}_saturation.png"
        saturation_plot(layer, saturation_path)
        paths += [heat_map_path, saturation_path]
    return paths


def _save(figure, path):
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    figure.savefig(path, dpi=100)
    figure.clear()
    pyplot().close(figure)
