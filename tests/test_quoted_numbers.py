"""Numbers quoted in the notebooks' measured-result cells come from
results/full-mode.json.

A measured-result cell is a markdown cell that says "实测结果" or "measured
full-mode results".  Every decimal number in it (9.42, 120.0) and every number
with a thousands separator (25,775) must equal, at the printed precision, a
value recorded for that notebook's runs: a recorded field, a mean or sample
standard deviation over seeds, a wall time in minutes, the difference between
two runs, or a Welch test between two groups of seeds.  Ratios and percentages (followed by %, 倍, x, ×) are
derived, not recorded, and are not checked here; design constants are listed
below with the reason they are not in the JSON.
"""
import itertools
import math
import re
from pathlib import Path

import nbformat
import pytest

from d2l_helpers import data, results, study

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = {  # notebook -> the key prefixes of the runs it quotes
    "notebooks/03-training-and-prediction.ipynb": "chapter/",
    "notebooks/04-depth-study.ipynb": ("depth/", "depth-init-normal/"),
    "notebooks/exercises/ex1-two-layer-rnn-scratch.ipynb": ("ex1/", "ex2/"),
    "notebooks/exercises/ex2-gru-vs-lstm.ipynb": "ex2/",
    "notebooks/exercises/ex3-more-books.ipynb": "ex3/",
    "notebooks/exercises/ex4-mixing-authors.ipynb": "ex4/",
}
CONSTANTS = {
    "10,000",      # the book's training characters (max_tokens)
    "2,400,000",   # ex3/ex4 token budget of the old runs (a hyper-parameter)
    "7,176",       # offset of Filby's sentence; test_filby_offset checks it
    "0.01",        # MXNet's initialisation N(0, 0.01^2)
    "0.05",        # significance level
    "201,600",     # depth study budget (study.FULL); test_depth_budget checks it
    "153,522",     # training characters of The Time Machine; checked below
    "8,529",       # validation and test halves of its held-out tail; checked below
    "16.94",       # unigram (letter-frequency) test perplexity, from the data; checked below
}
UNIFORM = 28       # perplexity of the uniform guess: runs above it are counted
HOLM_MAX = 8       # the largest family of tests a measured cell adjusts with Holm's method
NUMBER = re.compile(r"(?<![\d.,])(\d{1,3}(?:,\d{3})+|\d+\.\d+)(?![\d.,]*\d)"
                    r"(?!\s*(?:[–-]\s*\d+(?:\.\d+)?\s*)?(?:%|倍|x\b|×|²))")
MEASURED = re.compile(r"实测结果|measured full-mode results", re.I)


def measured_cells(path):
    nb = nbformat.read(str(ROOT / path), as_version=4)
    return [(i, c.source) for i, c in enumerate(nb.cells)
            if c.cell_type == "markdown" and MEASURED.search(c.source)]


def _leaves(entry):
    for k, v in entry.items():
        if isinstance(v, bool):
            continue
        if isinstance(v, (int, float)):
            yield k, float(v)
        elif isinstance(v, dict) and k != "versions":
            for k2, v2 in v.items():
                if isinstance(v2, (int, float)) and not isinstance(v2, bool):
                    yield f"{k}.{k2}", float(v2)


def _tested(field):
    """Fields whose groups of seeds the measured cells compare by Welch's test."""
    return (field in ("best_valid_ppl", "test_ppl", "tokens_per_sec")
            or field.startswith(("ppl_", "heldout_ppl.")))


