"""Results figures as files: img/results-*.png, drawn from results/full-mode.json.

    python -m tools.figures                     # write every figure and docs/FIGURES.md
    python -m tools.figures --results FILE      # read FILE instead
    python -m tools.figures --out DIR           # figures into DIR (docs/FIGURES.md not written)

One function per figure; each takes the list of recorded runs, returns a
matplotlib Figure, or None (with a printed line saying why) when the runs it
needs were not recorded.  Only full-mode runs are drawn.

* :func:`u_curve` -- the chapter's U-curve: training and validation
  perplexity against epochs of notebook 03's run (``chapter/lstm-2layer``).
  A chapter run recorded without its per-epoch curves (before curves were
  recorded) is replaced by the same model, data and budget in exercise 2
  (``ex2/lstm/seed*``, one line per seed, epochs = passes over the 10,000
  characters), and the title says so.
* :func:`depth_study` -- notebook 04: test perplexity against depth
  (``depth/...``, :func:`experiments.study.plot_depth`), one figure per tab.
* :func:`ex2`, :func:`ex3`, :func:`ex4` -- test perplexity of every seed
  (dots) and the mean (bar) per configuration, one panel per tab.
* :func:`depth_figure` -- the depth study's convergence runs (keys
  ``depth-conv/...``): test perplexity against training tokens, one colour
  per configuration, one panel per cell type and tab, each run's validation
  curve faint behind.

PNG at a modest resolution, with no time stamp: the same JSON gives the same
bytes.  docs/FIGURES.md lists what was drawn, from which keys.
"""
import argparse
import math
import re
import statistics
import sys
from pathlib import Path

from d2l_helpers import frameworks, results
from experiments import study

ROOT = Path(__file__).resolve().parents[1]

IMG = ROOT / "img"
DOC = ROOT / "docs" / "FIGURES.md"
DPI = 100
DPIS = {"results-depth-conv.png": 70}  # a grid of up to 3 x 3 panels: smaller, to stay light
UNIFORM = 28
TAB_NAMES = {name: t.title for name, t in frameworks.TABS.items()}  # display names: the registry's


def full_runs(runs):
    """Runs measured in full mode (quick and class mode left out)."""
    return [r for r in runs if not r.get("quick_mode") and r.get("mode", "full") == "full"]


def seeded(runs, prefix):
    """``{(tab, group): [run, ...]}`` of the runs keyed ``<prefix><group>/seed<n>``."""
    out = {}
    for r in runs:
        m = re.fullmatch(re.escape(prefix) + r"(.+)/seed\d+", r.get("key", ""))
        if m:
            out.setdefault((r.get("tab"), m.group(1)), []).append(r)
    return out


def _tabs(groups):
    return [t for t in frameworks.NAMES if any(tab == t for tab, _ in groups)]


def _figure(ncols, width=4.6, height=3.4):
    from matplotlib.figure import Figure
    fig = Figure(figsize=(width * ncols, height), layout="constrained")
    axes = fig.subplots(1, ncols, squeeze=False)[0]
    return fig, list(axes)


def _skip(name, why):
    print(f"[figures] {name}: skipped, {why}")
    return None


# --------------------------------------------------------------- the figures

def _passes(run):
    """Per checkpoint: passes over the training text so far (its epochs)."""
    text = run.get("train_text_tokens")
    return [t / text for t in run["curves"]["tokens_seen"]] if text else None


