"""`make times`: how long each notebook takes in each run mode, from recorded wall times.

Reads the notebooks' wall times that ``tools/book.py`` records (entries
``notebook/<stem>`` with ``wall_time_s``) from

* ``results/full-mode.json``  (``python -m tools.book --tab T``, merged into the snapshot),
* ``results/class-mode.json`` (``python -m tools.book --tab T --mode class --results results/class-mode.json``),
* ``results/quick-mode.json`` (``python -m tools.book --tab T --mode quick --results results/quick-mode.json``),

and writes

* the time line near the top of every notebook: a zh/en pair of markdown
  cells tagged ``mode-times``, right after the title pair, one short line
  each (how long full, class and quick mode take per tab on the 2-core CPU,
  and the GPU times);
* the table of docs/TEACHING.md, between ``<!-- mode-times:start -->`` and
  ``<!-- mode-times:end -->``: the same times with their dates, totals, and
  what class mode keeps and drops per notebook (``d2l_helpers.modes.BUDGETS``).

A missing file or entry reads "not measured" with the reason in the notebook
line ("not measured yet" in the table); nothing is estimated.  An
entry counts as a GPU time when its ``device`` names a GPU (or CUDA), as a CPU
time otherwise (``tools/book.py``'s notebook entries carry no device).

    python -m tools.mode_times            # write the cells and the table in docs/TEACHING.md
    python -m tools.mode_times --check    # exit 1 if either would change
"""
import argparse
import json
import sys
import tempfile
from pathlib import Path

import nbformat

from d2l_helpers import frameworks, modes
from tools import book, markers

ROOT = Path(__file__).resolve().parents[1]

TAG = "mode-times"
MARKER = "mode-times"
RESULTS = ROOT / "results"
DOC = ROOT / "docs" / "TEACHING.md"  # holds the table between the mode-times markers
FILES = {"full": "full-mode.json", "class": "class-mode.json", "quick": "quick-mode.json"}
TAB_NAMES = {name: t.title for name, t in frameworks.TABS.items()}  # display names: the registry's
# The tabs whose run times are recorded and stated; a tab of TIMED joins
# once its times are recorded (JAX: not yet).
TIMED = ("pytorch", "mxnet")
MODE_NAMES = {  # (zh, en), with the D2L_QUICK setting outside full mode
    "full": ("完整模式", "Full mode"),
    "class": (f"课堂模式（`D2L_QUICK={modes.SETTING['class']}`）",
              f"Class mode (`D2L_QUICK={modes.SETTING['class']}`)"),
    "quick": (f"快速模式（`D2L_QUICK={modes.SETTING['quick']}`）",
              f"Quick mode (`D2L_QUICK={modes.SETTING['quick']}`)"),
}
NOT_MEASURED = ("尚未测量", "not measured yet")
CHAPTER_EPOCHS = 500  # the book's epochs for the chapter and exercises 1-2
CHAPTER_BATCHES = 8    # minibatches per epoch of the chapter's 10,000 characters (32 x 35)
BOOK_CHARS = 10_000   # the book's training text, in characters
WELLS_TRAIN_CHARS = 1_202_590  # the five Wells novels' training parts (first 90%)


# Recordings older than these times timed an earlier version of the notebook's
# experiment (git log: ex3 87a27f8, ex4 3444035); they are named as such, never
# given as this version's time.
REDESIGNED = {
    "ex3-more-books": ("2026-11-28T23:05:11", "1 个种子、轮数取整的旧版本",
                       "the earlier version with 1 seed and rounded epochs"),
    "ex4-mixing-authors": ("2026-11-28T23:22:05", "2 个模型、各 1 个种子的旧版本",
                           "the earlier version with 2 models of 1 seed each"),
}


class TimesError(ValueError):
    """A results file holds an entry of another mode than its name says."""


# --------------------------------------------------------------------------
# Recorded wall times
# --------------------------------------------------------------------------

def _entry_mode(entry):
    return entry.get("mode") or ("quick" if entry.get("quick_mode") else "full")


def _is_gpu(entry):
    device = str(entry.get("device", "")).lower()
    return "gpu" in device or "cuda" in device


