"""`make site` (tools/website.py): the executed edition.

One notebook is really executed (quick mode, so its pages carry the banner);
a small executed notebook with plot outputs checks that plots are embedded.
Every link of the index must lead to a file, and nothing may come from the
network (MathJax and require.js are copied beside the pages).
"""
import base64
import html
import json
import re
import subprocess
import sys
from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

from tools import book, website

ROOT = Path(__file__).resolve().parents[1]

SVG = '<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><circle r="4"/></svg>'


def _links(page):
    return re.findall(r'(?:href|src)="([^"#?]+)[^"]*"', page.read_text(encoding="utf-8"))


def _assert_links_resolve(page):
    for link in _links(page):
        if link.startswith("data:"):
            continue
        assert not re.match(r"(https?:)?//", link), f"{page.name} loads {link} from the network"
        assert (page.parent / link).exists(), f"{page.name}: broken link {link}"


def test_quick_site_of_one_notebook(tmp_path):
    out = tmp_path / "site"
    run = subprocess.run([sys.executable, "-m", "tools.website", "--mode", "quick",
                          "--only", "01", "--out", str(out), "--work", str(tmp_path / "work")],
                         capture_output=True, text=True, cwd=ROOT)
    assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-2000:]
    index = out / "index.html"
    _assert_links_resolve(index)
    listed = [link for link in _links(index) if link.endswith(".html")]
    assert sorted(listed) == ["pytorch/en/01-functional-dependencies.html",
                              "pytorch/zh/01-functional-dependencies.html"]
    assert "quick mode" in index.read_text(encoding="utf-8")
    for lang, heading in [("zh", "函数依赖关系"), ("en", "functional dependencies")]:
        page = out / "pytorch" / lang / "01-functional-dependencies.html"
        text = page.read_text(encoding="utf-8")
        assert heading in text
        assert website.BANNER[lang]["quick"] in text
        assert "data:image/svg+xml;base64," in text        # the figure, embedded
        assert "deep_rnn_by_hand agrees with nn.RNN" in text  # an executed output
        for link in _links(page):                         # MathJax etc. beside the page
            if "vendor" in link:
                assert (page.parent / link).exists(), link


def _executed_fixture(folder):
    cells = [new_markdown_cell("# 训练", metadata={"tags": ["lang-zh"]}),
             new_markdown_cell("# Training", metadata={"tags": ["lang-en"]}),
             new_code_cell("#@tab all\nplot()", execution_count=1, outputs=[
                 new_output("display_data", data={"image/svg+xml": SVG, "text/plain": "<Figure>"}),
                 new_output("display_data", data={"image/png": "iVBORw0KGgo=", "text/plain": "<F>"}),
                 new_output("stream", name="stdout", text="time traveller said\n")])]
    nb = new_notebook(cells=cells)
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}
    (folder / "exercises").mkdir(parents=True)
    nbformat.write(nb, str(folder / "03-training.ipynb"))
    nbformat.write(nb, str(folder / "exercises" / "ex9-plots.ipynb"))


def test_pages_embed_the_plots_and_the_index_has_the_results(tmp_path):
    executed, out = tmp_path / "book" / "pytorch", tmp_path / "site"
    _executed_fixture(executed)
    pages = website.pages(executed, "pytorch", out, "full")
    assert sorted(p.relative_to(out).as_posix() for p in pages) == [
        f"pytorch/{lang}/{sub}" for lang in ("en", "zh")
        for sub in ("03-training.html", "exercises/ex9-plots.html")]
    for page in pages:
        text = page.read_text(encoding="utf-8")
        svgs = [base64.b64decode(b).decode() for b in
                re.findall(r"data:image/svg\+xml;base64,([A-Za-z0-9+/=]+)", text)]
        assert any("<circle" in svg for svg in svgs)          # the SVG plot, embedded
        assert "data:image/png;base64,iVBORw0KGgo=" in text
        assert "time traveller said" in text
        assert 'class="d2l-banner"' not in text            # full mode: no banner
        assert ("训练" in text) == ("/zh/" in page.as_posix())
        _assert_links_resolve(page)
    index = website.index(out)
    _assert_links_resolve(index)
    assert len([link for link in _links(index) if link.endswith(".html")]) == 4
    table = book.table(json.loads((ROOT / "results" / "full-mode.json").read_text()))
    first_row = table.splitlines()[2].strip("| ").split(" | ")
    text = index.read_text(encoding="utf-8")
    assert all(f"<td>{cell}</td>" in text for cell in first_row), first_row


def test_class_mode_pages_say_so_in_their_language(tmp_path):
    executed, out = tmp_path / "book" / "pytorch", tmp_path / "site"
    _executed_fixture(executed)
    for page in website.pages(executed, "pytorch", out, "class"):
        lang = page.relative_to(out).parts[1]
        text = page.read_text(encoding="utf-8")
        assert html.escape(website.BANNER[lang]["class"]) in text
        assert "class" not in website.BANNER["zh"]["class"]  # no English mode name in Chinese
