"""Write notebook 04's measured-answer cells from results/full-mode.json.

    python tools/depth_answer.py            # rewrite the two cells in place
    python tools/depth_answer.py --print    # only print them

The cells are the markdown pair that starts with "### 完整模式的实测结果（PyTorch）"
and "### Measured full-mode results (PyTorch)".  Re-run this after recording
more depth-study runs; tests/test_quoted_numbers.py checks the numbers.
"""
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from d2l_helpers import results, study  # noqa: E402

runs = study.runs_from(results.full_mode(), 'pytorch')
table = study.summarize(runs)
total = len(runs)

def get(c, L, h=256):
    try:
        return study.lookup(table, c, L, h)
    except KeyError:
        return None

def ms(r, zh=True):
    if r is None:
        return '–'
    s = f"{r['test_mean']:.2f}" if r['n'] < 2 else f"{r['test_mean']:.2f} ± {r['test_sd']:.2f}"
    return s + (f"（{r['n']}）" if zh else f" ({r['n']})")

rows_zh, rows_en = [], []
for c in study.CELLS:
    rows_zh.append(f"| {c.upper()} | " + " | ".join(ms(get(c, L)) for L in study.DEPTHS) + " |")
    rows_en.append(f"| {c.upper()} | " + " | ".join(ms(get(c, L), False) for L in study.DEPTHS) + " |")
speed_zh, speed_en = [], []
for c in study.CELLS:
    cells = [get(c, L) for L in study.DEPTHS]
    speed = " | ".join(f"{r['tokens_per_sec']:,.0f}" if r else '–' for r in cells)
    speed_zh.append(f"| {c.upper()} | {speed} |")
    speed_en.append(f"| {c.upper()} | {speed} |")

def w(a, b):
    try:
        return study.compare(runs, a, b)
    except ValueError:
        return None

def wtxt(x, zh=True):
    if x is None:
        return '种子不足，无法检验' if zh else 'too few seeds to test'
    lo, hi = x['ci']
    p = "p < 0.01" if x['p'] < 0.01 else f"p = {x['p']:.2f}"
    if zh:
        return f"差 {x['diff']:+.2f}，95% 置信区间 {lo:+.2f} 到 {hi:+.2f}，{p}"
    return f"difference {x['diff']:+.2f}, 95% CI {lo:+.2f} to {hi:+.2f}, {p}"

g21, l21, r21 = w(('gru', 2, 256), ('gru', 1, 256)), w(('lstm', 2, 256), ('lstm', 1, 256)), w(('rnn', 2, 256), ('rnn', 1, 256))
wide, deep = get(*study.WIDE), get('lstm', 2)
wd = w(study.WIDE, ('lstm', 2, 256))
rnn1 = [r['test_ppl'] for r in runs if (r['cell'], r['num_layers']) == ('rnn', 1)]
chosen_last = sum(r['chosen_epoch'] == r['checkpoints'] for r in runs if r['cell'] != 'rnn')
gated = sum(1 for r in runs if r['cell'] != 'rnn')
worst_rnn1 = max(rnn1)

g1sd = get('gru', 1)['test_sd'] if get('gru', 1) else float('nan')
l1sd = get('lstm', 1)['test_sd'] if get('lstm', 1) else float('nan')
if wide is None:
    wide_zh = '宽度与深度：一层 436 个隐藏单元的 LSTM 的运行没有完成，这一对还没有结果。'
    wide_en = 'Width against depth: the runs of the one-layer LSTM with 436 hidden units did not finish; this pair has no result yet.'
else:
    wide_zh = f"宽度与深度（参数量几乎相同）：一层 436 个隐藏单元的 LSTM 为 {ms(wide)}，两层 256 的 LSTM 为 {ms(deep)}；{wtxt(wd)}。"
    wide_en = (f"Width against depth (almost the same number of parameters): one LSTM layer of 436 hidden units gives "
               f"{ms(wide, False)}, two layers of 256 give {ms(deep, False)}; {wtxt(wd, False)}.")

