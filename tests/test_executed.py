"""`make executed` (tools/executed.py): the committed executed edition.

The committed executed/{zh,en}/ must hold a twin of every source notebook
whose code cells are the source's cells of the tab it ran under; the
synthetic cases show that :func:`executed.problems` catches drift, missing
and orphaned twins.  One tiny notebook is really executed to show that the
figures come out as PNG, not SVG.
"""
import json
import re
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

from tools import executed

ROOT = Path(__file__).resolve().parents[1]


def test_committed_edition_is_in_sync_with_the_sources():
    assert executed.problems() == []


def test_committed_edition_states_its_run_and_has_figures():
    for lang in ("zh", "en"):
        for path in sorted((ROOT / "executed" / lang).rglob("*.ipynb")):
            nb = nbformat.read(str(path), as_version=4)
            first = nb.cells[0]
            assert executed.STAMP_TAG in first.metadata.tags, path
            meta = nb.metadata.d2l_executed
            assert meta["tab"] in first.source or executed.TAB_NAMES[meta["tab"]] in first.source
            assert meta["date"] in first.source
            assert "application/vnd.jupyter.widget-state+json" not in nb.metadata
            text = json.dumps(nb.cells)
            assert executed.WIDGET_MIME not in text, path
            assert "image/svg+xml" not in text, f"{path}: figures must be PNG"
            other = "lang-en" if lang == "zh" else "lang-zh"
            assert not any(other in (c.metadata.get("tags") or []) for c in nb.cells)
    plots = [p for p in (ROOT / "executed" / "en").rglob("*.ipynb")
             if "image/png" in p.read_text(encoding="utf-8")]
    assert len(plots) >= 4, plots  # 03, 04, ex2, ex3, ex4 draw curves


def _source(cells):
    nb = new_notebook(cells=cells)
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}
    return nb


def _cells():
    return [new_markdown_cell("# 标题\n\n![图](../img/deep-rnn.svg)", metadata={"tags": ["lang-zh"]}),
            new_markdown_cell("# Title\n\n![fig](../img/deep-rnn.svg) and [ex](exercises/ex9.ipynb)",
                              metadata={"tags": ["lang-en"]}),
            new_code_cell("%load_ext d2l_helpers.tab"),
            new_code_cell("#@tab pytorch\nimport torch"),
            new_code_cell("#@tab mxnet\nimport mxnet"),
            new_code_cell("#@tab all\nprint(1)")]


def _executed_copy(nb):
    nb = nbformat.from_dict(json.loads(json.dumps(nb)))
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs = [new_output("stream", name="stdout", text="1\n")]
            cell.execution_count = 1
    return nb


@pytest.fixture
def tree(tmp_path, monkeypatch):
    """notebooks/x.ipynb and its twins in executed/{zh,en}/ (no kernel)."""
    src, out = tmp_path / "notebooks", tmp_path / "executed"
    src.mkdir()
    nbformat.write(_source(_cells()), str(src / "01-x.ipynb"))
    monkeypatch.setattr(executed, "SOURCE", src)
    monkeypatch.setattr(executed, "ROOT", tmp_path)
    nb = executed.clean(_executed_copy(_source(_cells())), "pytorch")
    for lang in ("zh", "en"):
        (out / lang).mkdir(parents=True)
        ed = executed.edition(nb, lang, "pytorch", "quick", "2026-12-04", src / "01-x.ipynb", out)
        nbformat.write(ed, str(out / lang / "01-x.ipynb"))
    return src, out


def test_edition_keeps_one_tab_one_language_and_fixes_links(tree):
    src, out = tree
    assert executed.problems(out, src) == []
    zh = nbformat.read(str(out / "zh" / "01-x.ipynb"), as_version=4)
    en = nbformat.read(str(out / "en" / "01-x.ipynb"), as_version=4)
    assert [c.source for c in zh.cells if c.cell_type == "code"] == [
        "%load_ext d2l_helpers.tab", "#@tab pytorch\nimport torch", "#@tab all\nprint(1)"]
    assert "执行版" in zh.cells[0].source and "2026-12-04" in zh.cells[0].source
    assert "Executed edition" in en.cells[0].source
    assert "(../../notebooks/01-x.ipynb)" in en.cells[0].source
    assert "](../../img/deep-rnn.svg)" in zh.cells[1].source      # leaves notebooks/: rewritten
    assert "[ex](exercises/ex9.ipynb)" in en.cells[1].source     # mirrored: kept
    assert "标题" not in json.dumps(en.cells) and "Title" not in json.dumps(zh.cells)


