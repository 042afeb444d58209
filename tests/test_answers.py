"""tools/answers.py: the measured-answer cells and README tables follow the
recorded runs, say only what the statistics support, and are current; their
words come from tools/templates/answers/, every snippet used and filled.

The synthetic runs below are fixtures for the generator, never results: they
live in this file only."""
import re
import shutil

import pytest

from d2l_helpers import results
from experiments import study
from test_quoted_numbers import CONSTANTS, formatted, quoted, recorded_values
from tools import answers, nbtools

DEVICE = "CPU: test fixture"


def run(key, tab="pytorch", **fields):
    return dict(key=key, tab=tab, device=DEVICE, quick_mode=False, mode="full", **fields)


def depth_runs(tab="pytorch", seeds=(0, 1, 2), skip=()):
    """Every configuration; 2 layers are clearly worse for GRU and LSTM, the
    RNN's seeds are far apart (nothing significant)."""
    out = []
    for cell, L, h in study.configs():
        for s in seeds:
            if (cell, L, h, s) in skip:
                continue
            base = {"rnn": 20.0, "gru": 10.0, "lstm": 11.0}[cell] + (L - 1) * 2.0
            noise = (s - 1) * (8.0 if cell == "rnn" else 0.05)
            out.append(run(study.run_key(cell, L, h, s), tab, cell=cell, num_layers=L, num_hiddens=h,
                           seed=s, test_ppl=base + noise, params=1000 * L, budget_tokens=201_600,
                           chosen_epoch=10 if L > 1 else 9, checkpoints=10,
                           train_tokens_per_sec=1000.0 / L))
    return out


def ex2_runs(gru, lstm, tab="pytorch"):
    out = []
    for kind, ppls in (("gru", gru), ("lstm", lstm)):
        for s, p in enumerate(ppls):
            out.append(run(f"ex2/{kind}/seed{s}", tab, best_valid_ppl=p, best_valid_epoch=50 + 25 * s,
                           final_valid_ppl=100.0 + s, final_train_ppl=1.02, epochs=500,
                           tokens_per_sec=(20_000.0 if kind == "gru" else 25_000.0) + 100 * s,
                           wall_time_s=200.0, num_params=621_596 if kind == "gru" else 826_396, seed=s))
    return out


TAILS = ["war_of_the_worlds", "invisible_man"]


def ex3_runs(tab="pytorch"):
    out = []
    for corpus, ppl in [("10k", 9.0), ("1", 6.1), ("2", 6.0), ("3", 5.95)]:
        for s in range(3):
            out.append(run(f"ex3/{corpus}/seed{s}", tab, test_ppl=ppl + 0.02 * s, budget_tokens=2_396_800,
                           chosen_epoch=20, checkpoints=20, final_train_ppl=1.1 if corpus == "10k" else 6.0,
                           train_chars=10_000 if corpus == "10k" else 150_000 * int(corpus),
                           passes=2.0, heldout_ppl={b: 8.0 - (0 if corpus in ("10k", "1") else 1.0) + 0.01 * s
                                                    for b in TAILS}))
    return out


def ex4_runs(tab="pytorch", austen=(-0.7, -0.2)):
    out = []
    for model, shift in [("wells", 0.0), ("mixed", 1.0), ("wells-once", 0.5)]:
        for s in range(3):
            e = 0.03 * s
            out.append(run(f"ex4/{model}/seed{s}", tab, budget_tokens=2_396_800, checkpoints=10,
                           chosen_epoch=9 if (model, s) == ("wells", 0) else 10,
                           ppl_time_machine=6.2 + 0.3 * shift + e, ppl_wells=6.3 + 0.3 * shift + e,
                           ppl_austen=7.0 + austen[0] * shift + e, ppl_doyle=6.5 + austen[1] * shift + e))
    return out


def text_of(cells, name, lang=1):
    return cells[name][lang]


def section(text, tab):
    """The part of a cell under one tab's bold label."""
    parts = re.split(r"^\*\*(PyTorch|MXNet|PyTorch / MXNet)\*\*$", text, flags=re.M)
    return dict(zip(parts[1::2], parts[2::2]))[answers.TAB_NAMES[tab]]


# --------------------------------------------------------------- the committed state

def test_committed_cells_and_readme_are_current():
    """Fails when results/full-mode.json changed but `python -m tools.answers`
    was not run (or the generated prose was edited by hand)."""
    assert answers.stale(results.full_mode()) == []


# --------------------------------------------------------------- what the prose says

def test_every_quoted_number_comes_from_the_runs():
    runs = conv_runs() + ex2_runs([9.1, 9.2, 9.3], [9.4, 9.5, 9.45]) + ex3_runs() + ex4_runs()
    runs += ex2_runs([9.0, 9.3, 9.1], [9.2, 9.1, 9.4], tab="mxnet")
    cells, readme = answers.render(runs)
    prefixes = {"04": "depth-conv/", "ex1": "ex1/", "ex2": "ex2/", "ex3": "ex3/", "ex4": "ex4/"}
    for name, pair in cells.items():
        allowed = formatted(recorded_values(prefixes[name], runs)) | CONSTANTS
        stray = [x for text in pair for x in quoted(text) if x not in allowed]
        assert stray == [], (name, stray)
    allowed = formatted(recorded_values("ex2/", runs))
    assert "9.20" in allowed and "9.87" not in allowed  # the check can fail