def load(results_dir=RESULTS):
    """``{(mode, stem, tab, kind): entry}`` for every recorded notebook wall
    time; ``kind`` is ``"cpu"``, ``"gpu"``, or ``"earlier"`` for a recording
    of an earlier version of the notebook (:data:`REDESIGNED`)."""
    walls = {}
    for mode, name in FILES.items():
        path = Path(results_dir) / name
        if not path.exists():
            continue
        for entry in json.loads(path.read_text()):
            key = str(entry.get("key", ""))
            if not key.startswith("notebook/") or "wall_time_s" not in entry:
                continue
            if _entry_mode(entry) != mode:
                raise TimesError(
                    f"{path} holds a {_entry_mode(entry)}-mode entry for {key} "
                    f"({entry.get('tab')}); record {mode} mode there with "
                    f"python -m tools.book --mode {mode} --results {path}")
            stem = key[len("notebook/"):]
            if str(entry.get("time", "")) < REDESIGNED.get(stem, ("",))[0]:
                kind = "earlier"
            else:
                kind = "gpu" if _is_gpu(entry) else "cpu"
            walls[mode, stem, entry.get("tab"), kind] = entry
    return walls


def duration(seconds, lang):
    """``"80 s"`` below 100 s, else whole minutes (``"18 min"``), in ``lang``."""
    if seconds < 100:
        return f"{seconds:.0f} 秒" if lang == "zh" else f"{seconds:.0f} s"
    return f"{seconds / 60:.0f} 分钟" if lang == "zh" else f"{seconds / 60:.0f} min"


def _dates(entries):
    return ", ".join(sorted({str(e.get("time", ""))[:10] for e in entries if e.get("time")}))


def _mode_times(walls, mode, stem, kind, lang, missing=True):
    """'3 min (PyTorch), 4 min (MXNet), measured 2026-11-27' or 'not measured yet'."""
    i = 0 if lang == "zh" else 1
    found = {tab: walls.get((mode, stem, tab, kind)) for tab in TIMED}
    if not any(found.values()):
        return NOT_MEASURED[i]
    sep = "，" if lang == "zh" else ", "
    parts = [f"{duration(e['wall_time_s'], lang)}（{TAB_NAMES[tab]}）" if lang == "zh"
             else f"{duration(e['wall_time_s'], lang)} ({TAB_NAMES[tab]})"
             for tab, e in found.items() if e]
    if missing:  # name the tabs without a recording
        parts += [f"{TAB_NAMES[tab]} {NOT_MEASURED[i]}" for tab, e in found.items() if not e]
    when = _dates(e for e in found.values() if e)
    parts.append(f"{when} 测得" if lang == "zh" else f"measured {when}")
    return sep.join(parts)


def _cpu_times(walls, mode, stem, lang):
    """The CPU times of this version, then those of an earlier one, if recorded."""
    text = _mode_times(walls, mode, stem, "cpu", lang)
    if any(walls.get((mode, stem, tab, "earlier")) for tab in TIMED):
        old = _mode_times(walls, mode, stem, "earlier", lang, missing=False)
        text += (f"（{REDESIGNED[stem][1]}：{old}）" if lang == "zh"
                 else f" ({REDESIGNED[stem][2]}: {old})")
    return text


def _gpu_times(walls, stem, lang):
    i = 0 if lang == "zh" else 1
    said = []
    for mode in FILES:
        if any(walls.get((mode, stem, tab, "gpu")) for tab in TIMED):
            said.append(f"{MODE_NAMES[mode][i]} {_mode_times(walls, mode, stem, 'gpu', lang)}")
    if not said:
        return NOT_MEASURED[i]
    return ("；" if lang == "zh" else "; ").join(said)


# --------------------------------------------------------------------------
# What class mode keeps and drops (numbers from modes.BUDGETS)
# --------------------------------------------------------------------------

def _best_epochs(results_dir):
    """The chapter's recorded full-mode best validation epoch per tab."""
    path = Path(results_dir) / FILES["full"]
    runs = json.loads(path.read_text()) if path.exists() else []
    return {r["tab"]: r["best_valid_epoch"] for r in runs
            if r.get("key") == "chapter/lstm-2layer" and r.get("best_valid_epoch")}


def _epochs(fraction):
    """The chapter's epochs under ``fraction`` (as ``Mode.epochs``, without its banner)."""
    return max(1, round(CHAPTER_EPOCHS * fraction))


