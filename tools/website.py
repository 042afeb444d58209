"""`make site`: the executed edition, a small static site to read offline.

    python -m tools.website --mode full                    # execute every notebook (PyTorch), ~50 min
    python -m tools.website --mode quick --only 01 03      # CI-sized runs, pages carry a banner
    python -m tools.website --tabs pytorch mxnet --mode class
    python -m tools.website --from build                   # reuse `make book`'s build/<tab>/ notebooks
    python -m tools.website ...                            # the same, with tools/ as a package

Writes ``build/site/``:

* ``index.html`` -- links to every page, the mode each tab ran in, and the
  results table of ``results/full-mode.json`` (as in the README);
* ``<tab>/<lang>/<notebook>.html`` -- one page per notebook, language and
  tab: the executed notebook with its plots and generated text, images
  embedded (no file beside it is needed, no network either).

Notebooks are executed by ``book.execute`` (the code behind `make book`),
into ``build/site-work/`` so that a quick run never overwrites `make book`'s
full-mode notebooks.  A page from a run in any mode but full says so in a
banner at its top.  The site is built, never committed.
"""
import argparse
import html
import json
import os
import re
import sys
import tempfile
from pathlib import Path

import nbformat

from d2l_helpers import frameworks  # the one list of tabs
from d2l_helpers.modes import SETTING as MODES  # --mode -> D2L_QUICK
from tools import book, nbtools, slides

ROOT = Path(__file__).resolve().parents[1]
LANG_NAMES = {"zh": "中文", "en": "English"}
BANNER = {  # per language, per mode other than full
    "zh": {"quick": "本页由快速模式运行生成：数字只说明代码能运行，不是结果；结果见首页的完整模式结果表。",
           "class": "本页由课堂模式运行生成：训练量比完整模式小（见页首的运行时间和课堂模式说明），"
                    "数字不是记录的结果；结果见首页的完整模式结果表。"},
    "en": {"quick": "This page was run in quick mode: its numbers show that the code runs, not "
                    "results; see the full-mode results table on the index page.",
           "class": "This page was run in class mode: smaller budgets than full mode (see the "
                    "run-time lines at the top), so its numbers are not the recorded results; see "
                    "the full-mode results table on the index page."},
}
_NOTEBOOK_LINK = re.compile(r"(\]\()([^)#:\s]+)\.ipynb([#)])")
STYLE = ("<style>.d2l-banner{background:#fff3cd;border:1px solid #e0b000;padding:.6em 1em;"
         "margin:1em;font-family:sans-serif}</style>")


def run(tab, mode, only=(), work=ROOT / "build" / "site-work"):
    """Execute the notebooks under ``tab`` in ``mode`` (book.execute);
    returns the folder of executed notebooks (``work/<tab>``)."""
    work = Path(work)
    results = (work / f"results-{tab}.json").resolve()
    results.unlink(missing_ok=True)
    for path in book.notebooks(only):
        book.execute(path, tab, results, quick=MODES[mode], out_root=work)
    (work / tab / "mode.txt").write_text(mode)
    return work / tab


def _page(nb, lang, mode, vendor):
    """HTML of one single-language executed notebook; ``vendor`` is the
    relative URL of the folder holding MathJax and require.js."""
    from nbconvert import HTMLExporter
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            slides._embed_local_images(cell, ROOT / "notebooks")
            cell.source = _NOTEBOOK_LINK.sub(r"\1\2.html\3", cell.source)
    nb.metadata.pop("widgets", None)  # progress bars show their text; no widget JS from a CDN
    exporter = HTMLExporter(
        embed_images=True, language_code=slides.LANG_CODES[lang],
        mathjax_url=f"{vendor}/mathjax/MathJax.js?config={slides.MATHJAX_CONFIG}",
        require_js_url=f"{vendor}/requirejs/require.js")
    body = slides.offline(exporter.from_notebook_node(nb)[0])
    banner = "" if mode == "full" else \
        f'<div class="d2l-banner">{html.escape(BANNER[lang][mode])}</div>'
    body = body.replace("</head>", STYLE + "\n</head>", 1)
    return re.sub(r"(<body[^>]*>)", lambda m: m.group(1) + banner, body, count=1)


