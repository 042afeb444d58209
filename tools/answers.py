"""Write the measured-answer cells of notebooks 04, ex1, ex2, ex3 and ex4, and
docs/RESULTS.md (the long result tables), from the recorded full-mode runs.

    python -m tools.answers                 # rewrite the cells and docs/RESULTS.md
    python -m tools.answers --check         # exit 1 if any of them is stale
    python -m tools.answers --print ex3     # print one notebook's cells
    python -m tools.answers --results FILE  # read FILE, not results/full-mode.json

Each notebook has one zh/en pair of markdown cells tagged ``measured``; this
tool owns them and the whole of docs/RESULTS.md, so never edit them in the
notebook.  The words live in ``tools/templates/answers/``: one file per
notebook and language (``04.zh.md``, ``ex3.en.md``, ...), ``common.<lang>.md``
for what every cell shares and ``results.en.md`` for docs/RESULTS.md.  Each
file is a list of snippets, ``[name]`` and its words, with named placeholders
such as ``{budget:,}``.  To change a sentence, edit the snippet in both
languages and run this tool; this module only computes the numbers, picks the
snippet that fits the outcome and lays out the tables.

The prose says only what the statistics support: a comparison is tested
(Welch, :func:`experiments.study.welch`) only when both groups have at least
``MIN_SEEDS`` seeds; in ex2-ex4 the tests of one question form a stated
family whose p-values are Holm-adjusted (:func:`experiments.stats.holm`)
before anything is called significant; a group holding a run that diverged
or never left the letter-frequency plateau is summarised by its median and
not tested; a tab whose runs spent most of their checkpoints on that plateau
is marked as measuring time to leave it, not the data; "no significant
difference" is never written as "equal"; and a tab without runs of the
current design says so instead of quoting anything.
``tests/test_answers.py`` checks the committed cells and docs/RESULTS.md
against the committed JSON, that every snippet is used and filled, and that
no function here is longer than 50 lines; ``tests/test_quoted_numbers.py``
checks every number they quote.
"""
import argparse
import functools
import math
import re
import statistics
import sys
from pathlib import Path

from d2l_helpers import frameworks, results
from experiments import stats, study

ROOT = Path(__file__).resolve().parents[1]

MIN_SEEDS = 3        # fewer seeds: reported, never tested
ALPHA = 0.05         # significance level
UNIFORM = 28         # perplexity of a uniform guess over the 28 characters
# The tabs whose full-mode runs are recorded (results/full-mode.json) and answered;
# a tab of frameworks.NAMES joins once its runs are recorded (JAX: not yet).
MEASURED = ("pytorch", "mxnet")
# Display names from the registry; "frameworks" heads the bullets comparing the measured tabs.
TAB_NAMES = {name: t.title for name, t in frameworks.TABS.items()}
TAB_NAMES["frameworks"] = " / ".join(TAB_NAMES[t] for t in MEASURED)
NOTEBOOKS = {
    "04": "notebooks/04-depth-study.ipynb",
    "ex1": "notebooks/exercises/ex1-two-layer-rnn-scratch.ipynb",
    "ex2": "notebooks/exercises/ex2-gru-vs-lstm.ipynb",
    "ex3": "notebooks/exercises/ex3-more-books.ipynb",
    "ex4": "notebooks/exercises/ex4-mixing-authors.ipynb",
}
RESULTS = Path("docs/RESULTS.md")  # the long tables, generated
BOOKS = {  # novel -> (zh title, en title)
    "time_machine": ("《时间机器》", "*The Time Machine*"),
    "war_of_the_worlds": ("《世界大战》", "*The War of the Worlds*"),
    "invisible_man": ("《隐身人》", "*The Invisible Man*"),
    "doctor_moreau": ("《莫罗博士岛》", "*The Island of Doctor Moreau*"),
    "first_men_in_the_moon": ("《最先登上月球的人》", "*The First Men in the Moon*"),
}


# ------------------------------------------------------------------ the words

TEMPLATES = Path(__file__).resolve().parent / "templates" / "answers"
LANGS = ("zh", "en")
SNIPPET = re.compile(r"^\[([a-z0-9_]+)\]$", re.M)  # a line "[name]" starts a snippet
USED = set()  # (file, snippet) pairs filled so far; tests/test_answers.py checks that all are


@functools.lru_cache(maxsize=None)
def snippets(name, lang):
    """``{snippet: words}`` of ``tools/templates/answers/<name>.<lang>.md``.  A snippet
    runs from its ``[snippet]`` line to the next one, blank lines around it dropped;
    the text before the first one is a comment for whoever edits the file."""
    path = TEMPLATES / f"{name}.{lang}.md"
    parts = SNIPPET.split(path.read_text(encoding="utf-8"))
    names = parts[1::2]
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        raise ValueError(f"{path}: snippet(s) defined twice: {', '.join(twice)}")
    return {n: text.strip("\n") for n, text in zip(names, parts[2::2])}


def words(name, key, lang, /, **values):
    """Snippet ``key`` of ``<name>.<lang>.md`` with its placeholders filled from
    ``values``; a (zh, en) tuple value gives each language its own text."""
    path = TEMPLATES / f"{name}.{lang}.md"
    text = snippets(name, lang).get(key)
    if text is None:
        raise KeyError(f"{path}: no snippet [{key}]")
    own = {k: v[LANGS.index(lang)] if isinstance(v, tuple) else v for k, v in values.items()}
    try:
        filled = text.format_map(own)
    except KeyError as e:
        raise KeyError(f"{path}: [{key}] has the placeholder {{{e.args[0]}}}, which the code does not fill "
                       f"(it fills: {', '.join(sorted(own)) or 'nothing'})") from None
    USED.add((name, key))
    return filled


def say(name, key, /, **values):
    """The (zh, en) pair of snippet ``key`` of notebook ``name``'s templates (see :func:`words`)."""
    return tuple(words(name, key, lang, **values) for lang in LANGS)


def join(pairs, sep=("；", "; ")):
    """Join (zh, en) pairs into one (zh, en) pair; a plain string is the same in both."""
    pairs = [p if isinstance(p, tuple) else (p, p) for p in pairs]
    return tuple(s.join(p[i] for p in pairs) for i, s in enumerate(sep))


def listing(items):
    """A list of names: 'a、b' in Chinese, 'a, b' in English."""
    return join(items, ("、", ", "))


HEAD = say("common", "heading")  # the heading of every generated cell
NOTE = say("common", "note")     # once per ex2-ex4 cell: "no significant difference" is not "equal"


# ------------------------------------------------------------------ numbers

def full_runs(runs):
    """Runs measured in full mode (quick-mode and class-mode runs left out)."""
    return [r for r in runs if not r.get("quick_mode")
            and r.get("mode", "full") == "full"]


def seeded(runs, prefix, field):
    """``{group: [run, ...]}`` of the runs keyed ``<prefix><group>/seed<n>``
    that recorded ``field`` (the current designs)."""
    out = {}
    for r in runs:
        m = re.fullmatch(re.escape(prefix) + r"(.+)/seed\d+", r.get("key", ""))
        if m and field in r:
            out.setdefault(m.group(1), []).append(r)
    return out


