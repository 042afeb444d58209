"""Benchmark: this project's train_ch8 against the reference d2l 0.17.6 one.

Same device, model (the chapter's 2-layer LSTM, 256 hidden units), data
(the first 10,000 characters of The Time Machine, batch 32 x 35), lr and
epochs; the two loops run alternately, ``--repeats`` times each, so that
machine noise hits both.  Prints a table and a last line with the speedup.

    python tools/bench.py                       # both frameworks, CPU or GPU 0
    python tools/bench.py --tab pytorch --epochs 500 --repeats 1
    python tools/bench.py --scaling             # tokens/s vs corpus size and depth

Numbers are wall-clock times of whole train_ch8 calls, including our
validation passes (the reference has none), so the comparison is fair to
the reference.  Every run is a fresh Python process, so each loop gets the
settings it would get in a student's fresh kernel: MXNet on x86 uses half of
the logical CPUs by default, and d2l_helpers gives it one thread per core
and keeps glibc from returning tensor memory to the OS after every step.  A
third row runs the reference loop with those same process settings, which
separates the gain of the training loop from that of the settings.
"""
import argparse
import atexit
import contextlib
import importlib
import io
import json
import math
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

# The environment as it was before importing d2l_helpers (which sets MXNet's
# threads at import), so the reference rows start with the book's defaults;
# and a registry of running trainings of the benchmark's own, so that other
# trainings on the machine do not shrink the threads of what is measured here
# (bench_shared.py measures kernels that do share).
BASE_ENV = {k: v for k, v in os.environ.items()
            if k not in ("D2L_TRAININGS_DIR", "D2L_HELPERS_SET_MXNET_THREADS")}
if "--worker" not in sys.argv:
    os.environ["D2L_TRAININGS_DIR"] = tempfile.mkdtemp(prefix="d2l-bench-trainings-")
    atexit.register(shutil.rmtree, os.environ["D2L_TRAININGS_DIR"], True)
BASE_ENV["D2L_TRAININGS_DIR"] = os.environ.get("D2L_TRAININGS_DIR", "")

from d2l_helpers import frameworks  # noqa: E402
from tools.markers import replace_between  # noqa: E402

BATCH_SIZE, NUM_STEPS, LR, MAX_TOKENS = 32, 35, 2, 10_000  # the chapter's run


def _reference(tab):
    # The book's package first, so that MXNet starts with its own defaults,
    # as in the book's notebooks (importing d2l_helpers would change them).
    ref = importlib.import_module(f"d2l.{frameworks.TABS[tab].package}")
    from d2l_helpers import data
    path = str(data.fetch("time_machine"))
    ref.download = lambda name, cache_dir=None: path  # offline, same bytes
    return ref


def build(tab, lib, num_layers=2, num_hiddens=256, vocab_size=28, seed=0):
    """The chapter's model, built with `lib` (ours or the reference)."""
    random.seed(seed)
    if tab == "pytorch":
        import torch
        from torch import nn
        torch.manual_seed(seed)
        layer = nn.LSTM(vocab_size, num_hiddens, num_layers)
        return lib.RNNModel(layer, vocab_size).to(lib.try_gpu())
    import mxnet as mx
    from mxnet import npx
    from mxnet.gluon import rnn
    npx.set_np()  # as the book's notebooks do
    mx.random.seed(seed)
    return lib.RNNModel(rnn.LSTM(num_hiddens, num_layers), vocab_size)


def run_once(tab, lib, epochs, lr=LR, max_tokens=MAX_TOKENS, num_layers=2, ours=True,
             books=None):
    """Wall time, tokens/s and final perplexity of one train_ch8 call."""
    if books:
        train_iter, vocab = lib.load_data_books(BATCH_SIZE, NUM_STEPS, books,
                                                max_tokens=max_tokens)
    else:
        train_iter, vocab = lib.load_data_time_machine(BATCH_SIZE, NUM_STEPS,
                                                       max_tokens=max_tokens)
    net = build(tab, lib, num_layers)
    device = lib.try_gpu()
    tokens = sum(math.prod(X.shape) for X, _ in train_iter) * epochs
    out = io.StringIO()
    random.seed(1)
    start = time.perf_counter()
    with contextlib.redirect_stdout(out):
        result = lib.train_ch8(net, train_iter, vocab, lr, epochs, device)
    wall = time.perf_counter() - start
    if ours:
        ppl = result.final_train_ppl
    else:
        ppl = float(out.getvalue().split("perplexity ")[-1].split(",")[0])
    return {"wall_s": wall, "tokens_per_s": tokens / wall, "ppl": ppl,
            "device": str(device), "threads": _threads(tab)}


def _threads(tab):
    """The CPU threads the framework computes with in this process."""
    if tab == "pytorch":
        import torch
        return torch.get_num_threads()
    from d2l_helpers import cpu
    return cpu.mxnet_threads()  # MXNet is imported by now: reads only


SETTINGS = "d2l 0.17.6 + our CPU settings"
VARIANTS = {  # name -> (which loop, extra environment)
    # the worker imports d2l_helpers (which would set MXNet's engine and
    # threads before `import mxnet`); D2L_THREADS=off keeps the book's defaults
    "d2l 0.17.6": ("ref", {"D2L_THREADS": "off"}),
    SETTINGS: ("ref", "settings"),
    "d2l_helpers": ("ours", {}),
}


