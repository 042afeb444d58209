"""The notebooks follow docs/CONVENTIONS.md, and the checker can fail.

Also: the split tool, and that img/deep-rnn.svg is regenerable byte for byte.
"""
import glob
import os
import subprocess
import sys

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from tools import nbtools

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

NOTEBOOKS = sorted(
    p for p in glob.glob(os.path.join(REPO, "notebooks", "**", "*.ipynb"),
                         recursive=True)
    if ".ipynb_checkpoints" not in p.split(os.sep))


# --------------------------------------------------------------------------
# The project's notebooks
# --------------------------------------------------------------------------

def test_there_are_notebooks():
    assert NOTEBOOKS, "no notebooks under notebooks/"


@pytest.mark.parametrize(
    "path", NOTEBOOKS, ids=[os.path.relpath(p, REPO) for p in NOTEBOOKS])
def test_notebook_follows_conventions(path):
    assert nbtools.check(path) == []


# --------------------------------------------------------------------------
# The checker on small notebooks
# --------------------------------------------------------------------------

def md(text, *tags):
    return new_markdown_cell(text, metadata={"tags": list(tags)})


def good_cells():
    return [
        md("# 深度循环神经网络", "lang-zh"),
        md("# Deep recurrent neural networks", "lang-en"),
        new_code_cell("%load_ext d2l_helpers.tab"),
        md("每个时间步的隐状态传给下一层。这里验证困惑度下降。", "lang-zh"),
        md("The hidden state of each time step goes to the next layer. "
           "Here the validation perplexity drops.", "lang-en"),
        new_code_cell("#@tab all\nbatch_size, num_steps = 32, 35"),
        new_code_cell("#@tab pytorch\nimport torch"),
        new_code_cell("#@tab mxnet\nfrom mxnet import np"),
        new_code_cell("#@tab jax\nfrom jax import numpy as jnp"),
    ]


def write(tmp_path, cells, name="nb.ipynb", kernel="python3"):
    nb = new_notebook(cells=cells)
    nb.metadata["kernelspec"] = {"name": kernel, "display_name": "Python 3",
                                 "language": "python"}
    path = tmp_path / name
    nbformat.write(nb, str(path))
    return str(path)


def problems_of(tmp_path, cells, **kw):
    return nbtools.check(write(tmp_path, cells, **kw))


def test_good_notebook_passes(tmp_path):
    assert problems_of(tmp_path, good_cells()) == []


def test_stored_output_is_reported(tmp_path):
    cells = good_cells()
    cells[5].outputs = [nbformat.v4.new_output("stream", name="stdout",
                                               text="hi\n")]
    problems = problems_of(tmp_path, cells)
    assert len(problems) == 1 and "cell 5" in problems[0] \
        and "output" in problems[0]


def test_execution_count_is_reported(tmp_path):
    cells = good_cells()
    cells[2].execution_count = 1
    problems = problems_of(tmp_path, cells)
    assert len(problems) == 1 and "cell 2" in problems[0] \
        and "execution count" in problems[0]


@pytest.mark.parametrize("text, char", [
    ("困惑度下降,然后回升。", ","), ("哪个更快?", "?"), ("结果:很好。", ":"),
    ("隐状态 (hidden state) 传给下一层。", "("), ("门控循环单元(GRU)更快。", ")"),
    ("先训练;再评估。", ";"), ("好!", "!")])
def test_half_width_punctuation_next_to_chinese_is_reported(tmp_path, text, char):
    cells = good_cells()
    cells[3] = md(cells[3].source + text, "lang-zh")
    problems = problems_of(tmp_path, cells)
    assert problems and all("cell 3: half-width" in p for p in problems)
    assert any(f"half-width '{char}'" in p and nbtools.FULL_WIDTH[char] in p for p in problems)


def test_half_width_punctuation_in_code_math_links_and_english_is_fine(tmp_path):
    cells = good_cells()
    cells[3] = md(cells[3].source + "调用 `train_ch8(net, lr)`：公式 $f(x, y)$ 见[第 3 个笔记本](03-training.ipynb)。"
                  "设备：CPU (2 cores)。每秒 25,775 个词元。\n\n```python\n中(x, y)\n```", "lang-zh")
    assert problems_of(tmp_path, cells) == []
    cells[4] = md(cells[4].source + " (Of each time step, then: perplexity?)", "lang-en")
    assert problems_of(tmp_path, cells) == []