wide_bullet_zh = wide_bullet_en = ""
if wide is not None and deep is not None:
    better = wide['test_mean'] < deep['test_mean']
    wide_bullet_zh = (f"* **宽度与深度：** 参数量相同时，{'一层宽的 LSTM 好于两层' if better else '两层 LSTM 好于一层宽的'}"
                      f"（{wide['test_mean']:.2f} 对 {deep['test_mean']:.2f}）。"
                      + ("宽的 LSTM 种子不足，还不能做检验；" if wd is None else f"{wtxt(wd)}；")
                      + f"作为参照，1 层 256 的 LSTM 种子之间的标准差是 {l1sd:.2f}。就这一对运行看，在这个预算下参数花在宽度上更划算，还需要更多种子来确认。\n")
    wide_bullet_en = (f"* **Width against depth:** at the same number of parameters, "
                      f"{'the wide one-layer LSTM beats the two-layer one' if better else 'the two-layer LSTM beats the wide one-layer one'}"
                      f" ({wide['test_mean']:.2f} vs {deep['test_mean']:.2f}). "
                      + ("The wide LSTM has too few seeds for a test yet; " if wd is None else f"{wtxt(wd, False)}; ")
                      + f"for scale, the one-layer 256-unit LSTM's seeds have a standard deviation of {l1sd:.2f}. On this one pair\n"
                      f"  of runs, at this budget, parameters look better spent on width than on depth; more seeds must confirm it.\n")
    if not better:
        wide_bullet_zh = wide_bullet_zh.replace("参数花在宽度上更划算", "参数花在深度上更划算")
        wide_bullet_en = wide_bullet_en.replace("parameters look better spent on width than on depth", "parameters look better spent on depth than on width")

zh = f"""### 完整模式的实测结果（PyTorch）

测量条件：PyTorch，AMD EPYC CPU（2 核），每个进程 1 个线程。测量时这台机器同时被另外几个会话占满，为了在期限内拿到结果，
这些运行被分给了多个同时运行的进程，39 次运行也只完成了 {total} 次（表中括号里是完成的种子数；只有 1 个种子的格子没有标准差）。
因此**每秒词元数只能在同一行里看大致的趋势，绝对值和跨行比较都没有意义**。

测试困惑度（均值 ± 标准差，括号里是种子数）：

| 单元 | 1 层 | 2 层 | 3 层 | 4 层 |
| --- | --- | --- | --- | --- |
{chr(10).join(rows_zh)}

训练速度（词元/秒，共享机器上测得）：

| 单元 | 1 层 | 2 层 | 3 层 | 4 层 |
| --- | --- | --- | --- | --- |
{chr(10).join(speed_zh)}

{wide_zh}

**答案：在这个预算下，加深没有带来任何好处；现有的数据都指向更差。**

* **GRU 和 LSTM：** 1 层最好，更深的配置测试困惑度都更高。2 层减 1 层：GRU {wtxt(g21)}；LSTM {wtxt(l21)}。
  只有 1 个种子的深层配置无法做检验，但它们都远高于 1 层的均值，而 1 层各种子之间的标准差只有 {g1sd:.2f}（GRU）和 {l1sd:.2f}（LSTM）。
  {gated} 次门控模型的运行中有 {chosen_last} 次选中的是最后一个检查点：验证困惑度在预算用完时还在下降，深层模型每个词元学得更慢，在约 1.3 遍数据里追不上浅层模型。
{wide_bullet_zh}* **普通 RNN：** 学习率 2 对它太大。1 层时种子之间差别很大（最差的一个种子停在 {worst_rnn1:.2f}）；2 到 4 层时多数运行停在均匀猜测（28）附近甚至更差，检查点常常选在训练早期。2 层减 1 层：{wtxt(r21)}，种子之间的波动太大，3 个种子下看不出显著差别。这就是小结里“深层网络需要仔细选择初始化和学习率”的实例。
* **速度：** 这里测得的速度不可用：例如 1 层 GRU 看起来比 2 层还慢，只是因为它的后两个种子是在更多进程同时运行时跑的。
  在安静机器上，README 中 `make bench --scaling` 的测量显示 LSTM 的速度随层数明显下降；这里的表只能作为参考。
* **什么时候加深可能有用？** 本实验不能回答。它只说明：训练词元少（约 1.3 遍）、学习率不按深度调整时，加深有害。要看到加深的好处，至少需要更多的训练词元（让深层模型训练到验证困惑度不再下降）、按深度调的学习率，以及足够多的数据（在本章的 10,000 个字符上，更深只会记得更快）。缺少的种子和配置还要补跑。
"""

