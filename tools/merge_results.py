"""Copy recorded runs from one results file into another (by default the
committed ``results/full-mode.json``), replacing runs of the same key and tab.

A long study records into a file of its own while it runs (``python -m
experiments.study --results build/conv-pytorch.json``); this merges what has
landed so far, so that it can be committed as it lands::

    python -m tools.merge_results build/conv-pytorch.json
    python -m tools.answers            # regenerate the measured answers
"""
import argparse
from pathlib import Path

from d2l_helpers import results


def merge(sources, into, prefix=""):
    """Store every run of ``sources`` whose key starts with ``prefix`` in
    ``into``; returns how many were copied."""
    n = 0
    for src in sources:
        for entry in results.load(src):
            if str(entry.get("key", "")).startswith(prefix):
                results._store(Path(into), entry)
                n += 1
    return n


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("sources", nargs="+", help="results files to copy runs from")
    p.add_argument("--into", default=str(results.FULL_MODE), help="the file to merge into")
    p.add_argument("--prefix", default="", help="only keys starting with this (e.g. depth-conv/)")
    a = p.parse_args(argv)
    missing = [s for s in a.sources if not Path(s).is_file()]
    if missing:
        p.error(f"no such results file: {', '.join(missing)}")
    print(f"{merge(a.sources, a.into, a.prefix)} runs merged into {a.into}")


if __name__ == "__main__":
    main()