def values(group, field):
    """``field`` of every run of ``group``; ``a.b`` reads a nested dict."""
    out = []
    for r in group:
        v = r
        for part in field.split("."):
            v = v[part]
        out.append(float(v))
    return out


def ms(xs, spec=".2f"):
    """'m ± sd' as a (zh, en) pair of strings; one value has no sd."""
    m, sd = study.mean_sd(xs)
    if len(xs) < 2:
        return say("common", "one_seed", mean=f"{m:{spec}}")
    return (f"{m:{spec}} ± {sd:{spec}}",) * 2


def seeds(n):
    """'n seed(s)' as a (zh, en) pair."""
    return say("common", "seeds_one" if n == 1 else "seeds_many", n=n)


def span(runs, field):
    """'a–b': the smallest and largest (integer) ``field`` of ``runs``; 'a' when they agree."""
    xs = sorted({int(r[field]) for r in runs})
    return f"{xs[0]}" if len(xs) == 1 else f"{xs[0]}–{xs[-1]}"


def test(a, b):
    """Welch's test of mean(a) - mean(b), or None with fewer than MIN_SEEDS."""
    if len(a) < MIN_SEEDS or len(b) < MIN_SEEDS:
        return None
    return study.welch(a, b)


def _p(w):
    if w["p"] < 0.01:
        return "p < 0.01"
    p = f"{w['p']:.2f}"
    return f"p = {w['p']:.3f}" if p == f"{ALPHA:.2f}" else f"p = {p}"  # 0.05 needs a third digit


def few_seeds():
    return say("common", "few_seeds", min_seeds=MIN_SEEDS)


def difference(w, p):
    """'difference, 95% CI, p' as a (zh, en) pair; ``p`` is the p-value as written."""
    lo, hi = w["ci"]
    return say("common", "difference", diff=w["diff"], lo=lo, hi=hi, p=p)


def verdict(w, subject):
    """A clause on how ``subject`` (a (zh, en) pair, the first group of the
    test) compares: significantly lower/higher, or no significant difference
    (which is not 'equal'); ``("", "")`` when there was no test."""
    if w is None:
        return "", ""
    if w["p"] >= ALPHA:
        return say("common", "not_equal")
    return say("common", "lower" if w["diff"] < 0 else "higher", subject=subject)


def tested(w, subject):
    """The difference and, where there was a test, its verdict after a colon."""
    if w is None:
        return few_seeds()
    return join([difference(w, _p(w)), verdict(w, subject)], ("：", ": "))


def device_of(runs):
    devices = sorted({r.get("device", "?") for r in runs})
    return ", ".join(devices)


# ------------------------------------------------------------------ cells

def spaced(zh):
    """A space between Chinese characters and Latin letters or digits, as
    the notebooks write them ("3 本书对 1 本书")."""
    zh = re.sub(r"([\u4e00-\u9fff])([0-9A-Za-z])", r"\1 \2", zh)
    return re.sub(r"([0-9A-Za-z])([\u4e00-\u9fff])", r"\1 \2", zh)


def intro(table):
    """The first line of every generated cell: where it comes from, and
    where its long table (``table``, a (zh, en) description) is."""
    return say("common", "intro", table=table)


def cell_text(head, sections):
    """The zh and en cell: heading, the ``head`` pair (see :func:`intro`),
    then per tab a bold label, its bullets and its answer."""
    heading, out = say("common", "heading"), []
    for lang in (0, 1):
        parts = [heading[lang], "", head[lang]]
        for tab, bullets, answer in sections:
            parts += ["", f"**{TAB_NAMES.get(tab, tab)}**", ""]
            parts += [f"* {b[lang]}" for b in bullets]
            if answer:
                parts += ["", answer[lang]]
        out.append("\n".join(parts).strip() + "\n")
    return spaced(out[0].strip("\n")), out[1].strip("\n")


def result_words(key, /, **values):
    """Snippet ``key`` of ``results.en.md`` (docs/RESULTS.md is in English only)."""
    return words("results", key, "en", **values)


def tab_heading(key, tab):
    return result_words(key, tab=TAB_NAMES.get(tab, tab))


# ------------------------------------------------------------------ 04: depth

def depth_sections(runs):
    """Notebook 04: one table of the study at convergence with a column per
    tab, then per tab its conditions and answer, then the first study's short
    budget as a contrast."""
    per_tab, sections, readme = {}, [], []
    for tab in MEASURED:
        rows = study.conv_summary(runs, tab)
        if not rows:
            sections.append((tab, [say("04", "not_measured")], None))
            continue
        groups = {r["config"]: r["runs"] for r in rows}
        marks, answer = conv_depth(groups)
        per_tab[tab] = (groups, marks)
        sections.append((tab, [conv_conditions(runs, tab, rows)], answer))
        readme.append(tab_heading("depth_heading", tab) + "\n\n" + study.conv_markdown(rows))
    checks, readme_checks = depth_init_check(runs)
    bullets = [b for b in (depth_short_budget(runs), checks) if b]
    if bullets:
        sections.append(("frameworks", bullets, None))
    return cell_text(depth_head(runs, per_tab), sections), readme + readme_checks


def depth_head(runs, per_tab):
    """The first paragraph of notebook 04's cell (source, stopping rule, legend), then its table."""
    common = dict(intro=intro(say("04", "table")), legend=say("04", "legend"), note=say("common", "note"))
    head = say("04", "head", **common)
    if not per_tab:
        return tuple(h + "\n\n" for h in head)  # no table yet
    return tuple(f"{h}\n\n{t}" for h, t in zip(head, conv_table(per_tab)))


def conv_table(per_tab):
    """The (zh, en) markdown table: a row per configuration, a column per tab."""
    tabs = [t for t in MEASURED]
    configs = [(c, L, study.NUM_HIDDENS, 0.0) for c in study.CELLS for L in study.DEPTHS]
    configs += [study.WIDE + (0.0,), study.DROPOUT_ROW[0] + (study.DROPOUT_ROW[1],)]
    configs = [c for c in configs if any(c in per_tab[t][0] for t in per_tab)]
    out, config = [], say("04", "configuration")
    for lang in (0, 1):
        lines = [f"| {config[lang]} | " + " | ".join(TAB_NAMES[t] for t in tabs) + " |",
                 "|" + " --- |" * (len(tabs) + 1)]
        for c in configs:
            cells = []
            for t in tabs:
                groups, marks = per_tab.get(t, ({}, {}))
                if c not in groups:
                    cells.append("—")
                    continue
                if any(stuck(r, "test_ppl") for r in groups[c]):
                    cells.append(stuck_cell(groups[c])[lang])  # a median, and no test
                    continue
                mark = marks.get(c)
                wrap = ("（{}）", " ({})")[lang]  # Chinese text takes full-width brackets
                cells.append(summary(groups[c], "test_ppl")[lang] + (wrap.format(mark[lang]) if mark else ""))
            lines.append(f"| {conv_label(c)[lang]} | " + " | ".join(cells) + " |")
        out.append("\n".join(lines))
    return tuple(out)


