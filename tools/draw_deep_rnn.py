"""Draw the project's own figure of a deep RNN, unrolled over time.

Usage::

    python tools/draw_deep_rnn.py [OUT]        # default: img/deep-rnn.svg

Rows (bottom to top): the inputs X_t, the hidden layers 1, 2, ..., L and the
outputs O_t.  Columns: the time steps 1, 2, ..., T.  Every hidden state feeds
the next time step of its own layer (horizontal arrows) and the next layer at
the same time step (vertical arrows).  Only matplotlib is used, without
pyplot, and the SVG is deterministic: running the script twice gives the same
bytes.  A ``.png`` or ``.pdf`` OUT also works (for previews).
"""
import os
import sys

import matplotlib
from matplotlib.figure import Figure
from matplotlib.patches import FancyArrowPatch, FancyBboxPatch

DEFAULT_OUT = os.path.join("img", "deep-rnn.svg")

# Grid geometry (data units).
DX, DY = 2.3, 1.35          # distance between columns / rows
BOX_W, BOX_H = 1.25, 0.72   # box size

# Columns: (label of the time step or None for the ellipsis column).
COLUMNS = ["1", "2", None, "T"]
# Rows from bottom to top: (kind, layer label).
ROWS = [("input", None), ("hidden", "1"), ("hidden", "2"), ("dots", None),
        ("hidden", "L"), ("output", None)]

# Colours: (face, edge) per kind of row; hidden layers get their own shade.
COLOURS = {
    "input": ("#dff3e4", "#2e8b57"),
    "output": ("#fde5cc", "#d2691e"),
    "hidden1": ("#dbe9f8", "#2f6db5"),
    "hidden2": ("#c5d9f2", "#2f6db5"),
    "hiddenL": ("#a9c4ea", "#1f4e8c"),
}
ARROW_COLOUR = "#444444"


def _label(kind, layer, col):
    t = COLUMNS[col]
    if kind == "input":
        return rf"$\mathbf{{X}}_{{{t}}}$"
    if kind == "output":
        return rf"$\mathbf{{O}}_{{{t}}}$"
    return rf"$\mathbf{{H}}_{{{t}}}^{{({layer})}}$"


def _box(ax, x, y, text, face, edge):
    ax.add_patch(FancyBboxPatch(
        (x - BOX_W / 2, y - BOX_H / 2), BOX_W, BOX_H,
        boxstyle="round,pad=0.02,rounding_size=0.12",
        facecolor=face, edgecolor=edge, linewidth=1.6, zorder=2))
    ax.text(x, y, text, ha="center", va="center", fontsize=15, zorder=3)


def _arrow(ax, start, end, colour=ARROW_COLOUR, style="-", lw=1.5):
    ax.add_patch(FancyArrowPatch(
        start, end, arrowstyle="-|>", mutation_scale=14, color=colour,
        linewidth=lw, linestyle=style, shrinkA=0, shrinkB=0, zorder=1))


def draw(out=DEFAULT_OUT):
    """Draw the figure and save it to ``out`` (format from the extension)."""
    matplotlib.rcParams["svg.hashsalt"] = "d2l-deep-rnn"
    matplotlib.rcParams["svg.fonttype"] = "path"
    matplotlib.rcParams["mathtext.fontset"] = "dejavusans"

    ncol, nrow = len(COLUMNS), len(ROWS)
    fig = Figure(figsize=(8.4, 6.9))
    ax = fig.add_axes([0, 0, 1, 1])
    ax.set_xlim(-1.75, (ncol - 1) * DX + 1.0)
    ax.set_ylim(-1.4, (nrow - 1) * DY + 0.75)
    ax.set_aspect("equal")
    ax.axis("off")

    half_w, half_h = BOX_W / 2, BOX_H / 2
    gap = 0.06  # space between an arrow tip and a box edge

    for r, (kind, layer) in enumerate(ROWS):
        y = r * DY
        for c, step in enumerate(COLUMNS):
            x = c * DX
            if kind == "dots" and step is None:
                continue  # the corner where both ellipses meet stays empty
            if kind == "dots":
                # mathtext's \vdots sits a little right of its box centre.
                ax.text(x - 0.05, y, r"$\vdots$", ha="center", va="center",
                        fontsize=20, color="#555555")
            elif step is None:
                ax.text(x, y, r"$\cdots$", ha="center", va="center",
                        fontsize=20, color="#555555")
            else:
                key = kind if kind != "hidden" else "hidden" + layer
                face, edge = COLOURS[key]
                _box(ax, x, y, _label(kind, layer, c), face, edge)

    # Horizontal arrows: state of layer l at step t -> step t+1 (same layer).
    for r, (kind, layer) in enumerate(ROWS):
        if kind != "hidden":
            continue
        y = r * DY
        colour = COLOURS["hidden" + layer][1]
        # Initial state H_0 enters from the left (dashed).
        _arrow(ax, (-half_w - 0.75, y), (-half_w - gap, y), colour, "--")
        for c in range(ncol - 1):
            x0, x1 = c * DX, (c + 1) * DX
            left = x0 + (0.32 if COLUMNS[c] is None else half_w) + gap
            right = x1 - (0.32 if COLUMNS[c + 1] is None else half_w) - gap
            _arrow(ax, (left, y), (right, y), colour)

    # Vertical arrows: X -> layer 1 -> layer 2 -> ... -> layer L -> O.
    for c, step in enumerate(COLUMNS):
        if step is None:
            continue
        x = c * DX
        for r in range(nrow - 1):
            below, above = ROWS[r][0], ROWS[r + 1][0]
            y0 = r * DY + (0.26 if below == "dots" else half_h) + gap
            y1 = (r + 1) * DY - (0.26 if above == "dots" else half_h) - gap
            colour = COLOURS["hidden" + ROWS[r][1]][1] \
                if below == "hidden" else ARROW_COLOUR
            if below == "input":
                colour = COLOURS["input"][1]
            _arrow(ax, (x, y0), (x, y1), colour)

    # Axis hints and row names.
    x_end = (ncol - 1) * DX
    ax.annotate("", xy=(x_end + 0.6, -0.82), xytext=(-0.6, -0.82),
                arrowprops=dict(arrowstyle="-|>", color="#777777", lw=1.2,
                                mutation_scale=14))
    ax.text(x_end / 2, -0.95, "time →", ha="center", va="top",
            fontsize=12, color="#555555")
    ax.annotate("", xy=(-1.55, (nrow - 1) * DY), xytext=(-1.55, 0),
                arrowprops=dict(arrowstyle="-|>", color="#777777", lw=1.2,
                                mutation_scale=14))
    ax.text(-1.68, (nrow - 1) * DY / 2, "depth ↑", ha="right", va="center",
            rotation=90, fontsize=12, color="#555555")
    names = {"input": "input", "output": "output"}
    for r, (kind, layer) in enumerate(ROWS):
        if kind == "dots":
            continue
        name = names.get(kind, f"layer ${layer}$")
        ax.text(-1.42, r * DY + half_h + 0.05, name, ha="left", va="bottom",
                fontsize=9, color="#555555")

    folder = os.path.dirname(out)
    if folder:
        os.makedirs(folder, exist_ok=True)
    metadata = {"Date": None} if out.endswith((".svg", ".pdf")) else None
    fig.savefig(out, metadata=metadata, dpi=110)
    return out


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    out = argv[0] if argv else DEFAULT_OUT
    print(draw(out))


if __name__ == "__main__":
    main()
