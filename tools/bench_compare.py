"""Side by side: `make bench`'s rows of two checkouts, from a record of alternating rounds.

    python -m tools.bench_compare results/bench-refactor-2026-12-04.json

The record holds ``rounds``, each ``{"before": rows, "after": rows}`` as
``python -m tools.bench --json`` writes rows.  Printed per tab: the ratio of our
train_ch8 to the book's (d2l 0.17.6) in every round, the median after/before,
and our tokens/s.  The ratio is measured within one run, so it is the figure
to compare across runs; tokens/s also moves with the machine's load.
"""
import argparse
import json
import statistics


def table(record):
    """The markdown table comparing ``record``'s two sides, as a list of lines."""
    rows = {}
    for rnd in record["rounds"]:
        for side in ("before", "after"):
            for e in rnd[side]:
                rows.setdefault((e["tab"], side), []).append(e)
    lines = [f"| tab | ours/book, before ({record['before']}) | after ({record['after']}) "
             "| median after/before | our tokens/s before (median) | after (median) | after/before |",
             "| --- | --- | --- | --- | --- | --- | --- |"]
    for tab in sorted({t for t, _ in rows}, key=["pytorch", "mxnet", "jax"].index):
        b, a = rows[(tab, "before")], rows[(tab, "after")]
        rb, ra = [e["ratio"] for e in b], [e["ratio"] for e in a]
        tb, ta = statistics.median(e["ours"][1] for e in b), statistics.median(e["ours"][1] for e in a)
        lines.append(f"| {tab} | {', '.join(f'{x:.2f}' for x in rb)} | {', '.join(f'{x:.2f}' for x in ra)} "
                     f"| {statistics.median(ra) / statistics.median(rb):.3f} | {tb:,.0f} | {ta:,.0f} "
                     f"| {ta / tb:.3f} |")
    return lines


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("record", help="JSON record of alternating rounds")
    a = p.parse_args(argv)
    with open(a.record, encoding="utf-8") as f:
        print("\n".join(table(json.load(f))))


if __name__ == "__main__":
    main()
