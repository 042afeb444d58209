"""`make slides`: offline reveal.js decks of the chapter notebooks, per language.

    python -m tools.slides                        # build/slides/{zh,en}/<notebook>.slides.html
    python -m tools.slides --live                 # from the clean notebooks (no outputs)
    python -m tools.slides --live --tab mxnet     # the MXNet cells instead of the PyTorch ones
    python -m tools.slides --from build/pytorch   # decks of executed notebooks (`make book`)
    python -m tools.slides ...                    # the same, with tools/ as a package

By default the decks come from the executed edition (``executed/{zh,en}/``,
``make executed``), so they show the plots, tables and generated text; its
first cell (which run made the outputs) becomes a speaker note.  The live
path stays: RISE in JupyterLab reads the same slide metadata of the clean
notebooks, and ``--live`` makes decks of them without outputs.  Long code
lines and outputs wrap instead of running off a 16:9 slide (:data:`CODE_STYLE`).

`jupyter nbconvert --to slides` (nbconvert's SlidesExporter) does the work;
cells say what they are with ``metadata.slideshow.slide_type`` (slide,
subslide, fragment, skip, ``-`` = continue).  The chapter notebooks store it
for every cell, by the rule of :func:`default_slide_type` (``#``/``##``
headings start a slide, other prose a sub-slide, code continues, the setup
cell and the time lines are skipped); ``python -m tools.slides --mark``
writes it into cells that lack it, e.g. after new cells were added.  The
other tab's cells are skipped, and the ``#@tab`` line is not shown.

The decks open offline, from the file system.  Everything they load lies in
``build/slides/vendor/``: reveal.js, require.js, jQuery and MathJax 2 (the
versions nbconvert's template is written for), unpacked from the npm
registry's tarballs, pinned by version and sha512 and cached in
``build/vendor-cache/``.  Mermaid, which the template imports from a CDN, is
dropped (no notebook uses it).  Images are embedded.  The tool refuses to
write a deck that still refers to a remote script, style sheet or image.
"""
import argparse
import base64
import copy
import hashlib
import html
import io
import re
import sys
import tarfile
import tempfile
import urllib.request
from pathlib import Path

import nbformat

from d2l_helpers import frameworks  # the one list of tabs
from tools import nbtools

ROOT = Path(__file__).resolve().parents[1]

REGISTRY = "https://registry.npmjs.org"
# name, version, sha512 of the tarball (npm's "integrity"), members kept
# (paths below the tarball's package/ folder), folder under vendor/.
PACKAGES = [
    ("reveal.js", "4.6.1",
     "1CW0auaXNPmwmvQ7TwpszwVxMi2Xr5cTS3J3EBC/HHgbPF32Dn7aiu/LKWDOGjMbaDwKQiGmfqcoGQ74HUHCMw==",
     ("dist/", "plugin/notes/"), "reveal.js"),
    ("requirejs", "2.3.7",
     "DouTG8T1WanGok6Qjg2SXuCMzszOo0eHeH9hDZ5Y4x8Je+9JB38HdTLT4/VA8OaUhBa0JPVHJ0pyBkM1z+pDsw==",
     ("require.js",), "requirejs"),
    ("jquery", "3.7.1",
     "m4avr8yL8kmFN8psrbFFFmB/If14iN5o9nw/NgnnM+kybDJpRsAynV2BsfpTYrTRysYUdADVD7CkUUizgkpLfg==",
     ("dist/jquery.min.js",), "jquery"),
    ("mathjax", "2.7.9",
     "NOGEDTIM9+MrsqnjPEjVGNx4q0GQxqm61yQwSK+/5S59i26wId5IC5gNu9/bu8+CCVl5p9G2IHcAl/wJa+5+BQ==",
     ("MathJax.js", "config/", "extensions/", "localization/", "jax/input/TeX/",
      "jax/element/", "jax/output/CommonHTML/", "jax/output/PreviewHTML/",
      "fonts/HTML-CSS/TeX/woff/"), "mathjax"),
]
MATHJAX_CONFIG = "TeX-AMS_CHTML-full,Safe"
LANG_CODES = {"zh": "zh", "en": "en"}  # nbconvert accepts ISO 639-1 codes only
# Simplified-Chinese glyphs wherever such a font exists (else the browser's
# CJK fallback, which may pick Japanese forms), after the theme's Latin font.
ZH_FONTS = ('"Source Sans Pro", Helvetica, "Noto Sans CJK SC", "Noto Sans SC", '
            '"Source Han Sans SC", "PingFang SC", "Microsoft YaHei", sans-serif')
