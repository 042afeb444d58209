"""The command-line tools behind `make book` and `make bench`."""
from pathlib import Path

import pytest

from tools import book, markers

ROOT = Path(__file__).resolve().parents[1]


def test_results_table_lists_full_runs_only():
    runs = [
        {"key": "chapter/lstm-2layer", "tab": "pytorch", "final_train_ppl": 1.03,
         "final_valid_ppl": 9.8, "best_valid_ppl": 7.1, "tokens_per_sec": 20123.4,
         "wall_time_s": 300.0, "device": "CPU: X", "quick_mode": False,
         "versions": {"threads": 2}, "time": "2026-11-27T17:05:09"},
        {"key": "ex1/scratch", "tab": "pytorch", "final_train_ppl": 1.1,
         "final_valid_ppl": 9.0, "best_valid_ppl": 8.0, "tokens_per_sec": 1000.0,
         "wall_time_s": 60.0, "device": "CPU: X", "quick_mode": False},
        {"key": "chapter/lstm-2layer", "tab": "mxnet", "final_train_ppl": 9.0,
         "quick_mode": True},
        {"key": "notebook/03-training-and-prediction", "tab": "pytorch", "wall_time_s": 330.0},
        {"key": "ex2/gru/seed0", "tab": "pytorch", "final_train_ppl": 2.0, "mode": "class",
         "quick_mode": False},
        {"key": "notebook/ex2-gru-vs-lstm", "tab": "pytorch", "wall_time_s": 99.0,
         "mode": "class"},
    ]
    text = book.table(runs)
    assert ("| chapter/lstm-2layer | pytorch | 1.03 | 9.80 (7.10) | 20,123 | 5.0 min | 2 "
            "| 2026-11-27 17:05 | CPU: X |") in text
    assert "| ex1/scratch | pytorch | 1.10 | 9.00 (8.00) | 1,000 | 1.0 min | – |  | CPU: X |" in text
    assert "mxnet" not in text                       # quick-mode runs are not results
    assert "| 03-training-and-prediction | pytorch | 5.5 min |" in text
    assert "ex2" not in text                         # nor are class-mode runs or times


def test_book_finds_every_notebook_in_order():
    names = [p.name for p in book.notebooks()]
    assert names[:3] == ["01-functional-dependencies.ipynb", "02-concise-implementation.ipynb",
                         "03-training-and-prediction.ipynb"]
    assert [p.name for p in book.notebooks(["02"])] == ["02-concise-implementation.ipynb"]


def test_readme_has_the_markers_the_tools_write_between():
    text = (ROOT / "README.md").read_text()
    for marker in ("results", "bench"):
        assert f"<!-- {marker}:start -->" in text and f"<!-- {marker}:end -->" in text


def test_marker_splice_replaces_only_between_the_markers(tmp_path):
    path = tmp_path / "README.md"
    path.write_text("head\n<!-- bench:start -->\nold\n<!-- bench:end -->\ntail\n")
    markers.replace_between(path, "bench", "new table\n")
    assert path.read_text() == ("head\n<!-- bench:start -->\nnew table\n"
                                "<!-- bench:end -->\ntail\n")


@pytest.mark.parametrize("text", ["no markers", "<!-- bench:end --> <!-- bench:start -->",
                                  "<!-- bench:start --> <!-- bench:start --> <!-- bench:end -->"])
def test_marker_splice_refuses_missing_or_misplaced_markers(tmp_path, text):
    path = tmp_path / "README.md"
    path.write_text(text)
    with pytest.raises(markers.MarkerError, match="bench:start"):
        markers.replace_between(path, "bench", "x")
    assert path.read_text() == text


def test_book_runs_notebooks_over_ipc_without_the_tcp_warning(tmp_path, capfd):
    import nbformat
    from nbformat.v4 import new_code_cell, new_notebook
    nb = new_notebook(cells=[new_code_cell("print(6 * 7)")])
    book.run_notebook(nb, tmp_path, timeout=120)
    assert nb.cells[0].outputs[0]["text"] == "42\n"
    err = capfd.readouterr().err
    assert "without encryption" not in err
    assert list(tmp_path.iterdir()) == []   # no connection files or sockets left here


def test_book_shuts_down_each_notebooks_kernel(tmp_path):
    """A kernel left running per notebook would hold a GB of memory each in `make book`."""
    import os
    from nbformat.v4 import new_code_cell, new_notebook
    from d2l_helpers.registry import pid_alive
    nb = new_notebook(cells=[new_code_cell("import os; print(os.getpid())")])
    book.run_notebook(nb, tmp_path, timeout=120)
    pid = int(nb.cells[0].outputs[0]["text"])
    assert pid != os.getpid()
    assert not pid_alive(pid), f"the kernel (pid {pid}) still runs after its notebook"
