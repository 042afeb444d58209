"""`make book`: execute every notebook at full scale under one tab (or in another run mode).

Writes, for ``--tab pytorch`` (or mxnet):

* ``build/<tab>/<notebook>.ipynb`` -- the executed notebooks;
* ``build/html/<tab>/<notebook>.html`` -- the same as HTML pages;
* ``build/results.json`` -- every run the notebooks recorded with
  ``d2l_helpers.results.record`` (perplexities, tokens/s, wall time, device,
  library versions), plus one entry per notebook with its wall time.

``--table`` prints the table of every recorded run from ``build/results.json``
(or the file given with ``--results``); ``--readme`` writes it into docs/RUNS.md
(linked from the README) between the ``<!-- results:start -->`` and
``<!-- results:end -->`` markers.

    python -m tools.book --tab pytorch                 # all notebooks
    python -m tools.book --tab mxnet --only 03 ex2     # names containing 03 or ex2
    python -m tools.book --table --readme
    python -m tools.book --table --merge build/a.json build/b.json  # combine runs
    python -m tools.book --tab pytorch --mode class --results build/class.json  # time class mode

``--mode class`` (or ``quick``) runs the notebooks in that mode; every entry
records its mode, and the results table shows full-mode runs only.
"""
import argparse
import json
import math
import os
import tempfile
import time
from pathlib import Path

from d2l_helpers import frameworks, modes
from tools import markers

ROOT = Path(__file__).resolve().parents[1]


def notebooks(only=()):
    paths = sorted((ROOT / "notebooks").glob("*.ipynb")) + \
        sorted((ROOT / "notebooks" / "exercises").glob("*.ipynb"))
    return [p for p in paths if not only or any(o in p.name for o in only)]


def run_notebook(nb, cwd, kernel_name="python3", timeout=None):
    """Execute ``nb`` in place in a fresh kernel started in ``cwd``.

    The kernel talks to us over IPC (Unix sockets in a private temporary
    folder), not TCP: nothing listens on the network, and ipykernel has no
    reason to warn that the traffic is unencrypted."""
    from jupyter_client.manager import KernelManager
    from nbconvert.preprocessors import ExecutePreprocessor

    with tempfile.TemporaryDirectory(prefix="d2l-kernel-") as tmp:
        km = KernelManager(kernel_name=kernel_name, transport="ipc",
                           connection_file=os.path.join(tmp, "kernel.json"))
        try:
            ExecutePreprocessor(timeout=timeout, kernel_name=kernel_name).preprocess(
                nb, {"metadata": {"path": str(cwd)}}, km=km)
        finally:  # nbclient leaves a kernel it was handed running
            if km.has_kernel:
                km.shutdown_kernel(now=True)
    return nb


def execute(path, tab, results, quick="0", out_root=ROOT / "build"):
    """Run one notebook under ``tab`` with ``D2L_QUICK=quick``; write it to
    ``out_root/<tab>/`` and as HTML to ``out_root/html/<tab>/``."""
    import nbformat
    from nbconvert import HTMLExporter
    from d2l_helpers import results as rec

    os.environ.update(D2L_TAB=tab, D2L_QUICK=quick, D2L_RESULTS=str(results))
    nb = nbformat.read(path, as_version=4)
    rel = path.relative_to(ROOT / "notebooks")
    print(f"[book] {tab}: running {rel} ...", flush=True)
    start = time.perf_counter()
    run_notebook(nb, path.parent)
    wall = time.perf_counter() - start
    out = Path(out_root) / tab / rel
    out.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, out)
    html, _ = HTMLExporter().from_notebook_node(nb)
    page = Path(out_root) / "html" / tab / rel.with_suffix(".html")
    page.parent.mkdir(parents=True, exist_ok=True)
    page.write_text(html)
    rec.record(f"notebook/{rel.stem}", {"wall_time_s": wall})
    print(f"[book] {tab}: {rel} done in {wall / 60:.1f} min", flush=True)


def _fmt(x, spec):
    return "–" if x is None or (isinstance(x, float) and math.isnan(x)) else format(x, spec)


def table(runs):
    lines = ["| run | tab | train ppl | validation ppl (best) | tokens/s | wall time "
             "| threads | measured | device |",
             "| --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
    # chapter first, then ex1, ex2, ...; PyTorch before MXNet; else as recorded
    runs = sorted(runs, key=lambda r: (r["key"].split("/")[0].replace("chapter", "0"),
                                       r["tab"] != "pytorch"))
    for r in runs:
        if r["key"].startswith("notebook/") or r.get("mode", "full") != "full" \
                or r.get("quick_mode"):
            continue
        lines.append(
            f"| {r['key']} | {r['tab']} | {_fmt(r.get('final_train_ppl'), '.2f')} "
            f"| {_fmt(r.get('final_valid_ppl'), '.2f')} ({_fmt(r.get('best_valid_ppl'), '.2f')}) "
            f"| {_fmt(r.get('tokens_per_sec'), ',.0f')} "
            f"| {_fmt(r.get('wall_time_s', float('nan')) / 60, '.1f')} min "
            f"| {r.get('versions', {}).get('threads', '–')} "
            f"| {r.get('time', '')[:16].replace('T', ' ')} "
            f"| {r.get('device', '')} |")
    walls = sorted((r for r in runs if r["key"].startswith("notebook/")
                    and r.get("mode", "full") == "full"),
                   key=lambda r: (r["tab"] != "pytorch", r["key"]))
    if walls:
        lines += ["", "| notebook | tab | full-mode wall time |", "| --- | --- | --- |"]
        lines += [f"| {r['key'][9:]} | {r['tab']} | {r['wall_time_s'] / 60:.1f} min |"
                  for r in walls]
    return "\n".join(lines)


def write_readme(text):
    markers.replace_between(ROOT / "docs" / "RUNS.md", "results", text)


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--tab", choices=frameworks.NAMES, default=frameworks.DEFAULT)
    p.add_argument("--only", nargs="*", default=[])
    p.add_argument("--mode", choices=list(modes.MODES), default="full",
                   help="run mode to execute in (default: full)")
    p.add_argument("--results", default=str(ROOT / "build" / "results.json"))
    p.add_argument("--table", action="store_true")
    p.add_argument("--readme", action="store_true")
    p.add_argument("--merge", nargs="*", default=[],
                   help="fold these results files into --results first")
    a = p.parse_args()
    results = Path(a.results).resolve()  # the kernels run in notebooks/
    if a.merge:
        merged = json.loads(results.read_text()) if results.exists() else []
        for extra in a.merge:
            for run in json.loads(Path(extra).read_text()):
                merged = [r for r in merged
                          if (r["key"], r["tab"]) != (run["key"], run["tab"])] + [run]
        results.parent.mkdir(parents=True, exist_ok=True)
        results.write_text(json.dumps(merged, indent=1))
    if not a.table:
        for path in notebooks(a.only):
            execute(path, a.tab, results, quick=modes.SETTING[a.mode])
    runs = json.loads(results.read_text()) if results.exists() else []
    text = table(runs)
    print(text)
    if a.readme:
        write_readme(text)


if __name__ == "__main__":
    main()
