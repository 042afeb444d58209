"""Benchmark: several kernels training at once on one machine.

N separate Python processes (``--concurrent 1 2 4``) each train the chapter's
model (2-layer LSTM, 256 hidden units, the first 10,000 characters of The
Time Machine by default, batch 32 x 35, lr 2) with this project's ``train_ch8``.  They
load and build everything first, then start training together.  Each group
runs under one thread setting:

* ``default``      -- the frameworks' own thread counts (``D2L_THREADS=off``);
* ``d2l_helpers``  -- this project's setting (``d2l_helpers/cpu.py``): a fair
  share of the usable cores, re-checked as it trains through the registry of
  running trainings (MXNet: with its naive engine, so that the training
  thread's OpenMP count decides);
* ``OMP_NUM_THREADS=k`` -- fixed counts, as references.

Printed per framework: the aggregate tokens/s (the sum over the N kernels of
each one's tokens/s from its History), median over ``--rounds`` rounds with
the range, and the ratios of d2l_helpers to the default and to the best
fixed count.  Settings and N alternate within each round, so that noise from
other work on the machine hits all of them.

    python -m tools.bench_shared                          # make bench runs this
    python -m tools.bench_shared --tab pytorch --concurrent 2 --rounds 1
"""
import argparse
import contextlib
import importlib
import io
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from d2l_helpers import frameworks  # the one list of tabs

ROOT = Path(__file__).resolve().parents[1]

# Variables that decide thread counts; workers start without the caller's.
_THREAD_VARS = ("OMP_NUM_THREADS", "MXNET_OMP_MAX_THREADS", "D2L_THREADS",
                "D2L_TRAININGS_DIR", "D2L_HELPERS_SET_MXNET_THREADS",
                "MXNET_ENGINE_TYPE", "D2L_HELPERS_SET_MXNET_ENGINE",
                "GOMP_SPINCOUNT", "D2L_HELPERS_SET_GOMP_SPINCOUNT", "OMP_WAIT_POLICY")
HELPER = "d2l_helpers"


def settings(fixed):
    """{name: environment} for the settings compared."""
    out = {"default": {"D2L_THREADS": "off"}, HELPER: {}}
    out.update({f"OMP_NUM_THREADS={k}": {"OMP_NUM_THREADS": str(k)} for k in fixed})
    return out


# ------------------------------------------------------------ one kernel

def worker(job):
    """One kernel: build, say 'ready', wait for 'go', train, print a JSON line."""
    job = json.loads(job)
    tab = job["tab"]
    from tools import bench  # the chapter's model, as tools/bench.py builds it
    lib = importlib.import_module(frameworks.TABS[tab].helpers)
    train_iter, vocab = lib.load_data_time_machine(32, 35, max_tokens=job["max_tokens"])
    net = bench.build(tab, lib)
    device = lib.try_gpu()
    print("ready", flush=True)
    sys.stdin.readline()
    with contextlib.redirect_stdout(io.StringIO()):
        h = lib.train_ch8(net, train_iter, vocab, 2, job["epochs"], device)
    threads = lib.BACKEND.get_threads()  # at the end of training
    print(json.dumps({"tokens_per_s": h.mean_tokens_per_sec, "threads": threads,
                      "ppl": h.final_train_ppl, "device": str(device)}))


def run_group(tab, n, env_extra, epochs, max_tokens, checkout=ROOT):
    """n kernels at once; returns their result dicts.

    Each kernel is ``python -m tools.bench_shared --worker`` started in
    ``checkout`` (this one by default), so that it trains with that
    checkout's ``tools`` and ``d2l_helpers``: they come first on its path
    (tools/bench_mxnet_engine.py measures another checkout's this way)."""
    env = {k: v for k, v in os.environ.items() if k not in _THREAD_VARS}
    env.update(env_extra, D2L_QUICK="0", PYTHONPATH=str(checkout))
    job = json.dumps({"tab": tab, "epochs": epochs, "max_tokens": max_tokens})
    with tempfile.TemporaryDirectory() as tmp:
        env["D2L_TRAININGS_DIR"] = str(Path(tmp, "trainings"))  # only this group's
        procs = []
        for i in range(n):
            err = open(Path(tmp, f"stderr{i}"), "w+")
            procs.append((subprocess.Popen(
                [sys.executable, "-m", "tools.bench_shared", "--worker", job],
                cwd=checkout, env=env, text=True,
                stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=err), err))
        for p, err in procs:  # everything imported and built
            while (line := p.stdout.readline()) and line.strip() != "ready":
                pass
        for p, _ in procs:
            with contextlib.suppress(OSError):  # a kernel that failed: see below
                p.stdin.write("go\n")
                p.stdin.flush()
        results = []
        for p, err in procs:
            out, _ = p.communicate()
            if p.returncode != 0:
                err.seek(0)
                sys.exit(f"benchmark kernel failed ({tab}, {env_extra}):\n"
                         f"{err.read()[-3000:]}")
            err.close()
            results.append(json.loads(out.strip().splitlines()[-1]))
    return results


# ------------------------------------------------------------ a whole run

def measure(tab, counts, fixed, rounds, epochs, max_tokens, after_round=None):
    """{(n, setting): [round results]}, settings and n alternating.

    ``after_round(rows)`` runs after each round, so that a run cut short
    still reports the rounds it finished."""
    rows = {}
    for r in range(rounds):
        for n in counts:
            names = list(settings(fixed).items())
            if r % 2:  # alternate the order too
                names.reverse()
            for name, extra in names:
                group = run_group(tab, n, extra, epochs, max_tokens)
                rows.setdefault((n, name), []).append(group)
                print(f"  [{tab} round {r + 1}/{rounds}] {n} x {name}: "
                      f"{sum(g['tokens_per_s'] for g in group):,.0f} tokens/s",
                      file=sys.stderr, flush=True)
        if after_round and r + 1 < rounds:
            after_round(r + 1, rows)
    return rows