def stuck_cell(runs):
    """A table cell for a group with a diverged run or one that never left the
    plateau: the median, how many runs, and that it was not tested (short: the
    conditions below name the group)."""
    bad, most = stuck_runs(runs, "test_ppl")
    kind = say("04", "cell_plateau") if most == "plateau" else say("common", "diverged")
    return say("04", "stuck_cell", median=statistics.median(values(runs, "test_ppl")), bad=len(bad),
               n=len(runs), kind=kind)


def conv_label(config):
    cell, L, h, drop = config
    if drop:
        key = "label_dropout"
    elif h != study.NUM_HIDDENS:
        key = "label_wide"
    else:
        key = "label_layers" if L > 1 else "label_layer"
    return say("04", key, cell=cell.upper(), layers=L, hiddens=h, dropout=drop)


def conv_conditions(runs, tab, rows):
    every = study.conv_runs(runs, tab)
    chosen = [r for row in rows for r in row["runs"]]
    early = sum(r["stop_reason"] == "patience" or r["chosen_epoch"] < r["checkpoints"] for r in chosen)
    precision = {}
    for r in every:
        precision.setdefault(r.get("precision", "fp32"), set()).add(r["cell"].upper())
    precision = [say("04", "precision", precision=d, cells=listing(sorted(cs)))
                 for d, cs in sorted(precision.items())]
    flat = [row["name"] for row in rows if any(stuck(r, "test_ppl") for r in row["runs"])]
    last = [row["name"] for row in rows if row["name"] not in flat and any(
        r["stop_reason"] != "patience" and r["chosen_epoch"] == r["checkpoints"] for r in row["runs"])]
    parts = ([say("04", "never_left", names=listing(flat))] if flat else []) + \
            ([say("04", "still_improving", names=listing(last))] if last else [])
    limit = join(parts, ("", "")) if parts else ""
    return say("04", "conditions", runs=len(every), precisions=listing(precision),
               device=device_of(every).removeprefix("CPU: "), chosen=len(chosen), early=early, limit=limit)


def conv_depth(groups):
    """The marks of the table (difference and Holm p of each deeper model
    against one layer, within its cell; width and dropout alone), and the answer."""
    marks, better, worse = {}, [], []
    for cell in study.CELLS:
        base = groups.get((cell, 1, study.NUM_HIDDENS, 0.0))
        deeper = [(L, groups[(cell, L, study.NUM_HIDDENS, 0.0)]) for L in study.DEPTHS[1:]
                  if (cell, L, study.NUM_HIDDENS, 0.0) in groups]
        if not base:
            continue
        family = holm([htest(rs, base, "test_ppl") for _, rs in deeper])
        for (L, rs), w in zip(deeper, family):
            marks[(cell, L, study.NUM_HIDDENS, 0.0)] = mark(w)
            if significant(w):
                (better if w["diff"] < 0 else worse).append(f"{cell.upper()} {L}")
    for a in (study.WIDE + (0.0,), study.DROPOUT_ROW[0] + (study.DROPOUT_ROW[1],)):
        b = ("lstm", 2, study.NUM_HIDDENS, 0.0)
        if a in groups and b in groups:
            marks[a] = mark(holm([htest(groups[a], groups[b], "test_ppl")])[0])
    return marks, depth_answer(better, worse, tested_any_test(groups))


def depth_answer(better, worse, tested_any):
    """Notebook 04's answer: the deeper configurations significantly better and worse than one layer."""
    if better:
        also = say("04", "also_worse", worse=listing(worse)) if worse else ""
        return say("04", "answer_better", better=listing(better), worse=also)
    if not tested_any:
        return say("04", "answer_untested", min_seeds=MIN_SEEDS)
    if worse:
        return say("04", "answer_worse", worse=listing(worse))
    return say("04", "answer_none")


def mark(w):
    """'-0.27, p < 0.01 ↓' (Holm-adjusted), or why there is no test, as a (zh, en) pair."""
    if "p_holm" not in w:
        return w["why"]
    p = w["p_holm"]
    ptxt = "p < 0.01" if p < 0.01 else (f"p = {p:.3f}" if f"{p:.2f}" == f"{ALPHA:.2f}" else f"p = {p:.2f}")
    arrow = (" ↓" if w["diff"] < 0 else " ↑") if significant(w) else ""
    t = f"{w['diff']:+.2f}, {ptxt}{arrow}"
    return t.replace(", ", "，"), t


def tested_any_test(groups):
    """Whether any deeper configuration and its 1-layer base both have MIN_SEEDS seeds."""
    return any(len(rs) >= MIN_SEEDS and len(groups.get((c, 1, h, d), [])) >= MIN_SEEDS
               for (c, L, h, d), rs in groups.items() if L > 1 and h == study.NUM_HIDDENS and not d)


def depth_short_budget(runs):
    """The first study (201,600 tokens per run) against the study at
    convergence: how many 2-4-layer gated runs ended on the plateau then."""
    unigram = study.unigram_baseline()[1]
    short = [r for tab in MEASURED for r in study.runs_from(runs, tab)
             if r["cell"] != "rnn" and r["num_layers"] > 1 and r["num_hiddens"] == study.NUM_HIDDENS]
    if not short:
        return None
    flat = sum(abs(r["test_ppl"] - unigram) <= 0.01 * unigram for r in short)
    return say("04", "short_budget", budget=short[0]["budget_tokens"], runs=len(short), flat=flat,
               unigram=unigram)


def start_of(tab, init):
    """"normal" or "framework": where a run of ``tab`` recorded with start
    ``init`` began (the study's own runs, "default", where that tab's train_ch8 starts)."""
    return frameworks.TABS[tab].train_start if init == "default" else init


def start_name(tab, init):
    """How the answer names the start ``init`` of a run of ``tab``."""
    return say("04", "start_normal") if start_of(tab, init) == "normal" else \
        say("04", "start_framework", tab=TAB_NAMES[tab])


def init_groups(runs):
    """``{config: {start: {tab: [run, ...]}}}``: every configuration of the
    initialisation check (``depth-conv-init-<init>/``), its runs from each
    start ("normal", "framework") in each tab, the study's own runs included."""
    out = {}
    for tab in MEASURED:
        own = {r["config"]: r["runs"] for r in study.conv_summary(runs, tab)}
        for init in study.INITS[1:]:
            for row in study.conv_summary(runs, tab, init):
                if row["config"] in own:
                    starts = out.setdefault(row["config"], {})
                    starts.setdefault(start_of(tab, init), {})[tab] = row["runs"]
                    starts.setdefault(start_of(tab, "default"), {})[tab] = own[row["config"]]
    return out


def left(runs):
    return [r for r in runs if r.get("escape_tokens") is not None]


def start_tabs(by_tab):
    """'PyTorch 3 of 3 at 1.2 M tokens, test 5.19 ± 0.03; MXNet 0 of 3' for one start."""
    items = []
    for tab, rs in by_tab.items():
        out = left(rs)
        key = "init_tab" if not out else "init_tab_left"
        tokens = statistics.median(r["escape_tokens"] for r in out) / 1e6 if out else 0
        items.append(say("04", key, tab=TAB_NAMES[tab], left=len(out), n=len(rs), tokens=tokens,
                         ppl=summary(rs, "test_ppl") if out else ""))
    return join(items)