def our_cpu_settings():
    """What importing d2l_helpers changes in a process (see cpu.py), as
    environment variables, so that the reference loop can run with it too."""
    from d2l_helpers import cpu
    return cpu.env()


def spawn(tab, which, env_extra, **kwargs):
    """run_once in a fresh interpreter; returns its result dict."""
    env = dict(BASE_ENV)
    if env_extra == "settings":
        env_extra = our_cpu_settings()
    env.update(env_extra)
    job = json.dumps({"tab": tab, "which": which, **kwargs})
    out = subprocess.run([sys.executable, __file__, "--worker", job], env=env,
                         capture_output=True, text=True)
    if out.returncode != 0:
        sys.exit(f"benchmark run failed ({tab}, {which}):\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def worker(job):
    """The --worker entry point: one run, printed as JSON."""
    job = json.loads(job)
    tab, which = job.pop("tab"), job.pop("which")
    if which == "ref":
        lib = _reference(tab)
    else:
        lib = importlib.import_module(frameworks.TABS[tab].helpers)
    print(json.dumps(run_once(tab, lib, ours=which == "ours", **job)))


def compare(tab, epochs, repeats):
    from d2l_helpers import devices
    rows = {n: [] for n in VARIANTS}
    for _ in range(repeats):  # alternate, so noise hits all
        for name in VARIANTS:
            which, env = VARIANTS[name]
            rows[name].append(spawn(tab, which, env, epochs=epochs))
    device = devices.describe_device(rows["d2l_helpers"][0]["device"])
    print(f"\n{tab}: chapter LSTM (2 x 256), 10,000 chars, batch 32 x 35, lr 2, "
          f"{epochs} epochs, {repeats} alternating runs each, on {device}")
    print("| loop | threads | wall time (s) | tokens/s | final train perplexity |")
    print("| --- | --- | --- | --- | --- |")
    summary = {}
    for name, runs in rows.items():
        wall = statistics.median(r["wall_s"] for r in runs)
        tps = statistics.median(r["tokens_per_s"] for r in runs)
        ppl = statistics.median(r["ppl"] for r in runs)
        summary[name] = (wall, tps, ppl)
        print(f"| {name} | {runs[0]['threads']} | {wall:.1f} | {tps:,.0f} | {ppl:.2f} |")
    ratio = summary["d2l 0.17.6"][0] / summary["d2l_helpers"][0]
    return {"tab": tab, "device": device, "epochs": epochs, "repeats": repeats,
            "ratio": ratio, "ref": summary["d2l 0.17.6"],
            "ours": summary["d2l_helpers"],
            "loop_ratio": summary[SETTINGS][0] / summary["d2l_helpers"][0]}


def scaling(tab, epochs):
    from d2l_helpers import data
    print(f"\n{tab}: tokens/s on the fast path vs corpus size (2 x 256 LSTM)")
    print("| training characters | tokens/s | wall (s) |")
    print("| --- | --- | --- |")
    sizes = [10_000, 170_000, 1_000_000, -1]
    out = []
    for size in sizes:
        # one epoch over the corpus, at least ~300k tokens of work
        eps = epochs if size == 10_000 else 1
        r = spawn(tab, "ours", {}, epochs=eps, max_tokens=size,
                  books=list(data.CORPORA))
        chars = size if size > 0 else "all 7 books"
        print(f"| {chars} | {r['tokens_per_s']:,.0f} | {r['wall_s']:.1f} |")
        out.append((size, r["tokens_per_s"]))
    print(f"\n{tab}: tokens/s vs depth (10,000 characters, {epochs} epochs)")
    print("| layers | tokens/s |")
    print("| --- | --- |")
    for layers in (1, 2, 4):
        r = spawn(tab, "ours", {}, epochs=epochs, num_layers=layers)
        print(f"| {layers} | {r['tokens_per_s']:,.0f} |")
    return out


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--tab", choices=list(frameworks.NAMES) + ["both"], default="both")
    p.add_argument("--epochs", type=int, default=10)
    p.add_argument("--repeats", type=int, default=2)
    p.add_argument("--scaling", action="store_true")
    p.add_argument("--json", help="also write the results here")
    p.add_argument("--readme", action="store_true",
                   help="write the printed tables into docs/PERFORMANCE.md (bench markers)")
    p.add_argument("--worker", help=argparse.SUPPRESS)
    a = p.parse_args()
    os.environ.setdefault("D2L_QUICK", "0")
    if a.worker:
        return worker(a.worker)
    tabs = list(frameworks.NAMES) if a.tab == "both" else [a.tab]
    log = io.StringIO()

    class Tee(io.TextIOBase):
        def write(self, text):
            log.write(text)
            return sys.__stdout__.write(text)

    with contextlib.redirect_stdout(Tee()):
        print(f"Command: `python tools/bench.py {' '.join(sys.argv[1:])}`")
        results = [compare(t, a.epochs, a.repeats) for t in tabs]
        if a.scaling:
            for t in tabs:
                scaling(t, a.epochs)
        print()
        for r in results:
            loop = f" (loop alone, same CPU settings: {r['loop_ratio']:.2f}x)"
            print(f"speedup {r['tab']}: {r['ratio']:.2f}x the d2l 0.17.6 train_ch8 "
                  f"wall time{loop} on {r['device']}")
    if a.json:
        Path(a.json).write_text(json.dumps(results, indent=1))
    if a.readme:
        replace_between(ROOT / "docs" / "PERFORMANCE.md", "bench", log.getvalue())


if __name__ == "__main__":
    main()
