"""Build the project's virtual environment and run it: the one set-up path.

`make lab` / `make test` call this script, and so does a Windows user who has
no `make`; there is no second copy of the install logic anywhere.  It needs
only the standard library, so any Python 3.8+ can run it; the environment it
builds uses the Python you choose (3.11, 3.12 or 3.13)::

    python -m tools.setup_env lab                  # install if needed, start JupyterLab
    python -m tools.setup_env test                 # install if needed, unit tests + notebooks
    python -m tools.setup_env --python python3.11 lab   # choose the Python (MXNet needs 3.11)
    py -3.13 -m tools.setup_env lab                # Windows: the launcher picks the Python

Commands: ``install``, ``lab``, ``test [unit|notebooks|browser|all]``,
``check`` (exit 1 if ``install`` would do anything), ``info`` (which tabs the
environment has), ``lock`` (re-resolve requirements/requirements.lock for all
platforms with uv, and rewrite environment.yml).

What ``install`` does, once per change of the lock, pyproject.toml or Python:
create the venv, install requirements/requirements.lock (its environment
markers pick the layers: MXNet 1.9.1 with numpy 1.23.5 only on Python 3.11 on
Linux x86-64/aarch64 or an Intel Mac, current numpy everywhere else), the
reference package d2l 0.17.6 (``--no-deps``: its pins predate Python 3.11),
this project in editable mode, and a Jupyter kernel; then it says once which
tabs this environment has.  ``--torch cpu`` installs PyTorch's CPU build from
PyTorch's own index instead of PyPI's CUDA build (Linux x86-64; see README).
"""
import argparse
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LOCK = ROOT / "requirements" / "requirements.lock"
REQUIREMENTS_IN = ROOT / "requirements" / "requirements.in"
PYPROJECT = ROOT / "pyproject.toml"
KERNEL = "d2l-deep-rnn"
REFERENCE = "d2l==0.17.6"
SUPPORTED = ((3, 11), (3, 12), (3, 13))
# PyTorch's own index of CPU-only wheels (Linux x86-64 users without a GPU).
TORCH_CPU_INDEX = "https://download.pytorch.org/whl/cpu"
# Packages that only PyPI's CUDA build of torch needs; dropped with --torch cpu.
CUDA_ONLY_PREFIXES = ("nvidia-", "cuda-", "triton")
NOTEBOOKS = sorted(str(p.relative_to(ROOT)) for p in
                   list((ROOT / "notebooks").glob("*.ipynb"))
                   + list((ROOT / "notebooks" / "exercises").glob("*.ipynb")))
NBVAL = ["-m", "pytest", "-p", "no:cacheprovider", "--nbval-lax",
         "--nbval-kernel-name", "python3", "--nbval-cell-timeout=900"]


class SetupError(RuntimeError):
    """Something the user can fix; the message says how."""


def say(msg):
    print(f"[setup] {msg}", flush=True)


def venv_python(venv):
    """The interpreter inside ``venv`` (Scripts\\python.exe on Windows)."""
    if os.name == "nt":
        return Path(venv) / "Scripts" / "python.exe"
    return Path(venv) / "bin" / "python"


def run(cmd, **kw):
    cmd = [str(c) for c in cmd]
    result = subprocess.run(cmd, **kw)
    if result.returncode != 0:
        raise SetupError(f"command failed (exit {result.returncode}): {' '.join(cmd)}")
    return result


