"""Recording measured results, so that prose and tables quote real numbers.

``record(key, history_or_dict)`` appends a run (with its per-epoch curves) to the JSON file named by the
``D2L_RESULTS`` environment variable (``make book`` sets it to
``build/results.json``); without it, nothing is written.  ``load(path)``
reads such a file back, e.g. the committed full-mode snapshot in
``results/``.

Nothing recorded is lost:

* several processes may record into one file at once: each holds a lock
  (``.<file>.lock`` beside it, which stays; :mod:`filelock`) while it reads, changes and
  writes the file;
* the file is replaced atomically (a temporary file, then ``os.replace``),
  so a process killed mid-write leaves the old file whole;
* a damaged file is never overwritten: the error names it, and the new entry
  goes to a sibling file (``<name>.rescued.json``) that the error names too;
* after training, :func:`record_after_training` turns a failure to record
  into a message, so that ``train_ch8`` and ``study.run_one`` still return
  the History they trained.
"""
import json
import os
import sys
import time
from pathlib import Path

import filelock

from .settings import current as settings_now
from .devices import describe_device  # noqa: F401  (re-exported for notebooks)


CURVES = ("epoch", "train_ppl", "valid_ppl", "tokens_seen", "wall_time",
          "tokens_per_sec")


def _as_dict(result):
    """A History's summary plus its per-epoch ``curves``; a dict as it is."""
    if hasattr(result, "summary"):
        entry = result.summary()
        entry["curves"] = {name: [float(x) for x in getattr(result, name)]
                           for name in CURVES if hasattr(result, name)}
        return entry
    return dict(result)


as_entry = _as_dict  # what record() stores for a History: its summary and curves


LOCK_TIMEOUT = 120  # seconds to wait for another process's write (they take ms)


class ResultsError(RuntimeError):
    """A results file cannot be read or written; the message says which file,
    what to do, and where the entry went."""


def record(key, result, settings=None, **extra):
    """Store ``result`` (a History or a dict) under ``key``; returns the entry.

    Written only where ``D2L_RESULTS`` (``settings.results``) names a file;
    raises :class:`ResultsError` if that cannot be done (see the module's text)."""
    settings = settings_now(settings)
    entry = normalised(_as_dict(result))
    entry.setdefault("mode", settings.mode.name)  # a History says the mode it ran under
    if not entry.get("tab"):  # a History says the tab it trained under; else D2L_TAB's
        entry["tab"] = settings.tab
    entry.update(key=key, quick_mode=entry["mode"] == "quick",
                 time=time.strftime("%Y-%m-%dT%H:%M:%S"), **extra)
    if settings.results:
        _store(Path(settings.results), entry)
    return entry


def record_after_training(key, history, settings=None, **extra):
    """:func:`record`, for a History that has just been trained: if recording
    fails, print why (and what to do) and return None instead of raising, so
    that the caller still gets the trained History and model."""
    settings = settings_now(settings)
    try:
        return record(key, history, settings=settings, **extra)
    except Exception as e:  # noqa: BLE001 - whatever went wrong, keep the History
        print(f"d2l_helpers: the run {key!r} was trained, but it was not recorded "
              f"in D2L_RESULTS={settings.results!r}: {e}\n"
              f"The History and the model are returned as usual; once this is "
              f"fixed, d2l_helpers.results.record({key!r}, history) records it.",
              file=sys.stderr, flush=True)
        return None


def rescue_path(path):
    """Where :func:`record` puts new entries while ``path`` is damaged."""
    path = Path(path)
    return path.with_name(f"{path.stem}.rescued{path.suffix or '.json'}")


def _store(path, entry):
    if path.is_dir():
        raise ResultsError(
            f"D2L_RESULTS={str(path)!r} is a folder; set it to a JSON file "
            f"(e.g. build/results.json). Run {entry['key']!r} was not written.")
    path.parent.mkdir(parents=True, exist_ok=True)
    lock = filelock.FileLock(str(path.with_name(f".{path.name}.lock")),
                             timeout=LOCK_TIMEOUT)
    try:
        with lock:
            try:
                runs = load(path)
            except ResultsError as e:
                rescue = rescue_path(path)
                if path == rescue:
                    raise
                _store(rescue, entry)
                raise ResultsError(
                    f"{e} It was left untouched; this run ({entry['key']!r}) was "
                    f"written to {str(rescue)!r} instead. Repair or remove "
                    f"{str(path)!r}, then merge the runs of {rescue.name} into it."
                ) from e
            runs = [r for r in runs if (r.get("key"), r.get("tab")) !=
                    (entry["key"], entry["tab"])]
            runs.append(entry)
            _write_atomic(path, json.dumps(runs, indent=1, allow_nan=True))
    except filelock.Timeout as e:
        raise ResultsError(
            f"another process has held {lock.lock_file!r} for {LOCK_TIMEOUT} s "
            f"while recording into {str(path)!r}; if no run is recording, delete "
            f"the lock file. Run {entry['key']!r} was not written.") from e


def _write_atomic(path, text):
    """Write ``text`` to ``path`` so that a reader (or a crash) sees the old
    file or the new one, never half of one."""
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    try:
        with open(tmp, "w") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()


FULL_MODE = Path(__file__).resolve().parents[1] / "results" / "full-mode.json"


def full_mode():
    """The committed full-mode runs (``results/full-mode.json``), or []."""
    return load(FULL_MODE)


def load(path):
    """The list of recorded runs in ``path`` ([] if the file does not exist)."""
    path = Path(path)
    if not path.exists():
        return []
    if path.is_dir():
        raise ResultsError(f"{str(path)!r} is a folder, not a results file (a JSON "
                           f"list of runs, e.g. build/results.json)")
    try:
        runs = json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise ResultsError(f"the results file {str(path)!r} is damaged, not JSON "
                           f"({e}).") from e
    if not isinstance(runs, list):
        raise ResultsError(f"the results file {str(path)!r} is damaged: it holds a "
                           f"{type(runs).__name__}, not a list of runs.")
    return [normalised(r) for r in runs]


def normalised(entry):
    """``entry`` as this version writes it.  Runs recorded before 2026-12-04
    also named their tab ``framework`` (History's word for it then), beside
    ``tab``; that key becomes ``tab``, which it wins over: it was the History's
    own, where ``tab`` was D2L_TAB's when the run was recorded (always the same
    in the committed results)."""
    if not isinstance(entry, dict) or "framework" not in entry:
        return entry
    entry = dict(entry)
    old = entry.pop("framework")
    if old:
        entry["tab"] = old
    return entry


def find(runs, key, tab=None):
    """The runs whose key is ``key`` (and tab ``tab``, if given)."""
    return [r for r in runs if r.get("key") == key
            and (tab is None or r.get("tab") == tab)]