def test_the_verdict_follows_the_test():
    apart = answers.render(ex2_runs([9.0, 9.05, 9.1], [9.6, 9.65, 9.7]))[0]
    close = answers.render(ex2_runs([9.0, 9.4, 9.2], [9.1, 9.3, 9.25]))[0]
    assert "Holm p < 0.01: the GRU is significantly lower" in text_of(apart, "ex2")
    assert "the GRU's perplexity is significantly lower" in text_of(apart, "ex2")
    en = text_of(close, "ex2")
    assert "no significant difference" in en and "significantly lower" not in en
    assert en.count("equal") == en.count(answers.NOTE[1]) == 1  # only the note says "equal", once
    assert "看不出显著差别" in text_of(close, "ex2", 0)


def test_a_tab_without_the_new_design_says_so_and_quotes_no_new_numbers():
    old = [run("ex3/2", best_valid_ppl=6.43, tokens=2_212_000, num_books=2),
           run("ex3/3", best_valid_ppl=5.87, tokens=2_692_480, num_books=3),
           run("ex4/wells", ppl_austen=7.09, ppl_doyle=6.54, ppl_wells=6.35),
           run("ex4/mixed", ppl_austen=6.41, ppl_doyle=6.35, ppl_wells=6.64)]
    cells = answers.render(old + ex3_runs(tab="mxnet"))[0]
    ex3 = text_of(cells, "ex3")
    assert "has not been measured under this framework yet" in section(ex3, "pytorch")
    assert "**Old design (for reference, not an answer):**" in section(ex3, "pytorch")
    assert "has not been measured" not in section(ex3, "mxnet")
    ex4 = text_of(cells, "ex4")
    assert "has not been measured under this framework yet" in section(ex4, "pytorch")
    assert "Austen 7.09 → 6.41" in ex4
    nothing = answers.render([])[0]
    for name in ("04", "ex2", "ex3", "ex4"):
        assert "not been measured" in text_of(nothing, name)
        assert quoted(text_of(nothing, name)) == []


def test_quick_mode_runs_are_ignored():
    quick = [dict(r, quick_mode=True, mode="quick") for r in ex2_runs([1.5] * 3, [1.6] * 3)]
    assert answers.render(quick) == answers.render([])


def test_ex4_control_and_framework_agreement():
    runs = ex4_runs() + ex4_runs(tab="mxnet", austen=(0.7, 0.0))
    en = text_of(answers.render(runs)[0], "ex4")
    assert "**Control:** model C" in en and "B minus C" in en
    assert "twice C's" in en  # B trains twice C's tokens: said with the verdict
    assert "**Budget:** 5 of 6 runs chose their last checkpoint (validation perplexity still falling" in en
    agree = re.search(r"agree in the sign of the difference on: ([^;.]*)", en).group(1)
    assert agree.startswith("Doyle, Wells's five tails") and "Austen" not in agree
    # Austen: opposite signs, each significant: said as such
    assert "they disagree on the rest, significantly in at least one framework on Austen" in en


def test_answers_are_short_and_glossary_consistent():
    runs = (depth_runs() + ex2_runs([9.1, 9.2, 9.3], [9.4, 9.5, 9.45]) + ex3_runs() + ex4_runs()
            + depth_runs(tab="mxnet") + ex3_runs(tab="mxnet") + ex4_runs(tab="mxnet"))
    cells, _ = answers.render(runs)
    for name, (zh, en) in cells.items():
        for tab in ("pytorch", "mxnet"):
            for text in (zh, en):
                bullets = [line for line in section(text, tab).splitlines() if line.startswith("* ")]
                assert 1 <= len(bullets) <= (5 if name in ("ex2", "ex3", "ex4") else 8), (name, tab, len(bullets))
        assert zh.startswith(answers.HEAD[0]) and en.startswith(answers.HEAD[1])
        assert nbtools.glossary_problems(en, zh) == [], name
        assert nbtools.punctuation_problems(zh) == [], name
        assert " **" + "（" not in zh and " **：" not in zh, name  # bold stays bold


# --------------------------------------------------------------- writing

def test_write_then_check(tmp_path):
    for rel in answers.NOTEBOOKS.values():
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(answers.ROOT / rel, tmp_path / rel)
    runs = ex2_runs([9.1, 9.2, 9.3], [9.4, 9.5, 9.45])
    assert answers.stale(runs, root=tmp_path) != []   # the check can fail
    answers.write(runs, root=tmp_path)
    assert answers.stale(runs, root=tmp_path) == []
    tables = (tmp_path / answers.RESULTS).read_text()
    assert tables.startswith("# Measured results") and "#### Exercise 2, GRU against LSTM (PyTorch)" in tables
    assert "| comparison | difference | 95% CI | p | Holm p |" in tables  # every test, raw and adjusted
    (tmp_path / answers.RESULTS).write_text(tables.replace("9.20", "9.21"))
    assert answers.stale(runs, root=tmp_path) == [str(answers.RESULTS)]  # a hand edit is caught
    for rel in answers.NOTEBOOKS.values():
        assert nbtools.check(str(tmp_path / rel)) == [], rel


