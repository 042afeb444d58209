"""The chapter notebooks' slide metadata (tools/slides.py; the decks
themselves are tested in a browser by tests/browser/test_slides.py)."""
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from tools import slides

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("path", slides.chapter_notebooks(), ids=lambda p: p.stem)
def test_every_cell_has_the_default_slide_type(path):
    """Stored, not left to the fallback: RISE in JupyterLab reads the same
    metadata.  After adding cells run `python -m tools.slides --mark`."""
    nb = nbformat.read(str(path), as_version=4)
    stored = [c.metadata.get("slideshow", {}).get("slide_type") for c in nb.cells]
    assert stored == [slides.default_slide_type(c) for c in nb.cells]


def test_chapter_notebooks_include_the_depth_study():
    assert [p.name[:2] for p in slides.chapter_notebooks()] == ["01", "02", "03", "04"]


def test_mark_fills_only_missing_slide_types(tmp_path):
    cells = [new_markdown_cell("# 标题", metadata={"tags": ["lang-zh"]}),
             new_markdown_cell("# Title", metadata={"tags": ["lang-en"]}),
             new_markdown_cell("用时", metadata={"tags": ["lang-zh", "mode-times"]}),
             new_code_cell("%load_ext d2l_helpers.tab"),
             new_markdown_cell("### 小节", metadata={"tags": ["lang-zh"]}),
             new_code_cell("#@tab all\nx = 1"),
             new_code_cell("#@tab all\ny = 2", metadata={"slideshow": {"slide_type": "fragment"}})]
    path = tmp_path / "05-x.ipynb"
    nbformat.write(new_notebook(cells=cells), str(path))
    assert slides.mark([path]) == [path]
    nb = nbformat.read(str(path), as_version=4)
    assert [c.metadata["slideshow"]["slide_type"] for c in nb.cells] == \
        ["slide", "slide", "skip", "skip", "subslide", "-", "fragment"]
    assert slides.mark([path]) == []  # nothing left to mark


def _executed_edition(folder, tab="pytorch"):
    """executed/<lang>/01-x.ipynb as tools/executed.py writes it (no kernel)."""
    for lang in ("zh", "en"):
        cells = [new_markdown_cell("执行版 / Executed edition", metadata={
                     "tags": ["executed-stamp", f"lang-{lang}"]}),
                 new_markdown_cell("# 标题" if lang == "zh" else "# Title",
                                   metadata={"tags": [f"lang-{lang}"],
                                             "slideshow": {"slide_type": "slide"}}),
                 new_code_cell("#@tab all\n" + "x = 1  # " + "long " * 60)]
        nb = new_notebook(cells=cells)
        nb.metadata["d2l_executed"] = {"tab": tab, "mode": "class"}
        (folder / lang).mkdir(parents=True, exist_ok=True)
        nbformat.write(nb, str(folder / lang / "01-x.ipynb"))


def test_decks_come_from_the_executed_edition_by_default(tmp_path):
    _executed_edition(tmp_path)
    paths = slides._executed(tmp_path, "zh", "pytorch")
    assert [Path(p).name for p in paths] == ["01-x.ipynb"]
    nb = slides.deck_notebook(nbformat.read(paths[0], as_version=4), "pytorch", tmp_path / "zh")
    # The stamp (which run made the outputs) is a speaker note; the title opens the deck.
    assert [c.metadata.slideshow.slide_type for c in nb.cells] == ["slide", "notes", "-"]
    assert "执行版" in nb.cells[1].source
    with pytest.raises(ValueError, match="make executed TAB=mxnet"):
        slides._executed(tmp_path, "zh", "mxnet")
    with pytest.raises(FileNotFoundError, match="make executed.*--live"):
        slides._executed(tmp_path / "none", "zh", "pytorch")


def test_long_code_lines_wrap_on_the_slide():
    body = slides.offline("<html><head></head><body><pre>x</pre></body></html>", "en")
    assert slides.CODE_STYLE in body and "pre-wrap" in slides.CODE_STYLE