def class_note(stem, results_dir=RESULTS):
    """``(zh, en)``: one line on what class mode keeps and drops in ``stem``."""
    epochs = _epochs(modes.CLASS.epoch_fraction)
    nb = stem.split("-")[0]
    if nb in ("01", "02"):
        return ("课堂模式：与完整模式相同，本笔记本不训练模型。",
                "Class mode: the same as full mode; this notebook trains no model.")
    if nb == "03":
        zh = f"课堂模式：训练 {CHAPTER_EPOCHS} 轮中的 {epochs} 轮，其余与完整模式相同。"
        en = f"Class mode: {epochs} of the {CHAPTER_EPOCHS} epochs; everything else as in full mode."
        best = _best_epochs(results_dir)
        if best:
            tabs = [t for t in TIMED if t in best]
            at_zh = "、".join(f"第 {best[t]} 轮（{TAB_NAMES[t]}）" for t in tabs)
            at_en = " and ".join(f"epoch {best[t]} ({TAB_NAMES[t]})" for t in tabs)
            zh += (f"完整模式的验证困惑度分别在{at_zh}最低：最低点在第 {epochs} 轮之后的框架，"
                   f"课堂模式只能看到曲线下降，看不到回升。")
            en += (f" Full-mode validation perplexity was lowest at {at_en}: where that "
                   f"is past epoch {epochs}, class mode shows the fall but not the rise.")
        return zh, en
    if nb not in modes.BUDGETS:
        raise TimesError(f"no class-mode note for {stem}: add one to class_note() in "
                         f"tools/mode_times.py (and a budget to modes.BUDGETS if it trains)")
    b, full = modes.BUDGETS[nb]["class"], modes.BUDGETS[nb]["full"]
    n, nf = len(b.seeds), len(full.seeds)
    if nb in ("ex1", "ex2"):
        what = ("每种实现", "per implementation") if nb == "ex1" else ("每个模型", "per model")
        e = round(b.checkpoints * b.batches_per_checkpoint / CHAPTER_BATCHES)
        ef = round(full.checkpoints * full.batches_per_checkpoint / CHAPTER_BATCHES)
        return (f"课堂模式：{what[0]} {n} 个种子（完整模式 {nf} 个），训练 {e} 轮的小批量（完整模式 {ef} 轮）；"
                f"数据和模型不变，Welch t 检验照常进行，但 {n} 个种子只能分辨很大的差别。",
                f"Class mode: {n} seeds {what[1]} (full mode: {nf}) and {e} epochs' worth of "
                f"minibatches (full mode: {ef}); the data and models stay, Welch's test still "
                f"runs, but {n} seeds can tell only large differences apart.")
    t, tf = b.tokens_per_run(), full.tokens_per_run()
    if nb == "ex3":
        p, pf = round(t / BOOK_CHARS), round(tf / BOOK_CHARS)
        return (f"课堂模式：六种语料都完整保留、互不相同，每次运行同样训练 {t:,} 个词元（完整模式 {tf:,} 个），"
                f"{n} 个种子（完整模式 {nf} 个）；书中的 10,000 个字符只被看约 {p} 遍（完整模式约 {pf} 遍），"
                f"不足以背下来：训练困惑度与验证困惑度之间的差距预计比完整模式小得多。",
                f"Class mode: all six corpora, whole and different, with the same {t:,} tokens "
                f"per run (full mode: {tf:,}) and {n} seeds (full mode: {nf}); the book's "
                f"10,000 characters are seen about {p} times (full mode: about {pf}), too few to "
                f"memorize them: expect a much smaller gap between training and validation "
                f"perplexity than in full mode.")
    if nb == "ex4":
        p, pf = t / WELLS_TRAIN_CHARS, tf / WELLS_TRAIN_CHARS
        return (f"课堂模式：三个模型和语料不变，每个模型训练 {t:,} 个词元（完整模式 {tf:,} 个；wells-once 为一半），"
                f"{n} 个种子（完整模式 {nf} 个）；模型 A 只把威尔斯的文本看约 {p:.1f} 遍（完整模式约 {pf:.0f} 遍）。",
                f"Class mode: the same three models and corpora, {t:,} tokens per model (full "
                f"mode: {tf:,}; wells-once half of it) and {n} seeds (full mode: {nf}); model A "
                f"sees the Wells text about {p:.1f} times (full mode: about {pf:.0f}).")
    assert nb == "04", stem
    return (f"课堂模式：全部单元、层数和宽的 LSTM，每次运行训练与完整模式相同的 {t:,} 个词元，"
            f"但只用种子 {b.seeds[0]}（完整模式 {nf} 个）：没有均值 ± 标准差，也不能做 Welch t 检验。",
            f"Class mode: every cell, depth and the wide LSTM, with full mode's {t:,} tokens "
            f"per run, but seed {b.seeds[0]} only (full mode: {nf} seeds): no mean ± sd and "
            f"no Welch test.")


