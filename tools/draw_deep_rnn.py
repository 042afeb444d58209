"""Draw the project's own figure of a deep RNN, unrolled over time.

Usage::

    python -m tools.draw_deep_rnn              # img/deep-rnn.svg and img/deep-rnn.zh.svg
    python -m tools.draw_deep_rnn OUT          # one file; OUT ending in .zh.svg: Chinese labels

Rows (bottom to top): the inputs X_t, the hidden layers 1, 2, ..., L and the
outputs O_t.  Columns: the time steps 1, 2, ..., T.  Every hidden state feeds
the next time step of its own layer (horizontal arrows) and the next layer at
the same time step (vertical arrows).  Only matplotlib is used, without
pyplot, and the SVG is deterministic: running the script twice gives the same
bytes.  A ``.png`` or ``.pdf`` OUT also works (for previews).

The Chinese version (``img/deep-rnn.zh.svg``, shown by the lang-zh cells)
labels the axes and rows in Chinese; it needs a Simplified-Chinese font
(Noto Sans CJK SC, from Debian's fonts-noto-cjk, or Source Han Sans SC).  The
glyphs are stored as paths, so the SVG shows them without that font.
"""
import os
import sys

import matplotlib
from matplotlib.figure import Figure
from matplotlib.patches import FancyArrowPatch, FancyBboxPatch

DEFAULT_OUT = os.path.join("img", "deep-rnn.svg")
ZH_OUT = os.path.join("img", "deep-rnn.zh.svg")

# The words of the figure, per language ("{layer}" becomes the layer's name);
# the Chinese "depth" is written top to bottom instead of rotated.
WORDS = {
    "en": {"time": "time →", "depth": "depth ↑", "input": "input", "output": "output",
           "layer": "layer ${layer}$"},
    "zh": {"time": "时间 →", "depth": "深\n度", "input": "输入", "output": "输出",
           "layer": "第 ${layer}$ 层"},
}
CJK_FAMILIES = ("Noto Sans CJK SC", "Source Han Sans SC", "Noto Sans SC", "Source Han Sans CN")

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


HALF_W, HALF_H = BOX_W / 2, BOX_H / 2
GAP = 0.06          # space between an arrow tip and a box edge
ELLIPSIS_HALF_W = 0.32   # half width of a "..." column, for horizontal arrows
ELLIPSIS_HALF_H = 0.26   # half height of a vertical-dots row, for vertical arrows


def _new_axes():
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
    return fig, ax


def _draw_boxes(ax):
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


def _draw_time_arrows(ax):
    """State of layer l at step t -> step t+1 (same layer), and H_0 dashed."""
    for r, (kind, layer) in enumerate(ROWS):
        if kind != "hidden":
            continue
        y = r * DY
        colour = COLOURS["hidden" + layer][1]
        _arrow(ax, (-HALF_W - 0.75, y), (-HALF_W - GAP, y), colour, "--")
        for c in range(len(COLUMNS) - 1):
            x0, x1 = c * DX, (c + 1) * DX
            left = x0 + (ELLIPSIS_HALF_W if COLUMNS[c] is None else HALF_W) + GAP
            right = x1 - (ELLIPSIS_HALF_W if COLUMNS[c + 1] is None else HALF_W) - GAP
            _arrow(ax, (left, y), (right, y), colour)


def _draw_depth_arrows(ax):
    """X -> layer 1 -> layer 2 -> ... -> layer L -> O, at every time step."""
    for c, step in enumerate(COLUMNS):
        if step is None:
            continue
        x = c * DX
        for r in range(len(ROWS) - 1):
            below, above = ROWS[r][0], ROWS[r + 1][0]
            y0 = r * DY + (ELLIPSIS_HALF_H if below == "dots" else HALF_H) + GAP
            y1 = (r + 1) * DY - (ELLIPSIS_HALF_H if above == "dots" else HALF_H) - GAP
            colour = COLOURS["hidden" + ROWS[r][1]][1] \
                if below == "hidden" else ARROW_COLOUR
            if below == "input":
                colour = COLOURS["input"][1]
            _arrow(ax, (x, y0), (x, y1), colour)