def test_a_notebook_without_its_measured_cells_is_refused(tmp_path):
    import nbformat
    rel = answers.NOTEBOOKS["ex2"]
    nb = nbformat.read(str(answers.ROOT / rel), as_version=4)
    nb.cells = [c for c in nb.cells if "measured" not in c.metadata.get("tags", [])]
    (tmp_path / rel).parent.mkdir(parents=True)
    nbformat.write(nb, str(tmp_path / rel))
    with pytest.raises(SystemExit, match="tagged 'measured'"):
        answers.measured_cells(nb, tmp_path / rel)


def test_ex2_new_design_reports_test_perplexity_at_the_chosen_checkpoint():
    runs = ex2_runs([9.1, 9.2, 9.3], [9.4, 9.5, 9.45])
    for r in runs:
        r.update(test_ppl=r["best_valid_ppl"] + 0.1, chosen_epoch=3 + r["seed"], checkpoints=20,
                 valid_ppl_chosen=r["best_valid_ppl"],
                 budget_tokens=4_480_000)
    cells, readme = answers.render(runs)
    en = text_of(cells, "ex2")
    assert "test perplexity at the checkpoint chosen on validation" in en
    assert "exactly 4,480,000 training tokens per run" in en
    assert "at checkpoint 3–5 (GRU) and 3–5 (LSTM) of 20" in en
    assert "GRU 9.30 ± 0.10" in en  # the test perplexities, not the validation ones
    allowed = formatted(recorded_values("ex2/", runs)) | CONSTANTS
    assert [x for t in cells["ex2"] for x in quoted(t) if x not in allowed] == []
    assert "| checkpoint chosen |" in readme


def test_claims_wait_for_enough_seeds(unigram):
    screen = [r for r in conv_runs() if r["seed"] == 0]  # the screen only: one seed per configuration
    en = text_of(answers.render(screen)[0], "04")
    assert "no comparison has 3 seeds on both sides yet" in en
    rows = [line for line in en.splitlines() if line.startswith("| ") and "layer" in line]
    assert rows and not any("↓" in r or "↑" in r for r in rows) and "significantly better" not in en
    runs = ex3_runs()
    for r in runs:
        r["chosen_epoch"] = 12  # no run chose its last checkpoint
    en = text_of(answers.render(runs)[0], "ex3")
    assert "**Budget:** 0 of 12 runs chose their last checkpoint." in en and "still falling" not in en


def test_command_line(tmp_path, capsys):
    answers.main(["--check"])                       # the committed state is current
    answers.main(["--print", "ex3"])
    assert capsys.readouterr().out.startswith(answers.HEAD[0])
    empty = tmp_path / "none.json"
    with pytest.raises(SystemExit):
        answers.main(["--results", str(empty)])     # no runs: refused, nothing written


def conv_runs(tab="pytorch", gain=1.0, stuck4=False):
    """The study at convergence: every configuration's screen (seed 0 at each
    rate: the larger rate wins) and seeds 1-2 at the chosen rate.  Two layers
    beat one by ``gain``; with ``stuck4`` the 4-layer LSTMs never leave the plateau."""
    out = []
    for cell, L, h, drop in study.conv_configs():
        grid = study.LR_GRID[cell]
        base = {"rnn": 7.0, "gru": 5.4, "lstm": 5.5}[cell] - (gain if L == 2 else 0.0) + (0.3 if h != 256 else 0.0)
        for lr, seed in [(lr, 0) for lr in grid] + [(grid[-1], 1), (grid[-1], 2)]:
            ppl = base + 0.02 * seed + (0.5 if lr != grid[-1] else 0.0)
            plateau = stuck4 and cell == "lstm" and L == 4
            if plateau:
                ppl = 16.95 + 0.001 * seed
            valid = [17.2, 16.0, 12.0, ppl - 0.1] if not plateau else [17.2, 17.1, 17.0, 16.9 - 0.01 * lr]
            job = study.Job(cell, L, h, lr, seed, drop)
            out.append(run(job.key, tab, cell=cell, num_layers=L, num_hiddens=h, dropout=drop, lr=lr,
                           seed=seed, test_ppl=ppl, valid_ppl_chosen=min(valid), params=1000 * L,
                           budget_tokens=1_209_600, tokens_seen=1_209_600, checkpoints=4, chosen_epoch=4,
                           stop_reason="patience" if not plateau else "cap", patience=3, precision="fp32",
                           escape_tokens=None if plateau else 907_200, train_tokens_per_sec=1000.0 / L,
                           curves=dict(epoch=[1, 2, 3, 4], valid_ppl=valid,
                                       tokens_seen=[302_400, 604_800, 907_200, 1_209_600])))
    return out