def _total(group):
    return sum(g["tokens_per_s"] for g in group)


def _cell(groups):
    totals = [_total(g) for g in groups]
    threads = sorted({str(g["threads"]) for grp in groups for g in grp}, key=int)
    return (f"{statistics.median(totals):,.0f} [{min(totals):,.0f}–{max(totals):,.0f}] "
            f"({'/'.join(threads)})")


def _ratio(rows, n, a, b):
    """Ratio of medians of a to b, and the range of the per-round ratios."""
    ta = [_total(g) for g in rows[(n, a)]]
    tb = [_total(g) for g in rows[(n, b)]]
    each = [x / y for x, y in zip(ta, tb)]
    return statistics.median(ta) / statistics.median(tb), min(each), max(each)


def report(tab, rows, counts, fixed, rounds, epochs, max_tokens, device):
    """Print the table and the ratios; return them as a dict."""
    rounds = len(next(iter(rows.values())))  # the rounds finished
    names = list(settings(fixed))
    print(f"\n{tab}: N kernels training the chapter LSTM (2 x 256) at once, {max_tokens:,} chars, "
          f"batch 32 x 35, {epochs} epochs each, on {device}. Aggregate tokens/s "
          f"(sum over the kernels), median of {rounds} rounds [range] (threads per kernel)")
    print("| kernels | " + " | ".join(names) + " | d2l_helpers / default "
          "| d2l_helpers / best fixed |")
    print("| --- " * (len(names) + 3) + "|")
    out = []
    for n in counts:
        fixed_names = [x for x in names if x.startswith("OMP_NUM_THREADS=")]
        best = max(fixed_names, key=lambda x: statistics.median(map(_total, rows[(n, x)])))
        vs_default = _ratio(rows, n, HELPER, "default")
        vs_best = _ratio(rows, n, HELPER, best)
        cells = [_cell(rows[(n, x)]) for x in names]
        print(f"| {n} | " + " | ".join(cells)
              + f" | {vs_default[0]:.2f}x [{vs_default[1]:.2f}–{vs_default[2]:.2f}] "
              f"| {vs_best[0]:.2f}x [{vs_best[1]:.2f}–{vs_best[2]:.2f}] ({best}) |")
        out.append({"tab": tab, "kernels": n, "vs_default": vs_default,
                    "vs_best_fixed": vs_best, "best_fixed": best,
                    "aggregate": {x: [_total(g) for g in rows[(n, x)]] for x in names}})
    return out


def _load():
    """The machine's load average, to show how shared it was."""
    if not hasattr(os, "getloadavg"):
        return ""
    one, five, _ = os.getloadavg()
    return (f"; load average {one:.1f} (1 min), {five:.1f} (5 min) on "
            f"{os.cpu_count()} CPUs")


def write_readme(text):
    readme = ROOT / "docs" / "PERFORMANCE.md"
    src = readme.read_text()
    head, rest = src.split("<!-- bench-shared:start -->", 1)
    _, tail = rest.split("<!-- bench-shared:end -->", 1)
    readme.write_text(f"{head}<!-- bench-shared:start -->\n{text.strip()}\n"
                      f"<!-- bench-shared:end -->{tail}")


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--tab", nargs="+", choices=frameworks.NAMES,
                   default=list(frameworks.NAMES))
    p.add_argument("--concurrent", nargs="+", type=int, default=[1, 2, 4],
                   help="numbers of kernels training at once")
    p.add_argument("--fixed", nargs="+", type=int, default=[1, 2],
                   help="OMP_NUM_THREADS values run as references")
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--epochs", type=int, default=8)
    p.add_argument("--max-tokens", type=int, default=10_000)
    p.add_argument("--json", help="also write the results here")
    p.add_argument("--readme", action="store_true",
                   help="write the output into docs/PERFORMANCE.md (bench-shared markers)")
    p.add_argument("--worker", help=argparse.SUPPRESS)
    a = p.parse_args()
    if a.worker:
        return worker(a.worker)
    if min(a.concurrent + a.fixed) < 1 or a.rounds < 1 or a.epochs < 1:
        p.error("--concurrent, --fixed, --rounds and --epochs take whole numbers >= 1")
    from d2l_helpers import devices
    device = devices.describe_device("cpu")
    log = io.StringIO()
    print(f"Command: `python -m tools.bench_shared {' '.join(sys.argv[1:])}`", file=log)
    print(f"Started {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}{_load()}", file=log)
    results = []
    for tab in a.tab:
        def partial(done, rows, tab=tab):
            print(f"\n[after round {done} of {a.rounds}]", file=sys.stderr)
            with contextlib.redirect_stdout(sys.stderr):
                report(tab, rows, a.concurrent, a.fixed, a.rounds, a.epochs,
                       a.max_tokens, device)
            sys.stderr.flush()

        rows = measure(tab, a.concurrent, a.fixed, a.rounds, a.epochs, a.max_tokens,
                       after_round=partial)
        with contextlib.redirect_stdout(log):
            results += report(tab, rows, a.concurrent, a.fixed, a.rounds, a.epochs,
                              a.max_tokens, device)
    print(f"\nEnded {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}{_load()}", file=log)
    print(log.getvalue())
    if a.json:
        Path(a.json).write_text(json.dumps(results, indent=1))
    if a.readme:
        write_readme(log.getvalue())


if __name__ == "__main__":
    main()