def depth_init_check(runs):
    """The initialisation check at convergence: per configuration, how many
    runs left the letter-frequency plateau from N(0, 0.01^2) and from the
    frameworks' own initializers (every tab pooled; Fisher's exact test,
    Holm-adjusted over the configurations).  Returns the bullet ((zh, en)
    pair, or None) and the docs/RESULTS.md tables of the check's runs."""
    readme = [result_words("init_heading", tab=TAB_NAMES[tab], start=start_name(tab, init)[1])
              + "\n\n" + study.conv_markdown(rows)
              for tab in MEASURED for init in study.INITS[1:]
              if (rows := study.conv_summary(runs, tab, init))]
    groups = {c: g for c, g in init_groups(runs).items() if len(g) == 2}
    if not groups:
        return None, readme
    pooled = {c: [sum(g[s].values(), []) for s in ("normal", "framework")] for c, g in groups.items()}
    counts = {c: [(len(left(rs)), len(rs)) for rs in starts] for c, starts in pooled.items()}
    ps = stats.holm([study.fisher_exact(*a, *b) for a, b in counts.values()])
    items = [say("04", "init_item", name=study.conv_name(*c), normal_left=a[0], normal_n=a[1],
                 normal_tabs=start_tabs(groups[c]["normal"]), framework_left=b[0], framework_n=b[1],
                 framework_tabs=start_tabs(groups[c]["framework"]),
                 p=_p(dict(p=p)))
             for (c, (a, b)), p in zip(counts.items(), ps)]
    key = "init_check_holm" if len(items) > 1 else "init_check"
    return say("04", key, items=join(items), n=len(items)), readme


def chose_last(runs):
    """How many of ``runs`` chose their last checkpoint (still improving when the budget ran out)."""
    return sum(r["chosen_epoch"] == r["checkpoints"] for r in runs)


# ------------------------------------------------------------------ ex1

def ex1_sections(runs):
    sections, readme = [], []
    for tab in MEASURED:
        g = seeded([r for r in runs if r.get("tab") == tab], "ex1/", "test_ppl")
        if not {"scratch", "concise"} <= set(g):
            sections.append((tab, [say("ex1", "not_measured")], None))
            continue
        sections.append((tab, *ex1_tab(tab, g)))
        readme.append(ex1_readme(tab, g))
    return cell_text(intro(say("ex1", "table")), sections), readme


def ex1_tab(tab, g):
    """Bullets (conditions, accuracy, validation curve, speed) and answer of one tab."""
    sc, co = g["scratch"], g["concise"]
    a, b = values(sc, "test_ppl"), values(co, "test_ppl")
    w = test(a, b)
    n = min(len(sc), len(co))
    start = say("ex1", "same_start" if tab == "pytorch" else "fresh_start")
    bullets = [
        say("ex1", "conditions", seeds=seeds(n), budget=sc[0]["budget_tokens"], lr=sc[0]["lr"], start=start,
            device=device_of(sc + co)),
        say("ex1", "accuracy", scratch=ms(a), builtin=ms(b), test=tested(w, say("ex1", "scratch"))),
        ex1_curve(g), ex1_speed(sc, co)]
    return bullets, say("ex1", "answer", accuracy=ex1_accuracy(w))


def ex1_curve(g):
    sc, co = g["scratch"], g["concise"]
    train = {k: study.mean_sd(values(g[k], "final_train_ppl"))[0] for k in ("scratch", "concise")}
    valid = {k: ms(values(g[k], "final_valid_ppl")) for k in ("scratch", "concise")}
    return say("ex1", "curve", scratch=span(sc, "chosen_epoch"), builtin=span(co, "chosen_epoch"),
               checkpoints=sc[0]["checkpoints"], train_scratch=train["scratch"], train_builtin=train["concise"],
               valid_scratch=valid["scratch"], valid_builtin=valid["concise"])


def ex1_speed(sc, co):
    """Tokens per second of both implementations and their ratio, with a test of built-in minus scratch."""
    sa, sb = values(sc, "tokens_per_sec"), values(co, "tokens_per_sec")
    ws = test(sb, sa)
    ma, mb = study.mean_sd(sa)[0], study.mean_sd(sb)[0]
    if ws is None:
        how = say("ex1", "faster_untested")
    else:
        how = say("ex1", "faster_significant" if ws["p"] < ALPHA else "faster_not_significant", p=_p(ws))
    return say("ex1", "speed", scratch=ma, builtin=mb, ratio=mb / ma, how=how,
               faster=say("ex1", "builtin" if mb > ma else "scratch"))


def ex1_accuracy(w):
    """The answer's clause on accuracy: untested, no significant difference, or which is lower."""
    if w is None:
        return say("ex1", "accuracy_untested")
    if w["p"] >= ALPHA:
        return say("ex1", "accuracy_same")
    return verdict(w, say("ex1", "scratch_ppl"))


def ex1_readme(tab, g):
    lines = [tab_heading("ex1_heading", tab), "", result_words("ex1_columns"),
             "| --- | --- | --- | --- | --- | --- | --- | --- |"]
    for k in ("scratch", "concise"):
        rs = g[k]
        lines.append(
            f"| {result_words('ex1_' + k)} | {len(rs)} | {study.mean_sd(values(rs, 'final_train_ppl'))[0]:.2f} | "
            f"{ms(values(rs, 'test_ppl'))[1]} | {', '.join(str(int(r['chosen_epoch'])) for r in rs)} | "
            f"{ms(values(rs, 'final_valid_ppl'))[1]} | {ms(values(rs, 'tokens_per_sec'), ',.0f')[1]} | "
            f"{minutes(rs)} |")
    return "\n".join(lines)


def minutes(runs):
    """The mean wall time of ``runs`` in minutes, for docs/RESULTS.md."""
    return result_words("minutes", minutes=study.mean_sd(values(runs, "wall_time_s"))[0] / 60)


# ------------------------------------------------------------------ ex2-ex4: families and the plateau

ESCAPE = study.PLATEAU_SHARE  # a run leaves the letter-frequency plateau at its first checkpoint whose
#                               validation perplexity is below ESCAPE x the unigram model's (as the depth study)


@functools.lru_cache(maxsize=None)
def valid_unigram():
    """Validation perplexity of the unigram (letter-frequency) model of *The Time Machine*."""
    return study.unigram_baseline()[0]


def on_plateau(run):
    """``(k, n)``: ``k`` of the run's ``n`` checkpoints came before it left the plateau
    (``k == n``: it never did), read from its recorded validation curve; None without one."""
    curve = [x for x in run.get("curves", {}).get("valid_ppl", []) if x == x]
    if not curve:
        return None
    limit = ESCAPE * valid_unigram()
    return next((i for i, x in enumerate(curve) if x < limit), len(curve)), len(curve)


