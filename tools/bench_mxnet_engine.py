"""Benchmark behind d2l_helpers' MXNet thread setting (issue #14).

MXNet's naive engine (operators in the training thread, whose OpenMP count
d2l_helpers changes at run time) with three libgomp spin settings, against
the threaded engine with the share at import (the setting before), MXNet's
default and fixed counts.  Chapter LSTM, 4 epochs of 10,000 characters per
kernel, N = 1, 2, 4 kernels at once (tools/bench_shared.py's kernels), 2
rounds, the order reversed in the second.  Prints every group, then medians
as ratios to the setting before.

    python tools/bench_mxnet_engine.py . results/bench-mxnet-engine.json
"""
import json
import statistics
import sys

sys.path.insert(0, sys.argv[1])
sys.path.insert(0, sys.argv[1] + "/tools")
import bench_shared as bs  # noqa: E402
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
rows = {}
for r in range(2):
    for n in (1, 2, 4):
        names = [k for k in SETTINGS if n < 4 or k in FOUR]
        if r % 2:
            names.reverse()
        for name in names:
            g = bs.run_group("mxnet", n, SETTINGS[name], 4, 10_000)
            agg = sum(x["tokens_per_s"] for x in g)
            rows.setdefault(f"{n}|{name}", []).append(
                dict(agg=agg, threads=[x["threads"] for x in g], ppl=[x["ppl"] for x in g]))
            print(f"[round {r+1}] {n} x {name}: {agg:,.0f} tokens/s, threads {[x['threads'] for x in g]}, "
                  f"ppl {[round(x['ppl'], 4) for x in g]}", flush=True)
json.dump(rows, open(sys.argv[2], "w"), indent=1)
print("\nmedian aggregate tokens/s (2 rounds)")
for n in (1, 2, 4):
    base = statistics.median(x["agg"] for x in rows[f"{n}|old: threaded engine, share at import"])
    for k, v in rows.items():
        if k.startswith(f"{n}|"):
            m = statistics.median(x["agg"] for x in v)
            print(f"  {n} kernels  {k.split('|')[1]:42s} {m:9,.0f}  {m / base:5.2f}x old")
