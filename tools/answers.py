"""Write the measured-answer cells of notebooks 04, ex1, ex2, ex3 and ex4, and
docs/RESULTS.md (the long result tables), from the recorded full-mode runs.

    python -m tools.answers                 # rewrite the cells and docs/RESULTS.md
    python -m tools.answers --check         # exit 1 if any of them is stale
    python -m tools.answers --print ex3     # print one notebook's cells
    python -m tools.answers --results FILE  # read FILE, not results/full-mode.json

Each notebook has one zh/en pair of markdown cells tagged ``measured``; this
tool owns them (edit the wording here, never in the notebook), and the whole
of docs/RESULTS.md.  The prose says only what the statistics support: a
comparison is tested (Welch, :func:`experiments.study.welch`) only when both
groups have at least ``MIN_SEEDS`` seeds; in ex2-ex4 the tests of one
question form a stated family whose p-values are Holm-adjusted
(:func:`experiments.stats.holm`) before anything is called significant; a
group holding a run that diverged or never left the letter-frequency plateau
is summarised by its median and not tested; a tab whose runs spent most of
their checkpoints on that plateau is marked as measuring time to leave it,
not the data; "no significant difference" is never written as "equal"; and a
tab without runs of the current design says so instead of quoting anything.
``tests/test_answers.py`` checks the committed cells and docs/RESULTS.md
against the committed JSON, and ``tests/test_quoted_numbers.py`` checks every
number they quote.
"""
import argparse
import functools
import math
import re
import statistics
import sys
from pathlib import Path

from d2l_helpers import results
from experiments import stats, study

ROOT = Path(__file__).resolve().parents[1]

MIN_SEEDS = 3        # fewer seeds: reported, never tested
ALPHA = 0.05         # significance level
UNIFORM = 28         # perplexity of a uniform guess over the 28 characters
TAB_NAMES = {"pytorch": "PyTorch", "mxnet": "MXNet",
             "frameworks": "PyTorch / MXNet"}  # the last: bullets comparing both
# The tabs whose full-mode runs are recorded (results/full-mode.json) and answered;
# a tab of frameworks.NAMES joins once its runs are recorded (JAX: not yet).
MEASURED = ("pytorch", "mxnet")
NOTEBOOKS = {
    "04": "notebooks/04-depth-study.ipynb",
    "ex1": "notebooks/exercises/ex1-two-layer-rnn-scratch.ipynb",
    "ex2": "notebooks/exercises/ex2-gru-vs-lstm.ipynb",
    "ex3": "notebooks/exercises/ex3-more-books.ipynb",
    "ex4": "notebooks/exercises/ex4-mixing-authors.ipynb",
}
RESULTS = Path("docs/RESULTS.md")  # the long tables, generated
HEAD = ("### 完整模式的实测结果", "### Measured full-mode results")
BOOKS = {  # novel -> (zh title, en title)
    "time_machine": ("《时间机器》", "*The Time Machine*"),
    "war_of_the_worlds": ("《世界大战》", "*The War of the Worlds*"),
    "invisible_man": ("《隐身人》", "*The Invisible Man*"),
    "doctor_moreau": ("《莫罗博士岛》", "*The Island of Doctor Moreau*"),
    "first_men_in_the_moon": ("《最先登上月球的人》", "*The First Men in the Moon*"),
}


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
        return (f"{m:{spec}}（1 个种子）", f"{m:{spec}} (1 seed)")
    return (f"{m:{spec}} ± {sd:{spec}}",) * 2


def seeds(n):
    """'n seed(s)' in English."""
    return f"{n} seed" + ("" if n == 1 else "s")


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


def wtxt(w):
    """'difference, 95% CI, p' as a (zh, en) pair."""
    if w is None:
        return (f"种子不足 {MIN_SEEDS} 个，未检验", f"fewer than {MIN_SEEDS} seeds, not tested")
    lo, hi = w["ci"]
    return (f"差 {w['diff']:+.2f}，95% 置信区间 {lo:+.2f} 到 {hi:+.2f}，{_p(w)}",
            f"difference {w['diff']:+.2f}, 95% CI {lo:+.2f} to {hi:+.2f}, {_p(w)}")


def verdict(w, subject):
    """A clause on how ``subject`` (a (zh, en) pair, the first group of the
    test) compares: significantly lower/higher, or no significant difference
    (which is not 'equal'); ``("", "")`` when there was no test."""
    if w is None:
        return "", ""
    if w["p"] >= ALPHA:
        return ("看不出显著差别（这不等于一样）",
                "no significant difference (which is not the same as equal)")
    if w["diff"] < 0:
        return f"{subject[0]}显著更低", f"{subject[1]} is significantly lower"
    return f"{subject[0]}显著更高", f"{subject[1]} is significantly higher"


def tested(w, subject):
    """``wtxt`` and, where there was a test, its verdict after a colon."""
    wt, v = wtxt(w), verdict(w, subject)
    if w is None:
        return wt
    return f"{wt[0]}：{v[0]}", f"{wt[1]}: {v[1]}"


def join(pairs, sep=("；", "; ")):
    """Join (zh, en) pairs into one (zh, en) pair."""
    return tuple(s.join(p[i] for p in pairs) for i, s in enumerate(sep))


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
    return (f"由 `tools/answers.py` 从 `results/full-mode.json` 生成；完整的表（{table[0]}）在 `docs/RESULTS.md`。",
            f"Generated by `tools/answers.py` from `results/full-mode.json`; the full table ({table[1]}) is in "
            f"`docs/RESULTS.md`.")


def cell_text(head, sections):
    """The zh and en cell: heading, the ``head`` pair (see :func:`intro`),
    then per tab a bold label, its bullets and its answer."""
    out = []
    for lang in (0, 1):
        parts = [HEAD[lang], "", head[lang]]
        for tab, bullets, answer in sections:
            parts += ["", f"**{TAB_NAMES.get(tab, tab)}**", ""]
            parts += [f"* {b[lang]}" for b in bullets]
            if answer:
                parts += ["", answer[lang]]
        out.append("\n".join(parts).strip() + "\n")
    return spaced(out[0].strip("\n")), out[1].strip("\n")


# ------------------------------------------------------------------ 04: depth