def python_version(exe):
    """(major, minor) of the interpreter ``exe``, or a SetupError naming the fix."""
    try:
        out = subprocess.run([str(exe), "-c", "import sys; print(*sys.version_info[:3])"],
                             capture_output=True, text=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        raise SetupError(
            f"cannot run the Python {exe!r}; name an installed one, e.g. "
            f"`make lab PYTHON=python3.13` (Windows: `py -3.13 -m tools.setup_env lab`)")
    major, minor, micro = (int(x) for x in out.split())
    if (major, minor) not in SUPPORTED:
        raise SetupError(
            f"{exe} is Python {major}.{minor}.{micro}; this project needs Python "
            f"3.11, 3.12 or 3.13. Install one (python.org, `brew install python@3.13`, "
            f"`apt install python3.12-venv`) and choose it: `make lab PYTHON=python3.13` "
            f"(Windows: `py -3.13 -m tools.setup_env lab`). The MXNet tab needs 3.11.")
    return major, minor


def _sha(path):
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def wanted_stamp(exe, torch_build):
    return {"python": list(python_version(exe)), "lock": _sha(LOCK),
            "pyproject": _sha(PYPROJECT), "torch": torch_build}


def read_stamp(venv):
    try:
        return json.loads((Path(venv) / ".installed").read_text())
    except (OSError, ValueError):
        return None


def choose_python(venv, python):
    """--python if given, else the venv's own interpreter, else this one."""
    if python:
        found = shutil.which(python) or python
        return found
    if venv_python(venv).exists():
        return str(venv_python(venv))
    return sys.executable


def is_up_to_date(venv, exe, torch_build):
    stamp = read_stamp(venv)
    return stamp is not None and venv_python(venv).exists() and \
        stamp == wanted_stamp(exe, torch_build)


def cuda_free_requirements(lock_text):
    """The lock without the packages only PyPI's CUDA build of torch needs."""
    keep = []
    for line in lock_text.splitlines():
        name = line.split("==", 1)[0].strip().lower()
        if name.startswith(CUDA_ONLY_PREFIXES) or name in ("torch", "torchvision"):
            continue
        keep.append(line)
    return "\n".join(keep) + "\n"


def install(venv, python=None, torch_build="pypi"):
    exe = choose_python(venv, python)
    version = python_version(exe)
    if is_up_to_date(venv, exe, torch_build):
        say(f"{venv} is up to date (Python {version[0]}.{version[1]}); nothing to install")
        info(venv)
        return
    stamp = read_stamp(venv)
    if stamp and stamp.get("python") != list(version):
        say(f"{venv} was built with Python {'.'.join(map(str, stamp['python']))}; "
            f"rebuilding it for Python {version[0]}.{version[1]}")
        _remove_venv(venv)
    (Path(venv) / ".installed").unlink(missing_ok=True)
    say(f"building {venv} with Python {version[0]}.{version[1]} ({exe})")
    run([exe, "-m", "venv", venv])
    py = venv_python(venv)
    pip = [py, "-m", "pip", "install", "-q"]
    run(pip + ["--upgrade", "pip>=24"])
    if torch_build == "cpu":
        run(pip + ["--no-deps", "--index-url", TORCH_CPU_INDEX] + _torch_pins())
        with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False) as f:
            f.write(cuda_free_requirements(LOCK.read_text()))
        try:
            run(pip + ["-r", f.name])
        finally:
            os.unlink(f.name)
    else:
        run(pip + ["-r", LOCK])
    run(pip + ["--no-deps", REFERENCE])
    run(pip + ["--no-deps", "--no-build-isolation", "-e", ROOT])
    run([py, "-m", "ipykernel", "install", "--sys-prefix", "--name", KERNEL,
         "--display-name", "Python (d2l 9.3 deep RNNs)"], stdout=subprocess.DEVNULL)
    _write_stamp(venv, wanted_stamp(exe, torch_build))
    info(venv)


def _torch_pins():
    pins = [line.split(";")[0].strip() for line in LOCK.read_text().splitlines()
            if line.split("==")[0].strip() in ("torch", "torchvision")]
    if len(pins) != 2:
        raise SetupError(f"{LOCK} pins no torch/torchvision; run `make lock`")
    return pins


def _remove_venv(venv):
    venv = Path(venv)
    if not (venv / "pyvenv.cfg").exists():
        raise SetupError(f"{venv} exists but is not a virtual environment; move it "
                         f"away or choose another folder with VENV=/--venv")
    shutil.rmtree(venv)


def _write_stamp(venv, stamp):
    path = Path(venv) / ".installed"
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(stamp))
    os.replace(tmp, path)


def available_tabs(venv):
    """(tabs that can run in ``venv``, why the others cannot), from the tab
    registry in d2l_helpers/frameworks.py: the one list of tabs."""
    proc = run([venv_python(venv), "-c", "from d2l_helpers import frameworks; frameworks.main()"],
               cwd=ROOT, capture_output=True, text=True)
    return proc.stdout.split(), proc.stderr.strip()


