"""Recording measured results, so that prose and tables quote real numbers.

``record(key, history_or_dict)`` appends a run (with its per-epoch curves) to the JSON file named by the
``D2L_RESULTS`` environment variable (``make book`` sets it to
``build/results.json``); without it, nothing is written.  ``load(path)``
reads such a file back, e.g. the committed full-mode snapshot in
``results/``.  Files are written atomically, so an interrupted run never
leaves half a file.
"""
import json
import os
import time
from pathlib import Path

from . import config, modes
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


def record(key, result, **extra):
    """Store ``result`` (a History or a dict) under ``key``; returns the entry."""
    entry = _as_dict(result)
    entry.setdefault("mode", modes.current().name)  # a History says the mode it ran under
    entry.update(key=key, tab=config.active_tab(),
                 quick_mode=entry["mode"] == "quick",
                 time=time.strftime("%Y-%m-%dT%H:%M:%S"), **extra)
    path = os.environ.get("D2L_RESULTS")
    if path:
        path = Path(path)
        runs = load(path) if path.exists() else []
        runs = [r for r in runs if (r.get("key"), r.get("tab")) != (key, entry["tab"])]
        runs.append(entry)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
        tmp.write_text(json.dumps(runs, indent=1, allow_nan=True))
        os.replace(tmp, path)
    return entry


FULL_MODE = Path(__file__).resolve().parents[1] / "results" / "full-mode.json"


def full_mode():
    """The committed full-mode runs (``results/full-mode.json``), or []."""
    return load(FULL_MODE)


def load(path):
    """The list of recorded runs in ``path`` ([] if the file does not exist)."""
    path = Path(path)
    if not path.exists():
        return []
    return json.loads(path.read_text())


def find(runs, key, tab=None):
    """The runs whose key is ``key`` (and tab ``tab``, if given)."""
    return [r for r in runs if r.get("key") == key
            and (tab is None or r.get("tab") == tab)]
