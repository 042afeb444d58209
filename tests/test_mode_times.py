"""`make times` (tools/mode_times.py): the time lines and docs/TEACHING.md's table.

* what is stored equals what the tool generates from the committed results
  (so CI fails when a recording changes and `make times` was not run);
* a missing file or entry says "not measured yet", never a number;
* recorded times, dates and GPU times appear where recorded, per tab;
* a results file holding another mode's entries is refused.
"""
import json
import re
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from tools import book, mode_times

ROOT = Path(__file__).resolve().parents[1]


def test_stored_lines_and_readme_table_are_up_to_date():
    cli = subprocess.run([sys.executable, "-m", "tools.mode_times", "--check"],
                         capture_output=True, text=True, cwd=ROOT)
    assert cli.returncode == 0, cli.stdout + cli.stderr


@pytest.mark.parametrize("path", book.notebooks(), ids=lambda p: p.stem)
def test_every_notebook_has_its_time_lines_after_the_title(path):
    nb = nbformat.read(str(path), as_version=4)
    zh, en = mode_times.lines(path.stem, mode_times.load())
    assert [c.source for c in nb.cells[2:4]] == [zh, en]
    assert [c.metadata["tags"] for c in nb.cells[2:4]] == [["lang-zh", "mode-times"],
                                                           ["lang-en", "mode-times"]]
    assert nb.cells[0].source.startswith("# ") and nb.cells[1].source.startswith("# ")
    assert "GPU：" in zh and "GPU:" in en and "class" in en and "课堂模式" in zh
    assert "\n" not in zh and "\n" not in en  # one short line each
    assert len(en.split()) <= 45, en


def _write(folder, name, entries):
    (folder / name).write_text(json.dumps(entries))


def _wall(stem, tab, seconds, mode=None, **extra):
    entry = {"key": f"notebook/{stem}", "tab": tab, "wall_time_s": seconds,
             "time": "2026-11-30T10:00:00", **extra}
    if mode:
        entry["mode"] = mode
    return entry


def test_missing_files_and_entries_say_not_measured(tmp_path):
    walls = mode_times.load(tmp_path)  # no file at all
    assert walls == {}
    zh, en = mode_times.lines("ex3-more-books", walls, tmp_path)
    assert en.count("not measured (no run of this version recorded yet)") == 3
    assert zh.count("未测量（还没有这一版的记录）") == 3
    assert "GPU: not measured (the recording machine has no GPU)." in en
    assert "GPU：未测量（记录用的机器没有 GPU）。" in zh
    assert not re.search(r"\d+ (s|min)\b", en)


def test_recorded_times_per_mode_and_tab(tmp_path):
    _write(tmp_path, "full-mode.json", [
        _wall("ex3-more-books", "pytorch", 1057.5, quick_mode=False),
        {"key": "ex3/1", "tab": "pytorch", "wall_time_s": 5.0}])  # not a notebook entry
    _write(tmp_path, "class-mode.json", [
        _wall("ex3-more-books", "pytorch", 250.0, "class"),
        _wall("ex3-more-books", "mxnet", 80.0, "class")])
    _write(tmp_path, "quick-mode.json", [
        _wall("ex3-more-books", "mxnet", 30.0, "quick"),
        _wall("ex3-more-books", "pytorch", 12.0, "quick", device="GPU: NVIDIA H200")])
    walls = mode_times.load(tmp_path)
    zh, en = mode_times.lines("ex3-more-books", walls, tmp_path)
    assert en == ("**Run time** (2-core CPU, PyTorch / MXNet): "
                  "full 18 min / not measured (no run of this version recorded yet), "
                  "class 4 min / 80 s, quick not measured / 30 s (no run of this version recorded "
                  "yet); GPU: quick 12 s / not measured.")
    assert "课堂模式 4 分钟 / 80 秒" in zh and "完整模式 18 分钟 / 未测量（还没有这一版的记录）" in zh
    table = mode_times.readme_table(walls, tmp_path)
    assert "| ex3-more-books | 18 min / not measured yet | 4 min / 80 s | " \
           "not measured yet / 30 s |" in table
    # a total needs every notebook of the group
    assert "| **exercises ex1–ex4** | not measured yet / not measured yet |" in table
    assert "GPU: see the notebooks." in table


def test_a_file_with_another_modes_entries_is_refused(tmp_path):
    _write(tmp_path, "class-mode.json", [_wall("ex2-gru-vs-lstm", "pytorch", 9.0, "quick")])
    with pytest.raises(mode_times.TimesError, match="quick-mode entry.*--mode class"):
        mode_times.load(tmp_path)


def test_durations():
    assert [mode_times.duration(s, "en") for s in (4.9, 99.4, 100, 1057.5)] == \
        ["5 s", "99 s", "2 min", "18 min"]
    assert mode_times.duration(178, "zh") == "3 分钟"


def test_class_notes_follow_the_budgets():
    from d2l_helpers import modes
    for path in book.notebooks():
        zh, en = mode_times.class_note(path.stem)
        assert zh.startswith("课堂模式：") and en.startswith("Class mode: ")
    _, en = mode_times.class_note("ex3-more-books")
    assert f"{modes.BUDGETS['ex3']['class'].tokens_per_run():,} tokens per run" in en
    _, en = mode_times.class_note("04-depth-study")
    assert "seed 0 only" in en and "201,600" in en
    with pytest.raises(mode_times.TimesError, match="no class-mode note for ex9-new"):
        mode_times.class_note("ex9-new")


def test_a_misplaced_pair_is_reported(tmp_path):
    path = tmp_path / "01-copy.ipynb"
    src = nbformat.read(str(book.notebooks()[0]), as_version=4)
    src.cells[5].metadata["tags"] = ["lang-zh", "mode-times"]  # a third tagged cell
    nbformat.write(src, str(path))
    with pytest.raises(mode_times.TimesError, match="expected one zh/en pair"):
        mode_times.update_notebook(path, {}, write=False)


def test_a_recording_of_an_earlier_version_is_named_as_such(tmp_path):
    since = mode_times.REDESIGNED["ex3-more-books"][0]
    _write(tmp_path, "full-mode.json", [
        dict(_wall("ex3-more-books", "pytorch", 1057.5), time="2026-11-27T15:48:14"),
        dict(_wall("ex3-more-books", "mxnet", 3000.0), time=since)])  # this version
    walls = mode_times.load(tmp_path)
    zh, en = mode_times.lines("ex3-more-books", walls, tmp_path)
    assert ("full not measured / 50 min (only an earlier version of the experiment "
            "was timed)") in en
    assert "完整模式 未测量 / 50 分钟（只记录过实验的旧版本）" in zh
    table = mode_times.readme_table(walls, tmp_path)
    assert "| ex3-more-books | not measured yet / 50 min |" in table
    assert "earlier version of the experiment (the notebook gives those times): " \
           "ex3-more-books (full mode)." in table
