"""Shared fixtures: the offline data mirror and the reference d2l 0.17.6.

Where MXNet is not installed (it is a legacy layer: Python 3.11 on Linux or
an Intel Mac only), every test whose id names mxnet is skipped with the
reason, which `-ra` prints; so is a parity test whose reference package does
not import.  Nothing is skipped silently.
"""
import importlib
import importlib.util
import os
import random
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data"


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


MXNET_SKIP_REASON = ("MXNet is not installed in this environment (a legacy layer: "
                     "mxnet 1.9.1 needs Python 3.11 on Linux or an Intel Mac); "
                     "its tests run in the Python 3.11 environment")


def pytest_collection_modifyitems(config, items):
    """Skip the MXNet-tab tests, by name, where MXNet cannot exist."""
    if importlib.util.find_spec("mxnet") is not None:
        return
    skip = pytest.mark.skip(reason=MXNET_SKIP_REASON)
    for item in items:
        if item.get_closest_marker("runs_without_mxnet"):
            continue
        if "mxnet" in item.nodeid.lower() or "ref_mxnet" in getattr(item, "fixturenames", ()):
            item.add_marker(skip)


def _reference(module_name, monkeypatch):
    try:
        ref = importlib.import_module(f"d2l.{module_name}")
    except Exception as e:  # noqa: BLE001 - any failure means: no reference here
        pytest.skip(f"the reference package d2l 0.17.6 ({module_name}) does not import "
                    f"here ({type(e).__name__}: {e}); parity is checked where it does")
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


@pytest.fixture
def seed():
    def _seed(s=0):
        random.seed(s)
        import numpy as np
        np.random.seed(s)
    return _seed