ZH_STYLE = (f"<style>.reveal, .reveal h1, .reveal h2, .reveal h3, .reveal h4 "
            f"{{ font-family: {ZH_FONTS}; }}</style>")
# Code and text outputs wrap at the slide's edge (reveal.js scales a 16:9 deck,
# and nbconvert's template would cut long lines off); figures fit the slide.
CODE_STYLE = ("<style>.reveal pre, .reveal pre code, .reveal .highlight pre, "
              ".reveal .jp-OutputArea-output pre { white-space: pre-wrap; "
              "overflow-wrap: anywhere; word-break: break-word; overflow-x: hidden; } "
              ".reveal .jp-RenderedImage img, .reveal .output_png img "
              "{ max-width: 100%; height: auto; }</style>")
EXECUTED = ROOT / "executed"
TITLE = {"zh": "9.3 深度循环神经网络 · 幻灯片", "en": "9.3 Deep recurrent neural networks · slides"}


class VendorError(RuntimeError):
    """A pinned JavaScript package could not be fetched or did not match."""


# --------------------------------------------------------------------------
# The JavaScript the decks load
# --------------------------------------------------------------------------

def _tarball(name, version, sha512, cache):
    """The bytes of one npm tarball, from the cache or the registry; checked
    against its pinned sha512, and cached only once checked."""
    path = cache / f"{name}-{version}.tgz"
    if path.exists():
        data = path.read_bytes()
    else:
        url = f"{REGISTRY}/{name}/-/{name}-{version}.tgz"
        try:
            with urllib.request.urlopen(url, timeout=120) as response:
                data = response.read()
        except OSError as err:
            raise VendorError(
                f"could not download {url} ({err}); the decks need it once, then it is "
                f"cached in {cache}. Offline: copy the tarball there by hand") from err
    digest = base64.b64encode(hashlib.sha512(data).digest()).decode()
    if digest != sha512:
        path.unlink(missing_ok=True)
        raise VendorError(f"{name}-{version}.tgz does not match its pinned sha512 "
                          f"(got {digest[:16]}...); deleted, run again to re-download")
    if not path.exists():
        cache.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".part")
        tmp.write_bytes(data)
        tmp.replace(path)  # never a half-written cache file
    return data


def vendor(out, cache=ROOT / "build" / "vendor-cache", only=None):
    """Unpack the pinned packages (those whose folder is in ``only``, default
    all) into ``out`` (``out/<folder>/...``); returns ``out``."""
    for name, version, sha512, members, folder in PACKAGES:
        if only is not None and folder not in only:
            continue
        stamp = out / folder / ".version"
        if stamp.exists() and stamp.read_text() == f"{version} {sha512}":
            continue
        data = _tarball(name, version, sha512, Path(cache))
        with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as tar:
            for member in tar.getmembers():
                rel = member.name.split("/", 1)[-1]
                if not member.isfile() or not rel.startswith(members) or ".." in rel:
                    continue
                target = out / folder / rel
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(tar.extractfile(member).read())
        stamp.write_text(f"{version} {sha512}")
    return out


# --------------------------------------------------------------------------
# Notebooks to decks
# --------------------------------------------------------------------------

def chapter_notebooks(folder=ROOT / "notebooks"):
    """The chapter notebooks (01-..., 02-..., not the exercises), in order."""
    return sorted(p for p in Path(folder).glob("[0-9][0-9]-*.ipynb"))


def default_slide_type(cell):
    """The slide type the chapter notebooks give ``cell``: ``#``/``##``
    headings start a slide, other prose a sub-slide, code continues, the
    setup cell, the run-time lines (tag ``mode-times``) and the bookkeeping
    cells that record a run for ``make book`` (tag ``bookkeeping``) are skipped."""
    if {"mode-times", "bookkeeping"} & set(cell.metadata.get("tags") or []):
        return "skip"
    if cell.cell_type == "code":
        return "skip" if cell.source.strip() == nbtools.SETUP_CELL else "-"
    first = cell.source.lstrip().split("\n", 1)[0]
    return "slide" if re.match(r"#{1,2} ", first) else "subslide"


def _slide_type(cell):
    return cell.metadata.get("slideshow", {}).get("slide_type") or default_slide_type(cell)