def init_runs(tab, init, ppl=5.3, escape=(604_800,) * 3, layers=3):
    """The initialisation check: the LSTM ``layers``x256 trained from start ``init``
    (screen and seeds as in :func:`conv_runs`), test ``ppl`` + 0.02 x seed; a
    run whose ``escape`` is None never left the plateau."""
    out = []
    for r in conv_runs(tab):
        if (r["cell"], r["num_layers"], r["num_hiddens"], r["dropout"]) != ("lstm", layers, 256, 0.0):
            continue
        job = study.Job("lstm", layers, 256, r["lr"], r["seed"], init=init)
        left = escape[r["seed"]]
        last = (ppl - 0.1 + (0.5 if r["lr"] == 1.0 else 0.0)) if left else 16.9 - 0.01 * r["lr"]
        valid = [17.2, 16.0, 12.0, last] if left else [17.2, 17.1, 17.0, last]  # rate 2 wins
        out.append(dict(r, key=job.key, init=init, escape_tokens=left, valid_ppl_chosen=min(valid),
                        test_ppl=(ppl + 0.02 * r["seed"]) if left else 16.95,
                        curves=dict(r["curves"], valid_ppl=valid)))
    return out


def stuck_lstm3(runs):
    """``runs`` with every LSTM 3x256 run left on the plateau."""
    for r in runs:
        if (r["cell"], r["num_layers"], r["num_hiddens"]) == ("lstm", 3, 256):
            last = 16.9 - 0.01 * r["lr"]  # rate 2 wins the screen
            r.update(test_ppl=16.95, escape_tokens=None, valid_ppl_chosen=last,
                     curves=dict(r["curves"], valid_ppl=[17.2, 17.1, 17.0, last]))
    return runs


def row(text, label):
    """The PyTorch column of the answer table's row ``label``."""
    line = next(line for line in text.splitlines() if line.startswith(f"| {label} |"))
    return line.split(" | ")[1]


def test_depth_answer_follows_the_study_at_convergence(unigram):
    en = text_of(answers.render(conv_runs())[0], "04")
    assert "**Answer:** significantly better than one layer:" in section(en, "pytorch")
    assert "RNN 2, GRU 2, LSTM 2." in section(en, "pytorch")
    assert row(en, "GRU 1 layer") == "5.42 ± 0.02"
    assert row(en, "GRU 2 layers") == "4.42 ± 0.02 (-1.00, p < 0.01 ↓)"  # Holm within the cell
    assert row(en, "GRU 3 layers") == "5.42 ± 0.02 (+0.00, p = 1.00)"
    assert row(en, "LSTM 1x436 (wide)") == "5.82 ± 0.02 (+1.30, p < 0.01 ↑)"  # against 2x256
    # only the rate chosen on validation counts: the screen's losers (+0.5) are not averaged in
    assert "42 of 42 runs at the chosen rates" not in en
    assert "| MXNet |" in en and row(en, "GRU 1 layer") and "| GRU 1 layer | 5.42 ± 0.02 | — |" in en
    same = text_of(answers.render(conv_runs(gain=0.0))[0], "04")
    assert "these seeds show no significant effect of depth" in same
    table = [line for line in same.splitlines() if line.startswith("| GRU") or line.startswith("| RNN")]
    assert table and not any("↓" in line or "↑" in line for line in table)


def test_depth_reports_a_median_for_runs_stuck_on_the_plateau(unigram):
    runs = conv_runs(stuck4=True)
    for r in runs:
        if r["cell"] == "gru" and r["num_layers"] == 1:
            r["stop_reason"] = "cap"  # at the cap, still improving (its last checkpoint chosen)
    en = text_of(answers.render(runs)[0], "04")
    assert row(en, "LSTM 4 layers") == \
        "median 16.95 (3 of 3 on the plateau, not tested)"
    # a group stuck on the plateau is named as such, not as "still improving"
    assert "Never left the plateau: LSTM 4x256. " \
        "Still improving at the cap: GRU 1x256 (the budget limits these claims)." in en


def test_depth_table_has_a_column_per_tab(unigram):
    both = conv_runs() + conv_runs(tab="mxnet", gain=0.0)
    en = text_of(answers.render(both)[0], "04")
    line = next(line for line in en.splitlines() if line.startswith("| GRU 2 layers |"))
    assert line == "| GRU 2 layers | 4.42 ± 0.02 (-1.00, p < 0.01 ↓) | 5.42 ± 0.02 (+0.00, p = 1.00) |"
    assert "these seeds show no significant effect of depth" in section(en, "mxnet")


