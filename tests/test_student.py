"""`make student` (tools/student.py): the student edition.

* the markup in the source notebooks is well formed, and the checker can fail;
* the edition holds no answer, no measured number and no solution code;
* every self-check (assert) stays, and putting the solutions back gives the
  source notebooks exactly -- which nbval runs in CI (`make test-notebooks`),
  so with the solutions back every self-check passes;
* the skeletons fail with the intended message when run in a kernel, under
  every tab whose framework is installed (others skip with the reason);
* the time lines (tools/mode_times.py) stay in the edition;
* the edition is regenerated, never edited by hand: it lives in build/
  (ignored by git), and two builds give the same bytes.
"""
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from d2l_helpers import frameworks
from tools import student

ROOT = Path(__file__).resolve().parents[1]

SOURCES = student.notebooks()
IDS = [p.stem for p in SOURCES]


@pytest.fixture(scope="module")
def edition(tmp_path_factory):
    out = tmp_path_factory.mktemp("student")
    student.build(SOURCES, str(out))
    return out


def _edition_path(edition, source, lang):
    return edition / lang / source.relative_to(ROOT / "notebooks")


def _read(path):
    return nbformat.read(str(path), as_version=4)


# --------------------------------------------------------------------------
# The markup and its checker
# --------------------------------------------------------------------------

@pytest.mark.parametrize("path", SOURCES, ids=IDS)
def test_source_markup_is_well_formed(path):
    assert student.problems(path) == []


def test_every_exercise_has_a_solution_and_an_answer_to_remove():
    for path in SOURCES:
        nb = _read(path)
        if "exercises" in path.parts:
            assert any(student.BEGIN in c.source for c in nb.cells), path.name
            assert any("answer" in c.metadata.get("tags", []) for c in nb.cells), path.name


def _solution_cell(source):
    cell = new_code_cell(source)
    cell.metadata["nbgrader"] = {"solution": True, "grade": False, "locked": False,
                                 "grade_id": "x", "schema_version": 3}
    return cell


@pytest.mark.parametrize("cells, expected", [
    ([_solution_cell("#@tab all\n### BEGIN SOLUTION\nx = 1")], "without"),
    ([_solution_cell("#@tab all\nx = 1\n### END SOLUTION")], "without"),
    ([_solution_cell("### BEGIN SOLUTION\n### BEGIN SOLUTION\nx\n### END SOLUTION")], "nested"),
    ([new_code_cell("#@tab all\n### BEGIN SOLUTION\nx = 1\n### END SOLUTION")], "nbgrader"),
    ([_solution_cell("#@tab all\nx = 1")], "no '### BEGIN SOLUTION' region"),
    ([_solution_cell("#@tab all\n### BEGIN SOLUTION\n### END SOLUTION")], "empty"),
    ([new_markdown_cell("### BEGIN SOLUTION\n### END SOLUTION", metadata={"tags": ["lang-zh"]})],
     "markdown"),
    ([new_markdown_cell("答案", metadata={"tags": ["lang-zh", "answer"]}),
      new_markdown_cell("Answer", metadata={"tags": ["lang-en"]})], "pair"),
    ([new_markdown_cell("用时", metadata={"tags": ["lang-zh", "mode-times", "measured"]})],
     "which the student edition keeps"),
])
def test_bad_markup_is_reported(tmp_path, cells, expected):
    path = tmp_path / "nb.ipynb"
    nbformat.write(new_notebook(cells=cells), str(path))
    found = student.problems(path)
    assert len(found) == 1 and expected in found[0], found
    with pytest.raises(ValueError, match="fix the student-edition markup"):
        student.build([path], str(tmp_path / "out"))


def test_clear_solutions_keeps_indentation_and_code_outside():
    source = ("def f(x):\n"
              "    y = 2  # given\n"
              "    ### BEGIN SOLUTION\n"
              "    y = y * x\n"
              "    ### END SOLUTION\n"
              "    return y\n"
              "### BEGIN SOLUTION\n"
              "z = f(3)\n"
              "### END SOLUTION")
    assert student.clear_solutions(source) == (
        "def f(x):\n"
        "    y = 2  # given\n"
        f"    # {student.MESSAGE}\n"
        f"    raise NotImplementedError({student.MESSAGE!r})\n"
        "    return y\n"
        f"# {student.MESSAGE}\n"
        f"raise NotImplementedError({student.MESSAGE!r})")