def u_curve(runs):
    """Notebook 03's U-curve, per tab (see the module docstring)."""
    runs = full_runs(runs)
    panels = []
    for tab in frameworks.NAMES:
        chapter = [r for r in runs if r.get("key") == "chapter/lstm-2layer"
                   and r.get("tab") == tab and r.get("curves", {}).get("valid_ppl")]
        if chapter:
            panels.append((tab, "chapter/lstm-2layer", [(chapter[0], "epoch", None)]))
            continue
        ex2 = [r for r in seeded(runs, "ex2/").get((tab, "lstm"), [])
               if r.get("curves", {}).get("valid_ppl") and _passes(r)]
        if ex2:
            panels.append((tab, "ex2/lstm (same model, data and budget)",
                           [(r, None, f"seed {r.get('seed', i)}") for i, r in enumerate(ex2)]))
    if not panels:
        return _skip("u_curve", "no chapter/lstm-2layer or ex2/lstm run with curves")
    fig, axes = _figure(len(panels))
    for ax, (tab, source, lines) in zip(axes, panels):
        for i, (r, xname, label) in enumerate(lines):
            c = r["curves"]
            x = c[xname] if xname else _passes(r)
            pts = [(a, v) for a, v in zip(x, c["valid_ppl"]) if not math.isnan(v)]
            suffix = f", {label}" if label else ""
            ax.plot(x, c["train_ppl"], "-", color=f"C{i}", alpha=0.5, lw=1,
                    label=f"train{suffix}")
            ax.plot(*zip(*pts), "o-", ms=3, color=f"C{i}", label=f"validation{suffix}")
            best = min(pts, key=lambda p: p[1])
            ax.plot(*best, "*", ms=12, color=f"C{i}", mec="k")
        ax.axhline(UNIFORM, ls="--", lw=1, color="gray", label=f"uniform guess ({UNIFORM})")
        ax.set(yscale="log", xlabel="epoch (passes over the 10,000 characters)",
               ylabel="perplexity", title=f"{TAB_NAMES[tab]}: {source}")
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=7)
    fig.suptitle("Two-layer LSTM: validation perplexity falls, then climbs (star: lowest)")
    return fig


def depth_study(runs, tab):
    """Notebook 04's depth figure for ``tab`` (study.plot_depth), or None."""
    table = study.summarize(study.runs_from(full_runs(runs), tab))
    if not table:
        return _skip(f"depth_study ({tab})", f"no depth/ runs under {tab}")
    return study.plot_depth(table, title=f"{TAB_NAMES[tab]}: depth study "
                                         f"(test perplexity, mean and sd over seeds)").fig


def _strip(ax, groups, order, field, colors=None):
    """Dots: ``field`` of every run; bar: their mean; one column per group."""
    for i, name in enumerate(order):
        ys = [r[field] for r in groups[name] if field in r and not math.isnan(r[field])]
        if not ys:
            continue
        color = (colors or {}).get(name, f"C{i}")
        ax.plot([i] * len(ys), ys, "o", alpha=0.7, color=color)
        ax.hlines(statistics.fmean(ys), i - 0.3, i + 0.3, color=color, lw=2)
    ax.set_xticks(range(len(order)), order)
    ax.grid(True, axis="y", alpha=0.3)


def _per_tab(runs, prefix, name, order_of, title, xlabel, field="test_ppl"):
    groups = seeded(full_runs(runs), prefix)
    groups = {k: [r for r in v if field in r] for k, v in groups.items()}
    groups = {k: v for k, v in groups.items() if v}
    tabs = _tabs(groups)
    if not tabs:
        return _skip(name, f"no {prefix}<group>/seed<n> runs with {field}")
    fig, axes = _figure(len(tabs))
    for ax, tab in zip(axes, tabs):
        mine = {g: rs for (t, g), rs in groups.items() if t == tab}
        _strip(ax, mine, order_of(mine), field)
        n = max(len(rs) for rs in mine.values())
        ax.set(xlabel=xlabel, ylabel="test perplexity",
               title=f"{TAB_NAMES[tab]} ({n} seeds; bar: mean)")
    fig.suptitle(title)
    return fig


def ex2(runs):
    """Exercise 2: GRU against LSTM, test perplexity per seed."""
    return _per_tab(runs, "ex2/", "ex2", lambda g: sorted(g),
                    "Exercise 2: two-layer GRU vs LSTM, same token budget", "cell")


def ex3(runs):
    """Exercise 3: test perplexity on The Time Machine against the training corpus."""
    order = lambda g: sorted(g, key=lambda k: (k != "10k", int(k) if k.isdigit() else 0))
    return _per_tab(runs, "ex3/", "ex3", order,
                    "Exercise 3: more books, same token budget",
                    "training text (10k: the book's 10,000 chars; n: n novels)")


AUTHORS = [("ppl_time_machine", "Time Machine"), ("ppl_wells", "Wells"),
           ("ppl_austen", "Austen"), ("ppl_doyle", "Doyle")]