def test_depth_reports_the_initialisation_check(unigram):
    runs = (conv_runs() + stuck_lstm3(conv_runs(tab="mxnet")) + init_runs("mxnet", "framework")
            + init_runs("pytorch", "normal", ppl=6.5, escape=(2_116_800, None, 1_814_400)))
    cells, readme = answers.render(runs)
    en = text_of(cells, "04")
    # each start pooled over the tabs (the study's own runs and the check's), Fisher on "left the plateau"
    assert ("**The start, tested:** LSTM 3x256 from $N(0, 0.01^2)$: "
            "2 of 6 runs left the plateau (PyTorch 2 of 3 at 2.0 M tokens, test median 6.54 (1 of 3 runs "
            "never left the letter-frequency plateau); MXNet 0 of 3); from the frameworks' own initializers: "
            "6 of 6 (PyTorch 3 of 3 at 0.9 M tokens, test 5.52 ± 0.02; MXNet 3 of 3 at 0.6 M tokens, "
            "test 5.32 ± 0.02); Fisher's exact test p = 0.06.") in en
    assert "initialisation check at convergence (MXNet, from MXNet's default initializer)" in readme
    # the check's runs stay out of the study's own table and tests
    assert row(en, "LSTM 3 layers") == "5.52 ± 0.02 (+0.00, p = 1.00)"
    zh = text_of(cells, "04", lang=0)
    assert "**检验起点：**" in zh and "从 $N(0, 0.01^2)$ 出发，6 次中 2 次离开平台" in zh
    # one tab checked: its own two starts
    alone = text_of(answers.render(stuck_lstm3(conv_runs(tab="mxnet")) + init_runs("mxnet", "framework"))[0], "04")
    assert "LSTM 3x256 from $N(0, 0.01^2)$: 0 of 3 runs left the plateau (MXNet 0 of 3); from the frameworks' " \
        "own initializers: 3 of 3 (MXNet 3 of 3 at 0.6 M tokens, test 5.32 ± 0.02); Fisher's exact test p = 0.10." in alone
    # two configurations checked: Holm over their two tests
    two = text_of(answers.render(conv_runs(tab="mxnet") + init_runs("mxnet", "framework")
                                 + init_runs("mxnet", "framework", layers=2))[0], "04")
    assert "(Holm-adjusted over these 2 tests): LSTM 2x256 from" in two
    assert "Fisher's exact test p = 1.00; LSTM 3x256" in two  # 3 of 3 left from either start


def test_depth_contrasts_the_short_budget():
    en = text_of(answers.render(depth_runs() + conv_runs())[0], "04")
    assert "**The lesson of the small budget:**" in en and "201,600 tokens" in en
    assert "MXNet**\n\n* The depth study at convergence has not been measured" in en


def ex1_runs(scratch, concise, tab="pytorch", speeds=(13_000.0, 70_000.0)):
    out = []
    for kind, ppls, speed in (("scratch", scratch, speeds[0]), ("concise", concise, speeds[1])):
        for s, p in enumerate(ppls):
            out.append(run(f"ex1/{kind}/seed{s}", tab, test_ppl=p, valid_ppl_chosen=p - 0.1, chosen_epoch=3 + s,
                           checkpoints=20, budget_tokens=4_480_000, lr=1, final_train_ppl=1.03,
                           final_valid_ppl=130.0 + s, tokens_per_sec=speed + 100 * s, wall_time_s=100.0, seed=s))
    return out


def test_ex1_follows_the_seeds():
    close = answers.render(ex1_runs([9.9, 10.2, 10.0], [10.1, 9.8, 10.05]))[0]
    en = section(text_of(close, "ex1"), "pytorch")
    assert "**Accuracy:** scratch 10.03 ± 0.15, built-in 9.98 ± 0.16" in en
    assert "no significant difference in accuracy between the two implementations (which is not the same as " \
           "equally accurate)" in en
    assert "the built-in layer at 5.35x the scratch model's; the built-in layer is significantly faster" in en
    assert "copies the scratch model's initial weights" in en
    assert "has not been measured under this framework yet" in section(text_of(close, "ex1"), "mxnet")
    apart = answers.render(ex1_runs([9.0, 9.05, 9.1], [9.6, 9.65, 9.7], tab="mxnet"))[0]
    en = section(text_of(apart, "ex1"), "mxnet")
    assert "the scratch model's test perplexity is significantly lower" in en
    assert "draws the built-in layer's weights afresh" in en
    few = answers.render(ex1_runs([9.0, 9.1], [9.6, 9.7]))[0]  # 2 seeds: reported, not tested
    assert "fewer than 3 seeds, not tested" in text_of(few, "ex1")
    runs = ex1_runs([9.9, 10.2, 10.0], [10.1, 9.8, 10.05])
    allowed = formatted(recorded_values("ex1/", runs)) | CONSTANTS
    cells = answers.render(runs)[0]
    assert [x for text in cells["ex1"] for x in quoted(text) if x not in allowed] == []


# --------------------------------------------------------------- ex2-ex4: a referee's statistics

def curve(plateau, n=10, top=17.3, low=8.0):
    """A validation curve that stays at ``top`` for ``plateau`` checkpoints, then falls."""
    return {"valid_ppl": [top] * plateau + [low + 0.5 * i for i in range(n - plateau, 0, -1)]}


@pytest.fixture
def unigram(monkeypatch):
    """The unigram model's validation perplexity, fixed so that fixtures need no books."""
    monkeypatch.setattr(answers, "valid_unigram", lambda: 17.2)


