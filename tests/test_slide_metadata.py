"""The chapter notebooks' slide metadata (tools/slides.py; the decks
themselves are tested in a browser by tests/browser/test_slides.py)."""
import sys
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from tools import slides  # noqa: E402


@pytest.mark.parametrize("path", slides.chapter_notebooks(), ids=lambda p: p.stem)
def test_every_cell_has_the_default_slide_type(path):
    """Stored, not left to the fallback: RISE in JupyterLab reads the same
    metadata.  After adding cells run `python tools/slides.py --mark`."""
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
