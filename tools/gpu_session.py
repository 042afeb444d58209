"""One prepared GPU session (issue 21): everything worth measuring on a lent
GPU, in one command of at most 8 minutes, all output under ``$OUT``.

Steps, in order, each with its own share of the time (a step that runs over
is stopped, and the next one starts):

1. ``python -m tools.bench --device cuda``: the chapter's run (2 x 256 LSTM, 500
   epochs, lr 2, model moved with ``.to(device)``) with the book's d2l 0.17.6
   ``train_ch8``, ours eager (``D2L_CUDA_GRAPH=0``), with one CUDA graph per
   step and one per epoch, in fp32 and bf16 -- so "the chapter run with graph
   on and off" and "the book's loop" are rows of this one table;
   ``$OUT/bench-gpu-<date>.json`` and ``$OUT/bench-gpu.log``.
2. The depth study at convergence on the GPU: ``python -m experiments.study
   --tab pytorch --results $OUT/depth-gpu.json --workers 8`` until the time is
   up (each finished run is recorded as it ends; the queue is resumable, so a
   later session passes the same file to go on); ``$OUT/depth-gpu.log``.

``$OUT/gpu-session.json`` says what ran, for how long, and how it ended.

The GPU machine has torch, numpy, matplotlib and tqdm but not pooch,
platformdirs, filelock or d2l 0.17.6, nor the books, and it cannot download.
So, here, once before the session::

    python -m tools.gpu_session --prepare   # fills .gpu_session/ (git-ignored)

copies those pure-Python packages from this environment and the books from
``D2L_DATA_MIRROR`` into ``.gpu_session/``; the device run carries that folder::

    run(command="python3 -m tools.gpu_session", carry=[".gpu_session"], timeout_s=540)

``--dry-run`` checks the prepared folder and prints the plan without running
anything; on a machine without a CUDA GPU the script stops at once, saying so.
See docs/PERFORMANCE.md ("A GPU session").
"""
import argparse
import datetime
import importlib.util
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PREPARED = ROOT / ".gpu_session"
SITE, DATA = PREPARED / "site", PREPARED / "data"
# pure-Python packages the GPU machine lacks (d2l: the book's loop for the comparison)
CARRY_PACKAGES = ("pooch", "platformdirs", "filelock", "packaging", "d2l")
TOTAL_S = 8 * 60          # the whole session, as issue 21 asks
MARGIN_S = 25             # left for writing the summary and the transfer back
BENCH_S = 240             # step 1 at most (about 120 s expected on an H200)


def prepare():
    """Copy the packages and the books into .gpu_session/ and git-ignore it."""
    from d2l_helpers.settings import Settings  # the one reader of the D2L_* variables
    mirror = Settings.from_env().data_mirror
    if not mirror or not Path(mirror).is_dir():
        sys.exit("gpu_session --prepare: set D2L_DATA_MIRROR to a folder holding the "
                 "books (the GPU machine cannot download them)")
    shutil.rmtree(PREPARED, ignore_errors=True)
    SITE.mkdir(parents=True)
    for name in CARRY_PACKAGES:
        spec = importlib.util.find_spec(name)
        if spec is None or not spec.submodule_search_locations:
            sys.exit(f"gpu_session --prepare: package {name!r} is not installed here; "
                     f"run it from the project's environment (make install)")
        src = Path(list(spec.submodule_search_locations)[0])
        shutil.copytree(src, SITE / name, ignore=shutil.ignore_patterns(
            "__pycache__", "*.so", "*.pyd"))
    shutil.copytree(mirror, DATA)
    exclude = ROOT / ".git" / "info" / "exclude"  # not committed, not shown by git status
    if (ROOT / ".git").is_dir():
        text = exclude.read_text() if exclude.exists() else ""
        if "/.gpu_session/" not in text.split():
            exclude.parent.mkdir(parents=True, exist_ok=True)
            with exclude.open("a") as f:
                f.write(("" if text.endswith("\n") or not text else "\n") + "/.gpu_session/\n")
    size = sum(p.stat().st_size for p in PREPARED.rglob("*") if p.is_file())
    print(f"prepared {PREPARED.relative_to(ROOT)}/: {', '.join(CARRY_PACKAGES)} and "
          f"{len(list(DATA.iterdir()))} data files, {size / 2**20:.1f} MiB; carry "
          f"'.gpu_session' in the device run")


