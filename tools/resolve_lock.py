"""Check that requirements/requirements.lock installs on every supported target.

For each target (a Python version and a platform) this evaluates the lock's
environment markers as that machine would, then asks the package registry,
through pip's resolver in dry-run mode (metadata only, nothing downloaded),
whether every selected pin has a wheel for that target; finally it checks
that the selection is closed: every dependency that a selected package
declares for that target is itself selected, at a version it accepts.

    python -m tools.resolve_lock                 # all targets, a table
    python -m tools.resolve_lock macos-arm64     # targets whose name contains this

It needs the registry (the network) and pip >= 24 (the venv's).  The
PyTorch layer must resolve on Python 3.11-3.13 for Linux x86-64/aarch64,
macOS arm64 and Windows x86-64; the MXNet layer on Python 3.11 for Linux
x86-64/aarch64 and Intel macOS; the optional JAX layer on Python 3.12-3.13
on the PyTorch layer's platforms.
"""
import json
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from packaging.markers import Marker
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

ROOT = Path(__file__).resolve().parents[1]
LOCK = ROOT / "requirements" / "requirements.lock"
REFERENCE = "d2l==0.17.6"   # installed with --no-deps: its own pins are not followed

_MANYLINUX = [f"manylinux_2_{n}" for n in range(39, 16, -1)] + ["manylinux2014", "manylinux2010",
                                                                "manylinux1", "linux"]
_MACOS_ARM = [f"macosx_{v}_0_{a}" for v in range(15, 10, -1) for a in ("arm64", "universal2")]
_MACOS_X86 = ([f"macosx_{v}_0_{a}" for v in range(15, 10, -1)
               for a in ("x86_64", "intel", "universal2", "universal")]
              + [f"macosx_10_{v}_{a}" for v in range(16, 8, -1)
                 for a in ("x86_64", "intel", "universal2", "universal")])
# platform -> (wheel platform tags, marker environment)
PLATFORMS = {
    "linux-x86_64": ([f"{t}_x86_64" for t in _MANYLINUX],
                     dict(sys_platform="linux", platform_system="Linux",
                          platform_machine="x86_64", os_name="posix")),
    "linux-aarch64": ([f"{t}_aarch64" for t in _MANYLINUX],
                      dict(sys_platform="linux", platform_system="Linux",
                           platform_machine="aarch64", os_name="posix")),
    "macos-arm64": (_MACOS_ARM, dict(sys_platform="darwin", platform_system="Darwin",
                                     platform_machine="arm64", os_name="posix")),
    "windows-x86_64": (["win_amd64"], dict(sys_platform="win32", platform_system="Windows",
                                           platform_machine="AMD64", os_name="nt")),
    "macos-x86_64": (_MACOS_X86, dict(sys_platform="darwin", platform_system="Darwin",
                                      platform_machine="x86_64", os_name="posix")),
}
MXNET_PLATFORMS = ("linux-x86_64", "linux-aarch64", "macos-x86_64")
TORCH_PLATFORMS = ("linux-x86_64", "linux-aarch64", "macos-arm64", "windows-x86_64")
JAX_PLATFORMS = TORCH_PLATFORMS  # jaxlib has no Intel-macOS wheel either
JAX_PYTHONS = ("3.12", "3.13")   # jax >= 0.11 needs Python >= 3.12


@dataclass
class Target:
    python: str          # "3.13"
    platform: str        # a key of PLATFORMS

    @property
    def name(self):
        return f"py{self.python}-{self.platform}"

    @property
    def tabs(self):
        """The tabs this target must get from the lock."""
        tabs = []
        if self.platform in TORCH_PLATFORMS:
            tabs.append("pytorch")
        if self.python == "3.11" and self.platform in MXNET_PLATFORMS:
            tabs.append("mxnet")
        if self.python in JAX_PYTHONS and self.platform in JAX_PLATFORMS:
            tabs.append("jax")
        return tabs

    def environment(self):
        env = {"implementation_name": "cpython", "platform_python_implementation": "CPython",
               "python_version": self.python, "python_full_version": f"{self.python}.0",
               "implementation_version": f"{self.python}.0", "platform_release": "",
               "platform_version": "", "extra": ""}
        env.update(PLATFORMS[self.platform][1])
        return env


def targets():
    """The support matrix: PyTorch layer x 3 Pythons x 4 platforms, MXNet-only Intel Mac."""
    out = [Target(py, p) for py in ("3.11", "3.12", "3.13") for p in TORCH_PLATFORMS]
    out.append(Target("3.11", "macos-x86_64"))
    return out


@dataclass
class Result:
    target: Target
    problems: list = field(default_factory=list)
    selected: dict = field(default_factory=dict)   # name -> version

    @property
    def ok(self):
        return not self.problems