def reported(field):
    """Is ``field`` a held-out perplexity at the chosen checkpoint (where a stuck run matters)?"""
    return field in ("test_ppl", "best_valid_ppl") or field.startswith(("heldout_ppl.", "ppl_"))


def stuck(run, field):
    """For a :func:`reported` ``field``: 'diverged' (above the uniform guess), 'plateau'
    (the run never left the letter-frequency plateau) or None; None for any other field."""
    if not reported(field):
        return None
    if values([run], field)[0] > UNIFORM:
        return "diverged"
    k = on_plateau(run)
    return "plateau" if k and k[0] == k[1] else None


def stuck_runs(runs, field):
    """How each stuck run of ``runs`` is stuck ('diverged' or 'plateau'), and the commonest of these (None: none is)."""
    bad = [s for s in (stuck(r, field) for r in runs) if s]
    return bad, (max(set(bad), key=bad.count) if bad else None)


def summary(runs, field):
    """'mean ± sd' as a (zh, en) pair; where a run diverged or never left the
    plateau, the median and how many runs did so instead (a mean means nothing there)."""
    bad, most = stuck_runs(runs, field)
    if not bad:
        return ms(values(runs, field))
    kind = say("common", most)  # the snippet [diverged] or [plateau]
    return say("common", "median", median=statistics.median(values(runs, field)), n=len(runs), bad=len(bad),
               kind=kind)


def center(runs, field):
    """The mean of ``field`` over ``runs``, or the median where a run is stuck (see :func:`summary`)."""
    xs = values(runs, field)
    if any(stuck(r, field) for r in runs):
        return statistics.median(xs)
    return study.mean_sd(xs)[0]


def htest(a, b, field):
    """Welch's test of ``field`` between the groups of runs ``a`` and ``b``; a dict
    without ``p`` (and with the reason) when too few seeds or a stuck run forbid it."""
    if any(stuck(r, field) for r in a + b):
        return dict(why=say("common", "stuck_not_tested"))
    w = test(values(a, field), values(b, field))
    return w or dict(why=few_seeds())


def holm(family):
    """Holm-adjust a family of :func:`htest` results in place (``p_holm``); returns it."""
    for w, p in zip(family, stats.holm([w.get("p", float("nan")) for w in family])):
        if "p" in w:
            w["p_holm"] = p
    return family


def significant(w):
    return "p_holm" in w and w["p_holm"] < ALPHA


def _ph(w):
    p = w["p_holm"]
    if p < 0.01:
        return "Holm p < 0.01"
    return f"Holm p = {p:.3f}" if f"{p:.2f}" == f"{ALPHA:.2f}" else f"Holm p = {p:.2f}"


def _at_least(ps):
    """'Holm p ≥ x' for a group of adjusted p-values ('Holm p = x' when they are all x)."""
    ps = [f"{p:.2f}" for p in ps] or ["1.00"]
    return f"Holm p = {ps[0]}" if len(set(ps)) == 1 else f"Holm p ≥ {min(ps)}"


def htxt(w, subject, ci=True):
    """'difference, 95% CI, Holm p: verdict' as a (zh, en) pair (the reason if untested);
    ``ci=False`` leaves the interval out (it is in docs/RESULTS.md)."""
    if "p_holm" not in w:
        return w["why"]
    if not significant(w):
        v = say("common", "no_difference")
    else:
        v = say("common", "lower" if w["diff"] < 0 else "higher", subject=subject)
    d = difference(w, _ph(w)) if ci else say("common", "difference_short", diff=w["diff"], p=_ph(w))
    return join([d, v], ("：", ": "))


def plateau_share(runs):
    """``(median k, n)`` over the runs with a curve of the longest length n, or None."""
    ks = [k for k in map(on_plateau, runs) if k]
    if not ks:
        return None
    n = max(k[1] for k in ks)
    return statistics.median(k[0] for k in ks if k[1] == n), n


def plateau_bound(runs):
    """True when the median run spent more than half of its checkpoints on the plateau."""
    share = plateau_share(runs)
    return bool(share) and share[0] > share[1] / 2


def checkpoints(share):
    """'k of n' (checkpoints) as a (zh, en) pair."""
    k, n = share
    return say("common", "checkpoints", k=k, n=n)


def plateau_bullet(runs, last):
    """The warning of a plateau-bound tab: its numbers measure time to leave the plateau."""
    never = sum(k[0] == k[1] for k in map(on_plateau, runs) if k)
    return say("common", "plateau_bound", share=checkpoints(plateau_share(runs)), n=len(runs), last=last,
               never=say("common", "never_left", never=never) if never else "")


def budget_bullet(runs, last):
    """Budget and plateau of a tab whose runs did leave the plateau."""
    share = plateau_share(runs)
    plateau = say("common", "budget_plateau", share=checkpoints(share)) if share else ""
    return say("common", "budget_still_falling" if last else "budget", n=len(runs), last=last, plateau=plateau)


def frameworks_plateau(runs, prefix, field):
    """One bullet where both tabs have runs and exactly one is plateau-bound."""
    share, bound = {}, {}
    for tab in MEASURED:
        rs = [r for v in seeded([r for r in runs if r.get("tab") == tab], prefix, field).values() for r in v]
        share[tab], bound[tab] = plateau_share(rs), plateau_bound(rs)
    if not all(share.values()) or len(set(bound.values())) < 2:
        return None
    return say("common", "two_starts", pytorch=checkpoints(share["pytorch"]), mxnet=checkpoints(share["mxnet"]))


def head_text(table, family, extra=""):
    """The first paragraph of an ex2-ex4 cell: source, ``extra``, the families of tests
    (a (zh, en) description) and the note on "no significant difference"."""
    return say("common", "head_extra" if extra else "head", intro=intro(table), extra=extra,
               families=say("common", "families", families=family), note=say("common", "note"))


def comparisons_md(rows):
    """A markdown table of tests: ``rows`` of (name, :func:`htest` result)."""
    lines = [result_words("comparisons"), "| --- | --- | --- | --- | --- |"]
    for name, w in rows:
        if "p_holm" in w:
            ci = result_words("interval", lo=w["ci"][0], hi=w["ci"][1])
            lines.append(f"| {name} | {w['diff']:+.2f} | {ci} | {w['p']:.3f} | {w['p_holm']:.3f} |")
        else:
            lines.append(f"| {name} | {w['why'][1]} | | | |")
    return "\n".join(lines)


# ------------------------------------------------------------------ ex2

def ex2_sections(runs):
    sections, readme = [], []
    for tab in MEASURED:
        g = seeded([r for r in runs if r.get("tab") == tab], "ex2/", "best_valid_ppl")
        if not {"gru", "lstm"} <= set(g):
            sections.append((tab, [say("ex2", "not_measured")], None))
            continue
        held_out = "test_ppl" if all("test_ppl" in r for r in g["gru"] + g["lstm"]) else "best_valid_ppl"
        sections.append((tab, *ex2_tab(g, held_out)))
        readme.append(ex2_readme(tab, g, held_out))
    g = seeded(runs, "ex2/", "num_params")
    params = (say("ex2", "parameters", lstm=int(g["lstm"][0]["num_params"]), gru=int(g["gru"][0]["num_params"]))
              if {"gru", "lstm"} <= set(g) else "")
    return cell_text(head_text(say("ex2", "table"), say("ex2", "families"), params), sections), readme