def environment(out):
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(
        [str(ROOT), str(SITE)] + ([env["PYTHONPATH"]] if env.get("PYTHONPATH") else []))
    env.update(D2L_DATA_MIRROR=str(DATA), D2L_DATA_DIR=str(Path(out) / ".cache"),
               MPLBACKEND="Agg", PYTHONUNBUFFERED="1", D2L_QUICK="0")
    env.pop("D2L_RESULTS", None)
    return env


def plan(out):
    day = datetime.date.today().isoformat()
    py = sys.executable
    return [
        ("bench-gpu", [py, "-m", "tools.bench", "--device", "cuda", "--epochs", "500",
                       "--repeats", "1", "--json", f"{out}/bench-gpu-{day}.json"], BENCH_S),
        ("depth-gpu", [py, "-m", "experiments.study", "--tab", "pytorch", "--results",
                       f"{out}/depth-gpu.json", "--workers", "8"], None),  # the rest
    ]


def check_prepared():
    problems = [f"{p} is missing" for p in [SITE / n for n in CARRY_PACKAGES] + [DATA]
                if not p.exists()]
    if problems:
        sys.exit(f"gpu_session: {'; '.join(problems)}: run `python -m tools.gpu_session "
                 f"--prepare` here first, and carry '.gpu_session' in the device run")


def run_step(name, cmd, limit, env, out):
    """Run one step in its own process group, its output into $OUT/<name>.log;
    stop it (SIGINT, then SIGKILL) when ``limit`` seconds have passed."""
    start = time.monotonic()
    with open(Path(out) / f"{name}.log", "w") as log:
        proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
                                start_new_session=True)
        try:
            rc = proc.wait(timeout=limit)
            ended = "finished" if rc == 0 else f"failed (exit {rc})"
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGINT)
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
            rc, ended = proc.returncode, f"stopped at its time limit ({limit:.0f} s)"
    took = time.monotonic() - start
    print(f"[{name}] {ended} after {took:.0f} s; log: {name}.log", flush=True)
    return {"step": name, "command": " ".join(cmd), "limit_s": limit, "wall_s": took,
            "returncode": rc, "ended": ended}


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--prepare", action="store_true",
                   help="here, before the session: fill .gpu_session/ (packages, books)")
    p.add_argument("--dry-run", action="store_true", help="check and print the plan only")
    p.add_argument("--out", default=os.environ.get("OUT"),
                   help="where everything goes (default: $OUT)")
    p.add_argument("--total", type=float, default=TOTAL_S, help="seconds for all steps")
    a = p.parse_args()
    if a.prepare:
        return prepare()
    if not a.out:
        sys.exit("gpu_session: no output folder: set OUT (the device tool does) or pass --out")
    out = Path(a.out).resolve()
    check_prepared()
    steps = plan(out)
    if a.dry_run:
        print(f"gpu_session (dry run): {len(steps)} steps in {a.total:.0f} s, output in {out}")
        for name, cmd, limit in steps:
            print(f"  {name}: {' '.join(cmd)}  [{'the rest' if limit is None else f'{limit} s'}]")
        return
    import torch  # only now: --prepare and --dry-run need no torch
    if not torch.cuda.is_available():
        sys.exit(f"gpu_session: no CUDA GPU here (torch {torch.__version__}, "
                 f"torch.cuda.is_available() is False); this script is for a lent GPU "
                 f"machine: see docs/PERFORMANCE.md, 'A GPU session' (--dry-run shows the plan)")
    out.mkdir(parents=True, exist_ok=True)
    env, t0, done = environment(out), time.monotonic(), []
    print(f"gpu_session on {torch.cuda.get_device_name(0)}, torch {torch.__version__}, "
          f"Python {sys.version.split()[0]}", flush=True)
    for name, cmd, limit in steps:
        left = a.total - MARGIN_S - (time.monotonic() - t0)
        if left < 20:
            done.append({"step": name, "ended": "skipped: no time left"})
            continue
        done.append(run_step(name, cmd, left if limit is None else min(limit, left), env, out))
    summary = {"date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
               "device": torch.cuda.get_device_name(0), "torch": torch.__version__,
               "python": sys.version.split()[0], "wall_s": time.monotonic() - t0,
               "steps": done}
    (out / "gpu-session.json").write_text(json.dumps(summary, indent=1))
    shutil.rmtree(out / ".cache", ignore_errors=True)  # only what should come back
    print(f"gpu_session: done in {summary['wall_s']:.0f} s; copy bench-gpu-*.json and "
          f"depth-gpu.json into results/ and commit them")


if __name__ == "__main__":
    main()