# --------------------------------------------------------------------------
# The notebook cells and the table in docs/TEACHING.md
# --------------------------------------------------------------------------

SHORT_MODES = {"full": ("完整模式", "full"), "class": ("课堂模式", "class"),
               "quick": ("快速模式", "quick")}
NOT_MEASURED_SHORT = ("未测量", "not measured")
WHY = {  # (zh, en): why a time is missing
    "cpu": ("还没有这一版的记录", "no run of this version recorded yet"),
    "earlier": ("只记录过实验的旧版本", "only an earlier version of the experiment was timed"),
    "gpu": ("记录用的机器没有 GPU", "the recording machine has no GPU"),
}


def _per_tab(walls, mode, stem, kind, lang):
    """``("15 min / 31 min", False)``, ``("15 min / not measured", True)``, or
    ``(None, True)`` when no tab is recorded."""
    i = 0 if lang == "zh" else 1
    found = [walls.get((mode, stem, tab, kind)) for tab in TIMED]
    if not any(found):
        return None, True
    text = " / ".join(duration(e["wall_time_s"], lang) if e else NOT_MEASURED_SHORT[i]
                      for e in found)
    return text, not all(found)


def line(stem, walls, lang):
    """One short line: each mode's CPU time per tab, then the GPU times; a
    missing time says "not measured" and why."""
    i = 0 if lang == "zh" else 1
    parts = []
    for mode in FILES:
        text, missing = _per_tab(walls, mode, stem, "cpu", lang)
        if missing:
            earlier = any(walls.get((mode, stem, tab, "earlier")) for tab in TIMED)
            why = WHY["earlier" if earlier else "cpu"][i]
            text = text or NOT_MEASURED_SHORT[i]
            text += f"（{why}）" if i == 0 else f" ({why})"
        parts.append(f"{SHORT_MODES[mode][i]} {text}")
    gpu = [f"{SHORT_MODES[m][i]} {t}" for m in FILES
           for t, _ in [_per_tab(walls, m, stem, "gpu", lang)] if t]
    if lang == "zh":
        gpu_text = "，".join(gpu) if gpu else f"{NOT_MEASURED_SHORT[0]}（{WHY['gpu'][0]}）"
        return f"**运行时间**（2 核 CPU，PyTorch / MXNet）：{'，'.join(parts)}；GPU：{gpu_text}。"
    gpu_text = ", ".join(gpu) if gpu else f"{NOT_MEASURED_SHORT[1]} ({WHY['gpu'][1]})"
    return f"**Run time** (2-core CPU, PyTorch / MXNet): {', '.join(parts)}; GPU: {gpu_text}."


def lines(stem, walls, results_dir=RESULTS):
    """``(zh, en)`` markdown sources of ``stem``'s time-line cells: one short
    line each (the dates and what class mode keeps are in docs/TEACHING.md)."""
    return line(stem, walls, "zh"), line(stem, walls, "en")


def _time_cells(nb):
    return [i for i, c in enumerate(nb.cells) if TAG in (c.metadata.get("tags") or [])]