def ex4(runs):
    """Exercise 4: each model's test perplexity on each author's held-out text."""
    groups = seeded(full_runs(runs), "ex4/")
    groups = {k: [r for r in v if "ppl_wells" in r] for k, v in groups.items()}
    groups = {k: v for k, v in groups.items() if v}
    tabs = _tabs(groups)
    if not tabs:
        return _skip("ex4", "no ex4/<model>/seed<n> runs with ppl_wells")
    fig, axes = _figure(len(tabs), width=5.4)
    for ax, tab in zip(axes, tabs):
        models = sorted(g for t, g in groups if t == tab)
        width = 0.8 / len(models)
        for j, model in enumerate(models):
            for i, (field, _) in enumerate(AUTHORS):
                ys = [r[field] for r in groups[(tab, model)] if field in r]
                x = i - 0.4 + width * (j + 0.5)
                ax.plot([x] * len(ys), ys, "o", ms=4, alpha=0.7, color=f"C{j}",
                        label=model if i == 0 else None)
                if ys:
                    ax.hlines(statistics.fmean(ys), x - width / 2.5, x + width / 2.5,
                              color=f"C{j}", lw=2)
        ax.set_xticks(range(len(AUTHORS)), [a for _, a in AUTHORS])
        ax.set(xlabel="held-out text", ylabel="test perplexity",
               title=f"{TAB_NAMES[tab]} (dots: seeds; bar: mean)")
        ax.grid(True, axis="y", alpha=0.3)
        ax.legend(fontsize=8, title="trained on", loc="center left")
    fig.suptitle("Exercise 4: Wells only vs Wells mixed with other authors")
    return fig


def _config(r):
    """The label of a depth-conv run's configuration (all but the seed)."""
    label = f"{r['num_layers']} x {r['num_hiddens']}"
    if r.get("dropout"):
        label += f", dropout {r['dropout']:g}"
    return label + (f", lr {r['lr']:g}" if "lr" in r else "")


def depth_figure(runs, prefix="depth-conv/"):
    """Test perplexity against training tokens per depth (runs keyed
    ``depth-conv/...``, each trained until it stopped): one panel per (tab,
    cell), one colour per configuration (depth x width, dropout, learning
    rate); a dot per run at the tokens it trained on, a large marker at the
    configuration's mean (label: number of runs), each run's validation
    curve faint behind.  None if there are no such runs."""
    runs = [r for r in full_runs(runs) if str(r.get("key", "")).startswith(prefix)
            and "test_ppl" in r]
    if not runs:
        return _skip("depth_figure", f"no runs whose key starts with {prefix!r} yet")
    from matplotlib.figure import Figure
    tabs = [t for t in frameworks.NAMES if any(r.get("tab") == t for r in runs)]
    cells = [c for c in study.CELLS if any(r["cell"] == c for r in runs)]
    fig = Figure(figsize=(4.4 * len(cells), 3.3 * len(tabs)), layout="constrained")
    grid = fig.subplots(len(tabs), len(cells), squeeze=False)  # a row per tab, a column per cell
    panels = {(t, c): grid[i][j] for i, t in enumerate(tabs) for j, c in enumerate(cells)}
    for (tab, cell), ax in panels.items():
        if not any((r.get("tab"), r["cell"]) == (tab, cell) for r in runs):
            ax.set_axis_off()
            ax.text(0.5, 0.5, f"{TAB_NAMES.get(tab, tab)}: {cell.upper()}\nnot run yet",
                    ha="center", va="center", transform=ax.transAxes, color="gray")
    for (tab, cell), ax in panels.items():
        if not ax.axison:
            continue
        mine = [r for r in runs if (r.get("tab"), r["cell"]) == (tab, cell)]
        order = sorted({_config(r) for r in mine},
                       key=lambda c: [float(x) if x.replace(".", "").isdigit() else 0
                                      for x in re.findall(r"[\d.]+", c)])
        for i, config in enumerate(order):
            rs = [r for r in mine if _config(r) == config]
            color = f"C{i}"
            for r in rs:
                c = r.get("curves") or {}
                if c.get("tokens_seen") and c.get("valid_ppl"):
                    ax.plot(c["tokens_seen"], c["valid_ppl"], "-", lw=0.8, alpha=0.25,
                            color=color)
            ax.plot([r["tokens_seen"] for r in rs], [r["test_ppl"] for r in rs], ".",
                    color=color, alpha=0.7)
            ax.plot([statistics.fmean(r["tokens_seen"] for r in rs)],
                    [statistics.fmean(r["test_ppl"] for r in rs)], "o", ms=8, mec="k",
                    color=color, label=f"{config} ({len(rs)} runs)")
        ax.axhline(UNIFORM, ls="--", lw=1, color="gray", label=f"uniform guess ({UNIFORM})")
        ax.set(xscale="log", yscale="log", xlabel="training tokens",
               ylabel="test perplexity (faint: validation curves)",
               title=f"{TAB_NAMES.get(tab, tab)}: {cell.upper()}")
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=6, title="layers x hidden", title_fontsize=7, loc="best")
    fig.suptitle("Depth study at convergence: test perplexity against training tokens "
                 "(large marker: mean)")
    return fig


