"""Shared fixtures: the offline data mirror and the reference d2l 0.17.6.

Tests that need a framework that is not installed here (a test whose name
contains ``mxnet``), or the reference package, are skipped with the reason
(``pytest -ra`` lists them), never passed silently."""
import importlib
import os
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data"
sys.path.insert(0, str(ROOT))  # `from tools import ...`

from d2l_helpers import frameworks  # noqa: E402


def tiny_data(vocab_cls, train=1_000, heldout=400, seed=0):
    """A random corpus over the letters of "time traveller" for
    ``study.run_one``: dict(corpus, vocab, valid, test), the held-out tokens
    split in two halves."""
    import numpy as np
    from d2l_helpers import study
    rng = np.random.default_rng(seed)
    vocab = vocab_cls(list("time traveller"))
    corpus = rng.integers(1, len(vocab), train)
    valid, test = study.split_heldout(rng.integers(1, len(vocab), heldout))
    return dict(corpus=corpus, vocab=vocab, valid=valid, test=test)


def require_tab(name):
    """Skip the calling test, saying why, when tab ``name`` cannot run here."""
    if not frameworks.available(name):
        pytest.skip(f"the {name} tab is not available here: "
                    f"{frameworks.TABS[name].install_hint}")


def hide_package(monkeypatch, package):
    """Make ``importlib.util.find_spec(package)`` say it is not installed."""
    import importlib.util
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if name == package else real(name, *a))


@pytest.fixture(autouse=True)
def _skip_missing_mxnet(request):
    if "mxnet" in request.node.name:
        require_tab("mxnet")


def mirror_dir():
    """The folder the tests read books from: $D2L_DATA_MIRROR or ../shared/data."""
    env = os.environ.get("D2L_DATA_MIRROR")
    if env:
        return Path(env)
    if SHARED.is_dir():
        return SHARED
    pytest.fail("no offline copy of the books: set D2L_DATA_MIRROR to a folder "
                "holding timemachine.txt and the Gutenberg files (see README)")


@pytest.fixture(autouse=True)
def _offline_env(monkeypatch, tmp_path_factory):
    """Every test reads books from the mirror and never touches the user cache."""
    monkeypatch.setenv("D2L_DATA_MIRROR", str(mirror_dir()))
    monkeypatch.setenv("D2L_DATA_DIR", str(tmp_path_factory.mktemp("cache")))
    monkeypatch.delenv("D2L_QUICK", raising=False)
    monkeypatch.delenv("D2L_RESULTS", raising=False)
    monkeypatch.setenv("D2L_TAB", "pytorch")
    monkeypatch.setenv("MPLBACKEND", "Agg")


def _reference(module_name, monkeypatch):
    require_tab("pytorch" if module_name == "torch" else "mxnet")
    try:
        ref = importlib.import_module(f"d2l.{module_name}")
    except Exception as e:  # noqa: BLE001 - not installed, or its own imports fail
        pytest.skip(f"the reference package d2l.{module_name} (d2l 0.17.6) cannot "
                    f"be imported ({type(e).__name__}: {e}); parity with the book "
                    f"is not checked. Install it with `pip install --no-deps "
                    f"d2l==0.17.6`")
    path = str(mirror_dir() / "timemachine.txt")
    # The reference downloads from S3; point it at the same bytes instead.
    monkeypatch.setattr(ref, "download", lambda name, cache_dir=None: path)
    return ref


@pytest.fixture
def ref_torch(monkeypatch):
    return _reference("torch", monkeypatch)


@pytest.fixture
def ref_mxnet(monkeypatch):
    return _reference("mxnet", monkeypatch)