def depth_sections(runs):
    """Notebook 04: one table of the study at convergence with a column per
    tab, then per tab its conditions and answer, then the first study's short
    budget as a contrast."""
    per_tab, sections, readme = {}, [], []
    for tab in MEASURED:
        rows = study.conv_summary(runs, tab)
        if not rows:
            sections.append((tab, [("加深研究（训练到收敛）尚未在这个框架下测量。",
                                    "The depth study at convergence has not been measured under this framework yet.")],
                             None))
            continue
        groups = {r["config"]: r["runs"] for r in rows}
        marks, answer = conv_depth(groups)
        per_tab[tab] = (groups, marks)
        sections.append((tab, [conv_conditions(runs, tab, rows)], answer))
        readme.append(f"#### Notebook 04, depth study at convergence ({TAB_NAMES.get(tab, tab)})\n\n"
                      + study.conv_markdown(rows))
    short = depth_short_budget(runs)
    if short:
        sections.append(("frameworks", [short], None))
    head = intro(("每种配置试过的学习率、每个种子的测试困惑度和停止原因",
                  "rates tried, test perplexity per seed, why each run stopped"))
    legend = ("表中是在验证集上选定的检查点的测试困惑度，选定学习率下 3 个种子的均值 ± 标准差。括号里：与 1 层之差"
              "（宽的与 2x256 比，dropout 与不加比）和族内经 Holm 校正的 p 值（同一种单元的更深模型各与 1 层比为一族；"
              "宽度、dropout 各自成族）；↓/↑：显著更低/更高。",
              "Test perplexity at the checkpoint chosen on validation, mean ± sd of 3 seeds at the rate chosen "
              "on validation. In brackets: the difference from 1 layer (wide: from 2x256; dropout: from none) "
              "and p, Holm-adjusted within the family (a cell's deeper models against its 1 layer; width and "
              "dropout alone); ↓/↑: significantly lower/higher.")
    table = conv_table(per_tab) if per_tab else ("", "")
    stop = conv_stopping(runs) if per_tab else ("", "")
    return cell_text((f"{head[0]}{stop[0]}{legend[0]}{NOTE[0]}\n\n{table[0]}",
                      f"{head[1]} {stop[1]} {legend[1]} {NOTE[1]}\n\n{table[1]}".replace("  ", " ")),
                     sections), readme


def conv_table(per_tab):
    """The (zh, en) markdown table: a row per configuration, a column per tab."""
    tabs = [t for t in MEASURED]
    configs = [(c, L, study.NUM_HIDDENS, 0.0) for c in study.CELLS for L in study.DEPTHS]
    configs += [study.WIDE + (0.0,), study.DROPOUT_ROW[0] + (study.DROPOUT_ROW[1],)]
    configs = [c for c in configs if any(c in per_tab[t][0] for t in per_tab)]
    out = []
    for lang in (0, 1):
        lines = ["| " + ("配置" if lang == 0 else "configuration") + " | "
                 + " | ".join(TAB_NAMES[t] for t in tabs) + " |", "|" + " --- |" * (len(tabs) + 1)]
        for c in configs:
            cells = []
            for t in tabs:
                groups, marks = per_tab.get(t, ({}, {}))
                if c not in groups:
                    cells.append("—")
                    continue
                mark = marks.get(c)
                cells.append(summary(groups[c], "test_ppl")[lang] + (f" ({mark[lang]})" if mark else ""))
            lines.append(f"| {conv_label(c)[lang]} | " + " | ".join(cells) + " |")
        out.append("\n".join(lines))
    return tuple(out)


def conv_label(config):
    cell, L, h, drop = config
    if drop:
        return f"{cell.upper()} {L}x{h}，dropout {drop:g}", f"{cell.upper()} {L}x{h}, dropout {drop:g}"
    if h != study.NUM_HIDDENS:
        return f"{cell.upper()} {L}x{h}（宽）", f"{cell.upper()} {L}x{h} (wide)"
    return f"{cell.upper()} {L} 层", f"{cell.upper()} {L} layer" + ("s" if L > 1 else "")


def conv_conditions(runs, tab, rows):
    every = study.conv_runs(runs, tab)
    chosen = [r for row in rows for r in row["runs"]]
    early = sum(r["stop_reason"] == "patience" or r["chosen_epoch"] < r["checkpoints"] for r in chosen)
    cap = max(r["budget_tokens"] for r in every)
    precision = {}
    for r in every:
        precision.setdefault(r.get("precision", "fp32"), set()).add(r["cell"].upper())
    precision = [(f"{d}（{'、'.join(sorted(cs))}）", f"{d} ({', '.join(sorted(cs))})")
                 for d, cs in sorted(precision.items())]
    last = [row["name"] for row in rows if any(r["stop_reason"] != "patience"
                                               and r["chosen_epoch"] == r["checkpoints"] for r in row["runs"])]
    limit = ((f"预算用完时还在变好的：{'、'.join(last)}（结论受预算限制）。",
              f" Still improving at the cap: {', '.join(last)} (the budget limits these claims).")
             if last else ("", ""))
    device = device_of(every).removeprefix("CPU: ")
    return (f"**条件：** {len(every)} 次运行，{'、'.join(z for z, _ in precision)}，{device}；选定学习率下的 "
            f"{len(chosen)} 次中 {early} 次因耐心停止或选中了更早的检查点。{limit[0]}",
            f"**Conditions:** {len(every)} runs, {', '.join(e for _, e in precision)}, {device}; of the "
            f"{len(chosen)} runs at the chosen rates, {early} stopped by patience or chose an earlier "
            f"checkpoint.{limit[1]}")


def conv_stopping(runs):
    """How every run of the study stopped, once for all tabs (a (zh, en) pair)."""
    every = [r for tab in MEASURED for r in study.conv_runs(runs, tab)]
    patience = "/".join(str(p) for p in sorted({r["patience"] for r in every}))
    cap = "/".join(f"{c:,}" for c in sorted({r["budget_tokens"] for r in every}))
    return (f"每次运行训练到离开平台后连续 {patience} 个检查点没有更好的验证困惑度，最多 {cap} 个词元。",
            f"Each run trained until {patience} checkpoints brought no better validation perplexity once "
            f"off the plateau, at most {cap} tokens.")


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
    tested_any = tested_any_test(groups)
    if better:
        answer = ("**答案：** 训练到验证困惑度不再下降（或到上限，见上）、学习率按验证集选定时，下列更深的配置显著优于 1 层：" + "、".join(better)
                  + "。" + ("显著更差的：" + "、".join(worse) + "。" if worse else ""),
                  "**Answer:** trained until validation stopped improving (or to the cap, see above) with the "
                  "learning rate chosen on validation, these deeper configurations are significantly better "
                  "than one layer: " + ", ".join(better) + "."
                  + (" Significantly worse: " + ", ".join(worse) + "." if worse else ""))
    elif not tested_any:
        answer = (f"**答案：** 还没有哪一组比较两边都有 {MIN_SEEDS} 个种子，暂时不能回答。",
                  f"**Answer:** no comparison has {MIN_SEEDS} seeds on both sides yet, so there is no answer yet.")
    elif worse:
        answer = ("**答案：** 训练到收敛后也没有哪个更深的配置显著优于 1 层；显著更差的：" + "、".join(worse) + "。",
                  "**Answer:** even at convergence no deeper configuration is significantly better than one layer; "
                  "significantly worse: " + ", ".join(worse) + ".")
    else:
        answer = ("**答案：** 这些种子看不出层数带来的显著差别（更小的差别需要更多种子）。",
                  "**Answer:** these seeds show no significant effect of depth (smaller effects would need more seeds).")
    return marks, answer


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
    budget = short[0]["budget_tokens"]
    return (f"**小预算的教训：** 最初的实验每次只训练 {budget:,} 个词元，两个框架下 2–4 层门控网络的 {len(short)} 次运行中"
            f"有 {flat} 次停在字母频率水平（测试困惑度与一元模型的 {unigram:.2f} 相差不到 1%），于是看上去越深越差："
            f"那是预算的结论，不是深度的结论。",
            f"**The lesson of the small budget:** trained on {budget:,} tokens per run, {flat} of the "
            f"{len(short)} runs of 2–4-layer gated networks (both tabs) ended at the letter-frequency level "
            f"(within 1% of the unigram model's {unigram:.2f}), so deeper looked worse: a finding about the "
            f"budget, not about depth.")


