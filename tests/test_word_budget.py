"""Word budgets: a student reads each notebook's prose in one sitting (issue 23).

English markdown (``lang-en`` cells) counts words: whitespace-separated tokens
once inline code spans and LaTeX (``$...$``, ``$$...$$``) are removed.  Chinese
markdown (``lang-zh`` cells) counts units: CJK characters plus the non-CJK
words left after the same removals.

Budgets: the chapter notebooks 01-03 at most 1,000 English words and 1,800
Chinese units; the depth study (04) and the exercises at most 1,300 and 2,340.
"""
import re
import sys
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb")) + \
    sorted((ROOT / "notebooks" / "exercises").glob("*.ipynb"))
CHAPTER = ("01", "02", "03")
BUDGETS = {"chapter": {"en": 1000, "zh": 1800}, "long": {"en": 1300, "zh": 2340}}

_CODE_BLOCK = re.compile(r"```.*?```", re.S)
_CODE_SPAN = re.compile(r"`[^`\n]*`")
_DISPLAY_MATH = re.compile(r"\$\$.*?\$\$", re.S)
_INLINE_MATH = re.compile(r"\$[^$\n]+\$")
_CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_CJK_PUNCT = re.compile(r"[\u3000-\u303f\uff00-\uffef]")


def _strip(text):
    for pattern in (_CODE_BLOCK, _DISPLAY_MATH, _CODE_SPAN, _INLINE_MATH):
        text = pattern.sub(" ", text)
    return text


def english_words(text):
    """Whitespace-separated tokens of ``text`` without code spans and LaTeX."""
    return len(_strip(text).split())


def chinese_units(text):
    """CJK characters plus the other words of ``text``, without code and LaTeX."""
    text = _strip(text)
    cjk = len(_CJK.findall(text))
    rest = _CJK_PUNCT.sub(" ", _CJK.sub(" ", text))
    return cjk + len(rest.split())


def counts(path):
    """``{"en": words, "zh": units}`` of the notebook's markdown prose."""
    nb = nbformat.read(str(path), as_version=4)
    out = {"en": 0, "zh": 0}
    for cell in nb.cells:
        if cell.cell_type != "markdown":
            continue
        tags = cell.metadata.get("tags") or []
        if "lang-en" in tags:
            out["en"] += english_words(cell.source)
        elif "lang-zh" in tags:
            out["zh"] += chinese_units(cell.source)
    return out


def budget(path):
    return BUDGETS["chapter" if Path(path).name[:2] in CHAPTER else "long"]


def test_counting_rules():
    assert english_words("The `nn.LSTM(256, 2)` layer has $W_{xh}^{(1)}$ weights.") == 4
    assert english_words("Before\n$$\nH = \\phi(X W + b)\n$$\nafter") == 2
    assert chinese_units("隐状态 $H_t$ 传给下一层。") == 8
    assert chinese_units("用 `nn.LSTM` 实现 2 层 LSTM，共 500 轮。") == 9


def test_every_notebook_is_counted():
    assert len(NOTEBOOKS) == 8, [p.name for p in NOTEBOOKS]
    assert {p.name[:2] for p in NOTEBOOKS} >= {"01", "02", "03", "04"}


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_prose_fits_the_budget(path):
    got, limit = counts(path), budget(path)
    over = {lang: (got[lang], limit[lang]) for lang in limit if got[lang] > limit[lang]}
    if over:
        table = "\n".join(f"  {p.stem}: en {c['en']:,} words (<= {budget(p)['en']:,}), "
                          f"zh {c['zh']:,} units (<= {budget(p)['zh']:,})"
                          for p in NOTEBOOKS for c in [counts(p)])
        pytest.fail(f"{path.name} is over its word budget: "
                    + ", ".join(f"{lang} {n:,} > {m:,}" for lang, (n, m) in over.items())
                    + "; cut the prose (operations and history belong in docs/).\n"
                    + "All notebooks:\n" + table)


if __name__ == "__main__":
    for p in NOTEBOOKS:
        print(p.stem, counts(p), budget(p), file=sys.stdout)
