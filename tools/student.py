"""`make student`: the student edition of the notebooks, one folder per language.

    python -m tools.student                       # every notebook -> build/student/{zh,en}/
    python -m tools.student --out DIR NB...       # chosen notebooks
    python -m tools.student --check NB...         # markers and tags well formed? (exit 1 if not)
    python -m tools.student ...                   # the same, with tools/ as a package

The source notebooks are the teacher's edition.  What the student edition
leaves out is marked there, never guessed from the text:

* cells tagged ``answer`` (an exercise's answer) or ``measured`` (results
  measured by us) are removed;
* in code cells, the lines between ``### BEGIN SOLUTION`` and
  ``### END SOLUTION`` (nbgrader's markers, so nbgrader can use the notebooks
  as they are) are replaced by a skeleton at the marker's indentation::

      # your code here / 在此写你的代码
      raise NotImplementedError('your code here / 在此写你的代码')

Everything else stays, in particular the asserts after each solution (the
student's self-checks) and the time lines tagged ``mode-times`` near the top
(how long each run mode takes, written by ``tools/mode_times.py``): a
student choosing a mode needs them, so they may never be tagged for removal.  The languages are split by
``nbtools.split``; ``img/`` is copied beside them, for the notebooks' ../img/ links.  The edition is regenerated, never edited by hand (it
lives in ``build/``, which git ignores).
"""
import argparse
import os
import re
import shutil
import sys
from pathlib import Path

import nbformat

from tools import nbtools

ROOT = Path(__file__).resolve().parents[1]
BEGIN, END = "### BEGIN SOLUTION", "### END SOLUTION"
REMOVED_TAGS = ("answer", "measured")
KEPT_TAGS = ("mode-times",)  # never removed (see the module docstring)
MESSAGE = "your code here / 在此写你的代码"
STUB = ["# " + MESSAGE, f"raise NotImplementedError({MESSAGE!r})"]


def notebooks():
    """The source notebooks, chapter first, in the order `make book` runs them."""
    return sorted((ROOT / "notebooks").glob("*.ipynb")) + \
        sorted((ROOT / "notebooks" / "exercises").glob("*.ipynb"))


def _tags(cell):
    return cell.get("metadata", {}).get("tags", []) or []


def is_removed(cell):
    """True for a cell the student edition leaves out."""
    return any(tag in _tags(cell) for tag in REMOVED_TAGS)


def _is_solution_cell(cell):
    return bool(cell.get("metadata", {}).get("nbgrader", {}).get("solution"))


def solution_regions(source):
    """``[(begin_line, end_line), ...]`` (0-based, marker lines included) of
    the solution regions of a cell source; ValueError if the markers are
    unbalanced or nested."""
    regions, start = [], None
    for number, line in enumerate(source.split("\n")):
        if BEGIN in line:
            if start is not None:
                raise ValueError(f"line {number + 1}: nested '{BEGIN}'")
            start = number
        elif END in line:
            if start is None:
                raise ValueError(f"line {number + 1}: '{END}' without '{BEGIN}'")
            regions.append((start, number))
            start = None
    if start is not None:
        raise ValueError(f"line {start + 1}: '{BEGIN}' without '{END}'")
    return regions


def clear_solutions(source):
    """The source with every solution region replaced by the skeleton, at
    the indentation of its BEGIN marker (as nbgrader's ClearSolutions does)."""
    lines = source.split("\n")
    out, last = [], 0
    for begin, end in solution_regions(source):
        indent = re.match(r"\s*", lines[begin]).group(0)
        out += lines[last:begin] + [indent + stub for stub in STUB]
        last = end + 1
    return "\n".join(out + lines[last:])


def problems(path):
    """What is wrong with the student-edition markup of one notebook, as
    ``["cell N: ...", ...]``; an empty list means it is well formed."""
    found = []
    nb = nbformat.read(str(path), as_version=4)
    for i, cell in enumerate(nb.cells):
        has_markers = BEGIN in cell.source or END in cell.source
        kept = [t for t in KEPT_TAGS if t in _tags(cell)]
        if kept and is_removed(cell):
            found.append(f"cell {i}: tagged {kept[0]!r}, which the student edition keeps, "
                         f"and also for removal")
        if cell.cell_type != "code":
            if has_markers:
                found.append(f"cell {i}: solution markers in a {cell.cell_type} cell")
            continue
        try:
            regions = solution_regions(cell.source)
        except ValueError as err:
            found.append(f"cell {i}: {err}")
            continue
        if regions and not _is_solution_cell(cell):
            found.append(f"cell {i}: solution markers but no nbgrader metadata "
                         f"'solution: true' (nbgrader would refuse the cell)")
        if _is_solution_cell(cell) and not regions:
            found.append(f"cell {i}: nbgrader 'solution: true' but no '{BEGIN}' region")
        if regions and is_removed(cell):
            found.append(f"cell {i}: a solution cell is also tagged for removal")
        for begin, end in regions:
            if end == begin + 1:
                found.append(f"cell {i}: empty solution region at line {begin + 1}")
    # The pairs stay pairs: a removed zh cell takes its en cell along.
    for i, cell in enumerate(nb.cells):
        if cell.cell_type == "markdown" and "lang-zh" in _tags(cell) \
                and i + 1 < len(nb.cells) and is_removed(cell) != is_removed(nb.cells[i + 1]):
            found.append(f"cell {i}: only one cell of a zh/en pair is tagged for removal")
    return found


def student_notebook(nb):
    """The student edition of one notebook node (changed in place, returned)."""
    nb.cells = [cell for cell in nb.cells if not is_removed(cell)]
    for cell in nb.cells:
        if cell.cell_type == "code" and BEGIN in cell.source:
            cell.source = clear_solutions(cell.source)
    return nb


def build(paths, out_dir):
    """Write the student edition of ``paths`` to ``out_dir/{zh,en}/``;
    returns the written paths.  Refuses notebooks with bad markup."""
    bad = [f"{path}: {p}" for path in paths for p in problems(path)]
    if bad:
        raise ValueError("fix the student-edition markup first:\n" + "\n".join(bad))
    written = []
    for lang in nbtools.LANGS:
        for out in nbtools.split([str(p) for p in paths], lang, os.path.join(out_dir, lang)):
            nb = nbformat.read(out, as_version=4)
            nbformat.write(student_notebook(nb), out)
            written.append(out)
    # The notebooks link ../img/ (the figure): keep those links working.
    shutil.copytree(ROOT / "img", os.path.join(out_dir, "img"), dirs_exist_ok=True)
    return written


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=str(ROOT / "build" / "student"),
                        help="output folder (default build/student)")
    parser.add_argument("--check", action="store_true",
                        help="only check the markers and tags")
    parser.add_argument("notebooks", nargs="*", help="default: every notebook")
    args = parser.parse_args(argv)
    paths = [Path(p) for p in args.notebooks] or notebooks()
    if args.check:
        bad = [f"{path}: {p}" for path in paths for p in problems(path)]
        print("\n".join(bad) or f"{len(paths)} notebook(s): student-edition markup is well formed")
        return 1 if bad else 0
    try:
        written = build(paths, args.out)
    except ValueError as err:
        print(err, file=sys.stderr)
        return 1
    for out in written:
        print(out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
