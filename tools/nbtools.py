"""Check, split and strip the project's bilingual notebooks.

Command line::

    python -m tools.nbtools check NB...                    # exit 1 on problems
    python -m tools.nbtools split --lang zh|en --out DIR NB...
    python -m tools.nbtools strip NB...

As a module::

    from tools import nbtools
    nbtools.check("notebooks/01-x.ipynb")       # -> list of problem strings
    nbtools.split(paths, "zh", "build/zh")      # -> list of written paths
    nbtools.strip(paths)                        # -> list of changed paths

The rules are those of ``docs/CONVENTIONS.md``.  Only the standard library and
nbformat are used.
"""
import argparse
import functools
import os
import re
import sys

import nbformat

from d2l_helpers import frameworks

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
GLOSSARY = os.path.join(REPO, "docs", "glossary.tsv")

SETUP_CELL = "%load_ext d2l_helpers.tab"
TAB_MARKERS = ("#@tab all",) + tuple(f"#@tab {name}" for name in frameworks.NAMES)
LANGS = ("zh", "en")
LANG_TAGS = tuple("lang-" + lang for lang in LANGS)
KERNEL = "python3"


# --------------------------------------------------------------------------
# Glossary
# --------------------------------------------------------------------------

@functools.lru_cache(maxsize=None)
def load_glossary(path=GLOSSARY):
    """``[(en, zh), ...]`` from the tab-separated glossary (header skipped),
    longest English term first."""
    rows = []
    with open(path, encoding="utf-8") as f:
        lines = f.read().splitlines()
    for number, line in enumerate(lines[1:], start=2):
        if not line.strip():
            continue
        fields = line.split("\t")
        if len(fields) < 2 or not fields[0].strip() or not fields[1].strip():
            raise ValueError(f"{path}:{number}: expected 'en<TAB>zh<TAB>note'")
        rows.append((fields[0].strip(), fields[1].strip()))
    rows.sort(key=lambda row: len(row[0]), reverse=True)
    return tuple(rows)


def _term_pattern(term):
    """Case-insensitive, a word boundary before the term (so 'epoch' also
    matches 'epochs'), any run of whitespace between its words."""
    words = [re.escape(w) for w in term.split()]
    return re.compile(r"(?<![0-9A-Za-z_])" + r"\s+".join(words), re.IGNORECASE)


def glossary_problems(en_text, zh_text, glossary=None):
    """``[(en_term, zh_term), ...]`` the English text uses but the Chinese
    text does not translate with the glossary term.  Longer terms win: the
    occurrences of a matched term are removed before shorter terms are
    looked for ('validation perplexity' does not also require 'perplexity')."""
    glossary = load_glossary() if glossary is None else glossary
    missing = []
    text = en_text
    for en, zh in sorted(glossary, key=lambda row: len(row[0]), reverse=True):
        pattern = _term_pattern(en)
        if not pattern.search(text):
            continue
        if zh not in zh_text:
            missing.append((en, zh))
        text = pattern.sub(" ", text)
    return missing


# --------------------------------------------------------------------------
# Checking
# --------------------------------------------------------------------------

def _lang(cell):
    """'zh', 'en' or None (no language tag, or more than one)."""
    tags = cell.get("metadata", {}).get("tags", []) or []
    found = [t for t in LANG_TAGS if t in tags]
    return found[0][len("lang-"):] if len(found) == 1 else None


def _is_checkpoint(path):
    return ".ipynb_checkpoints" in os.path.normpath(path).split(os.sep)


def _check_kernel(nb):
    kernel = nb.metadata.get("kernelspec", {}).get("name")
    if kernel != KERNEL:
        return [f"kernelspec name is {kernel!r}, expected {KERNEL!r}"]
    return []