def chose_last(runs):
    """How many of ``runs`` chose their last checkpoint (still improving when the budget ran out)."""
    return sum(r["chosen_epoch"] == r["checkpoints"] for r in runs)


# ------------------------------------------------------------------ ex1

IMPLS = {"scratch": ("从零实现", "the scratch model"), "concise": ("自带层", "the built-in layer")}


def ex1_sections(runs):
    sections, readme = [], []
    for tab in MEASURED:
        g = seeded([r for r in runs if r.get("tab") == tab], "ex1/", "test_ppl")
        if not set(IMPLS) <= set(g):
            sections.append((tab, [("新设计（每种实现 3 个种子、恰好相同的词元预算、验证集/测试集划分）尚未在这个框架下测量。",
                                    "The new design (3 seeds per implementation, exactly the same token budget, a "
                                    "validation/test split) has not been measured under this framework yet.")], None))
            continue
        sc, co = g["scratch"], g["concise"]
        n = min(len(sc), len(co))
        start = (("每个种子下，自带层先复制从零实现的初始权重，两者从同一点出发",
                  "for each seed the built-in layer copies the scratch model's initial weights, so both start from the same point")
                 if tab == "pytorch" else
                 ("`train_ch8` 为自带层重新抽取权重（分布相同，数不同）",
                  "`train_ch8` draws the built-in layer's weights afresh (same distribution, other numbers)"))
        bullets = [(
            f"**条件：** 每种实现 {n} 个种子，每次恰好 {sc[0]['budget_tokens']:,} 个训练词元，学习率 {sc[0]['lr']:g}；"
            f"{start[0]}；精度用在验证集上挑选的检查点的测试困惑度；设备：{device_of(sc + co)}。",
            f"**Conditions:** {seeds(n)} per implementation, exactly {sc[0]['budget_tokens']:,} training tokens per "
            f"run, learning rate {sc[0]['lr']:g}; {start[1]}; accuracy is the test perplexity at the checkpoint "
            f"chosen on validation; device: {device_of(sc + co)}.")]
        a, b = values(sc, "test_ppl"), values(co, "test_ppl")
        w = test(a, b)
        (za, ea), (zb, eb) = ms(a), ms(b)
        wt = tested(w, ("从零实现", "the scratch model"))
        bullets.append((f"**精度：** 从零实现 {za}，自带层 {zb}（均值 ± 标准差）。从零实现减自带层：{wt[0]}。",
                        f"**Accuracy:** scratch {ea}, built-in {eb} (mean ± sd). Scratch minus built-in: {wt[1]}."))
        rng = lambda rs: (lambda xs: f"{xs[0]}" if len(xs) == 1 else f"{xs[0]}–{xs[-1]}")(
            sorted({int(r["chosen_epoch"]) for r in rs}))
        ft = {k: study.mean_sd(values(g[k], "final_train_ppl"))[0] for k in IMPLS}
        fv = {k: ms(values(g[k], "final_valid_ppl")) for k in IMPLS}
        bullets.append((
            f"**验证曲线：** 选中的检查点是第 {rng(sc)} 个（从零实现）和第 {rng(co)} 个（自带层，共 {sc[0]['checkpoints']} 个）；"
            f"最终训练困惑度 {ft['scratch']:.2f} 和 {ft['concise']:.2f}，最终验证困惑度 {fv['scratch'][0]} 和 {fv['concise'][0]}："
            f"两者都在记忆训练文本。",
            f"**Validation curve:** the chosen checkpoints are {rng(sc)} (scratch) and {rng(co)} (built-in) of "
            f"{sc[0]['checkpoints']}; final training perplexity {ft['scratch']:.2f} and {ft['concise']:.2f}, final "
            f"validation perplexity {fv['scratch'][1]} and {fv['concise'][1]}: both memorize their training text."))
        sa, sb = values(sc, "tokens_per_sec"), values(co, "tokens_per_sec")
        ws = test(sb, sa)
        ma, mb = study.mean_sd(sa)[0], study.mean_sd(sb)[0]
        ratio = mb / ma
        sig = ws is not None and ws["p"] < ALPHA
        who = ("自带层", "the built-in layer") if mb > ma else ("从零实现", "the scratch model")
        bullets.append((
            f"**速度：** 从零实现 {ma:,.0f}、自带层 {mb:,.0f} 词元/秒（种子均值），自带层是从零实现的 {ratio:.2f} 倍；{who[0]}"
            + ("显著更快" if sig else "更快，但差别不显著" if ws else "更快，种子不足、未检验")
            + (f"（{_p(ws)}）" if ws else "") + "。",
            f"**Speed:** scratch {ma:,.0f}, built-in {mb:,.0f} tokens/s (mean over seeds), the built-in layer at "
            f"{ratio:.2f}x the scratch model's; {who[1]} is "
            + ("significantly faster" if sig else "faster, but not significantly" if ws else "faster, too few seeds to test")
            + (f" ({_p(ws)})" if ws else "") + "."))
        acc = (("用这几个种子看不出两种实现的精度有显著差别（这不等于一样准）",
                "these seeds show no significant difference in accuracy between the two implementations (which is "
                "not the same as equally accurate)") if w is not None and w["p"] >= ALPHA else
               verdict(w, ("从零实现的测试困惑度", "the scratch model's test perplexity")) if w is not None else
               ("种子不足，无法判断精度", "too few seeds to judge accuracy"))
        answer = (f"**答案：** 从零写出的两层循环神经网络与框架的层算的是同一个公式（上面的断言已验证）；{acc[0]}。"
                  f"速度之比取决于框架和设备。",
                  f"**Answer:** the two-layer RNN written from scratch computes the same equations as the framework's "
                  f"layer (the asserts above check it); {acc[1]}. The speed ratio depends on the framework and the device.")
        sections.append((tab, bullets, answer))
        readme.append(ex1_readme(tab, g))
    return cell_text(intro(("每种实现一行", "one row per implementation")), sections), readme


def ex1_readme(tab, g):
    lines = [f"#### Exercise 1, two-layer RNN from scratch against the built-in layer ({TAB_NAMES.get(tab, tab)})", "",
             "| implementation | seeds | final training perplexity | test perplexity (mean ± sd) | checkpoint chosen "
             "| final validation perplexity | tokens/s | wall time |",
             "| --- | --- | --- | --- | --- | --- | --- | --- |"]
    for k, name in (("scratch", "from scratch"), ("concise", "built-in")):
        rs = g[k]
        lines.append(
            f"| {name} | {len(rs)} | {study.mean_sd(values(rs, 'final_train_ppl'))[0]:.2f} | "
            f"{ms(values(rs, 'test_ppl'))[1]} | {', '.join(str(int(r['chosen_epoch'])) for r in rs)} | "
            f"{ms(values(rs, 'final_valid_ppl'))[1]} | {ms(values(rs, 'tokens_per_sec'), ',.0f')[1]} | "
            f"{study.mean_sd(values(rs, 'wall_time_s'))[0] / 60:.1f} min |")
    return "\n".join(lines)


