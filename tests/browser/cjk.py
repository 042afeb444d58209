"""Does Chinese text render with a real CJK font, or as boxes ("tofu")?

Two honest measures, used by the browser tests:

* ``platform_fonts(page, selector)``: the fonts Chromium actually used to draw
  an element's text, with glyph counts (DevTools' CSS.getPlatformFontsForNode);
* ``glyph_shapes(page, selector)``: distinct Chinese characters of the element,
  each drawn on a canvas in the element's font; with a real font every
  character has its own shape, with the fallback box they all look alike.

``tofu_browser(playwright)`` launches Chromium with a font configuration
that holds no CJK font, so a test can show that the measures tell the two
cases apart (a check that cannot fail proves nothing).
"""
import os
import shutil
import tempfile
from pathlib import Path

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]
LATIN_ONLY_FONTS = "/usr/share/fonts/truetype/dejavu"

_SHAPES_JS = """
(selector) => {
  const el = document.querySelector(selector);
  const style = getComputedStyle(el);
  const font = `${style.fontStyle} ${style.fontWeight} 40px ${style.fontFamily}`;
  const chars = [...new Set([...el.textContent].filter(c => /[\\u4e00-\\u9fff]/.test(c)))].slice(0, 16);
  const canvas = document.createElement('canvas');
  canvas.width = canvas.height = 64;
  const ctx = canvas.getContext('2d', {willReadFrequently: true});
  const shapes = new Set();
  for (const ch of chars) {
    ctx.clearRect(0, 0, 64, 64);
    ctx.font = font;
    ctx.textBaseline = 'top';
    ctx.fillText(ch, 8, 8);
    const data = ctx.getImageData(0, 0, 64, 64).data;
    let bits = '';
    for (let i = 3; i < data.length; i += 4) bits += data[i] > 127 ? '1' : '0';
    shapes.add(bits);
  }
  return {chars: chars.length, shapes: shapes.size, font};
}
"""


def launch(playwright, **kw):
    if not Path(CHROMIUM).exists():
        raise RuntimeError("Debian's chromium is not installed: apt-get install chromium "
                           "fonts-noto-cjk (.ci/run does this)")
    return playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS, **kw)


def tofu_browser(playwright, workdir=None):
    """Chromium that sees only the DejaVu fonts (no CJK font at all)."""
    workdir = Path(workdir or tempfile.mkdtemp())
    workdir.mkdir(parents=True, exist_ok=True)
    conf = workdir / "fonts.conf"
    conf.write_text(f'<?xml version="1.0"?><!DOCTYPE fontconfig SYSTEM "fonts.dtd">'
                    f'<fontconfig><dir>{LATIN_ONLY_FONTS}</dir>'
                    f'<cachedir>{workdir / "cache"}</cachedir></fontconfig>')
    return launch(playwright, env=dict(os.environ, FONTCONFIG_FILE=str(conf)))


def glyph_shapes(page, selector):
    """``{'chars': n, 'shapes': m, 'font': css}`` for the element's Chinese text."""
    return page.evaluate(_SHAPES_JS, selector)


def platform_fonts(page, selector):
    """``{family: glyph count}`` of the fonts that drew the element's text."""
    cdp = page.context.new_cdp_session(page)
    cdp.send("DOM.enable")
    cdp.send("CSS.enable")
    root = cdp.send("DOM.getDocument", {"depth": -1})["root"]["nodeId"]
    node = cdp.send("DOM.querySelector", {"nodeId": root, "selector": selector})["nodeId"]
    fonts = {}
    # The text sits in the element's child text nodes; ask for the element
    # and for each descendant element as well.
    nodes = [node] + cdp.send("DOM.querySelectorAll",
                              {"nodeId": node, "selector": "*"})["nodeIds"]
    for n in nodes:
        for f in cdp.send("CSS.getPlatformFontsForNode", {"nodeId": n})["fonts"]:
            fonts[f["familyName"]] = fonts.get(f["familyName"], 0) + f["glyphCount"]
    cdp.detach()
    return fonts


def renders_cjk(page, selector):
    """(ok, details): the element's Chinese characters are drawn by a CJK font
    and each has its own shape."""
    shapes = glyph_shapes(page, selector)
    fonts = platform_fonts(page, selector)
    cjk = {f: n for f, n in fonts.items() if "CJK" in f}
    ok = shapes["chars"] >= 4 and shapes["shapes"] == shapes["chars"] and sum(cjk.values()) > 0
    return ok, {"shapes": shapes, "fonts": fonts}


def offline_page(browser, width, height):
    """A new page of ``width`` x ``height`` that loads only file: and data:
    addresses; returns it with the list of the other requests it tried (all
    blocked), so that a test can assert nothing left the machine."""
    page = browser.new_page(viewport={"width": width, "height": height})
    remote = []

    def route(r):
        if r.request.url.startswith(("file:", "data:")):
            r.continue_()
        else:
            remote.append(r.request.url)
            r.abort()
    page.route("**/*", route)
    return page, remote