def _check_code_cells(cells):
    """Code cells: stored clean, the setup cell first, tab markers afterwards."""
    problems = []
    code = [(i, cell) for i, cell in enumerate(cells) if cell.cell_type == "code"]
    if not code:
        return [f"no code cells: the first code cell must be '{SETUP_CELL}'"]
    for i, cell in code:
        if cell.get("outputs"):
            problems.append(f"cell {i}: stored outputs (run "
                            f"`python -m tools.nbtools strip`)")
        if cell.get("execution_count") is not None:
            problems.append(f"cell {i}: stored execution count "
                            f"{cell.execution_count}")
    first, rest = code[0], code[1:]
    if first[1].source.strip() != SETUP_CELL:
        problems.append(f"cell {first[0]}: first code cell must be exactly "
                        f"'{SETUP_CELL}'")
    for i, cell in rest:
        first_line = cell.source.split("\n", 1)[0].rstrip()
        if first_line not in TAB_MARKERS:
            problems.append(f"cell {i}: code cell must start with one of "
                            f"{', '.join(TAB_MARKERS)}; found {first_line!r}")
    return problems + _check_tab_runs(rest)


def _check_tab_runs(code):
    """Framework-specific cells come in runs of one cell per tab, in the
    registry's order (pytorch, mxnet, jax), one after the other."""
    problems, run = [], []
    want = [f"#@tab {name}" for name in frameworks.NAMES]
    for i, cell in code + [(None, None)]:
        marker = None if cell is None else cell.source.split("\n", 1)[0].rstrip()
        if marker in want and (not run or want.index(marker) > want.index(run[-1][1])):
            run.append((i, marker))
            continue
        if run and [m for _, m in run] != want:
            problems.append(f"cell {run[0][0]}: framework-specific cells "
                            f"{[m for _, m in run]}; each idea needs one cell per tab in "
                            f"this order: {', '.join(want)}")
        run = [(i, marker)] if marker in want else []
    return problems


def _is_lang(cell, lang):
    return cell is not None and cell.cell_type == "markdown" and _lang(cell) == lang


def _check_pairs(cells):
    """Markdown cells: one language tag each, in zh/en pairs.  Returns
    ``(problems, [(index, zh cell, en cell), ...])``."""
    problems, pairs = [], []
    for i, cell in enumerate(cells):
        if cell.cell_type != "markdown":
            continue
        lang = _lang(cell)
        prev = cells[i - 1] if i > 0 else None
        nxt = cells[i + 1] if i + 1 < len(cells) else None
        if lang is None:
            problems.append(f"cell {i}: markdown cell needs exactly one of the "
                            f"tags {' / '.join(LANG_TAGS)}")
        elif lang == "zh" and _is_lang(nxt, "en"):
            pairs.append((i, cell, nxt))
        elif lang == "zh":
            problems.append(f"cell {i}: lang-zh cell is not immediately "
                            f"followed by its lang-en translation")
        elif not _is_lang(prev, "zh"):
            problems.append(f"cell {i}: lang-en cell does not immediately "
                            f"follow a lang-zh cell")
    return problems, pairs


def _check_glossary(pairs, glossary):
    """The Chinese cell uses the Chinese term of each English glossary term."""
    return [f"cell {i}: English uses '{en}' but Chinese lacks '{zh}'"
            for i, zh_cell, en_cell in pairs
            for en, zh in glossary_problems(en_cell.source, zh_cell.source, glossary)]


# Half-width punctuation next to Chinese characters (zh prose cells).  Code
# spans and blocks, math and link targets are left out before looking.
CJK = "\u3400-\u4dbf\u4e00-\u9fff"
HALF_WIDTH = ",;:?!()"
FULL_WIDTH = dict(zip(HALF_WIDTH, "，；：？！（）"))
_NOT_PROSE = re.compile(r"```.*?```|`[^`\n]*`|\$\$.*?\$\$|\$[^$\n]*\$|\]\([^)\s]*\)|<[^>\n]*>|https?://\S+",
                        re.DOTALL)
_HALF_NEAR_CJK = re.compile(rf"(?<=[{CJK}])[ \t]*([{re.escape(HALF_WIDTH)}])"
                            rf"|([{re.escape(HALF_WIDTH)}])(?=[ \t]*[{CJK}])")


def punctuation_problems(text):
    """``[(char, context), ...]``: half-width , ; : ? ! ( ) right next to a
    Chinese character (spaces between count as next to), outside code, math
    and link targets."""
    prose = _NOT_PROSE.sub(lambda m: " " * 0 + "\x00", text)
    found = []
    for m in _HALF_NEAR_CJK.finditer(prose):
        char = m.group(1) or m.group(2)
        context = prose[max(0, m.start() - 8):m.end() + 8].replace("\x00", "…").replace("\n", " ")
        found.append((char, context))
    return found