def info(venv):
    tabs, why_not = available_tabs(venv)
    plural = "s" if len(tabs) != 1 else ""
    say(f"{venv} has the {' and '.join(tabs) or 'no'} tab{plural}")
    for line in why_not.splitlines():
        say(line)
    return tabs


def _utf8_env():
    """This environment with Python's UTF-8 mode on: notebooks, README and book
    texts hold Chinese, and Windows' default code page cannot read them."""
    return dict(os.environ, PYTHONUTF8="1")


def test(venv, what="default", extra=()):
    """Run the test suites; notebooks under every tab this environment has."""
    py = venv_python(venv)
    env = _utf8_env()
    env.setdefault("MPLBACKEND", "Agg")
    if what in ("default", "all", "unit"):
        run([py, "-m", "pytest", "-p", "no:cacheprovider", "--ignore=tests/browser",
             "tests", *extra], cwd=ROOT, env=env)
    if what in ("default", "all", "notebooks"):
        tabs, _ = available_tabs(venv)
        if not tabs:
            raise SetupError(f"{venv} has no tab to run the notebooks under (see above)")
        for tab in tabs:
            say(f"notebooks under the {tab} tab (quick mode)")
            run([py, *NBVAL, *NOTEBOOKS, *extra], cwd=ROOT,
                env=dict(env, D2L_QUICK=env.get("D2L_QUICK", "1"), D2L_TAB=tab))
    if what in ("all", "browser"):
        run([py, "-m", "pytest", "-p", "no:cacheprovider", "tests/browser", *extra],
            cwd=ROOT, env=env)


def lab(venv):
    py = venv_python(venv)
    cmd = [py, "-m", "jupyter", "lab", "--notebook-dir=notebooks"]
    if hasattr(os, "getuid") and os.getuid() == 0:
        cmd.append("--allow-root")
    run(cmd, cwd=ROOT, env=_utf8_env())


def lock(venv):
    """Resolve requirements.in once for every platform (uv's universal mode)."""
    py = venv_python(venv)
    run([py, "-m", "uv", "pip", "compile", "--universal", "--python-version", "3.11",
         "--quiet", "--no-header", "--no-annotate", "--custom-compile-command",
         "make lock", "-o", LOCK, REQUIREMENTS_IN], cwd=ROOT)
    text = LOCK.read_text()
    LOCK.write_text(LOCK_HEADER + text)
    run([py, "-m", "tools.sync_env"], cwd=ROOT)


LOCK_HEADER = """\
# Generated by `make lock` (uv pip compile --universal) from
# requirements/requirements.in, for Python 3.11-3.13 on Linux, macOS and
# Windows at once: each line's environment marker says where it installs.
# Do not edit by hand.
"""


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--venv", default=os.environ.get("VENV", ".venv"),
                    help="the virtual environment's folder (default .venv)")
    ap.add_argument("--python", default=None,
                    help="the Python to build it with (default: the venv's own, else this one)")
    ap.add_argument("--torch", choices=("pypi", "cpu"), default="pypi",
                    help="pypi: PyPI's wheel (CUDA build on Linux x86-64); cpu: PyTorch's CPU build")
    ap.add_argument("command", choices=("install", "lab", "test", "check", "info", "lock"))
    ap.add_argument("what", nargs="?", default="default",
                    choices=("default", "unit", "notebooks", "browser", "all"),
                    help="with `test`: which suites (default: unit + notebooks)")
    args, extra = ap.parse_known_args(argv)
    venv = Path(args.venv)
    if not venv.is_absolute():
        venv = ROOT / venv
    try:
        if args.command == "check":
            exe = choose_python(venv, args.python)
            ok = is_up_to_date(venv, exe, args.torch)
            say(f"{venv} is {'up to date' if ok else 'out of date: `install` would rebuild it'}")
            return 0 if ok else 1
        if args.command == "info":
            info(venv)
            return 0
        install(venv, args.python, args.torch)
        if args.command == "lab":
            lab(venv)
        elif args.command == "test":
            test(venv, args.what, extra)
        elif args.command == "lock":
            lock(venv)
    except SetupError as e:
        print(f"[setup] error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
