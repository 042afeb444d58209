"""The lock, the conda files and this environment agree, on every platform.

The lock is one file for Python 3.11-3.13 on Linux, macOS and Windows: its
environment markers decide where each pin installs.  These tests evaluate
those markers for each target offline, and one test asks the registry that
every target really resolves (tools/resolve_lock.py).
"""
import os
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

import pytest
import yaml
from packaging.markers import Marker, default_environment
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

from tools import resolve_lock, setup_env, sync_env

ROOT = Path(__file__).resolve().parents[1]
LOCK_REQS = resolve_lock.lock_requirements()
TARGETS = resolve_lock.targets()


def _in_requirements():
    text = (ROOT / "requirements" / "requirements.in").read_text()
    return [Requirement(line) for line in text.splitlines()
            if line.strip() and not line.lstrip().startswith("#")]


def test_conda_files_agree_with_lock():
    locked = sync_env.locked_lines()
    for path, (_, python, _) in sync_env.ENVS.items():
        env = yaml.safe_load(path.read_text())
        assert f"python={python}" in env["dependencies"], path.name
        pip_section = next(d for d in env["dependencies"] if isinstance(d, dict))["pip"]
        pins = [p for p in pip_section if "==" in p]
        assert pins, f"{path.name} pins nothing"
        for pin in pins:
            name = canonicalize_name(Requirement(pin).name)
            assert pin in locked[name], f"{path.name}: {pin!r} is not a line of the lock"
        names = {canonicalize_name(Requirement(p).name) for p in pins}
        assert set(sync_env.direct_requirements()) <= names, path.name
    assert sync_env.ENVS[ROOT / "environment-mxnet.yml"][1] == "3.11"


def test_mxnet_marker_and_its_complement_cover_every_target_once():
    """requirements.in spells the MXNet marker (and its negation) on many lines."""
    reqs = _in_requirements()
    numpy_lines = [r for r in reqs if r.name == "numpy"]
    mx = [str(r.marker) for r in reqs if r.name in ("mxnet", "contourpy")] + \
        [str(r.marker) for r in numpy_lines if "1.23.5" in str(r.specifier)]
    assert len(set(mx)) == 1, "the copies of the MXNet marker differ"
    for py in ("3.10", "3.11", "3.12", "3.13", "3.14"):
        for plat, (_, env) in resolve_lock.PLATFORMS.items():
            full = dict(default_environment(), python_version=py,
                        python_full_version=f"{py}.0", **env)
            holding = [r for r in numpy_lines if r.marker.evaluate(full)]
            assert len(holding) == 1, f"{py} {plat}: {len(holding)} numpy lines hold"
            expect_mx = py == "3.11" and plat in resolve_lock.MXNET_PLATFORMS
            assert Marker(mx[0]).evaluate(full) == expect_mx, (py, plat)


@pytest.mark.parametrize("target", TARGETS, ids=lambda t: t.name)
def test_lock_selects_the_right_layers_and_satisfies_requirements_in(target):
    env = target.environment()
    chosen = resolve_lock.select(LOCK_REQS, env)
    assert ("torch" in chosen) == ("pytorch" in target.tabs)
    assert ("mxnet" in chosen) == ("mxnet" in target.tabs)
    # the optional JAX layer: Python >= 3.12, with flax and optax
    for name in ("jax", "flax", "optax"):
        assert (name in chosen) == ("jax" in target.tabs), (name, target.name)
    if "mxnet" in target.tabs:
        assert chosen["numpy"] == "1.23.5"          # MXNet 1.9.1 needs numpy < 1.24
    else:
        assert int(chosen["numpy"].split(".")[0]) >= 2, "current numpy where MXNet is absent"
        assert Version(chosen["matplotlib"]) >= Version("3.11"), "current matplotlib where MXNet is absent"
    # CUDA libraries only where torch itself asks for them (Linux).
    cuda = [n for n in chosen if n.startswith(("nvidia-", "cuda-"))]
    assert bool(cuda) == (target.platform.startswith("linux")), cuda
    for req in _in_requirements():
        if req.marker is None or req.marker.evaluate(env):
            name = canonicalize_name(req.name)
            assert name in chosen, f"{target.name}: requirements.in asks for {req}, lock has none"
            assert req.specifier.contains(chosen[name], prereleases=True), \
                f"{target.name}: {req} but the lock pins {name}=={chosen[name]}"


def test_lock_is_generated_by_the_resolver():
    head = (ROOT / "requirements" / "requirements.lock").read_text()[:400]
    assert head.startswith(setup_env.LOCK_HEADER)
    assert "d2l" not in sync_env.locked_lines()       # test-time reference only, --no-deps


def test_this_environment_installed_what_the_lock_selects_here():
    chosen = resolve_lock.select(LOCK_REQS, default_environment() | {"extra": ""})
    for name in ("numpy", "torch", "mxnet", "jax", "flax", "optax", "matplotlib", "pooch",
                 "nbval"):
        if name not in chosen:
            with pytest.raises(PackageNotFoundError):
                version(name)
            continue
        # a CPU build of torch carries a local label: 2.14.1+cpu
        assert version(name).split("+")[0] == chosen[name], name


def test_cuda_free_requirements_keep_everything_the_cpu_build_needs():
    """`--torch cpu` drops the CUDA-only pins; the rest of the lock stays."""
    text = (ROOT / "requirements" / "requirements.lock").read_text()
    kept = setup_env.cuda_free_requirements(text)
    names = {canonicalize_name(Requirement(l).name) for l in kept.splitlines()
             if l.strip() and not l.startswith("#")}
    assert not {n for n in names if n.startswith(("nvidia-", "cuda-", "triton"))}
    assert {"torch", "torchvision"}.isdisjoint(names)   # they come from PyTorch's index
    for needed in ("numpy", "sympy", "networkx", "filelock", "jinja2", "fsspec", "pooch"):
        assert needed in names, needed


@pytest.mark.skipif(os.environ.get("D2L_SKIP_REGISTRY") == "1",
                    reason="D2L_SKIP_REGISTRY=1: the lock was not resolved against the registry")
def test_lock_resolves_on_every_target_against_the_registry():
    """Every pin has a wheel for every target, and each target's set is closed."""
    results = resolve_lock.check_all(workers=len(TARGETS))
    failures = [f"{r.target.name}: " + "; ".join(r.problems) for r in results if not r.ok]
    assert not failures, "\n".join(failures)
    assert len(results) == 13