def test_problems_report_drift_missing_and_orphans(tree):
    src, out = tree
    nb = nbformat.read(str(src / "01-x.ipynb"), as_version=4)
    nb.cells[5].source = "#@tab all\nprint(2)"
    nbformat.write(nb, str(src / "01-x.ipynb"))
    found = executed.problems(out, src)
    assert len(found) == 2 and all("code cells differ" in p and "code cell 2" in p for p in found)
    # A change in the other tab's cell is no drift of the PyTorch edition.
    nb.cells[5].source = "#@tab all\nprint(1)"
    nb.cells[4].source = "#@tab mxnet\nimport mxnet as mx"
    nbformat.write(nb, str(src / "01-x.ipynb"))
    assert executed.problems(out, src) == []
    # Prose edits are no drift either (markdown is re-taken on regeneration).
    nb.cells[1].source = "# Another title"
    nbformat.write(nb, str(src / "01-x.ipynb"))
    assert executed.problems(out, src) == []
    nbformat.write(nb, str(src / "02-y.ipynb"))
    (out / "en" / "01-x.ipynb").rename(out / "en" / "03-z.ipynb")
    found = executed.problems(out, src)
    assert "executed/en/01-x.ipynb is missing: run `make executed`" in found
    assert any(p.startswith("executed/zh/02-y.ipynb is missing") for p in found)
    assert any(p.startswith("executed/en/03-z.ipynb has no source") for p in found)


def test_clean_drops_widgets_progress_lines_and_timing():
    nb = _executed_copy(_source(_cells()))
    cell = nb.cells[5]
    cell.metadata["execution"] = {"iopub.execute_input": "2026-12-04T14:00:00"}
    cell.outputs = [
        new_output("display_data", data={executed.WIDGET_MIME: {"model_id": "x"},
                                         "text/plain": "HBox(children=...)"}),
        new_output("stream", name="stderr", text="  0%|  | 0/3\r 33%|# | 1/3\r100%|##| 3/3\n"),
        new_output("stream", name="stderr", text="\r"),
        new_output("stream", name="stdout", text="perplexity 9.1\n"),
        new_output("display_data", data={"image/png": "iVBORw0KGgo=",
                                          "text/plain": "<d2l_helpers.plot.Plot at 0x7f63a1>"}),
        new_output("execute_result", data={"text/plain": "<object at 0x1>"}, execution_count=1)]
    nb.metadata["widgets"] = {"state": {}}
    nb = executed.clean(nb, "pytorch")
    assert "widgets" not in nb.metadata
    assert [c.source.split("\n")[0] for c in nb.cells if c.cell_type == "code"] == [
        "%load_ext d2l_helpers.tab", "#@tab pytorch", "#@tab all"]
    last = nb.cells[-1]
    assert "execution" not in last.metadata
    assert [o.get("text") for o in last.outputs[:2]] == ["100%|##| 3/3\n", "perplexity 9.1\n"]
    assert last.outputs[2].data == {"image/png": "iVBORw0KGgo="}     # no '<... at 0x...>'
    assert last.outputs[3].data == {"text/plain": "<object at 0x1>"}  # the only form: kept


def test_edition_is_deterministic_apart_from_the_date(tree):
    src, out = tree
    nb = executed.clean(_executed_copy(_source(_cells())), "pytorch")
    a = executed.edition(nb, "en", "pytorch", "class", "2026-12-04", src / "01-x.ipynb", out)
    b = executed.edition(nb, "en", "pytorch", "class", "2026-12-04", src / "01-x.ipynb", out)
    assert nbformat.writes(a) == nbformat.writes(b)


def test_figures_are_executed_as_png(tmp_path):
    """A real kernel: d2l_helpers' SVG figures (a Plot and the live plot)
    come out as PNG at the edition's resolution."""
    code = ("#@tab all\nfrom matplotlib.figure import Figure\nfrom d2l_helpers.plot import Plot\n"
            "fig = Figure(figsize=(4, 3)); fig.add_subplot().plot([1, 2], [3, 1])\nPlot(fig)")
    live = ("#@tab all\nfrom types import SimpleNamespace\nfrom d2l_helpers.plot import LivePlot\n"
            "h = SimpleNamespace(epoch=[1, 2], train_ppl=[9.0, 5.0], valid_ppl=[9.5, 6.0])\n"
            "LivePlot().update(h, final=True)")
    path = tmp_path / "fig.ipynb"
    nbformat.write(_source([new_code_cell("%load_ext d2l_helpers.tab"), new_code_cell(code),
                            new_code_cell(live)]), str(path))
    nb = executed.clean(executed.execute(path, "pytorch", "quick"), "pytorch")
    for cell in nb.cells[1:]:
        images = [o for o in cell.outputs if "data" in o]
        assert images and all("image/png" in o.data and "image/svg+xml" not in o.data
                              for o in images), cell.outputs
        import base64
        png = base64.b64decode(images[0].data["image/png"])
        assert png.startswith(b"\x89PNG") and len(png) < 15_000


def test_index_lists_every_executed_notebook_with_its_run(tree):
    src, out = tree
    text = executed.index(out).read_text(encoding="utf-8")
    assert "- [标题](zh/01-x.ipynb) (pytorch, quick, 2026-12-04)" in text
    assert "- [Title](en/01-x.ipynb) (pytorch, quick, 2026-12-04)" in text


def test_committed_index_links_every_executed_notebook():
    text = (ROOT / "executed" / "README.md").read_text(encoding="utf-8")
    links = re.findall(r"\]\(([^)]+\.ipynb)\)", text)
    assert sorted(links) == sorted(p.relative_to(ROOT / "executed").as_posix()
                                   for p in (ROOT / "executed").rglob("*.ipynb"))