en = f"""### Measured full-mode results (PyTorch)

Conditions: PyTorch, AMD EPYC CPU (2 cores), one thread per process. During the measurement this machine was saturated by
several other sessions at once; to get results before the deadline the runs were spread over several processes running
at the same time, and only {total} of the 39 runs finished (the number of seeds is in brackets; cells with one seed have
no standard deviation). So **tokens per second show only a rough trend within a row; their absolute values, and
comparisons between rows, mean nothing**.

Test perplexity (mean ± sd, number of seeds in brackets):

| cell | 1 layer | 2 layers | 3 layers | 4 layers |
| --- | --- | --- | --- | --- |
{chr(10).join(rows_en)}

Training speed (tokens/s, measured on the shared machine):

| cell | 1 layer | 2 layers | 3 layers | 4 layers |
| --- | --- | --- | --- | --- |
{chr(10).join(speed_en)}

{wide_en}

**Answer: at this budget depth brings no benefit; all the data we have points to worse.**

* **GRU and LSTM:** one layer is best; every deeper configuration has a higher test perplexity. Two layers minus one: GRU
  {wtxt(g21, False)}; LSTM {wtxt(l21, False)}. The deeper configurations with one seed cannot be tested, but each lies
  far above the one-layer mean, while the one-layer seeds have a standard deviation of only {g1sd:.2f} (GRU) and
  {l1sd:.2f} (LSTM). In {chosen_last} of the {gated} runs of gated models the chosen checkpoint
  is the last one: validation perplexity was still falling when the budget ran out, and deeper models, which learn
  more slowly per token, cannot catch up with shallow ones in about 1.3 passes over the data.
{wide_bullet_en}* **Plain RNN:** a learning rate of 2 is too large for it. With one layer the seeds differ widely (the worst seed
  stops at {worst_rnn1:.2f}); with 2 to 4 layers most runs stay near the uniform guess (28) or worse, and the chosen
  checkpoint is often early in training. Two layers minus one: {wtxt(r21, False)}; the seeds vary too much for 3 of them to show a significant
  difference. This is the summary's
  "deep networks need care with initialisation and learning rate", shown.
* **Speed:** the speeds measured here are unusable: the one-layer GRU, for example, looks slower than the two-layer
  one only because its last two seeds ran while more processes shared the CPU. On a quiet machine, the README's
  `make bench --scaling` shows LSTM speed falling markedly with depth; the table here is for reference only.
* **When might depth help?** This experiment cannot say. It only shows that with few training tokens (about 1.3
  passes) and a learning rate not tuned per depth, depth hurts. Seeing a benefit would need at least more training
  tokens (so that deep models train until validation perplexity stops falling), learning rates tuned per depth, and
  enough data (on the chapter's 10,000 characters more depth only memorizes faster). The missing seeds and
  configurations still have to be run.
"""
NOTEBOOK = ROOT / "notebooks" / "04-depth-study.ipynb"
HEADS = {"zh": "### 完整模式的实测结果（PyTorch）", "en": "### Measured full-mode results (PyTorch)"}


def write(path=NOTEBOOK):
    import nbformat
    nb = nbformat.read(str(path), as_version=4)
    done = set()
    for cell in nb.cells:
        for lang, head in HEADS.items():
            if cell.cell_type == "markdown" and cell.source.startswith(head):
                cell.source = (zh if lang == "zh" else en).strip("\n")
                done.add(lang)
    if done != set(HEADS):
        sys.exit(f"{path}: no measured-answer cell for {set(HEADS) - done}")
    nbformat.write(nb, str(path))


if __name__ == "__main__":
    if "--print" in sys.argv:
        print(zh)
        print(en)
    else:
        write()