@pytest.mark.parametrize("first_line", ["batch_size = 32", "#@tab torch",
                                        "# @tab all extra", ""])
def test_missing_tab_marker_is_reported(tmp_path, first_line):
    cells = good_cells()
    cells[5] = new_code_cell(first_line + "\nx = 1")
    problems = problems_of(tmp_path, cells)
    assert len(problems) == 1 and "cell 5" in problems[0] \
        and "#@tab" in problems[0]


@pytest.mark.parametrize("drop,swap", [(7, None), (6, None), (None, (6, 7))],
                         ids=["no-jax-cell", "no-mxnet-cell", "misordered"])
def test_incomplete_or_misordered_tab_cells_are_reported(tmp_path, drop, swap):
    cells = good_cells()
    if drop is not None:
        del cells[drop]
    else:
        cells[swap[0]], cells[swap[1]] = cells[swap[1]], cells[swap[0]]
    problems = problems_of(tmp_path, cells)
    assert problems and all("one cell per tab in this order" in p for p in problems)


@pytest.mark.parametrize("source", ["#@tab all\n%load_ext d2l_helpers.tab",
                                    "%load_ext d2l_helpers.tab\nimport os",
                                    "import d2l_helpers"])
def test_wrong_first_code_cell_is_reported(tmp_path, source):
    cells = good_cells()
    cells[2] = new_code_cell(source)
    problems = problems_of(tmp_path, cells)
    assert len(problems) == 1 and "cell 2" in problems[0] \
        and "first code cell" in problems[0]


def test_notebook_without_code_is_reported(tmp_path):
    cells = good_cells()[:2]
    problems = problems_of(tmp_path, cells)
    assert len(problems) == 1 and "first code cell" in problems[0]


@pytest.mark.parametrize("tags", [[], ["lang-zh", "lang-en"], ["zh"]])
def test_untagged_markdown_is_reported(tmp_path, tags):
    cells = good_cells()
    cells.append(md("A remark.", *tags))
    problems = problems_of(tmp_path, cells)
    assert len(problems) == 1 and "cell 9" in problems[0] \
        and "lang-zh" in problems[0]


def test_zh_without_en_is_reported(tmp_path):
    cells = good_cells()
    del cells[4]                                  # the English of cell 3
    problems = problems_of(tmp_path, cells)
    assert len(problems) == 1 and "cell 3" in problems[0] \
        and "lang-en" in problems[0]


def test_en_without_zh_is_reported(tmp_path):
    cells = good_cells()
    cells[3], cells[4] = cells[4], cells[3]       # English before Chinese
    problems = problems_of(tmp_path, cells)
    assert any("cell 3" in p for p in problems)   # en not after a zh
    assert any("cell 4" in p for p in problems)   # zh not before an en


def test_pair_split_by_code_is_reported(tmp_path):
    cells = good_cells()
    cells.insert(4, new_code_cell("#@tab all\npass"))
    problems = problems_of(tmp_path, cells)
    assert any("cell 3" in p for p in problems)
    assert any("cell 5" in p for p in problems)


def test_inconsistent_glossary_term_is_reported(tmp_path):
    cells = good_cells()
    cells[3] = md("每个时间步的隐藏状态传给下一层。这里验证困惑度下降。", "lang-zh")
    problems = problems_of(tmp_path, cells)
    assert problems == ["cell 3: English uses 'hidden state' but Chinese "
                        "lacks '隐状态'"]


def test_wrong_kernel_is_reported(tmp_path):
    problems = problems_of(tmp_path, good_cells(), kernel="d2l-deep-rnn")
    assert len(problems) == 1 and "kernelspec" in problems[0]


GLOSSARY = [("perplexity", "困惑度"), ("validation perplexity", "验证困惑度"),
            ("epoch", "轮"), ("hidden state", "隐状态"),
            ("recurrent neural network", "循环神经网络"),
            ("deep recurrent neural network", "深度循环神经网络")]


@pytest.mark.parametrize("en, zh, missing", [
    ("Ten epochs.", "十轮。", []),
    ("Ten Epochs.", "十个周期。", [("epoch", "轮")]),
    ("All hidden\nstates.", "所有隐状态。", []),
    ("A deep recurrent neural network.", "深度循环神经网络。", []),
    # The longer term is matched first; the shorter one is not also required.
    ("The validation perplexity.", "验证困惑度。", []),
    ("The validation perplexity.", "困惑度。", [("validation perplexity",
                                                 "验证困惑度")]),
    # Both terms: each is required.
    ("Validation perplexity and perplexity.", "验证困惑度。", []),
    ("Validation perplexity; training perplexity.", "验证。",
     [("validation perplexity", "验证困惑度"), ("perplexity", "困惑度")]),
    # A word boundary is needed before the term.
    ("Subepoch counters.", "计数器。", []),
])
def test_glossary_matching(en, zh, missing):
    assert nbtools.glossary_problems(en, zh, GLOSSARY) == missing