def test_holm_decides_what_is_significant(unigram):
    runs = ex4_runs()
    for r in runs:  # four author tails, each raw p about 0.03: none survives Holm over the 4
        if r["key"].startswith(("ex4/wells/", "ex4/mixed/")):
            s, b = int(r["key"][-1]), r["key"].startswith("ex4/mixed/")
            for k in ("ppl_austen", "ppl_doyle", "ppl_wells", "ppl_time_machine"):
                r[k] = 9.0 + 0.25 * b + [0.0, 0.1, 0.2][s]
    tails = [f"ppl_{a}" for a in ("austen", "doyle", "wells", "time_machine")]
    raw = study.welch([r["ppl_austen"] for r in runs if "mixed/" in r["key"]],
                      [r["ppl_austen"] for r in runs if "wells/" in r["key"]])["p"]
    assert 0.01 < raw < 0.05 and len(tails) * raw >= 0.05   # significant alone, not in the family
    cell = text_of(answers.render(runs)[0], "ex4")
    assert "Holm-adjusted within each family of tests: the 4 per-author tails" in cell
    en = section(cell, "pytorch")
    assert "significantly" not in en.split("**Control:**")[0]
    assert f"Holm p = {min(1, 4 * raw):.2f}: no significant difference" in en


def test_a_stuck_group_gives_a_median_and_no_test(unigram):
    runs = ex3_runs()
    for r in runs:
        r["curves"] = curve(2)
    never = next(r for r in runs if r["key"] == "ex3/10k/seed2")
    never["curves"] = curve(10)               # never left the plateau
    diverged = next(r for r in runs if r["key"] == "ex3/2/seed1")
    diverged["test_ppl"] = 45.0               # above the uniform guess
    en = text_of(answers.render(runs)[0], "ex3")
    assert "the book's 10,000 characters median 9.02 (1 of 3 runs never left the letter-frequency plateau)" in en
    assert "2 books median 6.04 (1 of 3 runs diverged)" in en
    assert "not tested (a run diverged or never left the plateau)" in en
    assert "±" not in en.split("not tested")[1].split(".")[0]  # no mean ± sd over a stuck group


def test_a_plateau_bound_tab_is_not_a_finding(unigram):
    pt, mx = ex3_runs(), ex3_runs(tab="mxnet")
    for r in pt:
        r["curves"] = curve(2)
    for i, r in enumerate(mx):
        r["curves"] = curve(8 if i % 3 else 9)  # the median run: 8 of 10 on the plateau
    en = text_of(answers.render(pt + mx)[0], "ex3")
    assert "**Not a finding about data:** the median run spent 8 of 10 checkpoints" in section(en, "mxnet")
    assert "Not a finding" not in section(en, "pytorch")
    assert "The median run spent 2 of 10 checkpoints on the letter-frequency plateau." in section(en, "pytorch")
    assert "2 of 10 checkpoints on the plateau under PyTorch and 8 of 10 under MXNet" in en
    ex4 = ex4_runs() + ex4_runs(tab="mxnet")
    for r in ex4:
        r["curves"] = curve(2 if r["tab"] == "pytorch" else 8)
    en = text_of(answers.render(ex4)[0], "ex4")
    assert "**Not a finding about data:**" in section(en, "mxnet") and "agree in the sign" not in en


def test_one_note_on_no_significant_difference_per_cell():
    runs = (ex2_runs([9.1, 9.2, 9.3], [9.4, 9.5, 9.45]) + ex3_runs() + ex4_runs()
            + ex3_runs(tab="mxnet") + ex4_runs(tab="mxnet"))
    cells = answers.render(runs)[0]
    for name in ("ex2", "ex3", "ex4"):
        zh, en = cells[name]
        assert en.count(answers.NOTE[1]) == 1 and zh.count(answers.NOTE[0]) == 1, name
        assert "not the same as equal" not in en and "这不等于" not in zh, name


def test_the_long_tables_live_in_docs_not_in_the_readme():
    readme = (answers.ROOT / "README.md").read_text()
    assert "answers:start" not in readme and "#### Exercise 3, more books" not in readme
    assert "#### Exercise 3, more books (PyTorch)" in (answers.ROOT / answers.RESULTS).read_text()


# --------------------------------------------------------------- the words live in templates

def ex4_swapped(tab):
    """ex4_runs with A's and B's perplexities swapped: every B-minus-A difference changes sign."""
    runs = ex4_runs(tab=tab)
    by_key = {r["key"]: r for r in runs}
    for r in runs:
        if r["key"].startswith("ex4/wells/"):
            other = by_key[r["key"].replace("wells/", "mixed/")]
            for k in [k for k in r if k.startswith("ppl_")]:
                r[k], other[k] = other[k], r[k]
    return runs