def mark(paths):
    """Give every cell of ``paths`` without slideshow metadata its
    :func:`default_slide_type`; returns the notebooks that changed."""
    changed = []
    for path in paths:
        nb = nbformat.read(str(path), as_version=4)
        missing = [c for c in nb.cells if not c.metadata.get("slideshow", {}).get("slide_type")]
        for cell in missing:
            cell.metadata["slideshow"] = {"slide_type": default_slide_type(cell)}
        if missing:
            nbformat.write(nb, str(path))
            changed.append(path)
    return changed


_IMAGE = re.compile(r"(!\[[^\]]*\]\()([^)\s:]+\.(?:svg|png|jpe?g))(\))")
_CHAPTER_LINK = re.compile(r"(\]\()(\d\d-[^)/]+)\.ipynb([#)])")
_MIME = {"svg": "image/svg+xml", "png": "image/png", "jpg": "image/jpeg", "jpeg": "image/jpeg"}


def _embed_local_images(cell, base):
    """Local images become cell attachments (nbconvert embeds those; it
    refuses files above the notebook's folder, such as ../img/)."""
    def attach(match):
        path = (base / match.group(2)).resolve()
        if not path.is_file():
            return match.group(0)
        name = path.name
        mime = _MIME[path.suffix.lower().lstrip(".")]
        cell.setdefault("attachments", {})[name] = {
            mime: base64.b64encode(path.read_bytes()).decode("ascii")}
        return f"{match.group(1)}attachment:{name}{match.group(3)}"
    cell.source = _IMAGE.sub(attach, cell.source)


def deck_notebook(nb, tab, base=ROOT / "notebooks"):
    """A copy of a single-language notebook node made ready for the deck;
    ``base`` is the folder its relative image paths start from."""
    nb = copy.deepcopy(nb)
    nb.metadata.pop("widgets", None)  # progress bars show their text; no widget JS from a CDN
    other = [m for m in nbtools.TAB_MARKERS if m not in ("#@tab all", f"#@tab {tab}")]
    for cell in nb.cells:
        kind = _slide_type(cell)
        if "executed-stamp" in (cell.metadata.get("tags") or []):
            kind = "notes"  # which run made the outputs: for the teacher
        if cell.cell_type == "markdown":
            _embed_local_images(cell, Path(base))
            cell.source = _CHAPTER_LINK.sub(r"\1\2.slides.html\3", cell.source)
        if cell.cell_type == "code":
            first, _, rest = cell.source.partition("\n")
            if first.strip() in other or first.strip() == nbtools.SETUP_CELL:
                kind = "skip"
            elif first.strip() in nbtools.TAB_MARKERS:
                cell.source = rest
        cell.metadata["slideshow"] = {"slide_type": kind}
    # A deck starts with a slide, whatever the first cell says.
    shown = [c for c in nb.cells if c.metadata.slideshow.slide_type not in ("skip", "notes")]
    if shown:
        shown[0].metadata.slideshow.slide_type = "slide"
        # A speaker note belongs to a slide: the stamp goes right after the first one.
        notes = [c for c in nb.cells if c.metadata.slideshow.slide_type == "notes"
                 and nb.cells.index(c) < nb.cells.index(shown[0])]
        for cell in notes:
            nb.cells.remove(cell)
        at = nb.cells.index(shown[0]) + 1
        nb.cells[at:at] = notes
    return nb


def _exporter(lang, prefix):
    from nbconvert import SlidesExporter
    return SlidesExporter(
        reveal_url_prefix=f"{prefix}/reveal.js",
        require_js_url=f"{prefix}/requirejs/require.js",
        jquery_url=f"{prefix}/jquery/dist/jquery.min.js",
        mathjax_url=f"{prefix}/mathjax/MathJax.js?config={MATHJAX_CONFIG}",
        reveal_scroll=True, reveal_theme="white", embed_images=True,
        exclude_input_prompt=True, exclude_output_prompt=True,
        language_code=LANG_CODES[lang])


_MERMAID = re.compile(r"<script type=\"module\">\s*import mermaid from [^<]*</script>")
_REMOTE = re.compile(r"<(?:script|link|img)\b[^>]*\b(?:src|href)=\"(?:https?:)?//[^\"]*\"")