def test_project_glossary_loads():
    glossary = nbtools.load_glossary()
    terms = dict(glossary)
    assert terms["hidden state"] == "隐状态" and terms["epoch"] == "轮"
    assert [len(en) for en, _ in glossary] == \
        sorted((len(en) for en, _ in glossary), reverse=True)


# --------------------------------------------------------------------------
# split and strip
# --------------------------------------------------------------------------

@pytest.mark.parametrize("lang", ["zh", "en"])
def test_split_keeps_one_language_and_all_code(tmp_path, lang):
    src = tmp_path / "notebooks"
    (src / "exercises").mkdir(parents=True)
    cells = good_cells()
    paths = [write(src, cells, "01-a.ipynb"),
             write(src / "exercises", cells, "ex1-b.ipynb")]
    out = tmp_path / "build" / lang
    written = nbtools.split(paths, lang, str(out))
    assert written == [str(out / "01-a.ipynb"),
                       str(out / "exercises" / "ex1-b.ipynb")]
    for path in written:
        nb = nbformat.read(path, as_version=4)
        kept = [c for c in nb.cells if c.cell_type == "markdown"]
        assert [c.metadata.tags for c in kept] == [["lang-" + lang]] * 2
        assert [c.source for c in nb.cells if c.cell_type == "code"] == \
            [c.source for c in cells if c.cell_type == "code"]
        # Order is kept: the code cells sit between the right markdown cells.
        assert [c.cell_type for c in nb.cells] == \
            ["markdown", "code", "markdown", "code", "code", "code", "code"]
        assert nb.metadata.kernelspec.name == "python3"


def test_split_cli(tmp_path):
    src = tmp_path / "notebooks"
    src.mkdir()
    path = write(src, good_cells(), "01-a.ipynb")
    out = tmp_path / "en"
    subprocess.run([sys.executable, "-m", "tools.nbtools", "split",
                    "--lang", "en", "--out", str(out), path], check=True,
                   capture_output=True, cwd=REPO)
    nb = nbformat.read(str(out / "01-a.ipynb"), as_version=4)
    assert "深度" not in "".join(c.source for c in nb.cells)


def test_strip_and_check_cli(tmp_path):
    cells = good_cells()
    cells[5].execution_count = 3
    cells[5].outputs = [nbformat.v4.new_output("execute_result",
                                               data={"text/plain": "3"},
                                               execution_count=3)]
    path = write(tmp_path, cells)
    cli = [sys.executable, "-m", "tools.nbtools"]
    run = subprocess.run(cli + ["check", path], capture_output=True, text=True, cwd=REPO)
    assert run.returncode == 1 and "cell 5" in run.stdout
    assert nbtools.strip([path]) == [path]
    assert nbtools.strip([path]) == []            # nothing left to strip
    run = subprocess.run(cli + ["check", path], capture_output=True, text=True, cwd=REPO)
    assert run.returncode == 0 and run.stdout == ""


# --------------------------------------------------------------------------
# The figure
# --------------------------------------------------------------------------

def test_figure_is_regenerable(tmp_path):
    committed = os.path.join(REPO, "img", "deep-rnn.svg")
    assert os.path.isfile(committed)
    import re
    import matplotlib
    with open(committed, encoding="utf-8") as f:
        drawn_with = re.search(r"Matplotlib v([0-9.]+)", f.read()).group(1)
    if drawn_with != matplotlib.__version__:
        pytest.skip(f"img/deep-rnn.svg was drawn with matplotlib {drawn_with}; this "
                    f"environment has {matplotlib.__version__}, whose SVG bytes differ "
                    f"(the byte comparison runs in the Python 3.11 environment)")
    out = tmp_path / "deep-rnn.svg"
    subprocess.run([sys.executable, "-m", "tools.draw_deep_rnn", str(out)],
                   check=True, capture_output=True, cwd=REPO)
    with open(committed, "rb") as f:
        expected = f.read()
    assert out.read_bytes() == expected, \
        "img/deep-rnn.svg is stale: run `make figure` and commit it"
