"""The speed figures that README.md and notebook 03 quote, from the newest
CPU record of `make bench` (``results/bench-<date>.json``, written by
``python -m tools.bench --json ...``).

    python -m tools.speed           # rewrite the quotes (between speed markers)
    python -m tools.speed --check   # exit 1 if a quote differs from the record

The quotes sit between ``<!-- speed:start -->`` and ``<!-- speed:end -->`` in
README.md and in notebook 03's two "Training" cells (one per language), so
every number there comes from the JSON; ``tests/test_speed.py`` regenerates
them and compares the text exactly.  A GPU record (``bench-gpu-*.json``) is
quoted once one exists; until then the text says the GPU path is unmeasured.
"""
import argparse
import json
import re
import sys
from pathlib import Path

import nbformat

from d2l_helpers import frameworks
from tools import markers

ROOT = Path(__file__).resolve().parents[1]

RESULTS = ROOT / "results"
README = ROOT / "README.md"
NOTEBOOK = ROOT / "notebooks" / "03-training-and-prediction.ipynb"
CPU_RECORD = re.compile(r"bench-(\d{4}-\d{2}-\d{2})\.json$")


def newest(results_dir=RESULTS):
    """(path, records) of the newest CPU bench record that holds both tabs'
    rows and the fp32/bf16 rows; older records lack the latter."""
    found = sorted((p for p in Path(results_dir).glob("bench-*.json") if CPU_RECORD.search(p.name)),
                   key=lambda p: CPU_RECORD.search(p.name)[1], reverse=True)
    for path in found:
        records = json.loads(path.read_text())
        if any("precision_rows" in r for r in records):
            return path, records
    raise FileNotFoundError(f"no results/bench-<date>.json with fp32/bf16 rows in {results_dir}; "
                            f"run `python -m tools.bench --json results/bench-<date>.json` first")


def figures(records):
    """The quoted figures, by name."""
    tabs = {r["tab"]: r for r in records if "tab" in r and "ratio" in r}
    prec = next(r["precision_rows"] for r in records if "precision_rows" in r)
    out = {"device": next(iter(tabs.values()))["device"].removeprefix("CPU: "),
           "tabs": {t: r["ratio"] for t, r in tabs.items()},
           "epochs": next(iter(tabs.values()))["epochs"],
           "precision": {t: r.get("precision", "fp32") for t, r in tabs.items()}}
    if prec and prec.get("native"):
        out["bf16"] = {"speed": prec["speed_ratio"], "ppl": prec["ppl_rel_diff"],
                       "epochs": prec["epochs"], "seeds": prec["seeds"]}
    elif prec:
        out["bf16"] = {"reason": prec["reason"]}
    return out


NAMES = {name: t.title for name, t in frameworks.TABS.items()}  # display names: the registry's


def text(path, records, lang):
    """One short paragraph in ``lang`` ("zh" or "en"), every number from ``records``."""
    f = figures(records)
    date = CPU_RECORD.search(Path(path).name)[1]
    name = f"results/{Path(path).name}"
    per_tab_en = " and ".join(f"{r:.2f}× ({NAMES.get(t, t)}, {f['precision'][t]})"
                              for t, r in f["tabs"].items())
    per_tab_zh = "、".join(f"{r:.2f} 倍（{NAMES.get(t, t)}，{f['precision'][t]}）"
                          for t, r in f["tabs"].items())
    b = f.get("bf16", {})
    if "speed" in b:
        bf_en = (f" bf16 autocast: {b['speed']:.2f}× fp32 over the full {b['epochs']}-epoch run ({b['seeds']} seeds), "
                 f"final training perplexity {b['ppl']:+.1%}.")
        bf_zh = (f"bf16 自动混合精度：完整的 {b['epochs']} 轮运行（{b['seeds']} 个种子）是 fp32 的 {b['speed']:.2f} 倍，"
                 f"最终训练困惑度相差 {b['ppl']:+.1%}。")
    else:
        bf_en = f" No bf16 rows: {b.get('reason', 'not measured')}."
        bf_zh = f"没有 bf16 对照：{b.get('reason', '未测')}。"
    if lang == "en":
        return (f"`make bench` ({name}, {f['device']}, {date}): {per_tab_en} the speed of d2l 0.17.6 "
                f"({f['epochs']} epochs).{bf_en} GPU: not measured yet.")
    return (f"`make bench` 实测（{name}，{f['device']}，{date}）：d2l 0.17.6 速度的 {per_tab_zh}"
            f"（{f['epochs']} 轮）。{bf_zh}GPU：尚未实测。")


def _notebook_cells(nb):
    start, _ = markers.markers("speed")
    return [c for c in nb["cells"] if c["cell_type"] == "markdown" and start in c["source"]]


def _cell_lang(cell):
    tags = cell.get("metadata", {}).get("tags", [])
    return "zh" if "lang-zh" in tags else "en"


def _splice(src, new):
    start, end = markers.markers("speed")
    head, rest = src.split(start, 1)
    _, tail = rest.split(end, 1)
    return f"{head}{start}\n{new}\n{end}{tail}"


def stale(root=ROOT):
    """The places whose quote differs from the newest record: [(place, expected)]."""
    path, records = newest(Path(root) / "results")
    out = []
    src = (Path(root) / "README.md").read_text(encoding="utf-8")
    want = _splice(src, text(path, records, "en"))
    if want != src:
        out.append(("README.md", text(path, records, "en")))
    nb = nbformat.read(str(Path(root) / NOTEBOOK.relative_to(ROOT)), as_version=4)
    cells = _notebook_cells(nb)
    if sorted(_cell_lang(c) for c in cells) != ["en", "zh"]:
        out.append((NOTEBOOK.name, "one zh and one en cell holding the speed markers"))
    for c in cells:
        src = c["source"]
        new = text(path, records, _cell_lang(c))
        if _splice(src, new) != src:
            out.append((f"{NOTEBOOK.name} ({_cell_lang(c)})", new))
    return out


def write(root=ROOT):
    path, records = newest(Path(root) / "results")
    markers.replace_between(Path(root) / "README.md", "speed", text(path, records, "en"))
    nb_path = str(Path(root) / NOTEBOOK.relative_to(ROOT))
    nb = nbformat.read(nb_path, as_version=4)
    for c in _notebook_cells(nb):
        c["source"] = _splice(c["source"], text(path, records, _cell_lang(c)))
    nbformat.write(nb, nb_path)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--check", action="store_true", help="only compare; exit 1 when stale")
    a = p.parse_args(argv)
    if a.check:
        bad = stale()
        for place, want in bad:
            print(f"{place}: stale; expected: {want}")
        return 1 if bad else 0
    write()
    return 0


if __name__ == "__main__":
    sys.exit(main())
