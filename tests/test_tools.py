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
    text = (ROOT / "docs" / "RUNS.md").read_text()  # tools/book.py --readme
    for marker in ("results",):
        assert f"<!-- {marker}:start -->" in text and f"<!-- {marker}:end -->" in text
    text = (ROOT / "docs" / "PERFORMANCE.md").read_text()  # tools/bench.py, bench_shared.py
    for marker in ("bench", "bench-shared"):
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


def test_bench_reference_keeps_the_books_mxnet_defaults(monkeypatch, tmp_path):
    """The reference row of `make bench` runs the book's loop in a worker that
    imports d2l_helpers; its environment must keep MXNet's own engine and
    threads (importing d2l_helpers would otherwise choose them), while our
    rows get ours."""
    import subprocess
    import sys
    # importing tools.bench points D2L_TRAININGS_DIR at a private registry;
    # monkeypatch puts the test process's value back afterwards
    monkeypatch.setenv("D2L_TRAININGS_DIR", str(tmp_path))
    from tools import bench
    probe = ("import os; from d2l_helpers import frameworks; "
             "print(os.environ.get('MXNET_ENGINE_TYPE'), os.environ.get('MXNET_OMP_MAX_THREADS'))")
    base = {k: v for k, v in bench.BASE_ENV.items()
            if k not in ("MXNET_ENGINE_TYPE", "MXNET_OMP_MAX_THREADS", "OMP_NUM_THREADS", "D2L_THREADS")
            and not k.startswith("D2L_HELPERS_SET")}
    base["PYTHONPATH"] = str(bench.ROOT)

    def env_after_import(extra):
        out = subprocess.run([sys.executable, "-c", probe], env={**base, **extra},
                             capture_output=True, text=True, check=True)
        return out.stdout.split()

    which, extra = bench.VARIANTS["d2l 0.17.6"]
    assert which == "ref" and env_after_import(extra) == ["None", "None"]
    # ours: set when the MXNet tab's module is imported (before `import mxnet`)
    probe = probe.replace("import frameworks", "import frameworks, mxnet as d2l")
    from d2l_helpers import frameworks
    if frameworks.available("mxnet"):
        assert env_after_import(bench.VARIANTS["d2l_helpers"][1])[1] != "None"


def test_speedups_quoted_in_notebook_03_are_the_recorded_bench():
    """Notebook 03 quotes `make bench`'s ratios (whole train_ch8 and loop
    alone); they must be those of the committed runs: PyTorch from
    results/bench-2026-11-29.json, MXNet from the re-run after the reference
    row's fix (results/bench-mxnet-2026-11-29.json)."""
    import json
    import nbformat
    from pathlib import Path
    root = Path(__file__).resolve().parents[1]
    first = {r["tab"]: r for r in json.loads((root / "results/bench-2026-11-29.json").read_text())}
    fixed = {r["tab"]: r for r in json.loads((root / "results/bench-mxnet-2026-11-29.json").read_text())}
    runs = {"pytorch": first["pytorch"], "mxnet": fixed["mxnet"]}
    doc = (root / "docs" / "PERFORMANCE.md").read_text()  # notebook 03 links it
    en = zh = doc[doc.index("## What `make bench` found"):]
    assert "`make bench` measured" in en and "`make bench` 实测" in zh
    for tab in ("pytorch", "mxnet"):
        for field in ("ratio", "loop_ratio"):
            x = f"{runs[tab][field]:.2f}"
            assert f"{x} times" in en and f"{x} 倍" in zh, (tab, field, x)
