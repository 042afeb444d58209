"""The executed edition (make executed) in Chromium: an executed notebook as
a page, and a slide deck made from it (make slides).

Each must show a figure (an image that decoded and takes room on the screen:
the training plot of notebook 03) and draw its Chinese text with a CJK font
(cjk.py).  The control: the live deck, made from the clean notebook, shows no
such figure, so the figure check can fail.  In the deck no code line may run
off the slide.  Screenshots: build/browser-executed-zh.png and
build/browser-executed-slides-zh.png.
"""
from pathlib import Path

import pytest

import cjk  # tests/browser/cjk.py, beside this file (pytest puts this folder on the path)
from tools import executed, slides

ROOT = Path(__file__).resolve().parents[2]

NOTEBOOK = "03-training-and-prediction"
PRESENT = "section.present:not(.stack)"  # the sub-slide on screen, not its column
EXECUTED = ROOT / "executed" / "zh" / f"{NOTEBOOK}.ipynb"

# An output figure: a PNG from an output area, decoded, with room on the page.
_FIGURE_JS = """
(scope) => {
  const root = scope ? document.querySelector(scope) : document;
  if (!root) return null;
  const imgs = [...root.querySelectorAll('img')].filter(i =>
      i.src.startsWith('data:image/png') && i.closest('.jp-OutputArea-output, .output_area'));
  // Shown: decoded, with room, and on top at its own centre (not hidden or covered).
  const shown = imgs.filter(i => {
    const r = i.getBoundingClientRect();
    if (!i.complete || i.naturalWidth < 50 || r.width < 50) return false;
    const x = r.left + r.width / 2, y = r.top + Math.min(r.height / 2, 20);
    return y > 0 && y < innerHeight && document.elementFromPoint(x, y) === i;
  });
  return {found: imgs.length, shown: shown.length};
}
"""


def _screenshot(page, name):
    (ROOT / "build").mkdir(exist_ok=True)
    page.screenshot(path=str(ROOT / "build" / name))
    return ROOT / "build" / name


def _blocking(browser):
    return cjk.offline_page(browser, 1280, 720)  # 16:9


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    if not EXECUTED.exists():
        pytest.fail(f"{EXECUTED.relative_to(ROOT)} is missing: run `make executed`")
    out = tmp_path_factory.mktemp("executed")
    page = executed.html(EXECUTED, out / "pages")
    decks = slides.build(out / "slides", langs=("zh",))
    live = slides.build(out / "live", source=ROOT / "notebooks", langs=("zh",))
    pick = lambda ds: next(d for d in ds if d.name == f"{NOTEBOOK}.slides.html")
    return page, pick(decks), pick(live)


def test_executed_notebook_page_shows_a_figure_and_chinese_text(built):
    from playwright.sync_api import sync_playwright
    page_path, _, _ = built
    with sync_playwright() as p:
        browser = cjk.launch(p)
        page, remote = _blocking(browser)
        page.goto(page_path.as_uri())
        page.wait_for_load_state("load")
        assert "执行版" in page.evaluate("document.body.innerText")  # the stamp cell
        ok, details = cjk.renders_cjk(page, "h1")
        assert ok, details
        page.locator(".jp-OutputArea-output img").first.scroll_into_view_if_needed()
        page.wait_for_timeout(300)
        figure = page.evaluate(_FIGURE_JS, None)
        assert figure["shown"] >= 1, figure
        _screenshot(page, "browser-executed-zh.png")
        browser.close()
    assert remote == []


def _go_to_figure(page):
    """Step through the deck to the first slide showing an output figure."""
    for _ in range(60):
        got = page.evaluate(_FIGURE_JS, PRESENT)
        if got and got["found"]:
            page.wait_for_timeout(1000)  # let the transition end
            return page.evaluate(_FIGURE_JS, PRESENT)
        page.keyboard.press("Space")  # next slide, down the sub-slides first
        page.wait_for_timeout(120)
    return {"found": 0, "shown": 0}


def _open_deck(browser, deck):
    page, remote = _blocking(browser)
    page.goto(deck.as_uri())
    page.wait_for_selector(".reveal.ready", timeout=60_000)
    return page, remote


def test_deck_from_the_executed_edition_shows_the_figure(built):
    from playwright.sync_api import sync_playwright
    _, deck, live = built
    with sync_playwright() as p:
        browser = cjk.launch(p)
        page, remote = _open_deck(browser, deck)
        ok, details = cjk.renders_cjk(page, "section.present h1")
        assert ok, details
        figure = _go_to_figure(page)
        assert figure["shown"] >= 1, figure
        # Every code line fits the slide: wrapped, never cut off or scrolled.
        cut = page.evaluate("""[...document.querySelectorAll('.reveal pre')]
            .filter(p => p.scrollWidth > p.clientWidth + 2).length""")
        assert cut == 0
        _screenshot(page, "browser-executed-slides-zh.png")
        # The control: the live deck of the clean notebook has no output figure.
        control, _ = _open_deck(browser, live)
        assert _go_to_figure(control) == {"found": 0, "shown": 0}
        browser.close()
    assert remote == []
