"""Benchmark: this project's train_ch8 against the reference d2l 0.17.6 one.

Same device, model (the chapter's 2-layer LSTM, 256 hidden units), data
(the first 10,000 characters of The Time Machine, batch 32 x 35), lr and
epochs; the two loops run alternately, ``--repeats`` times each, so that
machine noise hits both.  Prints a table and a last line with the speedup.

    python -m tools.bench                       # both frameworks, CPU or GPU 0
    python -m tools.bench --tab pytorch --epochs 500 --repeats 1
    python -m tools.bench --scaling             # tokens/s vs corpus size and depth
    python -m tools.bench --tab pytorch --precision-epochs 500 --seeds 3   # fp32 vs bf16
    python -m tools.bench --device cuda         # the GPU table -> results/bench-gpu-<date>.json

After the table against the book, the PyTorch tab trains the chapter's run
(500 epochs) in fp32 and in bf16 autocast, seed by seed, alternating, and
prints both rows and their ratio -- where bf16 is native (AMX / AVX-512 BF16,
or a CUDA GPU with bf16; see d2l_helpers/precision.py).  Where it is not,
one line says so and nothing else changes.  ``--device cuda`` instead
measures, on a CUDA GPU, the book's d2l 0.17.6 loop against ours eager, with
one CUDA graph per step and with one per epoch, in fp32 and bf16, and records
the table with the device name and versions.

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
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

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
from tools import markers  # noqa: E402

BATCH_SIZE, NUM_STEPS, LR, MAX_TOKENS = 32, 35, 2, 10_000  # the chapter's run


# What d2l 0.17.6's torch module imports but train_ch8 does not compute with
# (notebook display, image and data-frame helpers).  A GPU machine with only
# torch, numpy, matplotlib and tqdm lacks them; there, stand-ins are put in
# place (display calls do nothing; the Animator still draws with matplotlib).
BOOK_DISPLAY_IMPORTS = ("IPython", "IPython.display", "matplotlib_inline",
                        "matplotlib_inline.backend_inline", "torchvision",
                        "torchvision.transforms", "PIL", "PIL.Image", "pandas", "requests")


def _stub_missing_book_imports():
    """Stand-ins for the modules of BOOK_DISPLAY_IMPORTS that are not
    installed; returns their names (said in one line on stderr)."""
    import types
    missing = []
    for name in BOOK_DISPLAY_IMPORTS:
        try:
            importlib.import_module(name)
        except ImportError:
            mod = types.ModuleType(name)
            if name == "IPython.display":
                mod.display = mod.clear_output = lambda *a, **k: None
            if name == "matplotlib_inline.backend_inline":
                mod.set_matplotlib_formats = lambda *a, **k: None
            sys.modules[name] = mod
            parent, _, child = name.rpartition(".")
            if parent:
                setattr(sys.modules[parent], child, mod)
            missing.append(name)
    if missing:
        print(f"bench: stand-ins for {', '.join(missing)} (not installed; the book's "
              f"train_ch8 only displays with them)", file=sys.stderr)
    return missing


def _reference(tab):
    # The book's package first, so that MXNet starts with its own defaults,
    # as in the book's notebooks (importing d2l_helpers would change them).
    stubs = _stub_missing_book_imports() if tab == "pytorch" else []
    ref = importlib.import_module(f"d2l.{frameworks.TABS[tab].package}")
    for name in stubs:  # d2l holds them now; matplotlib must not take them for IPython
        sys.modules.pop(name, None)
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
    if tab == "jax":  # d2l 0.17.6 has no JAX: only ours
        lib.seed(seed)
        return lib.RNNModel(lib.LSTM(vocab_size, num_hiddens, num_layers), vocab_size)
    import mxnet as mx
    from mxnet import npx
    from mxnet.gluon import rnn
    npx.set_np()  # as the book's notebooks do
    mx.random.seed(seed)
    return lib.RNNModel(rnn.LSTM(num_hiddens, num_layers), vocab_size)


def book_perplexity(text):
    """The final perplexity in the book's train_ch8 output, whose closing line is
    "perplexity 1.0, 12345.6 tokens/sec on cuda:0".  Outside a notebook the
    Animator's clear_output writes terminal escapes ("\\x1b[2K\\r") without a
    newline before it, so the line need not start at a line start."""
    found = re.findall(r"perplexity ([0-9.]+|nan|inf), [0-9.]+ tokens/sec", text)
    if not found:
        raise ValueError(f"no closing 'perplexity ..., ... tokens/sec' line in the "
                         f"book's train_ch8 output: {text[-300:]!r}")
    return float(found[-1])


def run_once(tab, lib, epochs, lr=LR, max_tokens=MAX_TOKENS, num_layers=2, ours=True,
             books=None, seed=0, need_cuda=False):
    """Wall time, tokens/s and final perplexity of one train_ch8 call."""
    if need_cuda:
        _require_cuda()
    if books:
        train_iter, vocab = lib.load_data_books(BATCH_SIZE, NUM_STEPS, books,
                                                max_tokens=max_tokens)
    else:
        train_iter, vocab = lib.load_data_time_machine(BATCH_SIZE, NUM_STEPS,
                                                       max_tokens=max_tokens)
    net = build(tab, lib, num_layers, seed=seed)
    device = lib.try_gpu()
    tokens = sum(math.prod(X.shape) for X, _ in train_iter) * epochs
    out = io.StringIO()
    random.seed(1)
    start = time.perf_counter()
    with contextlib.redirect_stdout(out):
        result = lib.train_ch8(net, train_iter, vocab, lr, epochs, device)
    wall = time.perf_counter() - start
    extra = {}
    if ours:
        ppl = result.final_train_ppl
        extra = {"precision": result.precision, "best_valid_ppl": result.best_valid_ppl,
                 "best_valid_epoch": result.best_valid_epoch,
                 "graph_fallback": "not possible" in out.getvalue()}
    else:
        ppl = book_perplexity(out.getvalue())
        extra = {"precision": "fp32"}
    return {"wall_s": wall, "tokens_per_s": tokens / wall, "ppl": ppl,
            "device": str(device), "threads": _threads(tab), **extra}


def _require_cuda():
    import torch
    if not torch.cuda.is_available():
        sys.exit("python -m tools.bench --device cuda needs a CUDA GPU, and PyTorch sees none "
                 f"here (torch {torch.__version__}, torch.cuda.is_available() is False); "
                 "run it on a GPU machine (tools/gpu_session.py) or drop --device cuda")


def _threads(tab):
    """The CPU threads the framework computes with in this process."""
    if tab == "pytorch":
        import torch
        return torch.get_num_threads()
    if tab == "jax":
        from d2l_helpers import jax
        return jax.get_threads()
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
    out = subprocess.run([sys.executable, "-m", "tools.bench", "--worker", job], env=env,
                         capture_output=True, text=True, cwd=ROOT)  # this checkout's tools
    if out.returncode != 0:
        sys.exit(f"benchmark run failed ({tab}, {which}):\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def worker(job):
    """The --worker entry point: one run, printed as JSON."""
    job = json.loads(job)
    tab, which = job.pop("tab"), job.pop("which")
    if which == "probe":
        return print(json.dumps(probe_precision(**job)))
    if which == "gpuinfo":
        return print(json.dumps(gpu_info()))
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
    print("| loop | threads | precision | wall time (s) | tokens/s | final train perplexity |")
    print("| --- | --- | --- | --- | --- | --- |")
    summary = {}
    for name, runs in rows.items():
        wall = statistics.median(r["wall_s"] for r in runs)
        tps = statistics.median(r["tokens_per_s"] for r in runs)
        ppl = statistics.median(r["ppl"] for r in runs)
        summary[name] = (wall, tps, ppl)
        print(f"| {name} | {runs[0]['threads']} | {runs[0].get('precision', 'fp32')} | "
              f"{wall:.1f} | {tps:,.0f} | {ppl:.2f} |")
    ratio = summary["d2l 0.17.6"][0] / summary["d2l_helpers"][0]
    return {"tab": tab, "device": device, "epochs": epochs, "repeats": repeats,
            "precision": rows["d2l_helpers"][0].get("precision", "fp32"),
            "ratio": ratio, "ref": summary["d2l 0.17.6"],
            "ours": summary["d2l_helpers"],
            "loop_ratio": summary[SETTINGS][0] / summary["d2l_helpers"][0]}


def probe_precision(device=None):
    """What ``D2L_PRECISION=auto`` picks here for the chapter's LSTM and for a
    GRU of the same size, with the reasons (run in a worker)."""
    from torch import nn
    from d2l_helpers import torch as d2l
    os.environ.pop("D2L_PRECISION", None)
    device = d2l.try_gpu() if device is None else device  # where run_once trains
    out = {}
    for cell in ("LSTM", "GRU"):
        net = d2l.RNNModel(getattr(nn, cell)(28, 256, 2), 28)
        out[cell] = d2l.choose_precision(device, net)
    return out


def _median_row(runs):
    return {"wall_s": statistics.median(r["wall_s"] for r in runs),
            "tokens_per_s": statistics.median(r["tokens_per_s"] for r in runs),
            "ppl": statistics.mean(r["ppl"] for r in runs), "runs": runs}


def precision_compare(epochs, seeds, tab="pytorch"):
    """fp32 and bf16 rows of the chapter's run, seed by seed, alternating
    (which goes first alternates too); None where bf16 is not native here."""
    if tab != "pytorch":
        return None
    probe = spawn(tab, "probe", {})
    (lstm, why), (gru, gru_why) = probe["LSTM"], probe["GRU"]
    if lstm != "bf16":
        print(f"\n{tab}: bf16 is not native here, so no bf16 rows: {why}")
        return {"tab": tab, "native": False, "reason": why}
    order = ("fp32", "bf16")
    runs = {d: [] for d in order}
    for seed in range(seeds):
        for d in (order if seed % 2 == 0 else order[::-1]):
            runs[d].append(spawn(tab, "ours", {"D2L_PRECISION": d}, epochs=epochs, seed=seed))
    device = runs["fp32"][0]["device"]
    from d2l_helpers import devices
    print(f"\n{tab}: fp32 against bf16 autocast, chapter LSTM (2 x 256), 10,000 chars, "
          f"batch 32 x 35, lr 2, {epochs} epochs, seeds 0-{seeds - 1} (fp32 and bf16 "
          f"alternating), on {devices.describe_device(device)}")
    print("| precision | seed | wall time (s) | tokens/s | final train perplexity |")
    print("| --- | --- | --- | --- | --- |")
    for d in order:
        for seed, r in enumerate(runs[d]):
            assert r["precision"] == d, r  # the worker trained what was asked
            print(f"| {d} | {seed} | {r['wall_s']:.1f} | {r['tokens_per_s']:,.0f} | "
                  f"{r['ppl']:.3f} |")
    rows = {d: _median_row(runs[d]) for d in order}
    speed = rows["bf16"]["tokens_per_s"] / rows["fp32"]["tokens_per_s"]
    dppl = rows["bf16"]["ppl"] / rows["fp32"]["ppl"] - 1
    print(f"| **fp32** (median tokens/s, mean ppl) | | | {rows['fp32']['tokens_per_s']:,.0f} "
          f"| {rows['fp32']['ppl']:.3f} |")
    print(f"| **bf16** (median tokens/s, mean ppl) | | | {rows['bf16']['tokens_per_s']:,.0f} "
          f"| {rows['bf16']['ppl']:.3f} |")
    print(f"bf16 / fp32: {speed:.2f}x the tokens/s; final train perplexity {dppl:+.1%} "
          f"(issue 21 asks for at least 1.6x, within 3%)")
    print(f"auto picks {lstm} for this LSTM ({why}); for a GRU it picks {gru}: {gru_why}")
    return {"tab": tab, "native": True, "epochs": epochs, "seeds": seeds,
            "device": devices.describe_device(device), "speed_ratio": speed,
            "ppl_rel_diff": dppl, "fp32": rows["fp32"], "bf16": rows["bf16"],
            "auto": {"LSTM": [lstm, why], "GRU": [gru, gru_why]}}


# The GPU table: (row, which loop, environment)
GPU_ROWS = [
    ("d2l 0.17.6 train_ch8", "ref", {"D2L_THREADS": "off"}),
    ("d2l_helpers eager fp32", "ours", {"D2L_CUDA_GRAPH": "0", "D2L_PRECISION": "fp32"}),
    ("d2l_helpers graph per step fp32", "ours", {"D2L_CUDA_GRAPH": "1", "D2L_PRECISION": "fp32"}),
    ("d2l_helpers graph per epoch fp32", "ours",
     {"D2L_CUDA_GRAPH": "epoch", "D2L_PRECISION": "fp32"}),
    ("d2l_helpers graph per step bf16", "ours", {"D2L_CUDA_GRAPH": "1", "D2L_PRECISION": "bf16"}),
    ("d2l_helpers graph per epoch bf16", "ours",
     {"D2L_CUDA_GRAPH": "epoch", "D2L_PRECISION": "bf16"}),
]


def gpu_table(epochs, repeats, json_path=None, rows=None):
    """The chapter's run on a CUDA GPU, every loop of GPU_ROWS in turn (the
    model moved with .to(device), as the book does).  The JSON record is
    rewritten after every run, so a session stopped early keeps what ran; a
    loop that fails is recorded with its error and the others go on."""
    import datetime
    import platform
    rows = rows or GPU_ROWS
    info = spawn("pytorch", "gpuinfo", {})
    if json_path is None:
        day = datetime.date.today().isoformat()
        json_path = ROOT / "results" / f"bench-gpu-{day}.json"
    Path(json_path).parent.mkdir(parents=True, exist_ok=True)
    record = {"date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
              "device": info, "python": platform.python_version(), "epochs": epochs,
              "repeats": repeats, "run": "chapter: 2 x 256 LSTM, batch 32 x 35, lr 2, "
              "10,000 characters, model moved with .to(device)", "rows": []}
    runs = {name: [] for name, _, _ in rows}
    print(f"\npytorch on {info['name']} (torch {info['torch']}, CUDA {info['cuda']}): chapter "
          f"LSTM (2 x 256), 10,000 chars, batch 32 x 35, lr 2, {epochs} epochs, "
          f"{repeats} run(s) each")
    for _ in range(repeats):
        for name, which, env in rows:
            try:
                runs[name].append(spawn("pytorch", which, env, epochs=epochs, need_cuda=True))
            except SystemExit as e:  # spawn's "benchmark run failed": record it, go on
                runs[name].append({"error": str(e)[-2000:]})
                print(f"{name}: failed, recorded; {str(e).splitlines()[-1][:200]}", flush=True)
            record["rows"] = _gpu_rows(rows, runs)
            Path(json_path).write_text(json.dumps(record, indent=1))
    print("| loop | precision | wall time (s) | tokens/s | x book | final train ppl | "
          "best validation ppl (epoch) | graph fell back |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- |")
    for row in record["rows"]:
        if "error" in row:
            print(f"| {row['loop']} | failed: see the JSON | | | | | | |")
            continue
        bv = ("-" if row.get("best_valid_ppl") is None
              else f"{row['best_valid_ppl']:.3f} ({row['best_valid_epoch']})")
        x = row.get("speedup_vs_book")
        print(f"| {row['loop']} | {row['precision']} | {row['wall_s']:.1f} | "
              f"{row['tokens_per_s']:,.0f} | {'-' if x is None else f'{x:.2f}x'} | "
              f"{row['ppl']:.4f} | {bv} | {row.get('graph_fallback', '-')} |")
    print(f"recorded in {json_path}")
    return record


def _gpu_rows(rows, runs):
    """The JSON rows of gpu_table from the runs so far (medians over repeats)."""
    ok = {name: [r for r in rs if "error" not in r] for name, rs in runs.items()}
    book = ok.get(rows[0][0])
    eager = ok.get("d2l_helpers eager fp32")
    table = []
    for name, which, env in rows:
        if not runs[name]:
            continue
        if not ok[name]:
            table.append({"loop": name, "env": env, "error": runs[name][-1]["error"]})
            continue
        m, r = _median_row(ok[name]), ok[name][0]
        row = {"loop": name, "env": env, "precision": r["precision"], **m,
               "best_valid_ppl": r.get("best_valid_ppl"),
               "best_valid_epoch": r.get("best_valid_epoch"),
               "graph_fallback": r.get("graph_fallback")}
        if book:
            row["speedup_vs_book"] = _median_row(book)["wall_s"] / m["wall_s"]
        if eager and which == "ours":
            row["ppl_rel_vs_eager_fp32"] = m["ppl"] / _median_row(eager)["ppl"] - 1
            row["best_valid_rel_vs_eager_fp32"] = (r["best_valid_ppl"]
                                                   / eager[0]["best_valid_ppl"] - 1)
        table.append(row)
    return table


def gpu_info():
    """The worker's CUDA device and versions (exits clearly without a GPU)."""
    _require_cuda()
    import torch
    return {"name": torch.cuda.get_device_name(0), "torch": torch.__version__,
            "cuda": torch.version.cuda, "cudnn": torch.backends.cudnn.version(),
            "capability": list(torch.cuda.get_device_capability(0)),
            "bf16": torch.cuda.is_bf16_supported()}


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