def lock_requirements(path=LOCK):
    """The lock's pins as packaging Requirements (markers kept)."""
    reqs = []
    for line in Path(path).read_text().splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            reqs.append(Requirement(line))
    return reqs


def select(reqs, env):
    """{name: version} of the pins whose marker holds in ``env``."""
    chosen = {}
    for req in reqs:
        if req.marker is None or req.marker.evaluate(env):
            name = canonicalize_name(req.name)
            version = str(next(iter(req.specifier)).version)
            if name in chosen and chosen[name] != version:
                raise ValueError(f"two pins of {name} hold at once: {chosen[name]}, {version}")
            chosen[name] = version
    return chosen


def _pip_dry_run(target, pins):
    """pip's report for installing exactly ``pins`` (no deps) on ``target``."""
    platforms, _ = PLATFORMS[target.platform]
    cp = "cp" + target.python.replace(".", "")
    with tempfile.TemporaryDirectory() as tmp:
        reqs = Path(tmp) / "requirements.txt"
        reqs.write_text("\n".join(pins) + "\n")
        report = Path(tmp) / "report.json"
        cmd = [sys.executable, "-m", "pip", "--isolated", "install", "--dry-run", "--ignore-installed",
               "--no-deps", "--quiet", "--target", str(Path(tmp) / "never"),
               "--only-binary=:all:", "--python-version", target.python,
               "--implementation", "cp", "--abi", cp, "--abi", "abi3", "--abi", "none",
               "--report", str(report), "-r", str(reqs)]
        for p in platforms:
            cmd += ["--platform", p]
        proc = subprocess.run(cmd, capture_output=True, text=True)
        if proc.returncode != 0:
            errors = [ln for ln in proc.stderr.splitlines() if ln.startswith("ERROR")]
            errors = errors or [ln for ln in proc.stderr.splitlines() if "WARNING: Location" not in ln][-5:]
            return None, errors or proc.stderr.strip().splitlines()[-3:]
        return json.loads(report.read_text()), []


def check(target, reqs=None):
    """Resolve the lock for one target; Result.problems names what fails."""
    reqs = lock_requirements() if reqs is None else reqs
    result = Result(target)
    env = target.environment()
    try:
        chosen = select(reqs, env)
    except ValueError as e:
        result.problems.append(str(e))
        return result
    result.selected = chosen
    for tab, module in (("pytorch", "torch"), ("mxnet", "mxnet"), ("jax", "jax")):
        want = tab in target.tabs
        if want != (module in chosen):
            result.problems.append(f"{module} is {'missing' if want else 'selected'}: the "
                                   f"{tab} tab {'belongs' if want else 'does not belong'} here")
    pins = [f"{n}=={v}" for n, v in sorted(chosen.items())] + [REFERENCE]
    report, errors = _pip_dry_run(target, pins)
    if report is None:
        # pip names only the first failure: ask for each pin alone to name them all.
        with ThreadPoolExecutor(8) as pool:
            alone = list(pool.map(lambda pin: (pin, _pip_dry_run(target, [pin])[1]), pins))
        failing = [f"{pin}: {errs[-1] if errs else 'fails'}" for pin, errs in alone if errs]
        result.problems += [f"no wheel: {f}" for f in failing] or [f"pip: {e}" for e in errors]
        return result
    got = {canonicalize_name(i["metadata"]["name"]): i["metadata"] for i in report["install"]}
    for name, version in chosen.items():
        if name not in got:
            result.problems.append(f"{name}=={version}: not resolved")
    for name, meta in got.items():
        if name == "d2l":
            continue
        for spec in meta.get("requires_dist") or []:
            dep = Requirement(spec)
            if dep.marker is not None and not dep.marker.evaluate(env):
                continue
            dep_name = canonicalize_name(dep.name)
            have = chosen.get(dep_name)
            if have is None:
                result.problems.append(f"{name} needs {dep}, which the lock does not select")
            elif not dep.specifier.contains(Version(have), prereleases=True):
                result.problems.append(f"{name} needs {dep}, the lock has {dep_name}=={have}")
    return result


def check_all(selected=None, workers=4):
    chosen = [t for t in targets() if not selected or any(s in t.name for s in selected)]
    reqs = lock_requirements()
    with ThreadPoolExecutor(workers) as pool:
        return list(pool.map(lambda t: check(t, reqs), chosen))


def main(argv):
    results = check_all(argv)
    for r in results:
        tabs = "+".join(r.target.tabs) or "-"
        status = "ok" if r.ok else "FAIL"
        print(f"{r.target.name:22} {tabs:14} {len(r.selected):4d} packages  {status}")
        for p in r.problems:
            print(f"    {p}")
    return 0 if all(r.ok for r in results) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
