"""tools/figures.py: the results figures under img/ and docs/FIGURES.md.

The committed figures must be what the tool draws from the committed JSON
(else: run `python -m tools.figures`); the depth-convergence slot and the
U-curve's choice of run are shown on small synthetic lists."""
import re
import sys
from pathlib import Path

import pytest

from tools import figures

ROOT = Path(__file__).resolve().parents[1]


def test_committed_figures_are_drawn_from_the_committed_results(tmp_path, capsys):
    from PIL import Image
    assert figures.main(["--out", str(tmp_path)]) == 0
    drawn = sorted(p.name for p in tmp_path.glob("*.png"))
    assert {"results-u-curve.png", "results-ex2.png", "results-ex3.png",
            "results-ex4.png", "results-depth-pytorch.png"} <= set(drawn)
    other_matplotlib = []
    for name in drawn:
        committed = ROOT / "img" / name
        assert committed.exists(), f"img/{name} missing: run python -m tools.figures"
        assert committed.stat().st_size < 200_000
        maker = Image.open(committed).info.get("Software")
        if maker != figures.drawn_with():  # another matplotlib draws other bytes
            other_matplotlib.append(f"{name} ({maker})")
            continue
        same = committed.read_bytes() == (tmp_path / name).read_bytes()  # no byte diff
        assert same, f"img/{name} is stale: run python -m tools.figures"
    if other_matplotlib:
        pytest.skip(f"drawn with another matplotlib than {figures.drawn_with()}, so their "
                    f"bytes were not compared: {', '.join(other_matplotlib)}")


def test_figures_doc_links_every_committed_figure():
    text = (ROOT / "docs" / "FIGURES.md").read_text(encoding="utf-8")
    links = re.findall(r"!\[[^\]]*\]\(([^)]+)\)", text)
    assert links and all((ROOT / "docs" / link).resolve().exists() for link in links)
    assert {Path(link).name for link in links} == \
        {p.name for p in (ROOT / "img").glob("results-*.png")}


def _run(key, tab="pytorch", **fields):
    return dict(key=key, tab=tab, mode="full", quick_mode=False, **fields)