# ------------------------------------------------------------------- writing

FIGURES = [  # file, function, caption, keys
    ("results-u-curve.png", u_curve,
     "The chapter's U-curve: validation perplexity against epochs (notebook 03).",
     "`chapter/lstm-2layer` if it recorded its curves, else `ex2/lstm/seed*`"),
    ("results-depth-pytorch.png", lambda runs: depth_study(runs, "pytorch"),
     "Depth study (notebook 04), PyTorch: test perplexity against depth.", "`depth/*`"),
    ("results-depth-mxnet.png", lambda runs: depth_study(runs, "mxnet"),
     "Depth study (notebook 04), MXNet: test perplexity against depth.", "`depth/*`"),
    ("results-depth-conv.png", depth_figure,
     "Depth study: test perplexity against training tokens, per depth.", "`depth-conv/*`"),
    ("results-ex2.png", ex2, "Exercise 2: GRU against LSTM.", "`ex2/*/seed*`"),
    ("results-ex3.png", ex3, "Exercise 3: more books.", "`ex3/*/seed*`"),
    ("results-ex4.png", ex4, "Exercise 4: mixing authors.", "`ex4/*/seed*`"),
]


def drawn_with():
    """What a figure's PNG records as its maker: the matplotlib that drew it.
    The same data give the same bytes only under the same matplotlib."""
    import matplotlib
    return f"matplotlib {matplotlib.__version__}"


def save(fig, path):
    """Write ``fig`` as PNG without a time stamp (same data and matplotlib,
    same bytes), recording the matplotlib version as its Software."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, format="png", dpi=DPIS.get(path.name, DPI), metadata={"Software": drawn_with()})
    return path


def doc(drawn, source):
    """docs/FIGURES.md: the figures drawn, each with its caption and keys."""
    lines = ["# Results figures", "",
             f"Drawn by `python -m tools.figures` from `{source}` (full-mode runs only); "
             "do not edit by hand. In the per-seed figures a dot is one seed and a bar "
             f"the mean; a dashed grey line is a uniform guess over the {UNIFORM} "
             "characters.", ""]
    for name, caption, keys in drawn:
        lines += [f"## {caption}", "", f"Runs: {keys}.", "", f"![{caption}](../img/{name})", ""]
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--results", default=str(results.FULL_MODE))
    parser.add_argument("--out", default=str(IMG))
    args = parser.parse_args(argv)
    path = Path(args.results)
    if not path.exists():
        print(f"figures: {path} does not exist: record full-mode runs first "
              f"(`make book`, or give --results FILE)", file=sys.stderr)
        return 1
    runs = results.load(path)
    drawn = []
    for name, draw, caption, keys in FIGURES:
        fig = draw(runs)
        if fig is None:
            continue
        print(save(fig, Path(args.out) / name))
        panels = [ax.get_title() for ax in fig.axes if ax.get_title()]
        drawn.append((name, caption, keys + (f"; panels: {' | '.join(panels)}" if panels else "")))
    if Path(args.out).resolve() == IMG.resolve():
        source = path.resolve().relative_to(ROOT).as_posix() \
            if ROOT in path.resolve().parents else path.name
        DOC.write_text(doc(drawn, source) + "\n", encoding="utf-8")
        print(DOC)
    return 0


if __name__ == "__main__":
    sys.exit(main())
