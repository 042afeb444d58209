"""Benchmark behind d2l_helpers' MXNet thread setting (issue #14).

MXNet's naive engine (operators in the training thread, whose OpenMP count
d2l_helpers changes at run time) with three libgomp spin settings, against
the threaded engine with the share at import (the setting before), MXNet's
default and fixed counts.  Chapter LSTM, 4 epochs of 10,000 characters per
kernel, N = 1, 2, 4 kernels at once (tools/bench_shared.py's kernels), 2
rounds, the order reversed in the second.  Prints every group, then medians
as ratios to the setting before.

    python -m tools.bench_mxnet_engine . results/bench-mxnet-engine.json
    python -m tools.bench_mxnet_engine ../other-checkout build/other.json

CHECKOUT is the checkout whose code is measured: each kernel is started in
that folder (``python -m tools.bench_shared --worker``), so that its own
``tools`` and ``d2l_helpers`` come first on the kernel's path -- no path is
edited in this process.
"""
import argparse
import json
import statistics
from pathlib import Path

from tools import bench_shared as bs

SETTINGS = {
    "old: threaded engine, share at import": {"MXNET_ENGINE_TYPE": "ThreadedEnginePerDevice"},
    "new: naive engine, spin 10000": {},
    "naive engine, libgomp default spin": {"GOMP_SPINCOUNT": "300000"},
    "naive engine, spin 1000": {"GOMP_SPINCOUNT": "1000"},
    "naive engine, OMP_WAIT_POLICY=PASSIVE": {"OMP_WAIT_POLICY": "PASSIVE"},
    "default (D2L_THREADS=off)": {"D2L_THREADS": "off"},
    "OMP_NUM_THREADS=1": {"OMP_NUM_THREADS": "1"},
    "OMP_NUM_THREADS=2": {"OMP_NUM_THREADS": "2"},
}
FOUR = ["old: threaded engine, share at import", "new: naive engine, spin 10000",
        "default (D2L_THREADS=off)", "OMP_NUM_THREADS=1"]


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("checkout", type=Path,
                   help="the checkout whose d2l_helpers is measured ('.' for this one)")
    p.add_argument("out", help="where the JSON of every group goes")
    a = p.parse_args()
    a.checkout = a.checkout.resolve()
    if not (a.checkout / "tools" / "bench_shared.py").is_file():
        p.error(f"{a.checkout} is not a checkout of this project (no tools/bench_shared.py)")
    rows = {}
    for r in range(2):
        for n in (1, 2, 4):
            names = [k for k in SETTINGS if n < 4 or k in FOUR]
            if r % 2:
                names.reverse()
            for name in names:
                g = bs.run_group("mxnet", n, SETTINGS[name], 4, 10_000, checkout=a.checkout)
                agg = sum(x["tokens_per_s"] for x in g)
                rows.setdefault(f"{n}|{name}", []).append(
                    dict(agg=agg, threads=[x["threads"] for x in g], ppl=[x["ppl"] for x in g]))
                print(f"[round {r+1}] {n} x {name}: {agg:,.0f} tokens/s, threads {[x['threads'] for x in g]}, "
                      f"ppl {[round(x['ppl'], 4) for x in g]}", flush=True)
    Path(a.out).write_text(json.dumps(rows, indent=1))
    print("\nmedian aggregate tokens/s (2 rounds)")
    for n in (1, 2, 4):
        base = statistics.median(x["agg"] for x in rows[f"{n}|old: threaded engine, share at import"])
        for k, v in rows.items():
            if k.startswith(f"{n}|"):
                m = statistics.median(x["agg"] for x in v)
                print(f"  {n} kernels  {k.split('|')[1]:42s} {m:9,.0f}  {m / base:5.2f}x old")


if __name__ == "__main__":
    main()