# ------------------------------------------------------------------ ex2-ex4: families and the plateau

ESCAPE = study.PLATEAU_SHARE  # a run leaves the letter-frequency plateau at its first checkpoint whose
#                               validation perplexity is below ESCAPE x the unigram model's (as the depth study)
NOTE = ("“看不出显著差别”只是说这些种子分不开两组，并不说明两组一样。",
        "\"No significant difference\" says these seeds cannot tell the groups apart; it does not say they are equal.")
STUCK = {"diverged": ("发散", "diverged"),
         "plateau": ("没有离开字母频率平台", "never left the letter-frequency plateau")}


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


def summary(runs, field):
    """'mean ± sd' as a (zh, en) pair; where a run diverged or never left the
    plateau, the median and how many runs did so instead (a mean means nothing there)."""
    bad = [s for s in (stuck(r, field) for r in runs) if s]
    if not bad:
        return ms(values(runs, field))
    med, kind = statistics.median(values(runs, field)), STUCK[max(set(bad), key=bad.count)]
    return (f"中位数 {med:.2f}（{len(runs)} 次中 {len(bad)} 次{kind[0]}）",
            f"median {med:.2f} ({len(bad)} of {len(runs)} runs {kind[1]})")


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
        return dict(why=("含发散或没有离开平台的运行，未检验", "not tested: a run diverged or never left the plateau"))
    w = test(values(a, field), values(b, field))
    return w or dict(why=(f"种子不足 {MIN_SEEDS} 个，未检验", f"fewer than {MIN_SEEDS} seeds, not tested"))


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
    lo, hi = w["ci"]
    if not significant(w):
        v = ("看不出显著差别", "no significant difference")
    else:
        v = (f"{subject[0]}显著更{'低' if w['diff'] < 0 else '高'}",
             f"{subject[1]} is significantly {'lower' if w['diff'] < 0 else 'higher'}")
    if not ci:
        return f"{w['diff']:+.2f}，{_ph(w)}：{v[0]}", f"{w['diff']:+.2f}, {_ph(w)}: {v[1]}"
    return (f"差 {w['diff']:+.2f}，95% 置信区间 {lo:+.2f} 到 {hi:+.2f}，{_ph(w)}：{v[0]}",
            f"difference {w['diff']:+.2f}, 95% CI {lo:+.2f} to {hi:+.2f}, {_ph(w)}: {v[1]}")


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


def checkpoints_txt(share, lang=1):
    """'k of n' (en) or 'n 个中的 k 个' (zh) checkpoints."""
    k, n = share
    return f"{k:g} of {n}" if lang else f"{n} 个中的 {k:g} 个"


def plateau_bullet(runs, last):
    """The warning of a plateau-bound tab: its numbers measure time to leave the plateau."""
    share = plateau_share(runs)
    never = sum(k[0] == k[1] for k in map(on_plateau, runs) if k)
    extra = (f"，{never} 次始终没有离开", f"; {never} never left it") if never else ("", "")
    return (f"**不是关于数据的结论：** 运行中位数有 {checkpoints_txt(share, 0)}检查点停在字母频率平台上"
            f"（与只看字母频率的一元模型相差不到 10%，一元模型的测试困惑度是 16.94）{extra[0]}；{len(runs)} 次中 {last} 次选中了最后一个检查点。"
            f"下面的差别衡量的是多快离开平台，不是数据的作用。",
            f"**Not a finding about data:** the median run spent {checkpoints_txt(share)} checkpoints on the letter-frequency "
            f"plateau (validation within 10% of the unigram model's; its test perplexity is 16.94){extra[1]}; "
            f"{last} of {len(runs)} runs chose their last checkpoint. The differences below measure how soon runs "
            f"left the plateau, not what the data does.")


def budget_bullet(runs, last):
    """Budget and plateau of a tab whose runs did leave the plateau."""
    share = plateau_share(runs)
    start = (f"运行中位数有 {checkpoints_txt(share, 0)}检查点停在字母频率平台上。", f" The median run spent "
             f"{checkpoints_txt(share)} checkpoints on the letter-frequency plateau.") if share else ("", "")
    why = (("（预算用完时验证困惑度还在下降），结论只对这个预算成立。",
            " (validation perplexity still falling when the budget ran out), so the answer holds for this budget only.")
           if last else ("。", "."))
    return (f"**预算：** {len(runs)} 次运行中有 {last} 次选中了最后一个检查点{why[0]}{start[0]}",
            f"**Budget:** {last} of {len(runs)} runs chose their last checkpoint{why[1]}{start[1]}")


def frameworks_plateau(runs, prefix, field):
    """One bullet where both tabs have runs and exactly one is plateau-bound."""
    share, bound = {}, {}
    for tab in MEASURED:
        rs = [r for v in seeded([r for r in runs if r.get("tab") == tab], prefix, field).values() for r in v]
        share[tab], bound[tab] = plateau_share(rs), plateau_bound(rs)
    if not all(share.values()) or len(set(bound.values())) < 2:
        return None
    pt, mx = (checkpoints_txt(share[t]) for t in MEASURED)
    zp, zm = (checkpoints_txt(share[t], 0) for t in MEASURED)
    return (f"**同样的模型和预算，两个起点：** 运行中位数停在平台上的检查点，PyTorch 是 {zp}，MXNet 是 {zm}。"
            f"MXNet 的 `train_ch8` 从 $N(0, 0.01^2)$ 出发，PyTorch 保留各层的默认初始化；起点是否就是原因，这里没有检验。",
            f"**Same model and budget, two starts:** the median run spent {pt} checkpoints on the plateau under "
            f"PyTorch and {mx} under MXNet. MXNet's `train_ch8` starts from N(0, 0.01²), PyTorch keeps its layers' "
            f"defaults; whether the start is the cause is not tested here.")


def head_text(table, family, extra=("", "")):
    """The first paragraph of an ex2-ex4 cell: source, ``extra``, the families of tests
    (a (zh, en) description) and the note on "no significant difference"."""
    z, e = intro(table)
    fz = f"每个框架的 p 值在各自的检验族内经 Holm 校正，检验族是：{family[0]}。"
    fe = f"Within each tab, p-values are Holm-adjusted within each family of tests: {family[1]}."
    return (f"{z}{extra[0]}{fz}{NOTE[0]}", f"{e} {extra[1]}{' ' if extra[1] else ''}{fe} {NOTE[1]}")


# ------------------------------------------------------------------ ex2