def pages(executed, tab, out, mode):
    """Write the pages of the executed notebooks in ``executed`` (a book
    output folder: ``<notebook>.ipynb``, ``exercises/...``); returns them."""
    paths = sorted(Path(executed).glob("*.ipynb")) + \
        sorted(Path(executed).glob("exercises/*.ipynb"))
    if not paths:
        raise FileNotFoundError(f"no executed notebooks in {executed}: run `make book` "
                                f"or give --mode")
    written = []
    slides.vendor(Path(out) / "vendor", only=("mathjax", "requirejs"))
    with tempfile.TemporaryDirectory() as tmp:
        for lang in nbtools.LANGS:
            # split() names files by the path below the last 'notebooks' folder;
            # book's output has none, so keep exercises/ by hand.
            for sub in ("", "exercises"):
                group = [str(p) for p in paths if p.parent == Path(executed) / sub]
                for split in nbtools.split(group, lang, str(Path(tmp) / lang / sub)):
                    nb = nbformat.read(split, as_version=4)
                    page = Path(out) / tab / lang / sub / (Path(split).stem + ".html")
                    page.parent.mkdir(parents=True, exist_ok=True)
                    vendor = os.path.relpath(Path(out) / "vendor", page.parent)
                    page.write_text(_page(nb, lang, mode, Path(vendor).as_posix()),
                                    encoding="utf-8")
                    written.append(page)
    (Path(out) / tab / "mode.txt").write_text(mode)
    return written


def results_table():
    """The README's results table (book.table) of results/full-mode.json, as HTML."""
    from nbconvert.filters.markdown import markdown2html
    runs = json.loads((ROOT / "results" / "full-mode.json").read_text())
    return markdown2html(book.table(runs))


def index(out):
    """Write ``out/index.html`` over every page present in ``out``."""
    out = Path(out)
    parts = ["<h1>9.3 深度循环神经网络 · Deep recurrent neural networks</h1>",
             "<p>执行过的笔记本：图和生成的文本都在页面里，可离线阅读。 "
             "The notebooks, executed: plots and generated text are in the pages; "
             "readable offline.</p>"]
    for tab_dir in sorted(p for p in out.iterdir() if (p / "mode.txt").exists()):
        mode = (tab_dir / "mode.txt").read_text().strip()
        note = "" if mode == "full" else \
            f' <span class="d2l-banner">{html.escape(mode)} mode: not results</span>'
        parts.append(f"<h2>{html.escape(tab_dir.name)} ({html.escape(mode)} mode){note}</h2>")
        for lang in nbtools.LANGS:
            links = "".join(
                f'<li><a href="{p.relative_to(out).as_posix()}">'
                f'{html.escape(p.relative_to(tab_dir / lang).with_suffix("").as_posix())}</a></li>'
                for p in sorted((tab_dir / lang).rglob("*.html"),
                                key=lambda p: ("exercises" in p.parts, p.name)))
            if links:
                parts.append(f"<h3>{LANG_NAMES[lang]}</h3><ul>{links}</ul>")
    parts.append("<h2>完整模式的结果 · Full-mode results</h2>"
                 "<p>From <code>results/full-mode.json</code> (<code>make book</code>).</p>")
    parts.append(results_table())
    (out / "index.html").write_text(
        '<!DOCTYPE html><html lang="zh-CN"><head><meta charset="utf-8"><title>9.3 deep RNNs'
        f"</title>{STYLE}<style>table{{border-collapse:collapse}}td,th{{border:1px solid #ccc;"
        "padding:2px 6px}</style></head><body>" + "\n".join(parts) + "</body></html>\n",
        encoding="utf-8")
    return out / "index.html"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tabs", nargs="+", choices=frameworks.NAMES,
                        default=[frameworks.DEFAULT])
    parser.add_argument("--mode", choices=sorted(MODES), default=None,
                        help="execute the notebooks in this mode")
    parser.add_argument("--from", dest="source", default=None,
                        help="use executed notebooks from SOURCE/<tab>/ (e.g. build, "
                             "after `make book`; taken as full mode)")
    parser.add_argument("--only", nargs="*", default=[],
                        help="notebooks whose names contain one of these")
    parser.add_argument("--out", default=str(ROOT / "build" / "site"))
    parser.add_argument("--work", default=str(ROOT / "build" / "site-work"),
                        help="where the executed notebooks go (default build/site-work)")
    args = parser.parse_args(argv)
    if (args.mode is None) == (args.source is None):
        parser.error("give exactly one of --mode (execute now) or --from (reuse `make book`)")
    for tab in args.tabs:
        if args.mode:
            executed, mode = run(tab, args.mode, args.only, args.work), args.mode
        else:  # `make book` runs in full mode; a run of this tool left its mode
            executed = Path(args.source) / tab
            mode_file = executed / "mode.txt"
            mode = mode_file.read_text().strip() if mode_file.exists() else "full"
        for page in pages(executed, tab, args.out, mode):
            print(page)
    print(index(args.out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