def _check_punctuation(cells):
    return [f"cell {i}: half-width '{char}' next to Chinese in '{context}' "
            f"(use the full-width '{FULL_WIDTH[char]}')"
            for i, cell in enumerate(cells) if cell.cell_type == "markdown" and _lang(cell) == "zh"
            for char, context in punctuation_problems(cell.source)]


def check(path, glossary=None):
    """Problems of one notebook as ``["cell N: ...", ...]`` (cells counted
    from 0, over all cells); an empty list means it follows the conventions."""
    try:
        nb = nbformat.read(path, as_version=4)
    except Exception as err:  # unreadable JSON, wrong nbformat ...
        return [f"cannot read notebook: {err}"]
    pair_problems, pairs = _check_pairs(nb.cells)
    return (_check_kernel(nb) + _check_code_cells(nb.cells) + pair_problems
            + _check_glossary(pairs, glossary) + _check_punctuation(nb.cells))


# --------------------------------------------------------------------------
# Splitting and stripping
# --------------------------------------------------------------------------

def _relative(path):
    """Path below the last 'notebooks' folder of ``path`` (else its name)."""
    parts = os.path.normpath(os.path.abspath(path)).split(os.sep)
    if "notebooks" in parts[:-1]:
        last = len(parts) - 1 - parts[::-1].index("notebooks")
        return os.path.join(*parts[last + 1:])
    return parts[-1]


def split(paths, lang, out_dir):
    """Write single-language copies of ``paths`` to ``out_dir/<path below
    notebooks/>``: markdown cells of the other language are dropped, code
    cells and everything else are kept.  Returns the written paths."""
    if lang not in LANGS:
        raise ValueError(f"lang must be one of {LANGS}, not {lang!r}")
    drop = "lang-" + ("en" if lang == "zh" else "zh")
    written = []
    for path in paths:
        if _is_checkpoint(path):
            continue
        nb = nbformat.read(path, as_version=4)
        nb.cells = [cell for cell in nb.cells
                    if not (cell.cell_type == "markdown"
                            and drop in (cell.get("metadata", {})
                                         .get("tags", []) or []))]
        out = os.path.join(out_dir, _relative(path))
        os.makedirs(os.path.dirname(out) or ".", exist_ok=True)
        nbformat.write(nb, out)
        written.append(out)
    return written


def strip(paths):
    """Remove outputs and execution counts in place; returns the paths of the
    notebooks that changed (others are not rewritten)."""
    changed = []
    for path in paths:
        if _is_checkpoint(path):
            continue
        nb = nbformat.read(path, as_version=4)
        dirty = False
        for cell in nb.cells:
            if cell.cell_type != "code":
                continue
            if cell.get("outputs") or cell.get("execution_count") is not None:
                cell.outputs = []
                cell.execution_count = None
                dirty = True
        if dirty:
            nbformat.write(nb, path)
            changed.append(path)
    return changed


# --------------------------------------------------------------------------
# Command line
# --------------------------------------------------------------------------

def main(argv=None):
    parser = argparse.ArgumentParser(
        prog="nbtools", description="Check, split and strip the bilingual "
        "notebooks (rules: docs/CONVENTIONS.md).")
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("check", help="report convention problems (exit 1)")
    p.add_argument("notebooks", nargs="+")
    p = sub.add_parser("split", help="write single-language copies")
    p.add_argument("--lang", required=True, choices=LANGS)
    p.add_argument("--out", required=True, help="output folder")
    p.add_argument("notebooks", nargs="+")
    p = sub.add_parser("strip", help="remove outputs and execution counts")
    p.add_argument("notebooks", nargs="+")
    args = parser.parse_args(argv)

    if args.command == "check":
        bad = 0
        for path in args.notebooks:
            if _is_checkpoint(path):
                continue
            problems = check(path)
            bad += bool(problems)
            for problem in problems:
                print(f"{path}: {problem}")
        if bad:
            print(f"{bad} notebook(s) with problems", file=sys.stderr)
        return 1 if bad else 0
    if args.command == "split":
        for out in split(args.notebooks, args.lang, args.out):
            print(out)
        return 0
    for path in strip(args.notebooks):
        print(f"stripped {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