# --------------------------------------------------------------------------
# What the edition holds
# --------------------------------------------------------------------------

def _measured_numbers():
    """Numbers from results/full-mode.json as the prose quotes them: the
    perplexities to two decimals (and one decimal from 10 up), tokens/s with
    thousands separators."""
    numbers = set()
    for run in json.loads((ROOT / "results" / "full-mode.json").read_text()):
        for key, value in run.items():
            if not isinstance(value, float):
                continue
            if key.endswith("ppl") or key.startswith("ppl_"):
                numbers.add(f"{value:.2f}")
                if value >= 10:
                    numbers.add(f"{value:.1f}")
            elif key == "tokens_per_sec" and value >= 1000:
                # below 1,000 a speed prints as a bare 3-digit integer, which
                # the lessons use for hyper-parameters (num_hiddens = 256)
                numbers.add(f"{value:,.0f}")
    return numbers


def _numbers_in(text, numbers):
    return {n for n in numbers if re.search(rf"(?<![\d.,]){re.escape(n)}(?![\d])", text)}


def _text(nb, cell_type=None):
    return "\n".join(c.source for c in nb.cells if cell_type in (None, c.cell_type))


def test_the_check_for_measured_numbers_can_fail():
    # The teacher's edition quotes them, so the search below is not vacuous.
    numbers = _measured_numbers()
    quoted = set().union(*(_numbers_in(_text(_read(p)), numbers) for p in SOURCES))
    assert len(quoted) > 30


@pytest.mark.parametrize("lang", ["zh", "en"])
@pytest.mark.parametrize("source", SOURCES, ids=IDS)
def test_edition_holds_no_answer_measured_number_or_solution(edition, source, lang):
    nb = _read(_edition_path(edition, source, lang))
    assert not [c for c in nb.cells if student.is_removed(c)]
    other = "lang-" + ("en" if lang == "zh" else "zh")
    assert not [c for c in nb.cells if other in c.metadata.get("tags", [])]
    text = _text(nb)
    assert student.BEGIN not in text and student.END not in text
    assert _numbers_in(text, _measured_numbers()) == set()
    # No line of a solution region survives (unless the same line is also
    # given outside the regions, as in the other tab's cell).
    src = _read(source)
    given, hidden = set(), set()
    for cell in src.cells:
        lines = cell.source.split("\n")
        inside = set()
        for begin, end in student.solution_regions(cell.source):
            inside |= set(range(begin, end + 1))
        for k, line in enumerate(lines):
            (hidden if k in inside else given).add(line.strip())
    code = {line.strip() for line in _text(nb, "code").split("\n")}
    leaked = {line for line in hidden - given if len(line) > 12} & code
    assert leaked == set()


@pytest.mark.parametrize("source", SOURCES, ids=IDS)
def test_edition_keeps_the_time_lines(edition, source):
    """tools/mode_times.py's cells stay, word for word, right after the title."""
    times = [c.source for c in _read(source).cells if "mode-times" in c.metadata.get("tags", [])]
    assert len(times) == 2, "run `make times`"
    for lang, text in zip(("zh", "en"), times):
        cells = _read(_edition_path(edition, source, lang)).cells
        assert [c.source for c in cells if "mode-times" in c.metadata.get("tags", [])] == [text]
        assert cells[1].source == text


@pytest.mark.parametrize("source", SOURCES, ids=IDS)
def test_self_checks_stay_and_solutions_put_back_give_the_source(edition, source):
    src, nb = _read(source), _read(_edition_path(edition, source, "en"))
    kept = [c for c in src.cells if c.cell_type == "code" and not student.is_removed(c)]
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert [c.id for c in code] == [c.id for c in kept]
    for mine, theirs in zip(code, kept):
        # Every assert of the source is still there, word for word.
        asserts = [line for line in theirs.source.split("\n") if line.strip().startswith("assert")]
        assert all(line in mine.source.split("\n") for line in asserts)
        # Put the solutions back: the source cell, exactly.
        assert _put_back(mine.source, theirs.source) == theirs.source