def ex2_tab(g, held_out):
    """Bullets and answer of one tab: the family is its accuracy and speed tests."""
    both = g["gru"] + g["lstm"]
    acc, speed = holm([htest(g["gru"], g["lstm"], held_out), htest(g["gru"], g["lstm"], "tokens_per_sec")])
    n = min(len(g["gru"]), len(g["lstm"]))
    if held_out == "test_ppl":
        size = say("ex2", "size_tokens", budget=both[0]["budget_tokens"])
    else:
        size = say("ex2", "size_epochs", epochs=max(r["epochs"] for r in both))
    bullets = [
        say("ex2", "conditions", seeds=seeds(n), size=size, device=device_of(g["gru"]),
            how=say("ex2", "held_out_test" if held_out == "test_ppl" else "held_out_valid")),
        say("ex2", "accuracy", gru=summary(g["gru"], held_out), lstm=summary(g["lstm"], held_out),
            test=htxt(acc, say("ex2", "gru"))),
        ex2_curve(g, held_out), ex2_speed(g, speed)]
    if significant(acc):
        v = say("common", "lower" if acc["diff"] < 0 else "higher", subject=say("ex2", "gru_ppl"))
    elif "p_holm" in acc:
        v = say("ex2", "accuracy_same", n=n)
    else:
        v = say("ex2", "accuracy_untested")
    return bullets, say("ex2", "answer", verdict=v)


def ex2_curve(g, held_out):
    both = g["gru"] + g["lstm"]
    at = "chosen_epoch" if held_out == "test_ppl" else "best_valid_epoch"
    where = dict(gru=span(g["gru"], at), lstm=span(g["lstm"], at))
    if held_out == "test_ppl":
        where = say("ex2", "lowest_at_checkpoint", checkpoints=both[0]["checkpoints"], **where)
    else:
        where = say("ex2", "lowest_at_epoch", **where)
    valid = {k: summary(g[k], "final_valid_ppl") for k in ("gru", "lstm")}
    train = {k: study.mean_sd(values(g[k], "final_train_ppl"))[0] for k in ("gru", "lstm")}
    rises = all(a > b for k in ("gru", "lstm") for a, b in zip(
        values(g[k], "final_valid_ppl"), values(g[k], "valid_ppl_chosen" if held_out == "test_ppl" else "best_valid_ppl")))
    return say("ex2", "curve", where=where, rises=say("ex2", "rises") if rises else "",
               valid_gru=valid["gru"], valid_lstm=valid["lstm"], train_gru=train["gru"], train_lstm=train["lstm"])


def ex2_speed(g, w):
    """The speed bullet; a wide spread between seeds of one model is named as a shared CPU."""
    sg, sl = values(g["gru"], "tokens_per_sec"), values(g["lstm"], "tokens_per_sec")
    mg, ml = study.mean_sd(sg)[0], study.mean_sd(sl)[0]
    if significant(w):
        how = say("ex2", "faster_significant", p=_ph(w))
    elif "p_holm" in w:
        how = say("ex2", "faster_not_significant", p=_ph(w))
    else:
        how = say("ex2", "faster_untested")
    spread = max(max(xs) / min(xs) for xs in (sg, sl))
    rough = say("ex2", "shared_machine", spread=spread) if spread > 1.15 else say("ex2", "ratio_varies")
    return say("ex2", "speed", gru=mg, lstm=ml, faster="GRU" if mg > ml else "LSTM", how=how, spread=rough)