def offline(body, lang="en"):
    """The deck's HTML without the CDN import of mermaid (and with the
    Chinese font list in a zh deck); ValueError if any other script, style
    sheet or image still comes from the network."""
    body = _MERMAID.sub("", body)
    body = body.replace("</head>", CODE_STYLE + "\n</head>", 1)
    if lang == "zh":
        body = body.replace("</head>", ZH_STYLE + "\n</head>", 1)
    remote = _REMOTE.findall(body)
    if remote:
        raise ValueError("the deck still loads from the network: " + "; ".join(remote[:3]))
    return body


def _executed(edition, lang, tab):
    """The chapter notebooks of the executed edition in ``lang`` (checked to
    have run under ``tab``)."""
    paths = chapter_notebooks(Path(edition) / lang)
    if not paths:
        raise FileNotFoundError(f"no executed chapter notebooks in {Path(edition) / lang}: "
                                f"run `make executed`, or `make slides` with --live "
                                f"(python -m tools.slides --live) for decks without outputs")
    for path in paths:
        ran = nbformat.read(str(path), as_version=4).metadata.get("d2l_executed", {}).get("tab")
        if ran != tab:
            raise ValueError(f"{path} ran under the {ran} tab, not {tab}: run "
                             f"`make executed TAB={tab}`, or use --live")
    return [str(p) for p in paths]


def build(out=ROOT / "build" / "slides", tab="pytorch", source=None, langs=nbtools.LANGS,
          edition=EXECUTED):
    """Write the decks (and an index page) to ``out``; returns their paths.
    ``source``: a folder of bilingual notebooks (``ROOT/notebooks`` for the
    live decks, ``build/<tab>`` after `make book`); None: the executed
    edition in ``edition/<lang>/``."""
    out = Path(out)
    vendor(out / "vendor")
    if source is not None and not chapter_notebooks(source):
        raise FileNotFoundError(f"no chapter notebooks (NN-name.ipynb) in {source}")
    decks = []
    with tempfile.TemporaryDirectory() as tmp:
        for lang in langs:
            exporter = _exporter(lang, "../vendor")
            if source is None:
                singles, base = _executed(edition, lang, tab), Path(edition) / lang
            else:
                singles = nbtools.split([str(p) for p in chapter_notebooks(source)], lang,
                                        str(Path(tmp) / lang))
                base = ROOT / "notebooks"
            for split in singles:
                nb = deck_notebook(nbformat.read(split, as_version=4), tab, base)
                body, _ = exporter.from_notebook_node(
                    nb, resources={"metadata": {"name": Path(split).stem,
                                                "path": str(base)}})
                deck = out / lang / (Path(split).stem + ".slides.html")
                deck.parent.mkdir(parents=True, exist_ok=True)
                deck.write_text(offline(body, lang), encoding="utf-8")
                decks.append(deck)
    _index(out, decks, tab)
    return decks


def _index(out, decks, tab):
    items = []
    for lang in nbtools.LANGS:
        links = "".join(f'<li><a href="{d.relative_to(out).as_posix()}">{html.escape(d.stem)}</a></li>'
                        for d in decks if d.parent.name == lang)
        if links:
            items.append(f"<h2>{html.escape(TITLE[lang])} ({tab})</h2><ul>{links}</ul>")
    (out / "index.html").write_text(
        '<!DOCTYPE html><html><head><meta charset="utf-8"><title>slides</title></head><body>'
        + "".join(items) + "</body></html>\n", encoding="utf-8")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=str(ROOT / "build" / "slides"))
    parser.add_argument("--tab", choices=frameworks.NAMES, default=frameworks.DEFAULT)
    parser.add_argument("--from", dest="source", default=None,
                        help="folder of bilingual (executed) notebooks, e.g. build/pytorch "
                             "after `make book`; default: the executed edition, executed/")
    parser.add_argument("--live", action="store_true",
                        help="decks of the clean notebooks in notebooks/ (no outputs; "
                             "RISE in JupyterLab shows the same slides live)")
    parser.add_argument("--mark", action="store_true",
                        help="only write the default slide types into the chapter "
                             "notebooks' cells that have none")
    args = parser.parse_args(argv)
    if args.mark:
        for path in mark(chapter_notebooks()):
            print(f"marked: {path}")
        return 0
    try:
        source = ROOT / "notebooks" if args.live else args.source
        decks = build(args.out, args.tab, source)
    except (VendorError, ValueError, FileNotFoundError) as err:
        print(f"slides: {err}", file=sys.stderr)
        return 1
    for deck in decks:
        print(deck)
    return 0


if __name__ == "__main__":
    sys.exit(main())