def ex2_sections(runs):
    sections, readme = [], []
    for tab in MEASURED:
        g = seeded([r for r in runs if r.get("tab") == tab], "ex2/", "best_valid_ppl")
        if not {"gru", "lstm"} <= set(g):
            sections.append((tab, [("练习 2 尚未在这个框架下测量。", "Exercise 2 has not been measured under this framework yet.")], None))
            continue
        held_out = "test_ppl" if all("test_ppl" in r for r in g["gru"] + g["lstm"]) else "best_valid_ppl"
        sections.append((tab, *ex2_tab(g, held_out)))
        readme.append(ex2_readme(tab, g, held_out))
    common = next(((f"参数量：LSTM {int(g['lstm'][0]['num_params']):,}，GRU {int(g['gru'][0]['num_params']):,}。",
                    f"Parameters: LSTM {int(g['lstm'][0]['num_params']):,}, GRU {int(g['gru'][0]['num_params']):,}.")
                   for g in [seeded(runs, "ex2/", "num_params")] if {"gru", "lstm"} <= set(g)), ("", ""))
    family = ("精度和速度这 2 个检验", "the 2 tests of accuracy and speed")
    return cell_text(head_text(("每种模型一行", "one row per model"), family, common), sections), readme


def ex2_tab(g, held_out):
    """Bullets and answer of one tab: the family is its accuracy and speed tests."""
    both = g["gru"] + g["lstm"]
    acc, speed = holm([htest(g["gru"], g["lstm"], held_out), htest(g["gru"], g["lstm"], "tokens_per_sec")])
    n = min(len(g["gru"]), len(g["lstm"]))
    if held_out == "test_ppl":
        size = (f"每次恰好 {both[0]['budget_tokens']:,} 个训练词元", f"exactly {both[0]['budget_tokens']:,} training tokens per run")
        how = ("在验证集上挑选的检查点的测试困惑度", "test perplexity at the checkpoint chosen on validation")
    else:
        epochs = max(r["epochs"] for r in both)
        size = (f"{epochs} 轮", f"{epochs} epochs")
        how = ("最低验证困惑度（在同一份留出文本上挑选并报告，偏乐观）",
               "lowest validation perplexity (chosen and reported on the same held-out text, so optimistic)")
    (zg, eg), (zl, el) = summary(g["gru"], held_out), summary(g["lstm"], held_out)
    wt = htxt(acc, ("GRU", "the GRU"))
    bullets = [
        (f"**条件：** 每种模型 {n} 个种子，{size[0]}；设备：{device_of(g['gru'])}。精度用{how[0]}。",
         f"**Conditions:** {seeds(n)} per model, {size[1]}; device: {device_of(g['gru'])}. Accuracy is the {how[1]}."),
        (f"**精度：** GRU {zg}，LSTM {zl}。GRU 减 LSTM：{wt[0]}。",
         f"**Accuracy:** GRU {eg}, LSTM {el}. GRU minus LSTM: {wt[1]}."),
        ex2_curve(g, held_out), ex2_speed(g, speed)]
    if significant(acc):
        low = "更低" if acc["diff"] < 0 else "更高"
        v = (f"GRU 的困惑度显著{low}", f"the GRU's perplexity is significantly {'lower' if acc['diff'] < 0 else 'higher'}")
    elif "p_holm" in acc:
        v = (f"用 {n} 个种子看不出 GRU 和 LSTM 的精度有显著差别", f"{n} seeds show no significant difference in "
             f"accuracy between the GRU and the LSTM")
    else:
        v = ("无法判断哪个更准", "there is no telling which is more accurate")
    answer = (f"**答案：** {v[0]}。哪个更快要在你的设备上测。",
              f"**Answer:** {v[1]}. Which is faster must be measured on your device.")
    return bullets, answer


def ex2_curve(g, held_out):
    both = g["gru"] + g["lstm"]
    at = "chosen_epoch" if held_out == "test_ppl" else "best_valid_epoch"
    ep = {k: sorted({int(r[at]) for r in g[k]}) for k in ("gru", "lstm")}
    rng = lambda xs: f"{xs[0]}" if len(xs) == 1 else f"{xs[0]}–{xs[-1]}"
    if held_out == "test_ppl":
        where = (f"在第 {rng(ep['gru'])} 个检查点（GRU）和第 {rng(ep['lstm'])} 个检查点（LSTM，共 {both[0]['checkpoints']} 个）",
                 f"at checkpoint {rng(ep['gru'])} (GRU) and {rng(ep['lstm'])} (LSTM) of {both[0]['checkpoints']}")
    else:
        where = (f"在第 {rng(ep['gru'])} 轮（GRU）和第 {rng(ep['lstm'])} 轮（LSTM）",
                 f"at epoch {rng(ep['gru'])} (GRU) and {rng(ep['lstm'])} (LSTM)")
    fz = {k: summary(g[k], "final_valid_ppl") for k in ("gru", "lstm")}
    ft = {k: study.mean_sd(values(g[k], "final_train_ppl"))[0] for k in ("gru", "lstm")}
    rises = all(a > b for k in ("gru", "lstm") for a, b in zip(
        values(g[k], "final_valid_ppl"), values(g[k], "valid_ppl_chosen" if held_out == "test_ppl" else "best_valid_ppl")))
    then = ("，之后在每次运行中都回升（过拟合）", " and rises afterwards in every run (overfitting)") if rises else ("", "")
    return (f"**验证曲线：** 验证困惑度的最低点{where[0]}{then[0]}；"
            f"最终验证困惑度 GRU {fz['gru'][0]}、LSTM {fz['lstm'][0]}，最终训练困惑度{ft['gru']:.2f} 和 {ft['lstm']:.2f}。",
            f"**Validation curve:** validation perplexity is lowest {where[1]}{then[1]}; final validation perplexity "
            f"GRU {fz['gru'][1]}, LSTM {fz['lstm'][1]}, final training perplexity {ft['gru']:.2f} and {ft['lstm']:.2f}.")


def ex2_speed(g, w):
    """The speed bullet; a wide spread between seeds of one model is named as a shared CPU."""
    sg, sl = values(g["gru"], "tokens_per_sec"), values(g["lstm"], "tokens_per_sec")
    mg, ml = study.mean_sd(sg)[0], study.mean_sd(sl)[0]
    faster = ("GRU", "LSTM") if mg > ml else ("LSTM", "GRU")
    how = (("显著更快", "significantly faster") if significant(w) else
           ("更快，但差别不显著", "faster, but not significantly") if "p_holm" in w else
           ("更快，未检验", "faster, not tested"))
    p = (f"（{_ph(w)}）", f" ({_ph(w)})") if "p_holm" in w else ("", "")
    spread = max(max(xs) / min(xs) for xs in (sg, sl))
    shared = ((f"同一模型不同种子的速度相差可达 {spread:.2f} 倍，说明机器当时有别的负载：这个比值只是粗略的。",
               f" Seeds of one model differ in speed by up to {spread:.2f}x, a sign of a shared machine: the ratio is rough.")
              if spread > 1.15 else ("速度之比取决于框架和设备。", " The ratio depends on the framework and the device."))
    return (f"**速度：** GRU {mg:,.0f}、LSTM {ml:,.0f} 词元/秒（种子均值）；{faster[0]} {how[0]}{p[0]}。{shared[0]}",
            f"**Speed:** GRU {mg:,.0f}, LSTM {ml:,.0f} tokens/s (mean over seeds); the {faster[0]} is {how[1]}{p[1]}.{shared[1]}")