def _put_back(skeleton, source):
    """The skeleton's stubs replaced by the source's solution regions, in order."""
    src_lines = source.split("\n")
    regions = ["\n".join(src_lines[b:e + 1]) for b, e in student.solution_regions(source)]
    stub = re.compile(rf"^([ \t]*)# {re.escape(student.MESSAGE)}\n[ \t]*raise NotImplementedError"
                      rf"\({re.escape(repr(student.MESSAGE))}\)$", re.M)
    pieces = iter(regions)
    result = stub.sub(lambda m: next(pieces), skeleton)
    assert next(pieces, None) is None, "more solution regions than stubs"
    return result


def test_edition_is_regenerated_byte_for_byte(edition, tmp_path):
    cli = subprocess.run([sys.executable, "-m", "tools.student", "--out",
                          str(tmp_path)], capture_output=True, text=True, cwd=ROOT)
    assert cli.returncode == 0, cli.stderr
    first = sorted(p.relative_to(edition) for p in edition.rglob("*") if p.is_file())
    second = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*") if p.is_file())
    assert first == second
    assert len([p for p in first if p.suffix == ".ipynb"]) == 2 * len(SOURCES)
    assert Path("img/deep-rnn.svg") in first  # 01's figure link, ../img/, still works
    for rel in first:
        assert (edition / rel).read_bytes() == (tmp_path / rel).read_bytes(), rel


def test_edition_lives_in_an_ignored_folder():
    ignored = subprocess.run(["git", "check-ignore", "-q", "build/student/en/x.ipynb"],
                             cwd=ROOT, capture_output=True)
    assert ignored.returncode == 0, "build/ must stay ignored: the edition is never committed"


# --------------------------------------------------------------------------
# The skeletons in a kernel
# --------------------------------------------------------------------------

# Notebooks whose solutions are put back and run to the end here (cheap);
# the others stop at their first skeleton (their training is nbval's job).
RUN_TO_THE_END = {"01-functional-dependencies", "02-concise-implementation"}


@pytest.fixture(scope="module", params=frameworks.NAMES)
def kernel(request, tmp_path_factory):
    """One kernel per tab for all notebooks (the framework is imported once);
    each notebook starts with `%reset -f`, so none sees another's variables.
    A tab whose framework is missing is skipped with the registry's reason.
    (Module-scoped, so it sets the offline data variables itself: conftest's
    are per test.)"""
    from nbclient import NotebookClient
    from conftest import mirror_dir, require_tab
    require_tab(request.param)
    env = {"D2L_QUICK": "1", "D2L_TAB": request.param, "MPLBACKEND": "Agg",
           "D2L_DATA_MIRROR": str(mirror_dir()),
           "D2L_DATA_DIR": str(tmp_path_factory.mktemp("kernel-cache")),
           "PYTHONPATH": os.pathsep.join(
               [str(ROOT)] + [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p])}
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    client = NotebookClient(new_notebook(), kernel_name="python3", timeout=600,
                            resources={"metadata": {"path": str(ROOT / "notebooks")}})
    try:
        with client.setup_kernel():
            yield client
    finally:
        for k, v in saved.items():
            os.environ.pop(k) if v is None else os.environ.__setitem__(k, v)


@pytest.mark.parametrize("source", [p for p in SOURCES
                                    if student.BEGIN in p.read_text(encoding="utf-8")],
                         ids=lambda p: p.stem)
def test_skeletons_fail_with_the_message_and_solutions_pass(edition, source, kernel):
    from nbclient.exceptions import CellExecutionError

    nb = _read(_edition_path(edition, source, "en"))
    solutions = {c.id: c for c in _read(source).cells if student.BEGIN in c.source}
    kernel.nb = nb  # execute_cell keeps each cell's outputs in kernel.nb
    kernel.execute_cell(new_code_cell("%reset -f"), 0)
    failures, run_so_far = [], []
    for index, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        try:
            kernel.execute_cell(cell, index)
        except CellExecutionError as err:
            failures.append((err.ename, err.evalue))
            assert (err.ename, err.evalue) == ("NotImplementedError", student.MESSAGE), \
                f"cell {index} failed otherwise:\n{err}"
            if source.stem not in RUN_TO_THE_END:
                break
            # Put back the solutions of the cells run so far, then retry.
            for done in run_so_far:
                kernel.execute_cell(solutions[done], index)
            # raises if a self-check fails with the solutions back
            kernel.execute_cell(solutions.get(cell.id, cell), index)
        if cell.id in solutions:
            run_so_far.append(cell.id)
    assert failures, "no skeleton was reached"