def cjk_font():
    """FontProperties of a Simplified-Chinese font (a face of a .ttc
    collection is extracted to a temporary file: matplotlib reads only a
    collection's first face, the Japanese one in Noto's); RuntimeError
    naming the remedy if there is none."""
    import tempfile
    from matplotlib import font_manager
    for entry in font_manager.fontManager.ttflist:
        if entry.name in CJK_FAMILIES:
            return font_manager.FontProperties(fname=entry.fname)
    from fontTools.ttLib import TTCollection, TTFont
    for path in sorted(font_manager.findSystemFonts()):
        base = os.path.basename(path).lower()
        if not any(k in base for k in ("cjk", "sourcehan", "notosanssc")):
            continue
        faces = TTCollection(path).fonts if base.endswith(".ttc") else [TTFont(path)]
        for face in faces:
            if face["name"].getDebugName(1) in CJK_FAMILIES:
                out = os.path.join(tempfile.mkdtemp(prefix="d2l-font-"), "cjk-sc.otf")
                face.save(out)
                return font_manager.FontProperties(fname=out)
    raise RuntimeError("no Simplified-Chinese font for the Chinese figure: install one "
                       f"of {', '.join(CJK_FAMILIES)} (Debian/Ubuntu: apt-get install "
                       "fonts-noto-cjk) and run again")


def _draw_legend(ax, lang="en"):
    """Axis hints (time, depth) and row names."""
    words = WORDS[lang]
    font = {"fontproperties": cjk_font()} if lang == "zh" else {}
    x_end, top = (len(COLUMNS) - 1) * DX, (len(ROWS) - 1) * DY
    hint = dict(arrowstyle="-|>", color="#777777", lw=1.2, mutation_scale=14)
    ax.annotate("", xy=(x_end + 0.6, -0.82), xytext=(-0.6, -0.82), arrowprops=hint)
    ax.text(x_end / 2, -0.95, words["time"], ha="center", va="top",
            fontsize=12, color="#555555", **font)
    ax.annotate("", xy=(-1.55, top), xytext=(-1.55, 0), arrowprops=dict(hint))
    ax.text(-1.68, top / 2, words["depth"], ha="right", va="center",
            rotation=0 if lang == "zh" else 90, fontsize=12, color="#555555", **font)
    for r, (kind, layer) in enumerate(ROWS):
        if kind == "dots":
            continue
        name = words.get(kind) or words["layer"].format(layer=layer)
        ax.text(-1.42, r * DY + HALF_H + 0.05, name, ha="left", va="bottom",
                fontsize=9, color="#555555", **font)


def draw(out=DEFAULT_OUT, lang=None):
    """Draw the figure and save it to ``out`` (format from the extension);
    ``lang`` defaults to zh for an ``out`` named ``*.zh.*``, else en."""
    if lang is None:
        lang = "zh" if ".zh." in os.path.basename(out) else "en"
    if lang not in WORDS:
        raise ValueError(f"lang must be one of {', '.join(WORDS)}, not {lang!r}")
    fig, ax = _new_axes()
    _draw_boxes(ax)
    _draw_time_arrows(ax)
    _draw_depth_arrows(ax)
    _draw_legend(ax, lang)
    folder = os.path.dirname(out)
    if folder:
        os.makedirs(folder, exist_ok=True)
    metadata = {"Date": None} if out.endswith((".svg", ".pdf")) else None
    fig.savefig(out, metadata=metadata, dpi=110)
    return out


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    for out in argv[:1] or [DEFAULT_OUT, ZH_OUT]:
        try:
            print(draw(out))
        except RuntimeError as err:
            print(f"draw_deep_rnn: {err}", file=sys.stderr)
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