def update_notebook(path, walls, results_dir=RESULTS, write=True):
    """Put the time lines into ``path`` (after the title pair); True if they changed."""
    nb = nbformat.read(str(path), as_version=4)
    zh, en = lines(Path(path).stem, walls, results_dir)
    found = _time_cells(nb)
    if found:
        if len(found) != 2 or found[1] != found[0] + 1:
            raise TimesError(f"{path}: cells {found} are tagged {TAG!r}; expected one "
                             f"zh/en pair (delete them and run this tool again)")
        if [nb.cells[i].source for i in found] == [zh, en]:
            return False
        nb.cells[found[0]].source, nb.cells[found[1]].source = zh, en
    else:
        cells = []
        for lang, source in (("zh", zh), ("en", en)):
            cell = nbformat.v4.new_markdown_cell(source)
            cell.id = f"{TAG}-{lang}"
            cell.metadata["tags"] = [f"lang-{lang}", TAG]
            if any("slideshow" in c.metadata for c in nb.cells):
                cell.metadata["slideshow"] = {"slide_type": "skip"}
            cells.append(cell)
        nb.cells[2:2] = cells  # after the title pair
    if write:
        nbformat.write(nb, str(path))
    return True


def readme_table(walls, results_dir=RESULTS):
    """docs/TEACHING.md's table: every notebook per mode and tab, then totals,
    the dates, and what class mode keeps per notebook."""
    tabs = " / ".join(TAB_NAMES[t] for t in TIMED)
    rows = [f"| notebook | full mode ({tabs}) | class mode ({tabs}) | quick mode ({tabs}) |",
            "| --- | --- | --- | --- |"]

    def cell(mode, stems):
        out = []
        for tab in TIMED:
            entries = [walls.get((mode, s, tab, "cpu")) for s in stems]
            out.append(duration(sum(e["wall_time_s"] for e in entries), "en")
                       if all(entries) else NOT_MEASURED[1])
        return " / ".join(out)

    stems = [p.stem for p in book.notebooks()]
    groups = [(s, [s]) for s in stems]
    groups += [("**chapter 01–03**", [s for s in stems if s[:2] in ("01", "02", "03")]),
               ("**exercises ex1–ex4**", [s for s in stems if s.startswith("ex")])]
    for name, members in groups:
        rows.append(f"| {name} | " + " | ".join(cell(m, members) for m in FILES) + " |")
    dates = {m: _dates(e for (mode, _, _, kind), e in walls.items()
                       if mode == m and kind == "cpu") for m in FILES}
    said = "; ".join(f"{m} mode measured {d}" for m, d in dates.items() if d)
    gpu = [e for (_, _, _, kind), e in walls.items() if kind == "gpu"]
    rows += ["", f"2-core CPU, each tab on its own{'; ' + said if said else ''}. "
             f"GPU: {'see the notebooks' if gpu else NOT_MEASURED[1]}."]
    earlier = sorted({(stem, mode) for (mode, stem, _, kind) in walls if kind == "earlier"})
    if earlier:
        rows[-1] += " Timed only for an earlier version of the experiment (the notebook " \
                    "gives those times): " + ", ".join(f"{s} ({m} mode)" for s, m in earlier) + "."
    rows += ["", "What class mode keeps and drops, per notebook "
             "(from `d2l_helpers.modes.BUDGETS`):", ""]
    rows += [f"- {stem}: {class_note(stem, results_dir)[1][len('Class mode: '):]}" for stem in stems]
    return "\n".join(rows)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--check", action="store_true",
                   help="write nothing; exit 1 if the notebooks or docs/TEACHING.md would change")
    p.add_argument("--results-dir", default=str(RESULTS))
    a = p.parse_args(argv)
    walls = load(a.results_dir)
    stale = [str(path.relative_to(ROOT)) for path in book.notebooks()
             if update_notebook(path, walls, a.results_dir, write=not a.check)]
    readme = DOC
    if a.check:
        with tempfile.TemporaryDirectory() as tmp:
            copy = Path(tmp) / readme.name
            copy.write_text(readme.read_text())
            markers.replace_between(copy, MARKER, readme_table(walls, a.results_dir))
            if copy.read_text() != readme.read_text():
                stale.append(str(readme.relative_to(ROOT)))
    else:
        before = readme.read_text()
        markers.replace_between(readme, MARKER, readme_table(walls, a.results_dir))
        if readme.read_text() != before:
            stale.append(str(readme.relative_to(ROOT)))
    for name in stale:
        print(f"{'stale' if a.check else 'updated'}: {name}")
    if a.check and stale:
        print("run `make times` (python -m tools.mode_times) and commit the result")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
