"""The registry of tabs: which framework each tab runs, and how to get it.

One entry per tab, used by the ``#@tab`` extension (:mod:`d2l_helpers.tab`),
``d2l_helpers.mxnet``'s import check, ``tools/`` and the notebook checker.
Adding a framework starts here (see docs/ARCHITECTURE.md).
"""
import importlib.util
from dataclasses import dataclass


@dataclass(frozen=True)
class Tab:
    name: str          # the tab's name in '#@tab NAME', D2L_TAB and %tab
    title: str         # how prose and messages write it: PyTorch, MXNet, JAX
    package: str       # the framework's import name
    helpers: str       # our module with the book's API for it
    install_hint: str  # why it may be missing, and how to get it
    # our modules that may import the framework: its helpers module and any
    # private part of it (tests/test_framework_imports.py holds every other to that)
    private: tuple = ()
    # the start a model made with make_model(init="default") trains from: "framework"
    # (its own initializer), or "normal" where the book's train_ch8 redraws every
    # weight from N(0, 0.01^2) (MXNet)
    train_start: str = "framework"

    @property
    def modules(self):
        return (self.helpers,) + self.private


TABS = {t.name: t for t in [
    Tab("pytorch", "PyTorch", "torch", "d2l_helpers.torch",
        "PyTorch is missing: run `make lab` (or `python -m tools.setup_env lab`), "
        "which installs it.", private=("d2l_helpers.cuda_graphs",)),
    Tab("mxnet", "MXNet", "mxnet", "d2l_helpers.mxnet",
        "MXNet is retired (the Apache project is in the attic); its last release, "
        "1.9.1, needs numpy < 1.24 and so installs only with Python 3.11 on Linux "
        "(x86-64 or aarch64) or on an Intel Mac. To get the MXNet tab, build the "
        "environment with Python 3.11: `make lab PYTHON=python3.11` (Windows has "
        "no MXNet).", train_start="normal"),
    Tab("jax", "JAX", "jax", "d2l_helpers.jax",
        "JAX (with flax and optax) is an optional layer of the environment for "
        "Python >= 3.12 (jax >= 0.11 needs it) on Linux, macOS (Apple silicon) "
        "and Windows. To get the JAX tab, build the environment with Python 3.12 "
        "or 3.13: `make lab PYTHON=python3.13` (Windows: `py -3.13 "
        "-m tools.setup_env lab`)."),
]}
NAMES = tuple(TABS)
DEFAULT = "pytorch"


class TabUnavailable(ImportError):
    """The framework of a tab cannot be imported here."""


def available(name):
    """Whether the framework of tab ``name`` can be imported (without importing it)."""
    try:
        return importlib.util.find_spec(TABS[name].package) is not None
    except (ImportError, ValueError):  # e.g. sys.modules[package] is None
        return False


def unavailable_error(name, cause=None):
    """The error to raise when tab ``name``'s framework cannot be imported."""
    t = TABS[name]
    why = f" ({cause})" if cause else ""
    return TabUnavailable(f"the {name} tab needs {t.package!r}, which cannot be "
                          f"imported here{why}. {t.install_hint} Or choose another "
                          f"tab with D2L_TAB or %tab.")


def require(name):
    """Raise :class:`TabUnavailable` with the install hint unless tab
    ``name``'s framework can be imported."""
    if not available(name):
        raise unavailable_error(name)


def main():
    """``python -m d2l_helpers.frameworks``: print the tabs that can run here
    (one line, for the Makefile); say on stderr why any other cannot."""
    import sys
    for name in NAMES:
        if not available(name):
            print(f"[skipping the {name} tab] {TABS[name].install_hint}", file=sys.stderr)
    print(" ".join(name for name in NAMES if available(name)))


if __name__ == "__main__":
    main()
