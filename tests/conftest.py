"""Shared fixtures: the offline data mirror and the reference d2l 0.17.6."""
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


def _reference(module_name, monkeypatch):
    import importlib
    ref = importlib.import_module(f"d2l.{module_name}")
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
