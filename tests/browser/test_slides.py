"""`make slides` (tools/slides.py): the decks open offline in Chromium.

Each deck is opened from the file system with every non-file request
blocked and recorded: reveal.js must start, MathJax must typeset the
equations, and in the Chinese deck the text must be drawn with a CJK font
(tests/browser/cjk.py), which a Chromium without CJK fonts fails.  One
screenshot per test is kept in build/ (a CI artefact).
"""
from pathlib import Path

import pytest

import cjk  # tests/browser/cjk.py, beside this file (pytest puts this folder on the path)
from tools import slides

ROOT = Path(__file__).resolve().parents[2]

DECK = "01-functional-dependencies.slides.html"


@pytest.fixture(scope="module")
def decks(tmp_path_factory):
    out = tmp_path_factory.mktemp("slides")
    built = slides.build(out)
    return out, built


def _screenshot(page, name):
    build = ROOT / "build"
    build.mkdir(exist_ok=True)
    page.screenshot(path=str(build / name))


def _open(browser, deck):
    """The deck's page, started, with MathJax done; and the list of the
    non-file requests it tried (all blocked)."""
    page, remote = cjk.offline_page(browser, 1280, 800)
    errors = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(deck.as_uri())
    page.wait_for_selector(".reveal.ready", timeout=60_000)
    page.wait_for_function("window.MathJax && MathJax.Hub && MathJax.Hub.queue.pending === 0"
                           " && document.querySelectorAll('.MathJax_CHTML').length > 0",
                           timeout=90_000)
    return page, remote, errors


def _go_to_equation(page):
    """Step through the deck to the first slide showing a display equation."""
    for _ in range(40):
        if page.evaluate("!!document.querySelector('section.present .MJXc-display')"):
            page.wait_for_timeout(1000)  # let the slide transition end
            return True
        page.keyboard.press("ArrowRight")
        page.wait_for_timeout(150)
    return False


def test_every_chapter_notebook_has_a_deck_in_each_language(decks):
    out, built = decks
    names = {(d.parent.name, d.name) for d in built}
    chapters = [p.stem for p in slides.chapter_notebooks()]
    assert names == {(lang, f"{c}.slides.html") for lang in ("zh", "en") for c in chapters}
    index = (out / "index.html").read_text(encoding="utf-8")
    assert all(f'href="{lang}/{c}.slides.html"' in index for lang, c in
               [(d.parent.name, d.name[:-len(".slides.html")]) for d in built])


def test_decks_load_nothing_from_the_network(decks):
    out, built = decks
    for deck in built:
        slides.offline(deck.read_text(encoding="utf-8"))   # raises on a remote URL
    with pytest.raises(ValueError, match="network"):
        slides.offline('<script src="https://cdn.example/x.js"></script>')


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_deck_renders_offline(decks, lang):
    from playwright.sync_api import sync_playwright
    out, _ = decks
    with sync_playwright() as p:
        browser = cjk.launch(p)
        page, remote, errors = _open(browser, out / lang / DECK)
        assert remote == [] and errors == []
        # 01 has six ## sections, each with sub-slides
        assert page.evaluate("document.querySelectorAll('.reveal .slides > section').length") >= 5
        assert page.evaluate("document.querySelectorAll('.reveal .slides section section').length") >= 15
        # MathJax replaced the TeX: no raw \mathbf left in the visible text.
        assert "\\mathbf" not in page.evaluate("document.body.innerText")
        assert page.evaluate("document.querySelectorAll('.MathJax_Error, .mjx-merror').length") == 0
        title = page.text_content("section.present h1")  # the theme upper-cases it on screen
        assert ("深度循环神经网络" if lang == "zh" else "Deep recurrent neural networks") in title
        if lang == "zh":
            ok, details = cjk.renders_cjk(page, "section.present h1")
            assert ok, details
        assert _go_to_equation(page)
        _screenshot(page, f"browser-slides-{lang}.png")
        browser.close()


def test_cjk_check_fails_without_a_cjk_font(decks, tmp_path):
    """The control: the same deck in a Chromium that has no CJK font."""
    from playwright.sync_api import sync_playwright
    out, _ = decks
    with sync_playwright() as p:
        browser = cjk.tofu_browser(p, tmp_path)
        page, _, _ = _open(browser, out / "zh" / DECK)
        ok, details = cjk.renders_cjk(page, "section.present h1")
        _screenshot(page, "browser-slides-zh-no-cjk-font.png")
        browser.close()
    assert not ok
    assert details["shapes"]["shapes"] < details["shapes"]["chars"]
    assert not any("CJK" in family for family in details["fonts"])
