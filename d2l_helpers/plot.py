"""Perplexity plots: one live SVG figure during training, and comparisons.

Every perplexity axis shows the perplexity of a uniform guess over the
vocabulary (equal to the vocabulary size, 28 for the chapter's characters)
as a dashed grey line, where the histories know their vocabulary size: a
model far above it is confidently wrong.

The live plot is a single display that is updated in place (IPython display
handles), so the notebook shows one clean figure and no flicker.  Figures are
made with ``matplotlib.figure.Figure`` directly, never pyplot, so nothing is
shown twice by the inline backend.
"""
import io
import math
import time

from matplotlib.figure import Figure


def _in_notebook():
    try:
        from IPython import get_ipython
    except ImportError:
        return False
    ip = get_ipython()
    return ip is not None and hasattr(ip, "kernel")


def _svg(fig):
    buf = io.StringIO()
    fig.savefig(buf, format="svg", bbox_inches="tight")
    return buf.getvalue()


def draw_uniform(ax, vocab_size):
    """The uniform guess's perplexity (= ``vocab_size``) as a dashed line."""
    if vocab_size and vocab_size > 0:
        ax.axhline(vocab_size, ls="--", lw=1, color="gray",
                   label=f"uniform guess ({vocab_size})")


def _vocab_size(histories):
    sizes = {getattr(h, "vocab_size", 0) for h in histories} - {0}
    return sizes.pop() if len(sizes) == 1 else 0  # no line if they differ


def draw_history(history, ax=None, title=None):
    """Train and validation perplexity against epochs on ``ax`` (or a new figure)."""
    fig = None
    if ax is None:
        fig = Figure(figsize=(5, 3.2))
        ax = fig.add_subplot()
    ax.plot(history.epoch, history.train_ppl, label="train", color="C0")
    pts = [(e, v) for e, v in zip(history.epoch, history.valid_ppl)
           if not math.isnan(v)]
    if pts:
        ax.plot(*zip(*pts), "o-", ms=3, label="validation", color="C1")
    draw_uniform(ax, _vocab_size([history]))
    ax.set_xlabel("epoch")
    ax.set_ylabel("perplexity")
    ax.set_yscale("log")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend()
    if title:
        ax.set_title(title)
    return fig or ax.figure


class Plot:
    """A finished figure that Jupyter shows as SVG (``.fig`` is the Figure)."""

    def __init__(self, fig):
        self.fig = fig

    def _repr_svg_(self):
        return _svg(self.fig)

    def savefig(self, path, **kwargs):
        self.fig.savefig(path, bbox_inches="tight", **kwargs)


class LivePlot:
    """One SVG figure in the notebook, redrawn in place at most every
    ``interval`` seconds (only once, at the end, with ``only_at_end``: the
    run mode decides, see :mod:`d2l_helpers.modes`)."""

    def __init__(self, title=None, interval=2.0, only_at_end=False):
        self.title, self.interval = title, interval
        self.handle, self.last = None, 0.0
        self.enabled = _in_notebook()
        self.only_at_end = only_at_end

    def update(self, history, final=False):
        if not self.enabled or not history.epoch:
            return
        now = time.monotonic()
        if not final and (self.only_at_end or now - self.last < self.interval):
            return
        self.last = now
        from IPython.display import SVG, display
        svg = SVG(_svg(draw_history(history, title=self.title)))
        if self.handle is None:
            self.handle = display(svg, display_id=True)
        else:
            self.handle.update(svg)


def plot_histories(histories, labels=None, metric="valid_ppl", ax=None,
                   title=None, xaxis="epoch"):
    """Compare several training histories on one axis.

    ``metric`` is ``'valid_ppl'``, ``'train_ppl'`` or ``'both'``; ``xaxis`` is
    ``'epoch'``, ``'tokens'`` (training tokens seen) or ``'wall_time'``.
    Returns a :class:`Plot`, which Jupyter shows when it is the last
    expression of a cell."""
    fig = None
    if ax is None:
        fig = Figure(figsize=(6, 3.6))
        ax = fig.add_subplot()
    labels = labels or [h.label or f"run {i}" for i, h in enumerate(histories)]
    metrics = ["train_ppl", "valid_ppl"] if metric == "both" else [metric]
    for i, (h, label) in enumerate(zip(histories, labels)):
        x = {"epoch": h.epoch, "tokens": h.tokens_seen,
             "wall_time": h.wall_time}[xaxis]
        for m in metrics:
            pts = [(a, b) for a, b in zip(x, getattr(h, m)) if not math.isnan(b)]
            if not pts:
                continue
            style = "--" if m == "train_ppl" and metric == "both" else "-"
            name = label if metric != "both" else f"{label} ({m.split('_')[0]})"
            ax.plot(*zip(*pts), style, color=f"C{i}", label=name)
    draw_uniform(ax, _vocab_size(histories))
    ax.set_xlabel({"epoch": "epoch", "tokens": "training tokens seen",
                   "wall_time": "wall time (s)"}[xaxis])
    ax.set_ylabel({"valid_ppl": "validation perplexity",
                   "train_ppl": "training perplexity"}.get(metric, "perplexity"))
    ax.set_yscale("log")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend()
    if title:
        ax.set_title(title)
    return Plot(fig or ax.figure)