def every_outcome():
    """``{name: runs}`` that between them reach every snippet of tools/templates/answers/."""
    def edit(runs, change):  # change(run, group, seed) edits each run in place
        for r in runs:
            change(r, r["key"].split("/")[1], int(r["key"][-1]) if r["key"][-1].isdigit() else 0)
        return runs

    def tails(r, corpus, s):  # 3 books: higher on one tail, no clear difference on the other
        if corpus == "3":
            r["heldout_ppl"] = {"war_of_the_worlds": 9.0 + 0.01 * s, "invisible_man": [7.0, 8.5, 7.5][s]}

    def quiet_doyle(r, model, s):  # B minus A on Doyle: tiny, and of the opposite sign in MXNet
        if model == "mixed":
            r["ppl_doyle"] = 6.5 + [0.1, -0.05, 0.02][s] * (1 if r["tab"] == "pytorch" else -1)
        elif model == "wells":
            r["ppl_doyle"] = 6.5 + [0.0, 0.02, -0.01][s]

    def close_corpora(r, corpus, s):  # 2 and 3 books alike; 3 books alike 1 book on every tail; none at the cap
        r["chosen_epoch"] = 12
        if corpus == "2":
            r["test_ppl"] = 5.95 + [0.0, 0.05, -0.03][s]
        if corpus in ("1", "3"):
            r["heldout_ppl"] = {b: 8.0 + ([0.01, -0.02, 0.03][s] if corpus == "3" else 0.01 * s) for b in TAILS}

    old = [run("ex3/2", best_valid_ppl=6.43, tokens=2_212_000, num_books=2),
           run("ex3/3", best_valid_ppl=5.87, tokens=2_692_480, num_books=3),
           run("ex4/wells", ppl_austen=7.09, ppl_doyle=6.54, ppl_wells=6.35),
           run("ex4/mixed", ppl_austen=6.41, ppl_doyle=6.35, ppl_wells=6.64)]
    return {
        "nothing yet": [],
        "old design": old,
        "old design, noisy": [run("ex3/2", best_valid_ppl=5.87, tokens=2_212_000, num_books=2),
                              run("ex3/3", best_valid_ppl=6.43, tokens=2_692_480, num_books=3)],
        "depth, short budget": depth_runs() + conv_runs() + conv_runs(tab="mxnet", gain=0.0),
        "depth, deeper worse": conv_runs(gain=-1.0) + conv_runs(tab="mxnet", stuck4=True),
        "depth, better and worse": edit(conv_runs(), lambda r, c, s: r.update(test_ppl=r["test_ppl"] + 1.0)
                                        if (r["cell"], r["num_layers"]) == ("gru", 3) else None),
        "depth, one seed": [r for r in conv_runs() if r["seed"] == 0],
        "depth, initialisation check": conv_runs() + stuck_lstm3(conv_runs(tab="mxnet"))
        + init_runs("mxnet", "framework") + init_runs("pytorch", "normal", escape=(2_116_800, 1_814_400, None)),
        "depth, two initialisation checks": conv_runs(tab="mxnet") + init_runs("mxnet", "framework")
        + init_runs("mxnet", "framework", layers=2),
        "depth, at the cap": edit(conv_runs(), lambda r, c, s: r.update(stop_reason="cap")
                                  if (r["cell"], r["num_layers"]) == ("gru", 1) else None),
        "ex1": ex1_runs([9.9, 10.2, 10.0], [10.1, 9.8, 10.05])
        + ex1_runs([9.0, 9.05, 9.1], [9.6, 9.65, 9.7], tab="mxnet", speeds=(13_000.0, 13_050.0)),
        "ex1, few seeds": ex1_runs([9.0, 9.1], [9.6, 9.7]) + ex1_runs([9.0], [9.6], tab="mxnet"),
        "ex2, old design": ex2_runs([9.0, 9.05, 9.1], [9.6, 9.65, 9.7])
        + ex2_runs([9.0, 9.4, 9.2], [9.1, 9.3, 9.25], tab="mxnet"),
        "ex2, shared machine": edit(ex2_runs([9.0, 9.05, 9.1], [9.6, 9.65, 9.7]), lambda r, m, s: r.update(
            tokens_per_sec=[20_000.0, 26_000.0, 19_000.0][s]) if m == "lstm" else None),
        "ex2, few seeds": ex2_runs([9.6, 9.7], [9.0, 9.1]),
        "ex2, new design": [dict(r, test_ppl=r["best_valid_ppl"] + 0.1, chosen_epoch=3 + r["seed"], checkpoints=20,
                                 valid_ppl_chosen=r["best_valid_ppl"], budget_tokens=4_480_000)
                            for r in ex2_runs([9.6, 9.65, 9.7], [9.0, 9.05, 9.1])],
        "ex3, tails": edit(ex3_runs(), tails) + edit(ex3_runs(tab="mxnet"), lambda r, c, s: r.update(
            test_ppl=45.0) if (c, s) == ("1", 1) else None),
        "ex3, stuck": stuck_ex3_runs(),
        "ex3, no clear winner": edit(ex3_runs(), close_corpora),
        "ex4": ex4_runs() + ex4_runs(tab="mxnet", austen=(0.7, 0.0)),
        "ex4, tabs agree": ex4_runs() + ex4_runs(tab="mxnet"),
        "ex4, quiet": edit(ex4_runs() + ex4_runs(tab="mxnet"), quiet_doyle),
        "ex4, all signs differ": ex4_runs() + ex4_swapped("mxnet"),
        "ex4, control agrees": edit(ex4_runs(), lambda r, m, s: r.update(ppl_wells=6.6 + [0.05, -0.04, 0.0][s])
                                    if m in ("mixed", "wells-once") else None),
        "ex4, plateau": [dict(r, curves=curve(2 if r["tab"] == "pytorch" else 8))
                         for r in ex4_runs() + ex4_runs(tab="mxnet")],
    }