REFERENCE_TABS = ("pytorch", "mxnet")  # the tabs d2l 0.17.6 has (--tab both)


def side_by_side(tabs, epochs, repeats):
    """Our train_ch8 of the chapter's LSTM under several tabs, alternating run
    by run in fresh processes on this machine (JAX has no book loop to
    compare with, so its speed is stated against the other tabs')."""
    from d2l_helpers import devices
    rows = {t: [] for t in tabs}
    for _ in range(repeats):
        for t in tabs:
            rows[t].append(spawn(t, "ours", {}, epochs=epochs))
    device = devices.describe_device(rows[tabs[0]][0]["device"])
    print(f"\nd2l_helpers' train_ch8 per tab: chapter LSTM (2 x 256), 10,000 chars, "
          f"batch 32 x 35, lr 2, {epochs} epochs, {repeats} alternating runs each, on {device}")
    print("| tab | threads | precision | wall time (s) | tokens/s | final train perplexity |")
    print("| --- | --- | --- | --- | --- | --- |")
    for t, runs in rows.items():
        r = _median_row(runs)
        print(f"| {t} | {runs[0]['threads']} | {runs[0].get('precision', 'fp32')} | "
              f"{r['wall_s']:.1f} | {r['tokens_per_s']:,.0f} | {r['ppl']:.2f} |")
    return rows


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--tab", choices=list(frameworks.NAMES) + ["both"], default="both",
                   help="both: pytorch and mxnet, against d2l 0.17.6")
    p.add_argument("--tabs", nargs="+", choices=frameworks.NAMES,
                   help="only our train_ch8 under these tabs, side by side (e.g. pytorch jax)")
    p.add_argument("--epochs", type=int, default=10)
    p.add_argument("--repeats", type=int, default=2)
    p.add_argument("--scaling", action="store_true")
    p.add_argument("--precision-epochs", type=int, default=500,
                   help="epochs of the fp32/bf16 rows (the chapter's 500; 0: none)")
    p.add_argument("--seeds", type=int, default=3, help="seeds of the fp32/bf16 rows")
    p.add_argument("--device", choices=["default", "cuda"], default="default",
                   help="cuda: the GPU table (book, eager, graphs; fp32, bf16) into "
                        "results/bench-gpu-<date>.json (or --json)")
    p.add_argument("--json", help="also write the results here")
    p.add_argument("--readme", action="store_true",
                   help="write the printed tables into docs/PERFORMANCE.md (bench markers)")
    p.add_argument("--worker", help=argparse.SUPPRESS)
    a = p.parse_args()
    os.environ.setdefault("D2L_QUICK", "0")
    if a.worker:
        return worker(a.worker)
    if a.device == "cuda":
        print(f"Command: `python -m tools.bench {' '.join(sys.argv[1:])}`")
        return gpu_table(a.epochs, a.repeats, a.json)
    if a.tabs:
        print(f"Command: `python -m tools.bench {' '.join(sys.argv[1:])}`")
        return side_by_side(a.tabs, a.epochs, a.repeats)
    if a.tab not in REFERENCE_TABS + ("both",):
        sys.exit(f"python -m tools.bench --tab {a.tab}: d2l 0.17.6 has no {a.tab} loop to compare "
                 f"with; compare our loop across tabs instead: --tabs pytorch {a.tab}")
    tabs = list(REFERENCE_TABS) if a.tab == "both" else [a.tab]
    log = io.StringIO()

    class Tee(io.TextIOBase):
        def write(self, text):
            log.write(text)
            return sys.__stdout__.write(text)

    with contextlib.redirect_stdout(Tee()):
        print(f"Command: `python -m tools.bench {' '.join(sys.argv[1:])}`")
        results = [compare(t, a.epochs, a.repeats) for t in tabs]
        prec = (precision_compare(a.precision_epochs, a.seeds)
                if "pytorch" in tabs and a.precision_epochs > 0 else None)
        if prec:
            results.append({"precision_rows": prec})
        if a.scaling:
            for t in tabs:
                scaling(t, a.epochs)
        print()
        for r in results:
            if "precision_rows" in r:
                continue
            loop = f" (loop alone, same CPU settings: {r['loop_ratio']:.2f}x)"
            print(f"speedup {r['tab']}: {r['ratio']:.2f}x the d2l 0.17.6 train_ch8 "
                  f"wall time{loop} on {r['device']}")
    if a.json:
        Path(a.json).write_text(json.dumps(results, indent=1))
    if a.readme:
        markers.replace_between(ROOT / "docs" / "PERFORMANCE.md", "bench", log.getvalue())


if __name__ == "__main__":
    main()