def recorded_values(prefix, runs=None):
    """Every value a measured cell of ``prefix``'s notebook may quote (from
    ``runs``, by default the committed results/full-mode.json)."""
    runs = results.full_mode() if runs is None else runs
    runs = [r for r in runs if r.get("key", "").startswith(prefix)
            and not r.get("quick_mode")]
    values = []
    groups = {}
    for r1, r2 in itertools.combinations(runs, 2):
        if r1["tab"] == r2["tab"]:
            l1, l2 = dict(_leaves(r1)), dict(_leaves(r2))
            values += [l1[f] - l2[f] for f in l1.keys() & l2.keys()]
    for r in runs:
        leaves = dict(_leaves(r))
        values += leaves.values()
        if "wall_time_s" in leaves:
            values.append(leaves["wall_time_s"] / 60)
        # seeds of one configuration form a group; an old single-run key of the
        # same name (e.g. ex4/wells before ex4/wells/seed0) is a group of its own
        seeded = re.search(r"/seed\d+$", r["key"]) is not None
        group = (r["tab"], re.sub(r"/seed\d+$", "", r["key"]), seeded)
        groups.setdefault(group, []).append(leaves)
    for (tab, *_), members in groups.items():
        for field in set().union(*members):
            xs = [m[field] for m in members if field in m]
            m, sd = study.mean_sd(xs)
            values += [m] + ([] if math.isnan(sd) else [sd])
    # plain-RNN runs above the uniform guess, pooled over depths per tab and
    # study: Fisher's exact test between any two such pools
    pools = {}
    for r in runs:
        if r.get("cell") == "rnn" and "test_ppl" in r:
            pools.setdefault((r["tab"], r["key"].split("/", 1)[0]), []).append(r["test_ppl"] > UNIFORM)
    for a, b in itertools.combinations(pools.values(), 2):
        values.append(study.fisher_exact(sum(a), len(a), sum(b), len(b)))
    for (g1, m1), (g2, m2) in itertools.combinations(groups.items(), 2):
        if g1[0] != g2[0] or len(m1) < 2 or len(m2) < 2:
            continue
        for field in sorted({f for m in m1 + m2 for f in m if _tested(f)}):
            a = [m[field] for m in m1 if field in m]
            b = [m[field] for m in m2 if field in m]
            if len(a) >= 2 and len(b) >= 2:
                for w in (study.welch(a, b), study.welch(b, a)):
                    values += [w["diff"], w["t"], w["df"], w["p"], *w["ci"]]
                    # Holm-adjusted p within a family of up to 8 tests (tools/answers.py):
                    # each adjusted p is min(1, k * p) for one of the family's raw p
                    values += [min(1.0, k * w["p"]) for k in range(2, HOLM_MAX + 1)]
    return values


def formatted(values):
    out = set()
    for v in values:
        if not math.isfinite(v):
            continue
        for d in range(4):
            out.add(f"{abs(v):.{d}f}")
        out.add(f"{abs(v):,.0f}")
    return out


def quoted(text):
    return [m.group(1) for m in NUMBER.finditer(text)]


@pytest.mark.parametrize("path", sorted(NOTEBOOKS))
def test_quoted_numbers_match_the_recorded_results(path):
    allowed = formatted(recorded_values(NOTEBOOKS[path])) | CONSTANTS
    cells = measured_cells(path)
    if path.endswith("ex3-more-books.ipynb"):
        assert cells, "ex3 should say whether full-mode results exist"
    stray = [(i, x) for i, text in cells for x in quoted(text) if x not in allowed]
    assert stray == [], (f"{path}: numbers quoted in measured-result cells that "
                         f"match nothing in results/full-mode.json: {stray}")


def test_the_checker_catches_a_wrong_number():
    allowed = formatted(recorded_values("ex2/"))
    lstm = [r["test_ppl"] for r in results.full_mode()
            if r["key"].startswith("ex2/lstm/") and r["tab"] == "pytorch"]
    mean = f"{sum(lstm) / len(lstm):.2f}"
    assert len(lstm) == 3 and mean in allowed  # a recorded mean over seeds is accepted
    wrong = next(w for w in (f"{float(mean) + d:.2f}" for d in (0.01, -0.01, 0.02, -0.02, 0.03))
                 if w not in allowed)  # a near miss is not
    assert quoted(f"LSTM {wrong} ± 0.06, 25,775 tokens/s") == [wrong, "0.06", "25,775"]
    assert quoted("1.24 倍, 6.4%, 0.01², version 2.14.1") == []


def test_constants_that_are_not_in_the_json():
    text = data.char_text("time_machine")
    assert text.find("time travelleryou can show black is white") == 7_176
    train, _, heldout = data.load_corpus()
    assert len(train) == 153_522
    valid, test = study.split_heldout(heldout)
    assert len(valid) == len(test) == 8_529
    assert f"{study.unigram_baseline()[1]:.2f}" == "16.94"
    plan = study.FULL
    assert plan["checkpoints"] * plan["batches_per_checkpoint"] * 32 * 35 == 201_600