def stuck_ex3_runs():
    """ex3: one run never left the plateau, one diverged, one tail diverged; the MXNet runs plateau-bound."""
    runs = ex3_runs()
    for r in runs:
        r["curves"] = curve(2)
    next(r for r in runs if r["key"] == "ex3/10k/seed2")["curves"] = curve(10)
    next(r for r in runs if r["key"] == "ex3/2/seed1")["test_ppl"] = 45.0
    next(r for r in runs if r["key"] == "ex3/3/seed1")["heldout_ppl"]["war_of_the_worlds"] = 45.0
    mx = ex3_runs(tab="mxnet")
    for i, r in enumerate(mx):
        r["curves"] = curve(8 if i % 3 else 10)
    return runs + mx


def template_snippets():
    """``{(file, snippet)}`` of every template file, the file named without its language."""
    files = sorted(answers.TEMPLATES.glob("*.md"))
    assert files, answers.TEMPLATES
    return {(f.name.split(".")[0], name) for f in files for name in answers.snippets(*f.name.split(".")[:2])}


def test_every_snippet_is_used_and_every_placeholder_filled(unigram):
    """The words of the cells and of docs/RESULTS.md live in tools/templates/answers/;
    rendering raises KeyError on a placeholder the code does not fill, and a snippet
    (or a whole file) that no outcome reaches is dead text."""
    answers.USED.clear()
    for name, runs in every_outcome().items():
        cells, _ = answers.render(runs)
        for pair in cells.values():
            assert not re.search(r"[{}]", "".join(pair)), name  # nothing left unfilled
    unused = sorted(template_snippets() - answers.USED)
    assert unused == [], f"snippets no outcome reaches (remove them, or add the outcome): {unused}"


def test_both_languages_have_the_same_snippets_and_placeholders():
    import string
    def placeholders(text):
        return sorted({f for _, f, _, _ in string.Formatter().parse(text) if f})
    pairs = 0
    for zh in sorted(answers.TEMPLATES.glob("*.zh.md")):
        name = zh.name.split(".")[0]
        a, b = answers.snippets(name, "zh"), answers.snippets(name, "en")
        assert sorted(a) == sorted(b), name
        for key in a:
            assert placeholders(a[key]) == placeholders(b[key]), (name, key)
        pairs += 1
    assert pairs == len(answers.BUILDERS) + 1  # 04, ex1-ex4 and common
    names = {f.name for f in answers.TEMPLATES.glob("*.md")}
    assert all(re.fullmatch(r"[a-z0-9]+\.(zh|en)\.md", n) for n in names), names
    alone = {n for n in names if {n.replace(".zh.", ".en."), n.replace(".en.", ".zh.")} - names}
    assert alone == {"results.en.md"}  # docs/RESULTS.md is in English only


def test_a_placeholder_the_code_does_not_fill_is_named():
    assert answers.words("04", "init_tab_left", "en", tab="MXNet", left=3, n=3, tokens=1.2, ppl="5.18") == \
        "MXNet 3 of 3 at 1.2 M tokens, test 5.18"
    with pytest.raises(KeyError, match=r"04\.en\.md: \[init_tab_left\] has the placeholder \{ppl\}"):
        answers.words("04", "init_tab_left", "en", tab="MXNet", left=3, n=3, tokens=1.2)
    with pytest.raises(KeyError, match=r"no snippet \[nonsense\]"):
        answers.say("04", "nonsense")


def test_no_function_of_the_generator_is_longer_than_50_lines():
    import ast
    tree = ast.parse((answers.ROOT / "tools" / "answers.py").read_text(encoding="utf-8"))
    lengths = {n.name: n.end_lineno - n.lineno + 1 for n in ast.walk(tree)
               if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))}
    assert len(lengths) > 20  # the parse found the functions
    assert {name: n for name, n in lengths.items() if n > 50} == {}


def test_the_recorded_curves_draw_the_initialisation_check_dash_dotted(unigram):
    study_runs = stuck_lstm3(conv_runs(tab="mxnet"))
    ax = study.plot_conv(study_runs + init_runs("mxnet", "framework"), "mxnet").fig.axes[2]  # LSTM
    checks = [line for line in ax.get_lines() if line.get_linestyle() == "-."]
    assert len(checks) == 3  # one per seed at the chosen rate
    assert "LSTM 3x256, from the framework's default" in ax.get_legend_handles_labels()[1]
    assert len(study.plot_conv(study_runs, "mxnet").fig.axes[2].get_lines()) == \
        len(ax.get_lines()) - 6  # without the check: its 3 curves and 3 dots are gone