def ex2_readme(tab, g, held_out):
    at = "chosen_epoch" if held_out == "test_ppl" else "best_valid_epoch"
    lines = [f"#### Exercise 2, GRU against LSTM ({TAB_NAMES.get(tab, tab)})", "",
             f"| model | parameters | seeds | final training perplexity | {'test perplexity' if held_out == 'test_ppl' else 'lowest validation perplexity'} (mean ± sd) "
             f"| {'checkpoint chosen' if at == 'chosen_epoch' else 'epoch of the lowest point'} "
             "| final validation perplexity | tokens/s | wall time |",
             "| --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
    for k in ("lstm", "gru"):
        rs = g[k]
        lines.append(
            f"| {k.upper()} | {int(rs[0].get('num_params', 0)):,} | {len(rs)} | "
            f"{study.mean_sd(values(rs, 'final_train_ppl'))[0]:.2f} | {ms(values(rs, held_out))[1]} | "
            f"{', '.join(str(int(r[at])) for r in rs)} | {ms(values(rs, 'final_valid_ppl'))[1]} | "
            f"{ms(values(rs, 'tokens_per_sec'), ',.0f')[1]} | {study.mean_sd(values(rs, 'wall_time_s'))[0] / 60:.1f} min |")
    family = holm([htest(g["gru"], g["lstm"], held_out), htest(g["gru"], g["lstm"], "tokens_per_sec")])
    return "\n".join(lines) + "\n\n" + comparisons_md(zip((f"{held_out}, GRU minus LSTM", "tokens/s, GRU minus LSTM"), family))


# ------------------------------------------------------------------ ex3

def corpus_name(key):
    if key == "10k":
        return ("书中的 10,000 个字符", "the book's 10,000 characters")
    n = int(key)
    return (f"{n} 本书", f"{n} book" + ("s" if n > 1 else ""))


def ex3_old(rs):
    """One bullet on the old design's single-seed runs, labelled as such."""
    old = sorted((r for r in rs if re.fullmatch(r"ex3/[^/]+", r["key"]) and "tokens" in r
                  and r.get("num_books", 0) >= 2), key=lambda r: r["tokens"])
    if len(old) < 2:
        return []
    ppl = [r["best_valid_ppl"] for r in old]
    follows = all(a > b for a, b in zip(ppl, ppl[1:]))
    toks = "、".join(f"{r['tokens']:,}" for r in old)
    toks_en = ", ".join(f"{r['tokens']:,}" for r in old)
    ranks = "，".join(f"{r['num_books']} 本书 {r['best_valid_ppl']:.2f}" for r in old)
    ranks_en = ", ".join(f"{r['num_books']} books {r['best_valid_ppl']:.2f}" for r in old)
    return [(
        f"**旧设计的结果（只作参考，不是答案）：** 每种语料 1 个种子，轮数取整，在同一段留出文本上挑选并报告。"
        f"按实际见到的词元数（{toks}）排列，最低验证困惑度是 {ranks}；"
        + ("名次与词元数的多少一一对应，所以旧的“几本书最好”是取整造成的假象。" if follows
           else "只有 1 个种子，这些差别无法与随机波动区分。"),
        f"**Old design (for reference, not an answer):** one seed per corpus, epochs rounded, chosen and reported on the "
        f"same held-out text. Ordered by the tokens each run actually saw ({toks_en}), the lowest validation "
        f"perplexities are {ranks_en}; "
        + ("the ranking follows the token counts exactly, so the old \"best number of books\" is an artifact of the "
           "rounding." if follows else "with one seed these differences cannot be told from noise."))]


def ex3_sections(runs):
    sections, readme = [], []
    for tab in MEASURED:
        rs = [r for r in runs if r.get("tab") == tab]
        g = seeded(rs, "ex3/", "test_ppl")
        if not g:
            bullets = [("新设计（每次运行恰好相同的词元预算、每种语料 3 个种子、验证集/测试集划分）尚未在这个框架下测量，这里没有可以引用的结论。",
                        "The new design (exactly the same token budget for every run, 3 seeds per corpus, a "
                        "validation/test split) has not been measured under this framework yet: there is no "
                        "conclusion to quote here.")] + ex3_old(rs)
            sections.append((tab, bullets, None))
            continue
        order = sorted(g, key=lambda k: (k != "10k", int(k) if k != "10k" else 0))
        sections.append((tab, ex3_tab(g, order), None))
        readme.append(ex3_readme(tab, g, order))
    both = frameworks_plateau(runs, "ex3/", "test_ppl")
    if both:
        sections.append(("frameworks", [both], None))
    return cell_text(head_text(("每种语料一行", "one row per corpus"), ex3_families(runs)), sections), readme


def ex3_tab(g, order):
    """At most 5 bullets: conditions, the plateau where it binds, the corpora, the tails, the budget."""
    every = [r for k in order for r in g[k]]
    n, last = min(len(g[k]) for k in order), chose_last(every)
    lowest = ex3_lowest(g, order)
    tails = ex3_tails(g, order[-1])
    bullets = [(
        f"**条件：** {len(order)} 种语料，每种至少 {n} 个种子，每次恰好 {every[0]['budget_tokens']:,} 个训练词元；"
        f"报告测试困惑度；设备：{device_of(every)}。",
        f"**Conditions:** {len(order)} corpora, at least {seeds(n)} each, exactly {every[0]['budget_tokens']:,} "
        f"training tokens per run; test perplexity reported; device: {device_of(every)}.")]
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
            return (f"与最低者比较的其余 {len(g) - 1} 种语料；{big} 本书对 1 本书，在其他 {m} 部小说的留出文本上",
                    f"the {len(g) - 1} other corpora against the lowest; {corpus_name(big)[1]} against 1 book on "
                    f"the {m} other novels' tails")
    return ("与最低者比较的其余语料；其他小说的留出文本", "the other corpora against the lowest; the other novels' tails")


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


def comparisons_md(rows):
    """A markdown table of tests: ``rows`` of (name, :func:`htest` result)."""
    lines = ["| comparison | difference | 95% CI | p | Holm p |", "| --- | --- | --- | --- | --- |"]
    for name, w in rows:
        if "p_holm" in w:
            lines.append(f"| {name} | {w['diff']:+.2f} | {w['ci'][0]:+.2f} to {w['ci'][1]:+.2f} | "
                         f"{w['p']:.3f} | {w['p_holm']:.3f} |")
        else:
            lines.append(f"| {name} | {w['why'][1]} | | | |")
    return "\n".join(lines)


def ex3_lowest(g, order):
    """The corpus with the lowest mean test perplexity, and the family of the others against it."""
    best, others, family = corpora_family(g, order)
    z, e = summary(g[best], "test_ppl")
    groups = {"higher": [], "same": [], "untested": []}
    for k, w in zip(others, family):
        name = corpus_name(k)
        if significant(w) and w["diff"] > 0:
            groups["higher"].append((f"{name[0]}（{w['diff']:+.2f}，{_ph(w)}）", f"{name[1]} ({w['diff']:+.2f}, {_ph(w)})"))
        elif "p_holm" in w:
            groups["same"].append(name)
        else:
            s = summary(g[k], "test_ppl")
            groups["untested"].append((f"{name[0]} {s[0]}", f"{name[1]} {s[1]}"))
    same = [w["p_holm"] for w in family if "p_holm" in w and not significant(w)]
    titles = {"higher": ("显著更高", "significantly higher"),
              "same": (f"看不出显著差别（{_at_least(same)}）", f"no significant difference ({_at_least(same)})"),
              "untested": ("未检验（含发散或没有离开平台的运行）", "not tested (a run diverged or never left the plateau)")}
    parts = [(f"{titles[t][0]}：" + "、".join(x[0] for x in xs), f"{titles[t][1]}: " + ", ".join(x[1] for x in xs))
             for t, xs in groups.items() if xs]
    z2, e2 = join(parts)
    alone = not groups["same"] and not groups["untested"]
    end = (("所以可以说它最低。", " So it is the lowest.") if alone else ("所以不能说哪一种语料最好。", " So no single corpus can be called best."))
    return (f"**最低的测试困惑度：** {corpus_name(best)[0]}，{z}。其余语料与它相比，{z2}。{end[0]}",
            f"**Lowest test perplexity:** {corpus_name(best)[1]}, {e}. The other corpora against it: {e2}.{end[1]}")


def ex3_tails(g, big):
    """The largest corpus against 1 book on every other novel's held-out tail: one family."""
    if not tails_family(g, big):
        return None
    tails, family = tails_family(g, big)
    parts = []
    for book, w in zip(tails, family):
        mb, m1 = (center(x, f"heldout_ppl.{book}") for x in (g[big], g["1"]))
        none = not any(significant(x) for x in family) and all("p_holm" in x for x in family)
        v = ("", "") if none else (f"（{_ph(w)}）", f" ({_ph(w)})") if "p_holm" in w else ("（未检验）", " (not tested)")
        if significant(w):
            v = (f"（{_ph(w)}，显著更{'低' if w['diff'] < 0 else '高'}）",
                 f" ({_ph(w)}, significantly {'lower' if w['diff'] < 0 else 'higher'})")
        parts.append((f"{BOOKS.get(book, (book, book))[0]} {mb:.2f} 对 {m1:.2f}{v[0]}",
                      f"{BOOKS.get(book, (book, book))[1]} {mb:.2f} vs {m1:.2f}{v[1]}"))
    z, e = join(parts, ("，", ", "))
    low = _at_least([w["p_holm"] for w in family if "p_holm" in w])
    end = ((f"：没有一部显著不同（{low}）。", f": none is significantly different ({low}).")
           if none else ("。", "."))
    anyone = any(stuck(r, f"heldout_ppl.{b}") for b in tails for r in g[big] + g["1"])
    avg = ("种子中位数", "medians over seeds") if anyone else ("种子均值", "means over seeds")
    return (f"**其他小说的留出文本**（{corpus_name(big)[0]}对只用《时间机器》的模型，{avg[0]}）：{z}{end[0]}",
            f"**Other novels' held-out text** ({corpus_name(big)[1]} against the model trained on "
            f"*The Time Machine* alone, {avg[1]}): {e}{end[1]}")


def ex3_readme(tab, g, order):
    tails = sorted(set().union(*(r.get("heldout_ppl", {}) for k in order for r in g[k])))
    lines = [f"#### Exercise 3, more books ({TAB_NAMES.get(tab, tab)})", "",
             "| corpus | training characters | passes | seeds | test perplexity | checkpoints on the plateau (median) | "
             + " | ".join(f"{BOOKS.get(b, (b, b))[1]} tail" for b in tails) + " |",
             "| --- | --- | --- | --- | --- | --- | " + " | ".join("---" for _ in tails) + " |"]
    for k in order:
        rs = g[k]
        cells = [summary(rs, f"heldout_ppl.{b}")[1] if all(b in r.get("heldout_ppl", {}) for r in rs) else "–"
                 for b in tails]
        share = plateau_share(rs)
        lines.append(f"| {corpus_name(k)[1]} | {int(rs[0]['train_chars']):,} | {rs[0]['passes']:.2f} | {len(rs)} | "
                     f"{summary(rs, 'test_ppl')[1]} | {checkpoints_txt(share) if share else '–'} | " + " | ".join(cells) + " |")
    best, others, family = corpora_family(g, order)
    rows = [(f"test perplexity, {corpus_name(k)[1]} minus {corpus_name(best)[1]}", w) for k, w in zip(others, family)]
    if tails_family(g, order[-1]):
        tails, family = tails_family(g, order[-1])
        rows += [(f"{BOOKS.get(b, (b, b))[1]} tail, {corpus_name(order[-1])[1]} minus 1 book", w)
                 for b, w in zip(tails, family)]
    return "\n".join(lines) + "\n\n" + comparisons_md(rows)


# ------------------------------------------------------------------ ex4

AUTHORS = [("ppl_austen", ("奥斯汀", "Austen")), ("ppl_doyle", ("道尔", "Doyle")),
           ("ppl_wells", ("威尔斯五本书", "Wells's five tails")),
           ("ppl_time_machine", ("《时间机器》的测试集", "*The Time Machine*'s test half"))]


def ex4_old(rs):
    old = {r["key"].split("/")[1]: r for r in rs if re.fullmatch(r"ex4/[^/]+", r["key"])}
    if not {"wells", "mixed"} <= set(old):
        return []
    parts = [(f"{name[0]} {old['wells'][k]:.2f} → {old['mixed'][k]:.2f}", f"{name[1]} {old['wells'][k]:.2f} → {old['mixed'][k]:.2f}")
             for k, name in AUTHORS[:3] if k in old["wells"] and k in old["mixed"]]
    z, e = join(parts, ("，", ", "))
    return [(f"**旧设计的结果（只作参考，不是答案）：** 每个模型 1 个种子，从只用威尔斯到混合：{z}。"
             "只有 1 个种子，无法判断这些变化是否超出随机波动。",
             f"**Old design (for reference, not an answer):** one seed per model, from Wells only to mixed: {e}. "
             "With one seed there is no telling whether these changes exceed the noise between seeds.")]


def ex4_sections(runs):
    sections, readme, signs, bound = [], [], {}, {}
    for tab in MEASURED:
        rs = [r for r in runs if r.get("tab") == tab]
        g = seeded(rs, "ex4/", "ppl_wells")
        if not {"wells", "mixed"} <= set(g):
            bullets = [("新设计（每个模型 3 个种子、恰好相同的词元预算、对照模型 C、在验证集上挑选检查点）尚未在这个框架下测量，这里没有可以引用的结论。",
                        "The new design (3 seeds per model, exactly the same token budget, the control model C, "
                        "checkpoints chosen on validation) has not been measured under this framework yet: there is "
                        "no conclusion to quote here.")] + ex4_old(rs)
            sections.append((tab, bullets, None))
            continue
        family = holm([htest(g["mixed"], g["wells"], key) for key, _ in AUTHORS])
        signs.update({(key, tab): w for (key, _), w in zip(AUTHORS, family)})
        ab = g["wells"] + g["mixed"]
        bound[tab] = plateau_bound(ab)
        sections.append((tab, ex4_tab(g, family, bound[tab]), None))
        readme.append(ex4_readme(tab, g))
    extra = frameworks_plateau(runs, "ex4/", "ppl_wells") if any(bound.values()) else ex4_agreement(signs)
    if extra:
        sections.append(("frameworks", [extra], None))
    family = (f"{len(AUTHORS)} 份作者留出文本（对照 C 单独检验）", f"the {len(AUTHORS)} per-author tails (the control C on its own)")
    return cell_text(head_text(("每个模型一行", "one row per model"), family), sections), readme


def ex4_tab(g, family, bound):
    """At most 5 bullets: conditions, plateau or budget, what mixing gains and costs, the control."""
    ab = g["wells"] + g["mixed"]
    n = min(len(v) for v in g.values())
    bullets = [(f"**条件：** {len(g)} 个模型，每个至少 {n} 个种子，A 和 B 各 {g['wells'][0]['budget_tokens']:,} 个训练词元；设备：{device_of(ab)}。"
                f"差值是 B 减 A。",
                f"**Conditions:** {len(g)} models, at least {seeds(n)} each, {g['wells'][0]['budget_tokens']:,} training "
                f"tokens for A and B; device: {device_of(ab)}. Differences are B minus A.")]
    if bound:
        bullets.append(plateau_bullet(ab, chose_last(ab)))
    for keys, title in ((AUTHORS[:2], ("混合的收益", "What mixing gains")), (AUTHORS[2:], ("混合的代价", "What mixing costs"))):
        parts = []
        for key, name in keys:
            w = family[[k for k, _ in AUTHORS].index(key)]
            (za, ea), (zb, eb) = summary(g["wells"], key), summary(g["mixed"], key)
            wt = htxt(w, ("B", "B"), ci=False)
            parts.append((f"{name[0]} A {za}，B {zb}（{wt[0]}）", f"{name[1]} A {ea}, B {eb} ({wt[1]})"))
        z, e = join(parts)
        bullets.append((f"**{title[0]}：** {z}。", f"**{title[1]}:** {e}."))
    if "wells-once" in g:
        bullets.append(ex4_control(g))
    if not bound:
        bullets.append(budget_bullet(ab, chose_last(ab)))
    return bullets


def ex4_control(g):
    """B against the control C, which saw as much Wells text as B in half B's tokens."""
    w = holm([htest(g["mixed"], g["wells-once"], "ppl_wells")])[0]
    zc, ec = summary(g["wells-once"], "ppl_wells")
    wt = htxt(w, ("B", "B"))
    # B trains twice C's tokens: the control cannot separate "other authors" from "more steps"
    if "p_holm" not in w:
        why = ("", "")
    elif not significant(w):
        why = ("这与“B 在威尔斯上的代价来自少看一遍”相符（B 的训练量还是 C 的两倍）。",
               " This fits \"B's cost on Wells comes from seeing Wells once\" (and B trained twice C's tokens).")
    elif w["diff"] > 0:
        why = ("即使训练量是 C 的两倍，加入其他作者本身也有代价。",
               " Even with twice C's training, adding other authors costs something of its own.")
    else:
        why = ("B 的训练量是 C 的两倍：这个对照分不开“其他作者”和“更多训练步数”。",
               " B trained twice C's tokens: this control cannot tell \"other authors\" apart from \"more training steps\".")
    return (f"**对照：** 模型 C 在威尔斯上 {zc}；B 减 C：{wt[0]}。{why[0]}",
            f"**Control:** model C on Wells {ec}; B minus C: {wt[1]}.{why[1]}")


def ex4_agreement(signs):
    """Where both tabs tested an author: do the signs of B minus A agree?"""
    names = dict(AUTHORS)
    both = [k for k, _ in AUTHORS if all("p_holm" in signs.get((k, t), {}) for t in MEASURED)]
    if not both:
        return None
    agree = [k for k in both if len({signs[k, t]["diff"] > 0 for t in MEASURED}) == 1]
    disagree = [k for k in both if k not in agree]
    loud = [k for k in disagree if any(significant(signs[k, t]) for t in MEASURED)]
    z = "、".join(names[k][0] for k in agree) or "没有"
    e = ", ".join(names[k][1] for k in agree) or "none"
    if not disagree:
        rest = ("。", ".")
    elif loud:
        rest = ("；其余方向相反，其中" + "、".join(names[k][0] for k in loud) + "至少在一个框架里显著。",
                "; they disagree on the rest, significantly in at least one framework on "
                + ", ".join(names[k][1] for k in loud) + ".")
    else:
        rest = ("；其余方向相反，但那些差值在两个框架里都不显著。",
                "; they disagree on the rest, where neither framework's difference is significant.")
    return (f"两个框架的差值方向一致的是：{z}{rest[0]}", f"The two frameworks agree in the sign of the difference on: {e}{rest[1]}")


def ex4_readme(tab, g):
    lines = [f"#### Exercise 4, mixing authors ({TAB_NAMES.get(tab, tab)})", "",
             "| model | seeds | " + " | ".join(k for k, _ in AUTHORS) + " | checkpoints on the plateau (median) |",
             "| --- | --- | " + " | ".join("---" for _ in AUTHORS) + " | --- |"]
    for name, rs in g.items():
        share = plateau_share(rs)
        lines.append(f"| {name} | {len(rs)} | " + " | ".join(summary(rs, k)[1] for k, _ in AUTHORS)
                     + f" | {checkpoints_txt(share) if share else '–'} |")
    family = holm([htest(g["mixed"], g["wells"], key) for key, _ in AUTHORS])
    rows = [(f"{key}, mixed minus wells", w) for (key, _), w in zip(AUTHORS, family)]
    if "wells-once" in g:
        rows.append(("ppl_wells, mixed minus wells-once (the control, a family of its own)",
                     holm([htest(g["mixed"], g["wells-once"], "ppl_wells")])[0]))
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
    text = ("# Measured results · 实测结果\n\n"
            "Generated by `python tools/answers.py` (`make answers`) from `results/full-mode.json`; do not edit by "
            "hand. These are the long tables behind the measured-answer cells of notebooks 04, ex1, ex2, ex3 and ex4 "
            "(mean ± sample sd over seeds; a median and a count where a run diverged or never left the "
            "letter-frequency plateau). \"Checkpoints on the plateau\" counts the checkpoints before the validation "
            f"perplexity first fell below {ESCAPE:g} × the unigram model's.\n\n"
            + ("\n\n".join(tables) if tables else "No runs of the current designs are recorded yet.") + "\n")
    return cells, text


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
            sys.exit("stale, run `python tools/answers.py`: " + ", ".join(bad))
    else:
        write(runs)


if __name__ == "__main__":
    main()