def _conv(cell, layers, seed, tokens, test):
    steps = [tokens // 4 * k for k in range(1, 5)]
    return _run(f"depth-conv/{cell}-{layers}x256/t{tokens}/seed{seed}", cell=cell,
                num_layers=layers, num_hiddens=256, seed=seed, lr=2, test_ppl=test,
                tokens_seen=tokens, curves={"tokens_seen": steps,
                                            "valid_ppl": [20, 15, 12, test + 0.1]})


def test_depth_figure_skips_without_runs_and_draws_synthetic_ones(capsys):
    assert figures.depth_figure([_run("depth/rnn-1x256/seed0", test_ppl=9)]) is None
    assert "depth_figure: skipped" in capsys.readouterr().out
    runs = [_conv(cell, layers, seed, tokens, 9 + layers / 10 + seed / 100 + 1e5 / tokens)
            for cell in ("rnn", "lstm") for layers in (1, 2, 4)
            for seed in (0, 1) for tokens in (100_000, 400_000, 1_600_000)]
    runs.append(_conv("gru", 1, 0, 100_000, 10) | {"mode": "quick", "quick_mode": True})
    fig = figures.depth_figure(runs)
    axes = fig.axes
    assert [ax.get_title() for ax in axes] == ["PyTorch: RNN", "PyTorch: LSTM"]  # no quick GRU
    means = [l for l in axes[1].get_lines() if l.get_marker() == "o"]
    assert [l.get_label() for l in means] == [f"{n} x 256, lr 2 (6 runs)" for n in (1, 2, 4)]
    x, y = means[0].get_data()
    assert x[0] == pytest.approx(700_000)               # mean tokens of the 6 runs
    assert y[0] == pytest.approx(9 + 0.1 + 0.005 + (1 + 0.25 + 0.0625) / 3)
    faint = [l for l in axes[1].get_lines() if l.get_alpha() == 0.25]
    assert len(faint) == 3 * 2 * 3                    # every run's validation curve
    dropout = figures.depth_figure([_conv("lstm", 2, 0, 100_000, 9) | {"dropout": 0.2}])
    assert "2 x 256, dropout 0.2, lr 2 (1 runs)" in [l.get_label() for l in dropout.axes[0].get_lines()]
    # a row per tab, a column per cell; a tab without a cell's runs says so in its place
    both = figures.depth_figure(runs + [r | {"tab": "mxnet"} for r in runs if r["cell"] == "lstm"])
    assert [ax.get_title() for ax in both.axes if ax.axison] == [
        "PyTorch: RNN", "PyTorch: LSTM", "MXNet: LSTM"]
    assert [t.get_text() for ax in both.axes for t in ax.texts] == ["MXNet: RNN\nnot run yet"]


def test_u_curve_draws_the_chapter_run_when_it_has_curves(capsys):
    ex2 = [_run(f"ex2/lstm/seed{s}", seed=s, train_text_tokens=100,
                curves={"tokens_seen": [100, 200], "train_ppl": [9, 5], "valid_ppl": [10, 12]})
           for s in range(3)]
    fig = figures.u_curve(ex2)
    assert "ex2/lstm" in fig.axes[0].get_title()
    x, _ = fig.axes[0].get_lines()[0].get_data()
    assert list(x) == [1, 2]                             # epochs = passes over the text
    chapter = _run("chapter/lstm-2layer", curves={"epoch": [1, 2, 3], "train_ppl": [9, 5, 2],
                                                   "valid_ppl": [10, float("nan"), 11]})
    fig = figures.u_curve(ex2 + [chapter])
    assert fig.axes[0].get_title() == "PyTorch: chapter/lstm-2layer"
    assert figures.u_curve([_run("chapter/lstm-2layer")]) is None
    assert "u_curve: skipped" in capsys.readouterr().out


def test_a_missing_results_file_names_the_remedy(tmp_path, capsys):
    assert figures.main(["--results", str(tmp_path / "none.json"), "--out", str(tmp_path)]) == 1
    assert "make book" in capsys.readouterr().err


def _markdown(lang):
    import nbformat
    for path in sorted((ROOT / "notebooks").rglob("*.ipynb")):
        nb = nbformat.read(str(path), as_version=4)
        for cell in nb.cells:
            if cell.cell_type == "markdown" and f"lang-{lang}" in (cell.metadata.get("tags") or []):
                yield path.name, cell.source


def test_chinese_cells_show_the_chinese_architecture_figure():
    zh = [(name, src) for name, src in _markdown("zh") if "img/deep-rnn" in src]
    en = [(name, src) for name, src in _markdown("en") if "img/deep-rnn" in src]
    assert zh and en
    assert all("img/deep-rnn.zh.svg" in src and "img/deep-rnn.svg" not in src for _, src in zh), zh
    assert all("img/deep-rnn.zh.svg" not in src for _, src in en), en


def test_chinese_architecture_figure_is_regenerable(tmp_path):
    import subprocess
    committed = (ROOT / "img" / "deep-rnn.zh.svg").read_text(encoding="utf-8")
    out = tmp_path / "deep-rnn.zh.svg"
    run = subprocess.run([sys.executable, "-m", "tools.draw_deep_rnn", str(out)],
                         capture_output=True, text=True, cwd=ROOT)
    if run.returncode != 0 and "no Simplified-Chinese font" in run.stderr:
        pytest.skip(run.stderr.strip())  # the message names the package to install
    assert run.returncode == 0, run.stderr
    import matplotlib
    maker = re.search(r"Matplotlib v([\w.]+)", committed)
    norm = lambda svg: re.sub(r"Matplotlib v[\w.]+", "Matplotlib", svg)  # the maker line
    same = norm(out.read_text(encoding="utf-8")) == norm(committed)
    if not same and maker and maker.group(1) != matplotlib.__version__:
        pytest.skip(f"img/deep-rnn.zh.svg was drawn by matplotlib {maker.group(1)}; "
                    f"{matplotlib.__version__} draws other paths, so it was not compared")
    assert same, "img/deep-rnn.zh.svg is stale: run python -m tools.draw_deep_rnn"
    # Chinese labels, drawn as paths: no font needed to show them, no English word left.
    assert "<text" not in committed and "depth" not in committed
