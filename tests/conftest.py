"""Shared fixtures: the books, and the reference d2l 0.17.6.

The tests get the books as a user would, through ``corpora.fetch``:
``D2L_DATA_MIRROR`` if it is set, else the user's cache (``D2L_DATA_DIR`` or
the default), else the real download -- once, when the first test asks
(:func:`mirror_dir`).  Every test then reads them from a read-only folder of
links to those files, and gets an empty cache folder of its own.  Tests that
need the books when they cannot be had, a framework that is not installed
here (a test whose name contains ``mxnet``, or run for ``[jax]``), or the reference
package, are
skipped with the reason (``pytest -ra`` lists them), never passed silently."""
import importlib
import os
import shutil
from pathlib import Path

import pytest

from d2l_helpers import corpora, frameworks

ROOT = Path(__file__).resolve().parents[1]

# The user's settings, read before any test changes the environment.
_USER_ENV = {k: os.environ.get(k) for k in ("D2L_DATA_MIRROR", "D2L_DATA_DIR")}
_books = {}  # filled once by _get_books(): {"dir": Path} or {"reason": str}


def tiny_data(vocab_cls, train=1_000, heldout=400, seed=0):
    """A random corpus over the letters of "time traveller" for
    ``study.run_one``: dict(corpus, vocab, valid, test), the held-out tokens
    split in two halves."""
    import numpy as np
    from experiments import study
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
    if "[jax" in request.node.name:  # a test run for the jax tab (Python >= 3.12)
        require_tab("jax")


def _get_books(tmp_path_factory):
    """Fetch every corpus once, as a user would, into a folder of links."""
    if _books:
        return _books
    saved = {k: os.environ.get(k) for k in _USER_ENV}
    for k, v in _USER_ENV.items():
        if v is None:
            os.environ.pop(k, None)
        else:
            os.environ[k] = v
    try:
        folder = tmp_path_factory.mktemp("books")
        for name, c in corpora.CORPORA.items():
            path = corpora.fetch(name, progressbar=False)
            if not corpora._matches_pin(path, c):
                raise corpora.DataError(
                    f"{path} is a regenerated copy of {name!r}, not the pinned "
                    f"bytes the tests compare with; set D2L_DATA_MIRROR to a "
                    f"folder of the pinned files")
            try:
                (folder / c.filename).symlink_to(Path(path).resolve())
            except OSError:  # no symbolic links here (Windows without rights)
                shutil.copyfile(path, folder / c.filename)
        _books["dir"] = folder
    except (corpora.DataError, OSError) as e:
        _books["reason"] = (f"the books are not available ({e}); set "
                            f"D2L_DATA_MIRROR to a folder holding them, or let "
                            f"the tests download them once")
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    return _books


_factory = []  # the session's tmp_path_factory, for mirror_dir()


@pytest.fixture(scope="session", autouse=True)
def _session_tmp(tmp_path_factory):
    _factory[:] = [tmp_path_factory]  # before any module-scoped fixture


def mirror_dir():
    """The folder of the books (links to the files ``corpora.fetch`` gave);
    skips the calling test, saying why, when they cannot be had."""
    books = _get_books(_factory[0])
    if "reason" in books:
        pytest.skip(books["reason"])
    return books["dir"]


@pytest.fixture(autouse=True)
def _offline_env(monkeypatch, tmp_path_factory):
    """Every test reads books from the folder of links and never touches the
    user cache.  Without the books, a test that reads one fails with a
    DataError, which :func:`pytest_runtest_makereport` turns into a skip."""
    books = _get_books(tmp_path_factory)
    monkeypatch.setenv("D2L_DATA_MIRROR", str(books.get("dir") or
                                              tmp_path_factory.mktemp("no-books")))
    monkeypatch.setenv("D2L_DATA_DIR", str(tmp_path_factory.mktemp("cache")))
    monkeypatch.delenv("D2L_QUICK", raising=False)
    monkeypatch.delenv("D2L_RESULTS", raising=False)
    monkeypatch.setenv("D2L_TAB", "pytorch")
    monkeypatch.setenv("MPLBACKEND", "Agg")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if (report.failed and call.excinfo is not None and "reason" in _books
            and call.excinfo.errisinstance(corpora.DataError)):
        report.outcome = "skipped"
        report.longrepr = (str(item.path), item.location[1] or 0,
                           f"Skipped: needs the books: {_books['reason']}")


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