def ex2_readme(tab, g, held_out):
    at = "chosen_epoch" if held_out == "test_ppl" else "best_valid_epoch"
    lines = [tab_heading("ex2_heading", tab), "",
             result_words("ex2_columns", held_out=result_words(f"ex2_{held_out}"), at=result_words(f"ex2_{at}")),
             "| --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
    for k in ("lstm", "gru"):
        rs = g[k]
        lines.append(
            f"| {k.upper()} | {int(rs[0].get('num_params', 0)):,} | {len(rs)} | "
            f"{study.mean_sd(values(rs, 'final_train_ppl'))[0]:.2f} | {ms(values(rs, held_out))[1]} | "
            f"{', '.join(str(int(r[at])) for r in rs)} | {ms(values(rs, 'final_valid_ppl'))[1]} | "
            f"{ms(values(rs, 'tokens_per_sec'), ',.0f')[1]} | {minutes(rs)} |")
    family = holm([htest(g["gru"], g["lstm"], held_out), htest(g["gru"], g["lstm"], "tokens_per_sec")])
    names = (result_words("ex2_accuracy", held_out=held_out), result_words("ex2_speed"))
    return "\n".join(lines) + "\n\n" + comparisons_md(zip(names, family))


# ------------------------------------------------------------------ ex3

def corpus_name(key):
    if key == "10k":
        return say("ex3", "corpus_10k")
    n = int(key)
    return say("ex3", "corpus_books" if n > 1 else "corpus_book", n=n)


def ex3_old(rs):
    """One bullet on the old design's single-seed runs, labelled as such."""
    old = sorted((r for r in rs if re.fullmatch(r"ex3/[^/]+", r["key"]) and "tokens" in r
                  and r.get("num_books", 0) >= 2), key=lambda r: r["tokens"])
    if len(old) < 2:
        return []
    ppl = [r["best_valid_ppl"] for r in old]
    follows = all(a > b for a, b in zip(ppl, ppl[1:]))
    ranks = [say("ex3", "old_rank", books=r["num_books"], ppl=r["best_valid_ppl"]) for r in old]
    return [say("ex3", "old", tokens=listing([f"{r['tokens']:,}" for r in old]), ranks=join(ranks, ("，", ", ")),
                why=say("ex3", "old_artifact" if follows else "old_noise"))]


def ex3_sections(runs):
    sections, readme = [], []
    for tab in MEASURED:
        rs = [r for r in runs if r.get("tab") == tab]
        g = seeded(rs, "ex3/", "test_ppl")
        if not g:
            sections.append((tab, [say("ex3", "not_measured")] + ex3_old(rs), None))
            continue
        order = sorted(g, key=lambda k: (k != "10k", int(k) if k != "10k" else 0))
        sections.append((tab, ex3_tab(g, order), None))
        readme.append(ex3_readme(tab, g, order))
    both = frameworks_plateau(runs, "ex3/", "test_ppl")
    if both:
        sections.append(("frameworks", [both], None))
    return cell_text(head_text(say("ex3", "table"), ex3_families(runs)), sections), readme


def ex3_tab(g, order):
    """At most 5 bullets: conditions, the plateau where it binds, the corpora, the tails, the budget."""
    every = [r for k in order for r in g[k]]
    n, last = min(len(g[k]) for k in order), chose_last(every)
    lowest = ex3_lowest(g, order)
    tails = ex3_tails(g, order[-1])
    bullets = [say("ex3", "conditions", corpora=len(order), seeds=seeds(n), budget=every[0]["budget_tokens"],
                   device=device_of(every))]
    bound = plateau_bound(every)
    if bound:
        bullets.append(plateau_bullet(every, last))
    bullets += [lowest] + ([tails] if tails else [])
    if not bound:
        bullets.append(budget_bullet(every, last))
    return bullets


def ex3_families(runs):
    """The families of ex3's tests, with their sizes from the first tab that has runs."""
    for tab in MEASURED:
        g = seeded([r for r in runs if r.get("tab") == tab], "ex3/", "test_ppl")
        if g:
            big = max((k for k in g if k != "10k"), key=int, default="1")
            m = len(set.intersection(*(set(r.get("heldout_ppl", {})) for r in g[big] + g.get("1", []))))
            return say("ex3", "families", others=len(g) - 1, big=corpus_name(big), tails=m)
    return say("ex3", "families_unmeasured")


def corpora_family(g, order):
    """``(best, others, family)``: the corpus with the lowest test perplexity, and the others tested against it."""
    best = min(order, key=lambda k: center(g[k], "test_ppl"))
    others = [k for k in order if k != best]
    return best, others, holm([htest(g[k], g[best], "test_ppl") for k in others])


def tails_family(g, big):
    """``(tails, family)``: ``big`` against 1 book on every other novel's tail; None without them."""
    tails = sorted(set.intersection(*(set(r.get("heldout_ppl", {})) for r in g[big] + g.get("1", g[big]))))
    if "1" not in g or big == "1" or not tails:
        return None
    return tails, holm([htest(g[big], g["1"], f"heldout_ppl.{b}") for b in tails])


def ex3_lowest(g, order):
    """The corpus with the lowest mean test perplexity, and the family of the others against it."""
    best, others, family = corpora_family(g, order)
    groups = {"higher": [], "same": [], "untested": []}  # each the name of a snippet
    for k, w in zip(others, family):
        name = corpus_name(k)
        if significant(w) and w["diff"] > 0:
            groups["higher"].append(say("ex3", "higher_item", name=name, diff=w["diff"], p=_ph(w)))
        elif "p_holm" in w:
            groups["same"].append(name)
        else:
            groups["untested"].append(say("ex3", "untested_item", name=name, summary=summary(g[k], "test_ppl")))
    same = _at_least([w["p_holm"] for w in family if "p_holm" in w and not significant(w)])
    parts = [say("ex3", group, items=listing(xs), p=same) for group, xs in groups.items() if xs]
    alone = not groups["same"] and not groups["untested"]
    return say("ex3", "lowest", corpus=corpus_name(best), summary=summary(g[best], "test_ppl"), others=join(parts),
               end=say("ex3", "lowest_alone" if alone else "no_best"))


def ex3_tails(g, big):
    """The largest corpus against 1 book on every other novel's held-out tail: one family."""
    if not tails_family(g, big):
        return None
    tails, family = tails_family(g, big)
    none = not any(significant(x) for x in family) and all("p_holm" in x for x in family)
    items = [ex3_tail(g, big, book, w, none) for book, w in zip(tails, family)]
    anyone = any(stuck(r, f"heldout_ppl.{b}") for b in tails for r in g[big] + g["1"])
    return say("ex3", "tails_none_differ" if none else "tails", big=corpus_name(big), items=join(items, ("，", ", ")),
               average=say("ex3", "medians" if anyone else "means"),
               p=_at_least([w["p_holm"] for w in family if "p_holm" in w]))


def ex3_tail(g, big, book, w, none):
    """One novel's tail: ``big`` against 1 book, and its test unless ``none`` of the family differs."""
    if significant(w):
        verdict = say("ex3", "tail_lower" if w["diff"] < 0 else "tail_higher", p=_ph(w))
    elif none:
        verdict = ""
    else:
        verdict = say("ex3", "tail_p", p=_ph(w)) if "p_holm" in w else say("ex3", "tail_untested")
    mb, m1 = (center(x, f"heldout_ppl.{book}") for x in (g[big], g["1"]))
    return say("ex3", "tail", book=BOOKS.get(book, (book, book)), big=mb, one=m1, verdict=verdict)


def ex3_readme(tab, g, order):
    tails = sorted(set().union(*(r.get("heldout_ppl", {}) for k in order for r in g[k])))
    titles = " | ".join(result_words("ex3_tail", book=BOOKS.get(b, (b, b))[1]) for b in tails)
    lines = [tab_heading("ex3_heading", tab), "", result_words("ex3_columns", tails=titles),
             "| --- | --- | --- | --- | --- | --- | " + " | ".join("---" for _ in tails) + " |"]
    for k in order:
        rs = g[k]
        cells = [summary(rs, f"heldout_ppl.{b}")[1] if all(b in r.get("heldout_ppl", {}) for r in rs) else "–"
                 for b in tails]
        share = plateau_share(rs)
        lines.append(f"| {corpus_name(k)[1]} | {int(rs[0]['train_chars']):,} | {rs[0]['passes']:.2f} | {len(rs)} | "
                     f"{summary(rs, 'test_ppl')[1]} | {checkpoints(share)[1] if share else '–'} | "
                     + " | ".join(cells) + " |")
    best, others, family = corpora_family(g, order)
    rows = [(result_words("ex3_corpora", corpus=corpus_name(k)[1], best=corpus_name(best)[1]), w)
            for k, w in zip(others, family)]
    if tails_family(g, order[-1]):
        tails, family = tails_family(g, order[-1])
        rows += [(result_words("ex3_tails", book=BOOKS.get(b, (b, b))[1], corpus=corpus_name(order[-1])[1]), w)
                 for b, w in zip(tails, family)]
    return "\n".join(lines) + "\n\n" + comparisons_md(rows)


# ------------------------------------------------------------------ ex4

AUTHORS = ["ppl_austen", "ppl_doyle", "ppl_wells", "ppl_time_machine"]  # the held-out tails, each named by
#                                                                         the snippet [author_<name>]


def author(key):
    return say("ex4", "author_" + key.removeprefix("ppl_"))


def ex4_old(rs):
    old = {r["key"].split("/")[1]: r for r in rs if re.fullmatch(r"ex4/[^/]+", r["key"])}
    if not {"wells", "mixed"} <= set(old):
        return []
    changes = [say("ex4", "old_change", author=author(k), wells=old["wells"][k], mixed=old["mixed"][k])
               for k in AUTHORS[:3] if k in old["wells"] and k in old["mixed"]]
    return [say("ex4", "old", changes=join(changes, ("，", ", ")))]


def ex4_sections(runs):
    sections, readme, signs, bound = [], [], {}, {}
    for tab in MEASURED:
        rs = [r for r in runs if r.get("tab") == tab]
        g = seeded(rs, "ex4/", "ppl_wells")
        if not {"wells", "mixed"} <= set(g):
            sections.append((tab, [say("ex4", "not_measured")] + ex4_old(rs), None))
            continue
        family = holm([htest(g["mixed"], g["wells"], key) for key in AUTHORS])
        signs.update({(key, tab): w for key, w in zip(AUTHORS, family)})
        bound[tab] = plateau_bound(g["wells"] + g["mixed"])
        sections.append((tab, ex4_tab(g, family, bound[tab]), None))
        readme.append(ex4_readme(tab, g))
    extra = frameworks_plateau(runs, "ex4/", "ppl_wells") if any(bound.values()) else ex4_agreement(signs)
    if extra:
        sections.append(("frameworks", [extra], None))
    family = say("ex4", "families", n=len(AUTHORS))
    return cell_text(head_text(say("ex4", "table"), family), sections), readme


def ex4_tab(g, family, bound):
    """At most 5 bullets: conditions, plateau or budget, what mixing gains and costs, the control."""
    ab = g["wells"] + g["mixed"]
    n = min(len(v) for v in g.values())
    bullets = [say("ex4", "conditions", models=len(g), seeds=seeds(n), budget=g["wells"][0]["budget_tokens"],
                   device=device_of(ab))]
    if bound:
        bullets.append(plateau_bullet(ab, chose_last(ab)))
    for keys, title in ((AUTHORS[:2], "gains"), (AUTHORS[2:], "costs")):
        items = [say("ex4", "author_item", author=author(key), a=summary(g["wells"], key),
                     b=summary(g["mixed"], key), test=htxt(family[AUTHORS.index(key)], say("ex4", "b"), ci=False))
                 for key in keys]
        bullets.append(say("ex4", title, items=join(items)))
    if "wells-once" in g:
        bullets.append(ex4_control(g))
    if not bound:
        bullets.append(budget_bullet(ab, chose_last(ab)))
    return bullets


def ex4_control(g):
    """B against the control C, which saw as much Wells text as B in half B's tokens."""
    w = holm([htest(g["mixed"], g["wells-once"], "ppl_wells")])[0]
    # B trains twice C's tokens: the control cannot separate "other authors" from "more steps"
    if "p_holm" not in w:
        why = ""
    elif not significant(w):
        why = say("ex4", "control_same")
    else:
        why = say("ex4", "control_higher" if w["diff"] > 0 else "control_lower")
    return say("ex4", "control", c=summary(g["wells-once"], "ppl_wells"), test=htxt(w, say("ex4", "b")), why=why)


def ex4_agreement(signs):
    """Where both tabs tested an author: do the signs of B minus A agree?"""
    both = [k for k in AUTHORS if all("p_holm" in signs.get((k, t), {}) for t in MEASURED)]
    if not both:
        return None
    agree = [k for k in both if len({signs[k, t]["diff"] > 0 for t in MEASURED}) == 1]
    disagree = [k for k in both if k not in agree]
    loud = [k for k in disagree if any(significant(signs[k, t]) for t in MEASURED)]
    names = listing([author(k) for k in agree]) if agree else say("ex4", "nothing")
    if not disagree:
        return say("ex4", "agree_all", agree=names)
    if loud:
        return say("ex4", "agree_loud", agree=names, loud=listing([author(k) for k in loud]))
    return say("ex4", "agree_quiet", agree=names)


def ex4_readme(tab, g):
    lines = [tab_heading("ex4_heading", tab), "", result_words("ex4_columns", authors=" | ".join(AUTHORS)),
             "| --- | --- | " + " | ".join("---" for _ in AUTHORS) + " | --- |"]
    for name, rs in g.items():
        share = plateau_share(rs)
        lines.append(f"| {name} | {len(rs)} | " + " | ".join(summary(rs, k)[1] for k in AUTHORS)
                     + f" | {checkpoints(share)[1] if share else '–'} |")
    family = holm([htest(g["mixed"], g["wells"], key) for key in AUTHORS])
    rows = [(result_words("ex4_authors", author=key), w) for key, w in zip(AUTHORS, family)]
    if "wells-once" in g:
        rows.append((result_words("ex4_control"), holm([htest(g["mixed"], g["wells-once"], "ppl_wells")])[0]))
    return "\n".join(lines) + "\n\n" + comparisons_md(rows)


# ------------------------------------------------------------------ driver

BUILDERS = {"04": depth_sections, "ex1": ex1_sections, "ex2": ex2_sections, "ex3": ex3_sections, "ex4": ex4_sections}


def render(runs):
    """``({notebook: (zh, en)}, docs/RESULTS.md text)`` for the recorded ``runs``."""
    runs = full_runs(runs)
    cells, tables = {}, []
    for name, build in BUILDERS.items():
        cells[name], readme = build(runs)
        tables += readme
    text = result_words("page", escape=ESCAPE, tables="\n\n".join(tables) if tables else result_words("no_runs"))
    return cells, text + "\n"


def measured_cells(nb, path):
    """The notebook's (zh, en) cells tagged ``measured``; exactly one of each."""
    found = {}
    for cell in nb.cells:
        tags = cell.metadata.get("tags", [])
        if cell.cell_type == "markdown" and "measured" in tags:
            for lang in ("zh", "en"):
                if f"lang-{lang}" in tags:
                    if lang in found:
                        raise SystemExit(f"{path}: more than one lang-{lang} cell tagged 'measured'")
                    found[lang] = cell
    if set(found) != {"zh", "en"}:
        raise SystemExit(f"{path}: needs one lang-zh and one lang-en markdown cell tagged 'measured'")
    return found["zh"], found["en"]


def stale(runs, root=ROOT):
    """The files whose generated parts differ from what ``runs`` give."""
    import nbformat
    cells, text = render(runs)
    out = []
    for name, (zh, en) in cells.items():
        path = root / NOTEBOOKS[name]
        nb = nbformat.read(str(path), as_version=4)
        czh, cen = measured_cells(nb, path)
        if (czh.source, cen.source) != (zh, en):
            out.append(NOTEBOOKS[name])
    path = root / RESULTS
    if not path.exists() or path.read_text() != text:
        out.append(str(RESULTS))
    return out


def write(runs, root=ROOT):
    import nbformat
    cells, text = render(runs)
    for name, (zh, en) in cells.items():
        path = root / NOTEBOOKS[name]
        nb = nbformat.read(str(path), as_version=4)
        czh, cen = measured_cells(nb, path)
        if (czh.source, cen.source) != (zh, en):
            czh.source, cen.source = zh, en
            nbformat.write(nb, str(path))
    (root / RESULTS).parent.mkdir(parents=True, exist_ok=True)
    (root / RESULTS).write_text(text)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--results", default=str(results.FULL_MODE))
    p.add_argument("--check", action="store_true", help="exit 1 if a generated part is stale")
    p.add_argument("--print", dest="show", choices=sorted(BUILDERS), help="print one notebook's cells")
    a = p.parse_args(argv)
    runs = results.load(a.results)
    if not runs:
        p.error(f"{a.results}: no recorded runs (record them with D2L_RESULTS=... first)")
    if a.show:
        print("\n\n".join(render(runs)[0][a.show]))
    elif a.check:
        bad = stale(runs)
        if bad:
            sys.exit("stale, run `python -m tools.answers`: " + ", ".join(bad))
    else:
        write(runs)


if __name__ == "__main__":
    main()
