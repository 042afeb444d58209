"""The depth study (notebook 04): runs at an exact token budget, and the
statistics to read them.

Framework-neutral: it imports no framework, and trains through the public
API of the ``d2l`` module it is given (``from d2l_helpers import torch as
d2l`` or ``mxnet as d2l``): ``make_loader``, ``train_ch8``, ``evaluate_ppl``,
``try_gpu``, and ``d2l.BACKEND`` (:class:`d2l_helpers.backend.Backend`) for
the rest: seeding, the chapter's model, weight snapshots, parameter counts,
logits as NumPy, the signals at initialisation.

* :func:`split_heldout` cuts the held-out tail into validation (for choosing
  the checkpoint) and test (for reporting).
* :class:`BudgetIter` feeds ``train_ch8`` a fixed number of minibatches per
  "epoch" from an endless stream of the book's sequential minibatches, so a
  run stops exactly at its token budget, in the middle of a pass over the
  text; it keeps a copy of the weights at every checkpoint.
* :func:`run_one` trains one model and returns a result dict (validation
  curve, test perplexity at the checkpoint chosen on validation, tokens/s of
  training alone, parameter count).
* :func:`mean_sd`, :func:`welch` and :func:`fisher_exact` are the
  statistics, computed by ``scipy.stats``; ``tests/test_study.py`` checks
  them against published values.

``python -m experiments.study --tab pytorch`` runs the full study from a
shell and records every run with :func:`d2l_helpers.results.record`.
"""
import collections
import contextlib
import functools
import math
import random
import time
from dataclasses import dataclass

import numpy as np
from scipy import stats as sps

from d2l_helpers import backend, config, frameworks, modes
from d2l_helpers.settings import Settings

CELLS = backend.CELLS  # ("rnn", "gru", "lstm")
DEPTHS = (1, 2, 3, 4)
NUM_HIDDENS = 256
# The width-vs-depth pair: one LSTM layer of 436 hidden units has 824,940
# parameters, the chapter's 2 x 256 LSTM 826,396 (0.2% apart).
WIDE = ("lstm", 1, 436)
BATCH_SIZE, NUM_STEPS, LR = 32, 35, 2

# The study's size per mode is modes.BUDGETS["04"].  Full mode: 10
# checkpoints of 18 minibatches of 32 x 35 tokens = 201,600 training tokens
# per run (about 1.3 passes over the 153,522 training characters), 3 seeds.
# Class mode: the same runs, seed 0 only.  Quick mode: 2 checkpoints of 3
# minibatches, 1 seed, 1 and 2 layers only.


def _plan(b):
    return dict(checkpoints=b.checkpoints, batches_per_checkpoint=b.batches_per_checkpoint,
                seeds=b.seeds, depths=b.depths, wide=b.wide)


FULL, CLASS, QUICK = (_plan(modes.BUDGETS["04"][m]) for m in ("full", "class", "quick"))


def plan(mode=None):
    """The study's size in ``mode`` (default: the current mode; see FULL,
    CLASS and QUICK), with a banner outside full mode."""
    return _plan(modes.resolve(mode).budget("04"))


def configs(depths=DEPTHS, wide=True):
    """Every (cell, num_layers, num_hiddens) the study trains, in order."""
    return [(c, L, NUM_HIDDENS) for c in CELLS for L in depths] + ([WIDE] if wide else [])


# The initialisation check: PyTorch's layers start from their own defaults
# (uniform within +-1/sqrt(num_hiddens) for the recurrent layer), while the
# book's MXNet train_ch8 re-initialises every weight from N(0, 0.01^2) and the
# biases to zero.  init="normal" gives a PyTorch model MXNet's start, so that
# the frameworks' different plain-RNN results can be traced to it (or not).
INITS = backend.INITS  # ("default", "normal", "framework")
SIGNAL_INITS = ("default", "normal")  # the starts notebook 04 measures at initialisation


START_NAMES = {"normal": "from N(0, 0.01²)", "framework": "from the framework's default"}


def run_key(cell, num_layers, num_hiddens, seed, init="default"):
    study = "depth" if init == "default" else f"depth-init-{init}"
    return f"{study}/{cell}-{num_layers}x{num_hiddens}/seed{seed}"


# ---------------------------------------------------------------- data

def split_heldout(tokens, valid_share=0.5):
    """Cut held-out tokens into (validation, test): the first ``valid_share``
    chooses checkpoints, the rest is only used to report."""
    if not 0 < valid_share < 1:
        raise ValueError(f"valid_share={valid_share!r} must lie strictly "
                         f"between 0 and 1 (e.g. 0.5)")
    if len(tokens) < 4:
        raise ValueError(f"only {len(tokens)} held-out tokens; hold out more "
                         f"text to split it into validation and test")
    cut = int(round(len(tokens) * valid_share))
    return tokens[:cut], tokens[cut:]


def unigram_ppl(train_tokens, eval_tokens):
    """Perplexity on ``eval_tokens`` of the unigram model of ``train_tokens``:
    every token predicted from how often it occurs in the training text,
    ignoring all context.  A network that ends here has learned the letters'
    frequencies and nothing about their order."""
    counts = collections.Counter(int(t) for t in train_tokens)
    n = sum(counts.values())
    if not n or not len(eval_tokens):
        raise ValueError("unigram_ppl needs non-empty training and evaluation tokens")
    unseen = {int(t) for t in eval_tokens} - set(counts)
    if unseen:
        raise ValueError(f"tokens {sorted(unseen)} never occur in the training text: "
                         f"a unigram model gives them probability 0 (infinite perplexity)")
    nll = -sum(math.log(counts[int(t)] / n) for t in eval_tokens) / len(eval_tokens)
    return math.exp(nll)


def unigram_baseline(mode="full"):
    """``(validation, test)`` perplexity of the unigram model of the study's
    training text (the first 90% of *The Time Machine*), on the study's
    validation and test halves in ``mode`` (default full: the recorded runs')."""
    from d2l_helpers import data
    train, _, heldout = data.load_corpus("time_machine", mode=mode)
    valid, test = split_heldout(heldout)
    return unigram_ppl(train, valid), unigram_ppl(train, test)


class BudgetIter:
    """``batches_per_checkpoint`` minibatches per iteration, drawn from the
    book's sequential minibatches of ``loader``, restarted (with a new random
    offset, as the book does every epoch) whenever a pass ends.

    ``train_ch8(net, BudgetIter(...), ..., num_epochs=k)`` therefore trains on
    exactly ``k * batches_per_checkpoint * batch_size * num_steps`` tokens and
    validates after each block.  At the start of every block (and once more
    with :meth:`keep`) a copy of the weights is kept in ``self.kept``, indexed
    by the number of blocks done, so the checkpoint chosen on validation can
    be evaluated on test text afterwards."""

    def __init__(self, loader, batches_per_checkpoint, snapshot=None):
        if batches_per_checkpoint < 1:
            raise ValueError("batches_per_checkpoint must be at least 1")
        self.loader = loader
        self.batch_size, self.num_steps = loader.batch_size, loader.num_steps
        self.vocab = loader.vocab
        self.valid_corpus = loader.valid_corpus
        self.batches_per_checkpoint = batches_per_checkpoint
        self.snapshot = snapshot
        self.kept, self.blocks, self.passes = {}, 0, 0
        self._stream = None

    def _next(self):
        while True:
            if self._stream is None:
                self._stream = iter(self.loader)
            try:
                return next(self._stream)
            except StopIteration:
                self._stream, self.passes = None, self.passes + 1

    def keep(self):
        if self.snapshot is not None:
            self.kept[self.blocks] = self.snapshot()

    def __iter__(self):
        self.keep()  # the weights after self.blocks blocks
        self.blocks += 1
        return iter([self._next() for _ in range(self.batches_per_checkpoint)])

    def __len__(self):
        return self.batches_per_checkpoint


# ---------------------------------------------------------------- through the Backend
#
# Everything framework-specific goes through ``d2l.BACKEND`` of the module
# given (see d2l_helpers.backend.Backend); this module imports no framework.

def seed_everything(d2l, seed):
    """Seed Python (the minibatch offsets), NumPy and the framework."""
    random.seed(seed)
    np.random.seed(seed)
    d2l.BACKEND.seed(seed)


# ---------------------------------------------------------------- one run

def load_data(d2l, batch_size=BATCH_SIZE, num_steps=NUM_STEPS, settings=None):
    """The whole training text of *The Time Machine* (first 90%), and its
    held-out tail split into validation and test."""
    loader, vocab = d2l.load_data_time_machine(batch_size, num_steps,
                                               max_tokens=-1, settings=settings)
    valid, test = split_heldout(loader.valid_corpus)
    return dict(corpus=loader.corpus, vocab=vocab, valid=valid, test=test)


def run_one(d2l, make_model, data, cell, num_layers, num_hiddens, seed,
            checkpoints, batches_per_checkpoint, lr=LR, device=None,
            batch_size=BATCH_SIZE, num_steps=NUM_STEPS, extra_eval=None,
            evaluate=None, record=None, early_stop=None, settings=None, **fields):
    """Train one model on exactly ``checkpoints * batches_per_checkpoint``
    minibatches.  ``make_model(cell, num_layers, num_hiddens, vocab_size,
    device)`` builds it (None: the chapter's model of ``d2l``'s framework,
    :func:`model_factory`).  Returns ``(result dict, History, net)``: the checkpoint with
    the lowest validation perplexity is chosen (``net`` holds its weights), and
    its test perplexity is the number to report.  ``extra_eval`` ({name: tokens}) adds the chosen
    checkpoint's perplexity on more held-out texts (``heldout_ppl``);
    ``evaluate(net)`` returns more fields, measured at the chosen checkpoint.
    ``record`` (a key such as ``'ex3/1/seed0'``) stores the History with the
    result dict, ``fields`` included, by :func:`results.record`.
    ``early_stop(history)`` may end the run before ``checkpoints`` (see
    :func:`patience`); ``stop_reason`` then says why ("patience", "diverged",
    "interrupted"; "cap" when the whole budget was trained).  ``settings``
    (default: the ``D2L_*`` variables, read now) go to ``train_ch8`` and
    :func:`results.record`."""
    from d2l_helpers import results
    from d2l_helpers.backend import check_record
    check_record(record, fields)
    settings = settings or Settings.from_env()
    device = device if device is not None else d2l.try_gpu()
    seed_everything(d2l, seed)
    make_model = make_model or model_factory(d2l)
    net = make_model(cell, num_layers, num_hiddens, len(data["vocab"]), device)
    loader = d2l.make_loader(data["corpus"], data["vocab"], batch_size,
                             num_steps, valid_corpus=data["valid"])
    b = d2l.BACKEND
    it = BudgetIter(loader, batches_per_checkpoint,
                    snapshot=lambda: backend.snapshot(b, b.params(net)))
    label = f"{cell.upper()} {num_layers}x{num_hiddens}, seed {seed}"
    hist = d2l.train_ch8(net, it, data["vocab"], lr, checkpoints, device,
                         valid_every=1, label=label, early_stop=early_stop,
                         mode=settings.mode.exact(),  # the budget is the size
                         settings=settings)
    it.keep()  # the weights at the end
    budget = checkpoints * batches_per_checkpoint * batch_size * num_steps
    chosen = hist.best_valid_epoch
    final = list(it.kept)[-1]
    backend.restore(b, b.params(net), it.kept[chosen])
    test_ppl = d2l.evaluate_ppl(net, data["test"], device)
    heldout = {name: d2l.evaluate_ppl(net, tokens, device)
               for name, tokens in (extra_eval or {}).items()}
    result = dict(
        cell=cell, num_layers=num_layers, num_hiddens=num_hiddens, seed=seed,
        params=b.num_params(net), lr=lr, budget_tokens=budget,
        tokens_seen=hist.tokens_seen[-1] if hist.tokens_seen else 0,
        passes=(hist.tokens_seen[-1] if hist.tokens_seen else 0) / len(data["corpus"]),
        chosen_epoch=chosen, checkpoints=checkpoints,
        valid_ppl_chosen=hist.best_valid_ppl, test_ppl=test_ppl,
        final_epoch=final,
        train_tokens_per_sec=(hist.tokens_seen[-1] / _train_seconds(hist)
                              if hist.tokens_seen else float("nan")),
        valid_tokens=len(data["valid"]), test_tokens=len(data["test"]),
        train_text_tokens=len(data["corpus"]), stop_reason=stop_reason(hist),
        precision=hist.precision)
    if extra_eval:
        result["heldout_ppl"] = heldout
    result.update(fields)
    if evaluate is not None:
        result.update(evaluate(net))
    if record is not None:
        results.record_after_training(record, hist, settings, **result)  # told, never raised
    return result, hist, net


def stop_reason(hist):
    """Why a run ended: "cap" (its whole budget), "patience", "diverged" or
    "interrupted" (read from ``History.stopped``)."""
    why = hist.stopped or ""
    if not why:
        return "cap"
    for reason in ("patience", "diverged", "interrupted"):
        if reason in why:
            return reason
    return why


def _train_seconds(hist):
    """Seconds spent in training steps (validation excluded)."""
    steps = np.diff([0] + list(hist.tokens_seen))
    return float(sum(n / s for n, s in zip(steps, hist.tokens_per_sec) if s > 0))


def run_study(d2l, make_model=None, record=True, progress=True, quiet=True,
              log=None, seeds=None, only=None, init="default", settings=None):
    """Every configuration at every seed of :func:`plan`; returns the list of
    result dicts.  Each run is recorded with :func:`results.record` (written
    only where ``D2L_RESULTS`` names a file).  ``quiet`` hides each run's own
    progress bar, plot and sample text behind one bar for the whole study;
    ``log`` (e.g. ``print``) gets one line per finished run; ``seeds``
    overrides the plan's seeds and ``only`` (a set of ``(cell, num_layers,
    num_hiddens)``) keeps some configurations, to share the work between
    processes.  ``init="normal"`` starts every model from N(0, 0.01^2)
    weights and zero biases (see :data:`INITS`) and records the runs under
    ``depth-init-normal/``, apart from the study itself.  ``settings``
    (default: the ``D2L_*`` variables, read now) go down to every run."""
    settings = settings or Settings.from_env()
    if init not in INITS:
        raise ValueError(f"init={init!r}; use one of {', '.join(INITS)}")
    if make_model is None:
        make_model = model_factory(d2l, init=init)
    elif init != "default":
        make_model = functools.partial(make_model, init=init)
    p = plan(settings.mode)  # says what a mode other than full cuts
    data = load_data(d2l, settings=settings)
    jobs = [(c, L, h, s) for s in (seeds or p["seeds"])
            for (c, L, h) in configs(p["depths"], p["wide"])
            if only is None or (c, L, h) in only]
    bar, out, t0 = _bar(len(jobs), progress), [], time.perf_counter()
    for cell, L, h, seed in jobs:
        bar.set_description(f"{cell} {L}x{h} seed {seed}")
        with _quiet(quiet):
            res, hist, _ = run_one(d2l, make_model, data, cell, L, h, seed,
                                   p["checkpoints"], p["batches_per_checkpoint"],
                                   record=run_key(cell, L, h, seed, init) if record else None,
                                   settings=settings,
                                   **({"init": init} if record and init != "default" else {}))
        out.append(dict(res, curves={name: list(getattr(hist, name))
                                     for name in ("epoch", "valid_ppl", "tokens_seen")}))
        bar.update(1)
        bar.set_postfix(test=f"{res['test_ppl']:.2f}", refresh=False)
        if log:
            log(f"[{len(out)}/{len(jobs)} {time.perf_counter() - t0:6.0f} s] "
                f"{cell} {L}x{h} seed {seed}: params {res['params']:,}, "
                f"checkpoint {res['chosen_epoch']}/{res['checkpoints']}, "
                f"valid {res['valid_ppl_chosen']:.3f}, test {res['test_ppl']:.3f}, "
                f"{res['train_tokens_per_sec']:,.0f} tokens/s")
    bar.close()
    return out


def _bar(total, enabled):
    from tqdm.auto import tqdm
    return tqdm(total=total, unit="run", disable=not enabled or None)


class _quiet:
    """Capture a run's prints, progress bar and plots (IPython if present)."""

    def __init__(self, enabled):
        self.enabled, self.cap = enabled, None

    def __enter__(self):
        if self.enabled:
            try:
                from IPython.utils.capture import capture_output
            except ImportError:  # plain Python without IPython
                import contextlib
                import io
                self.cap = contextlib.ExitStack()
                self.cap.enter_context(contextlib.redirect_stdout(io.StringIO()))
                self.cap.enter_context(contextlib.redirect_stderr(io.StringIO()))
                return self
            self.cap = capture_output()
            self.cap.__enter__()
        return self

    def __exit__(self, *exc):
        if self.cap is not None:
            return self.cap.__exit__(*exc)
        return False


def make_model(d2l, cell, num_layers, num_hiddens, vocab_size, device=None,
               init="default", dropout=0.0):
    """The chapter's ``RNNModel`` with a framework layer (``nn.RNN/GRU/LSTM`` in
    PyTorch, ``rnn.RNN/GRU/LSTM`` in MXNet) of ``num_layers`` layers, for the
    framework of the module ``d2l``, on ``device`` where that framework puts
    models first (MXNet's ``train_ch8`` initialises a model on its device);
    ``dropout``: the framework's own dropout between layers.

    ``init="normal"``: every weight drawn from N(0, 0.01^2), every bias zero,
    which is where the book's MXNet ``train_ch8`` starts each model; under
    MXNet that is what happens anyway, so it changes nothing there."""
    b = d2l.BACKEND
    net = b.make_model(cell, num_layers, num_hiddens, vocab_size, dropout=dropout, init=init)
    return backend.put_on(b, net, device)


def model_factory(d2l, init="default", dropout=0.0):
    """``make_model(cell, num_layers, num_hiddens, vocab_size, device)`` for
    :func:`run_one`: :func:`make_model` of ``d2l``'s framework."""
    return functools.partial(make_model, d2l, init=init, dropout=dropout)


GATES = {"rnn": 1, "gru": 3, "lstm": 4}  # weight groups per layer


def param_formula(cell, num_layers, num_hiddens, vocab_size, d2l=None):
    """Parameters by hand: each layer has, per weight group, W_x (d x h),
    W_h (h x h) and its bias vectors (PyTorch and MXNet keep two, cuDNN's
    layout; a module may say otherwise in ``BIASES_PER_GROUP``: flax keeps
    one), with d the vocabulary size in layer 1 and h above; then the output
    layer.  ``d2l``: the module of a tab (default: the active tab's)."""
    d2l = d2l or _tab_module(config.active_tab())
    biases = getattr(d2l, "BIASES_PER_GROUP", 2)
    d, h, total = vocab_size, num_hiddens, 0
    for _ in range(num_layers):
        total += GATES[cell] * (d * h + h * h + biases * h)
        d = h
    return total + h * vocab_size + vocab_size


def param_count(cell, num_layers, num_hiddens, vocab_size, d2l=None):
    """Parameters of the framework's model, counted from its arrays once it is
    prepared for training on the CPU (Gluon draws its weights then).  ``d2l``:
    the module of a tab (default: the active tab's, ``D2L_TAB``)."""
    d2l = d2l or _tab_module(config.active_tab())
    b, device = d2l.BACKEND, d2l.BACKEND.cpu()
    net = make_model(d2l, cell, num_layers, num_hiddens, vocab_size, device)
    b.prepare(net, None, device)
    return b.num_params(net)


def sample_text(d2l, net, vocab, prefix, num_preds, temperature=0.7, seed=0,
                device=None):
    """Continue ``prefix`` by sampling each character from the model's
    softmax at ``temperature`` (greedy decoding, ``predict_ch8``, tends to
    loop, which says little about style)."""
    if temperature <= 0:
        raise ValueError(f"temperature={temperature!r} must be positive; "
                         f"use d2l.predict_ch8 for greedy decoding")
    rng = np.random.default_rng(seed)
    device = device if device is not None else d2l.try_gpu()
    b = d2l.BACKEND

    def choose(y):  # scores of shape (1, vocab) -> a token drawn from their softmax
        z = b.to_numpy(y).reshape(-1).astype(np.float64) / temperature
        p = np.exp(z - z.max())
        return int(rng.choice(len(p), p=p / p.sum()))

    return backend.decode(b, prefix, num_preds, net, vocab, device, choose)


# ---------------------------------------------------------------- why depth is hard

def init_signal(d2l, cell, num_layers, init, X, Y, num_hiddens=NUM_HIDDENS,
                vocab_size=28, seed=0):
    """At initialisation, before any training: one forward and backward pass
    of the minibatch ``X``, ``Y`` (token indices, (batch_size, num_steps))
    through the chapter's model with ``num_layers`` layers.  Returns
    ``dict(top_rms=..., grad_norm=[layer 1, ..., layer L])``: the root mean
    square of the top recurrent layer's output (what the output layer sees)
    and the norm of each layer's weight gradient.

    ``init``: "normal" draws every weight from N(0, 0.01^2) (the book's MXNet
    ``train_ch8``); "default" keeps the framework's own start (PyTorch:
    uniform within +-1/sqrt(h); Gluon: its default initializer)."""
    backend.check_model_args(cell, init)
    seed_everything(d2l, seed)
    b = d2l.BACKEND
    net = b.make_model(cell, num_layers, num_hiddens, vocab_size, init=init)
    device = b.cpu()
    signals = b.layer_signals(net, b.to_device(X, device), b.to_device(Y, device),
                              b.begin_state(net, len(X), device))
    return dict(top_rms=signals[-1]["output_rms"], grad_norm=[s["grad_norm"] for s in signals])


def init_signals(d2l, X, Y, cells=("lstm",), depths=DEPTHS):
    """:func:`init_signal` for every cell, depth and start, as rows."""
    return [dict(cell=c, num_layers=L, init=init, **init_signal(d2l, c, L, init, X, Y))
            for c in cells for init in SIGNAL_INITS for L in depths]


def plot_init_signals(rows):
    """Two panels: the top layer's output scale, and each layer's weight
    gradient, against depth, one line per start."""
    from matplotlib.figure import Figure
    from d2l_helpers.plot import Plot
    fig = Figure(figsize=(10, 3.4), layout="constrained")
    ax, bx = fig.subplots(1, 2)
    for i, init in enumerate(SIGNAL_INITS):
        rs = sorted((r for r in rows if r["init"] == init), key=lambda r: r["num_layers"])
        label = "N(0, 0.01²)" if init == "normal" else "the framework's default"
        ax.semilogy([r["num_layers"] for r in rs], [r["top_rms"] for r in rs], "o-",
                    color=f"C{i}", label=label)
        deepest = rs[-1]
        bx.semilogy(range(1, len(deepest["grad_norm"]) + 1), deepest["grad_norm"], "o-",
                    color=f"C{i}", label=f"{label}, {deepest['num_layers']} layers")
    ax.set_xlabel("layers (num_layers)")
    ax.set_ylabel("RMS of the top layer's output")
    bx.set_xlabel("layer (1 = next to the input)")
    bx.set_ylabel("norm of the layer's weight gradient")
    for axis in (ax, bx):
        axis.set_xticks(DEPTHS)
        axis.grid(True, which="both", alpha=0.3)
        axis.legend(fontsize=8)
    return Plot(fig)


# ---------------------------------------------------------------- statistics

def mean_sd(xs):
    """Mean and sample standard deviation (n - 1 in the denominator)."""
    xs = [float(x) for x in xs]
    if not xs:
        raise ValueError("mean_sd() of no values")
    m = sum(xs) / len(xs)
    if len(xs) < 2:
        return m, float("nan")
    return m, math.sqrt(sum((x - m) ** 2 for x in xs) / (len(xs) - 1))


def welch(a, b, level=0.95):
    """Welch's t-test of mean(a) - mean(b).

    Returns a dict: ``diff`` (mean(a) - mean(b)), ``t``, ``df``
    (Welch-Satterthwaite), two-sided ``p``, and the ``level`` confidence
    interval ``ci`` of the difference."""
    (ma, sa), (mb, sb) = mean_sd(a), mean_sd(b)
    na, nb = len(a), len(b)
    if na < 2 or nb < 2:
        raise ValueError("welch() needs at least 2 values in each group")
    va, vb = sa * sa / na, sb * sb / nb
    se = math.sqrt(va + vb)
    diff = ma - mb
    if se == 0:
        return dict(diff=diff, t=math.copysign(math.inf, diff) if diff else 0.0,
                    df=float(na + nb - 2), p=0.0 if diff else 1.0, ci=(diff, diff))
    r = sps.ttest_ind(a, b, equal_var=False)
    ci = r.confidence_interval(level)
    return dict(diff=diff, t=float(r.statistic), df=float(r.df), p=float(r.pvalue),
                ci=(float(ci.low), float(ci.high)))


# ---------------------------------------------------------------- reading runs

def fisher_exact(hits_a, n_a, hits_b, n_b):
    """Two-sided p of Fisher's exact test: is the share of hits (e.g. runs
    ending above the uniform guess) different between two groups of runs?
    The p sums the probabilities, under the hypergeometric law with the
    margins fixed, of every table no more likely than the one observed."""
    if not (0 <= hits_a <= n_a and 0 <= hits_b <= n_b) or min(n_a, n_b) < 1:
        raise ValueError(f"hits {hits_a}/{n_a} and {hits_b}/{n_b}: each group needs "
                         f"at least one run and 0 <= hits <= runs")
    table = [[hits_a, n_a - hits_a], [hits_b, n_b - hits_b]]
    return float(sps.fisher_exact(table).pvalue)


def runs_from(entries, tab, init="default"):
    """The depth-study result dicts among recorded ``entries`` for ``tab``
    (``init="normal"``: the initialisation check's runs instead)."""
    study = run_key("", 0, 0, 0, init).split("/", 1)[0] + "/"
    return [e for e in entries if str(e.get("key", "")).startswith(study)
            and e.get("tab") == tab and "test_ppl" in e]


def summarize(runs):
    """One row per configuration: mean and sd of test perplexity over seeds,
    parameters, mean training tokens/s, passes over the text, seeds."""
    rows = {}
    for r in runs:
        rows.setdefault((r["cell"], r["num_layers"], r["num_hiddens"]), []).append(r)
    table = []
    for (cell, L, h), rs in rows.items():
        m, sd = mean_sd([r["test_ppl"] for r in rs])
        table.append(dict(cell=cell, num_layers=L, num_hiddens=h, n=len(rs),
                          test_mean=m, test_sd=sd, params=rs[0]["params"],
                          tokens_per_sec=mean_sd([r["train_tokens_per_sec"] for r in rs])[0],
                          chosen=[r["chosen_epoch"] for r in rs],
                          checkpoints=rs[0]["checkpoints"],
                          budget_tokens=rs[0]["budget_tokens"],
                          test=[r["test_ppl"] for r in rs]))
    return table


def plot_depth(table, now=None, vocab_size=28, title=None, unigram=None):
    """Test perplexity (mean, error bars = sd over seeds) against depth, one
    line per cell type, the uniform baseline, and tokens/s against depth.
    ``now`` (a second table, e.g. this quick run) is drawn as open markers;
    ``unigram`` (see :func:`unigram_baseline`) adds the letter-frequency line."""
    from matplotlib.figure import Figure
    from matplotlib.ticker import NullFormatter, ScalarFormatter
    from d2l_helpers.plot import Plot
    fig = Figure(figsize=(10, 3.6), layout="constrained")
    ax, bx = fig.subplots(1, 2)
    for i, cell in enumerate(CELLS):
        rows = sorted((r for r in table if r["cell"] == cell
                       and r["num_hiddens"] == NUM_HIDDENS),
                      key=lambda r: r["num_layers"])
        if rows:
            x = [r["num_layers"] for r in rows]
            ax.errorbar(x, [r["test_mean"] for r in rows],
                        yerr=[0 if math.isnan(r["test_sd"]) else r["test_sd"] for r in rows],
                        fmt="o-", capsize=4, color=f"C{i}", label=f"{cell.upper()} (x 256)")
            bx.plot(x, [r["tokens_per_sec"] for r in rows], "o-", color=f"C{i}",
                    label=cell.upper())
        quick = sorted((r for r in now or [] if r["cell"] == cell
                        and r["num_hiddens"] == NUM_HIDDENS), key=lambda r: r["num_layers"])
        if quick:
            ax.plot([r["num_layers"] for r in quick], [r["test_mean"] for r in quick],
                    "o:", mfc="none", color=f"C{i}", alpha=0.6,
                    label=f"{cell.upper()}, this run")
    wide = [r for r in table if (r["cell"], r["num_layers"], r["num_hiddens"]) == WIDE]
    if wide:
        r = wide[0]
        ax.errorbar([1], [r["test_mean"]], yerr=[0 if math.isnan(r["test_sd"]) else r["test_sd"]],
                    fmt="D", capsize=4, color="k",
                    label=f"LSTM 1 x {WIDE[2]} ({r['params']:,} parameters)")
    _baselines(ax, vocab_size, unigram)
    bx.set_yscale("log")
    bx.yaxis.set_major_formatter(ScalarFormatter())
    bx.yaxis.set_minor_formatter(NullFormatter())
    for axis, ylabel in [(ax, "test perplexity (mean ± sd over seeds)"),
                         (bx, "training tokens/s (shared CPU)")]:
        axis.set_xticks(DEPTHS)
        axis.set_xlabel("layers (num_layers)")
        axis.set_ylabel(ylabel)
        axis.grid(True, which="both", alpha=0.3)
        axis.legend(fontsize=7)
    if title:
        fig.suptitle(title)
    return Plot(fig)


def _baselines(ax, vocab_size, unigram):
    ax.axhline(vocab_size, ls="--", color="gray")
    ax.text(1, vocab_size, f" uniform guess = vocabulary size ({vocab_size})",
            va="bottom", color="gray", fontsize=8)
    if unigram is not None:
        ax.axhline(unigram, ls=":", color="gray")
        ax.text(1, unigram, f" letter frequencies alone (unigram, {unigram:.2f})",
                va="bottom", color="gray", fontsize=8)


def markdown_table(table):
    """The summary as a Markdown table (mean ± sd; sd over seeds)."""
    lines = ["| model | layers x hidden | parameters | test perplexity (mean ± sd) "
             "| seeds | checkpoints chosen | training tokens/s |",
             "| --- | --- | --- | --- | --- | --- | --- |"]
    for r in table:
        sd = "" if math.isnan(r["test_sd"]) else f" ± {r['test_sd']:.2f}"  # one seed: no sd
        lines.append(f"| {r['cell'].upper()} | {r['num_layers']} x {r['num_hiddens']} "
                     f"| {r['params']:,} | {r['test_mean']:.2f}{sd} "
                     f"| {r['n']} | {', '.join(str(c) for c in r['chosen'])} of "
                     f"{r['checkpoints']} | {r['tokens_per_sec']:,.0f} |")
    return "\n".join(lines)


def compare(runs, a, b, min_seeds=2):
    """Welch's test of test perplexity, configuration ``a`` minus ``b``
    (each a ``(cell, num_layers, num_hiddens)``); a ValueError when either
    has fewer than ``min_seeds`` recorded seeds."""
    pick = lambda c: [r["test_ppl"] for r in runs
                      if (r["cell"], r["num_layers"], r["num_hiddens"]) == tuple(c)]
    x, y = pick(a), pick(b)
    if min(len(x), len(y)) < max(min_seeds, 2):
        raise ValueError(f"{len(x)} and {len(y)} seeds recorded; a test needs at "
                         f"least {max(min_seeds, 2)} of each")
    return welch(x, y)


# ---------------------------------------------------------------- the study at convergence
#
# Notebook 04's first study gives every run 201,600 tokens (about 1.3 passes
# over the text), where most deeper models have not yet left the
# letter-frequency plateau.  The study at convergence trains each run until
# its validation perplexity has stopped improving (PATIENCE checkpoints
# without a new best, counted once the run has left the plateau), capped at
# CAP_CHECKPOINTS checkpoints of CHECKPOINT_BATCHES minibatches (6,048,000
# tokens, about 39 passes), and chooses the learning rate on validation:
# seed 0 is trained at every rate of LR_GRID (the screen), the rate with the
# lowest validation perplexity is kept, and seeds 1 and 2 train at it.

CONV = "depth-conv"
CHECKPOINT_BATCHES = 270     # 302,400 tokens between checkpoints
CAP_CHECKPOINTS = 20         # 6,048,000 tokens at most
PATIENCE = 3                 # checkpoints without a better validation perplexity
PLATEAU_SHARE = 0.9          # "left the plateau": validation < 0.9 x unigram's
LR_GRID = {"rnn": (0.25, 0.5, 1.0), "gru": (1.0, 2.0), "lstm": (1.0, 2.0)}
CONV_SEEDS = (0, 1, 2)       # seed 0 screens the learning rates
DROPOUT_ROW = (("lstm", 2, NUM_HIDDENS), 0.2)  # the framework's inter-layer dropout


@dataclass(frozen=True)
class Job:
    """One run of the study at convergence."""
    cell: str
    num_layers: int
    num_hiddens: int
    lr: float
    seed: int
    dropout: float = 0.0
    init: str = "default"   # "normal"/"framework": the initialisation check, apart

    @property
    def config(self):
        return (self.cell, self.num_layers, self.num_hiddens, self.dropout)

    @property
    def key(self):
        drop = f"-drop{self.dropout:g}" if self.dropout else ""
        return (f"{conv_study(self.init)}/{self.cell}-{self.num_layers}x{self.num_hiddens}{drop}"
                f"/lr{self.lr:g}/seed{self.seed}")


def conv_study(init="default"):
    """The key prefix of the study at convergence (``depth-conv``), or of its
    initialisation check from start ``init`` (``depth-conv-init-normal``, ...)."""
    if init not in INITS:
        raise ValueError(f"init={init!r}; use one of {', '.join(INITS)}")
    return CONV if init == "default" else f"{CONV}-init-{init}"


def conv_configs(depths=DEPTHS, wide=True, dropout=True):
    """``(cell, num_layers, num_hiddens, dropout)`` of every configuration, in
    the order the queue trains them: the gated cells at 1-3 layers and the
    wide LSTM first (the section's question), then the dropout row, the plain
    RNN, and the 4-layer models (the slowest to leave the plateau)."""
    out = [c + (0.0,) for c in configs(depths, wide)]
    if dropout:
        out.append(DROPOUT_ROW[0] + (DROPOUT_ROW[1],))
    def order(c):
        cell, L, h, drop = c
        group = 3 if cell == "rnn" else 2 if L == 4 else 1 if drop else 0
        return group, ("lstm", "gru", "rnn").index(cell), L, h
    return sorted(out, key=order)


def configs_for(dropout=DROPOUT_ROW[1]):
    """:func:`conv_configs` with the dropout row at ``dropout`` (0: no dropout row)."""
    return [c[:3] + (dropout,) if c[:3] == DROPOUT_ROW[0] and c[3] else c
            for c in conv_configs(dropout=dropout > 0)]


def patience(plateau_valid, checkpoints=PATIENCE, share=PLATEAU_SHARE):
    """An ``early_stop`` for ``train_ch8``: stop once the best validation
    perplexity is ``checkpoints`` checkpoints old, counting only after the run
    has left the letter-frequency plateau (best < ``share * plateau_valid``),
    so that a deep model still on the plateau keeps training to its cap."""
    if checkpoints < 1:
        raise ValueError(f"patience={checkpoints!r} must be at least 1 checkpoint")

    def stop(h):
        vals = [(v, e) for e, v in zip(h.epoch, h.valid_ppl) if not math.isnan(v)]
        if not vals:
            return None
        best, best_epoch = min(vals)
        if best >= share * plateau_valid:
            return None  # still on the plateau
        if vals[-1][1] - best_epoch >= checkpoints:
            return (f"no better validation perplexity for {checkpoints} checkpoints "
                    f"(patience; best {best:.3f} at checkpoint {best_epoch})")
        return None
    return stop


def escape_tokens(curves, plateau_valid, share=PLATEAU_SHARE):
    """Training tokens at the first checkpoint whose validation perplexity is
    below ``share * plateau_valid`` (None if the run never got there)."""
    for v, n in zip(curves["valid_ppl"], curves["tokens_seen"]):
        if not math.isnan(v) and v < share * plateau_valid:
            return int(n)
    return None


def best_lr(screen):
    """The learning rate whose screening run (seed 0) reached the lowest
    validation perplexity; ties go to the smaller rate, and diverged runs
    (no finite validation) never win.  ``screen``: {lr: result dict}."""
    finite = [(r["valid_ppl_chosen"], lr) for lr, r in screen.items()
              if math.isfinite(r.get("valid_ppl_chosen", float("nan")))]
    if not finite:
        return min(screen)  # every rate diverged: keep the smallest
    return min(finite)[1]


def conv_jobs(recorded, configs=None, lr_grid=None, seeds=CONV_SEEDS, init="default"):
    """The runs still to train, given ``recorded`` ({key: result dict} of
    this tab): every configuration's screen (seed 0 at each rate), and, once a
    configuration's screen is complete, the other seeds at its best rate."""
    lr_grid = lr_grid or LR_GRID
    todo = []
    for cell, L, h, drop in configs or conv_configs():
        screen = {lr: Job(cell, L, h, lr, seeds[0], drop, init) for lr in lr_grid[cell]}
        missing = [j for j in screen.values() if j.key not in recorded]
        todo += missing
        if missing:
            continue
        lr = best_lr({lr: recorded[j.key] for lr, j in screen.items()})
        todo += [j for j in (Job(cell, L, h, lr, s, drop, init) for s in seeds[1:])
                 if j.key not in recorded]
    return todo


def conv_runs(entries, tab, init="default"):
    """The recorded runs of the study at convergence for ``tab`` (``init``:
    those of its initialisation check from that start instead)."""
    prefix = conv_study(init) + "/"
    return [e for e in entries if str(e.get("key", "")).startswith(prefix)
            and e.get("tab") == tab and "test_ppl" in e]


def chosen_runs(entries, tab, init="default"):
    """The study's runs of ``tab`` at each configuration's chosen rate (the
    screen's winner), one per seed: what the answer compares."""
    runs = conv_runs(entries, tab, init)
    by_config = {}
    for r in runs:
        by_config.setdefault((r["cell"], r["num_layers"], r["num_hiddens"],
                              r.get("dropout", 0.0)), []).append(r)
    out = []
    for rs in by_config.values():
        screen = {r["lr"]: r for r in rs if r["seed"] == CONV_SEEDS[0]}
        lr = best_lr(screen) if screen else None
        out += [r for r in rs if r["lr"] == lr]
    return out


def run_job(d2l, data, job, checkpoints=CAP_CHECKPOINTS,
            batches_per_checkpoint=CHECKPOINT_BATCHES, patience_checkpoints=PATIENCE,
            plateau_valid=None, settings=None):
    """Train one :class:`Job` to convergence; returns the entry to record
    (History summary, curves and the result dict)."""
    from d2l_helpers import results
    if plateau_valid is None:
        plateau_valid = unigram_ppl(data["corpus"], data["valid"])
    factory = model_factory(d2l, init=job.init, dropout=job.dropout)
    res, hist, _ = run_one(d2l, factory, data,
                           job.cell, job.num_layers, job.num_hiddens, job.seed,
                           checkpoints, batches_per_checkpoint, lr=job.lr,
                           early_stop=patience(plateau_valid, patience_checkpoints),
                           settings=settings)
    entry = results.as_entry(hist)
    entry.update(res, dropout=job.dropout, init=job.init, patience=patience_checkpoints,
                 plateau_valid=plateau_valid,
                 escape_tokens=escape_tokens(entry["curves"], plateau_valid))
    return entry


def conv_name(cell, num_layers, num_hiddens, dropout=0.0):
    """'LSTM 2x256' (with ', dropout 0.2' where it has dropout)."""
    return f"{cell.upper()} {num_layers}x{num_hiddens}" + (f", dropout {dropout:g}" if dropout else "")


def conv_summary(entries, tab, init="default"):
    """One row per configuration of the study at convergence for ``tab``:
    the rates screened (validation perplexity of seed 0 at each), the chosen
    rate, and over its seeds the test perplexities, how each run stopped, the
    tokens it trained and the tokens it needed to leave the plateau."""
    runs = conv_runs(entries, tab, init)
    chosen = chosen_runs(entries, tab, init)
    rows = []
    for c in conv_configs():
        screen = {r["lr"]: r["valid_ppl_chosen"] for r in runs
                  if (r["cell"], r["num_layers"], r["num_hiddens"], r.get("dropout", 0.0)) == c
                  and r["seed"] == CONV_SEEDS[0]}
        rs = sorted((r for r in chosen if (r["cell"], r["num_layers"], r["num_hiddens"],
                                           r.get("dropout", 0.0)) == c), key=lambda r: r["seed"])
        if not rs:
            continue
        rows.append(dict(config=c, name=conv_name(*c), screen=screen, lr=rs[0]["lr"],
                         seeds=[r["seed"] for r in rs], test=[r["test_ppl"] for r in rs],
                         stops=[r["stop_reason"] for r in rs],
                         tokens=[r["tokens_seen"] for r in rs],
                         escape=[r.get("escape_tokens") for r in rs],
                         tokens_per_sec=[r["train_tokens_per_sec"] for r in rs],
                         precision=sorted({r.get("precision", "fp32") for r in rs}),
                         params=rs[0]["params"], runs=rs))
    return rows


def conv_markdown(rows):
    """The summary as a Markdown table (test perplexity: each seed, then mean
    or, where a run diverged, the median)."""
    def m(xs):
        return f"{xs / 1e6:.1f} M" if xs is not None else "never"
    lines = ["| model | parameters | rates tried (seed 0's validation ppl) | rate | test perplexity per seed "
             "| stopped by | tokens trained | tokens to leave the plateau |",
             "| --- | --- | --- | --- | --- | --- | --- | --- |"]
    for r in rows:
        screen = ", ".join(f"{lr:g}: {v:.2f}" for lr, v in sorted(r["screen"].items()))
        stops = ", ".join(f"{s} {r['stops'].count(s)}" for s in sorted(set(r["stops"])))
        lines.append(f"| {r['name']} | {r['params']:,} | {screen} | {r['lr']:g} "
                     f"| {', '.join(f'{x:.2f}' for x in r['test'])} | {stops} "
                     f"| {', '.join(m(t) for t in r['tokens'])} | {', '.join(m(t) for t in r['escape'])} |")
    return "\n".join(lines)


def plot_short(runs, unigram=None):
    """Validation perplexity against training tokens of :func:`run_study`'s
    runs (e.g. the small budget of notebook 04's live run), one colour per
    configuration, one line per seed."""
    from matplotlib.figure import Figure
    from d2l_helpers.plot import Plot
    fig = Figure(figsize=(6.4, 3.4), layout="constrained")
    ax = fig.subplots()
    names = sorted({conv_name(r["cell"], r["num_layers"], r["num_hiddens"]) for r in runs})
    for r in runs:
        name = conv_name(r["cell"], r["num_layers"], r["num_hiddens"])
        c = r["curves"]
        ax.plot([t / 1e6 for t in c["tokens_seen"]], c["valid_ppl"], "o-", ms=3,
                color=f"C{names.index(name)}", label=name if r["seed"] == min(
                    x["seed"] for x in runs if x["cell"] == r["cell"]
                    and x["num_layers"] == r["num_layers"]) else None)
    if unigram is not None:
        ax.axhline(unigram, ls=":", color="gray")
        ax.text(1, unigram, "letter frequencies alone ", va="bottom", ha="right", color="gray",
                fontsize=8, transform=ax.get_yaxis_transform())
    ax.set_xlabel("training tokens (millions)")
    ax.set_ylabel("validation perplexity")
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=8)
    return Plot(fig)


def plot_conv(entries, tab, unigram=None, vocab_size=28):
    """Validation perplexity against training tokens, one panel per cell,
    one colour per depth (every seed at the chosen rate; the wide LSTM dashed,
    dropout dotted, the initialisation check's runs from the other start
    dash-dotted); a dot marks each run's chosen checkpoint at its test
    perplexity."""
    from matplotlib.figure import Figure
    from d2l_helpers.plot import Plot
    fig = Figure(figsize=(11, 3.6), layout="constrained")
    axes = dict(zip(CELLS, fig.subplots(1, 3, sharey=True)))
    checks = [dict(r, other_start=True) for init in INITS[1:] for r in chosen_runs(entries, tab, init)]
    for r in chosen_runs(entries, tab) + checks:
        ax, c = axes[r["cell"]], r["curves"]
        style = "--" if r["num_hiddens"] != NUM_HIDDENS else ":" if r.get("dropout") else \
            "-." if r.get("other_start") else "-"
        color = f"C{r['num_layers'] - 1}" if r["num_hiddens"] == NUM_HIDDENS else "k"
        label = conv_name(r["cell"], r["num_layers"], r["num_hiddens"], r.get("dropout", 0.0))
        label += f", {START_NAMES[r['init']]}" if r.get("other_start") else ""
        tokens = [t / 1e6 for t in c["tokens_seen"]]
        ax.plot(tokens, c["valid_ppl"], style, color=color, alpha=0.7, lw=1,
                label=label if r["seed"] == CONV_SEEDS[0] else None)
        k = c["epoch"].index(r["chosen_epoch"]) if r["chosen_epoch"] in c["epoch"] else -1
        ax.plot([tokens[k]], [r["test_ppl"]], "o", color=color, ms=3)
    for cell, ax in axes.items():
        if unigram is not None:
            ax.axhline(unigram, ls=":", color="gray", lw=1)
        ax.set_yscale("log")
        ax.set_ylim(4.5, 2 * vocab_size)
        ax.set_title(f"{cell.upper()}, {frameworks.TABS[tab].title}")
        ax.set_xlabel("training tokens (millions)")
        ax.grid(True, which="both", alpha=0.3)
        if ax.get_legend_handles_labels()[1]:
            ax.legend(fontsize=7)
    axes["rnn"].set_ylabel("validation perplexity (dots: test)")
    return Plot(fig)


# The queue: a parent process plans, records and resumes; workers train.

_WORKER = {}


def _worker_init(tab, opts, settings):
    """A worker's start: the tab's module and the data, once; ``settings`` are
    the parent's (the run mode among them)."""
    d2l = _tab_module(tab)
    _WORKER.update(d2l=d2l, data=load_data(d2l, settings=settings),
                   opts=dict(opts, settings=settings))


def _worker_run(job):
    with _quiet(True):
        return job, run_job(_WORKER["d2l"], _WORKER["data"], job, **_WORKER["opts"])


def _tab_module(tab):
    import importlib
    return importlib.import_module(frameworks.TABS[tab].helpers)


@contextlib.contextmanager
def _sigterm_as_exit(path):
    """While the queue runs, SIGTERM (``kill``, a scheduler's stop) ends it as
    Ctrl-C does: the ``with`` blocks unwind, so the pool's workers are
    terminated instead of being left orphaned and still training.  Recorded
    runs stay in ``path``; the runs in flight are lost and trained again next
    time."""
    import signal
    import threading

    def stop(signum, frame):
        raise SystemExit(f"stopped by signal {signum}: the runs recorded so far are in {path}; "
                         f"the same command goes on where it stopped")

    if threading.current_thread() is not threading.main_thread():
        yield  # signal handlers can only be set in the main thread
        return
    previous = signal.signal(signal.SIGTERM, stop)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def run_queue(tab, results_path, workers=1, configs=None, lr_grid=None,
              seeds=CONV_SEEDS, log=print, settings=None, init="default", **opts):
    """Train every run of the study at convergence that ``results_path`` does
    not hold yet, ``workers`` processes at a time, recording each run as it
    ends (so the queue can stop at any time and go on later).  ``opts``:
    ``checkpoints``, ``batches_per_checkpoint``, ``patience_checkpoints``
    (see :func:`run_job`).  Returns the number of runs trained.  ``settings``
    (default: the ``D2L_*`` variables, read now) go to the workers too; their
    ``results`` is ``results_path``.  ``init`` other than "default": the
    initialisation check's runs from that start, recorded apart (see
    :func:`conv_study`)."""
    import dataclasses
    import multiprocessing as mp
    from pathlib import Path
    from d2l_helpers import results
    if workers < 1:
        raise ValueError(f"workers={workers!r} must be at least 1")
    path = Path(results_path)
    if path.is_dir():
        raise ValueError(f"results_path={str(path)!r} is a folder; name a JSON file in it "
                         f"(e.g. {str(path / 'conv.json')!r})")
    results.load(path)  # a damaged file: its error names it, before anything trains
    settings = dataclasses.replace(settings or Settings.from_env(), results=str(path))

    def recorded():
        return {e["key"]: e for e in conv_runs(results.load(path), tab, init)}

    def pending(busy):
        return [j for j in conv_jobs(recorded(), configs, lr_grid, seeds, init) if j not in busy]

    ctx = mp.get_context("spawn")
    args = (tab, opts, settings)
    done, t0 = 0, time.perf_counter()
    with _sigterm_as_exit(path), ctx.Pool(workers, initializer=_worker_init, initargs=args) as pool:
        busy, results_q = set(), []
        while True:
            for job in pending(busy)[:workers - len(busy)]:
                busy.add(job)
                results_q.append(pool.apply_async(_worker_run, (job,)))
            if not busy:
                break
            ready = next((r for r in results_q if r.ready()), None)
            if ready is None:
                time.sleep(0.5)
                continue
            results_q.remove(ready)
            job, entry = ready.get()  # a worker's exception ends the queue here
            busy.discard(job)
            results.record(job.key, entry, settings)  # a damaged file: the error says where it went
            done += 1
            if log:
                log(f"[{done} {time.perf_counter() - t0:6.0f} s] {job.key}: "
                    f"{entry['stop_reason']} after {entry['tokens_seen']:,} tokens, "
                    f"checkpoint {entry['chosen_epoch']}, valid {entry['valid_ppl_chosen']:.3f}, "
                    f"test {entry['test_ppl']:.3f}, {entry['train_tokens_per_sec']:,.0f} tokens/s, "
                    f"{entry['precision']}")
    return done


def _cli():
    import argparse
    import dataclasses
    p = argparse.ArgumentParser(
        description="notebook 04's depth study: by default the study at convergence "
        "(a resumable queue: runs already in --results are skipped); --fixed runs the "
        "first study at its fixed budget of 201,600 tokens per run")
    p.add_argument("--tab", choices=frameworks.NAMES, default=frameworks.DEFAULT)
    p.add_argument("--results", required=True, help="JSON file to record into")
    p.add_argument("--only", nargs="*", help="only these configurations, "
                   "e.g. lstm:4:256 gru:1:256 (lstm:2:256:0.2 for dropout 0.2)")
    p.add_argument("--workers", type=int, default=1,
                   help="training processes at once (they share the cores fairly)")
    p.add_argument("--budget", type=int, default=CAP_CHECKPOINTS * CHECKPOINT_BATCHES
                   * BATCH_SIZE * NUM_STEPS, help="training tokens per run at most")
    p.add_argument("--patience", type=int, default=PATIENCE,
                   help="checkpoints without a better validation perplexity before a "
                   "run stops (counted once it has left the letter-frequency plateau)")
    p.add_argument("--lr", type=float, nargs="*",
                   help="the learning-rate grid for every cell (default: per cell, "
                   + ", ".join(f"{c} {'/'.join(f'{x:g}' for x in g)}" for c, g in LR_GRID.items())
                   + ")")
    p.add_argument("--dropout", type=float, default=DROPOUT_ROW[1],
                   help="inter-layer dropout of the dropout row (2-layer LSTM); 0 drops the row")
    p.add_argument("--fixed", action="store_true", help="the fixed-budget study instead")
    p.add_argument("--seeds", type=int, nargs="*", help="--fixed: only these seeds")
    p.add_argument("--init", choices=INITS, default="default",
                   help="the initialisation check: normal starts from N(0, 0.01^2) weights "
                   "and zero biases, as the book's MXNet train_ch8 does; framework keeps the "
                   "framework's own initializer (MXNet: Gluon's default instead of the book's "
                   "N(0, 0.01^2)); recorded apart, under depth-init-<init>/ (--fixed) or "
                   "depth-conv-init-<init>/")
    a = p.parse_args()
    # the D2L_* variables, read once; --results instead of D2L_RESULTS
    settings = dataclasses.replace(Settings.from_env(), results=a.results)
    only = None
    if a.only:
        only = [tuple(o.split(":")) for o in a.only]
        only = [(c, int(L), int(h), float(d[0]) if d else 0.0) for c, L, h, *d in only]
    if a.fixed:
        run_study(_tab_module(a.tab), progress=False, log=lambda line: print(line, flush=True),
                  seeds=a.seeds, only=only and {o[:3] for o in only}, init=a.init,
                  settings=settings)
        return
    per_checkpoint = CHECKPOINT_BATCHES * BATCH_SIZE * NUM_STEPS
    if a.budget < per_checkpoint:
        p.error(f"--budget {a.budget:,} is less than one checkpoint ({per_checkpoint:,} tokens)")
    dropout = a.dropout
    if dropout and not getattr(_tab_module(a.tab), "LAYER_DROPOUT", True):
        print(f"[study] no dropout row under {a.tab}: its RNN layers ignore dropout between layers "
              f"here (see d2l_helpers/{a.tab}.py, LAYER_DROPOUT)", flush=True)
        dropout = 0.0
        if only and any(o[3] for o in only):
            p.error(f"--only asks for a dropout row, which {a.tab} cannot train (its RNN layers "
                    "ignore dropout between layers); run it with --tab pytorch")
    configs_ = configs_for(dropout)
    if only:
        unknown = [o for o in only if o not in configs_]
        if unknown:
            p.error(f"--only {unknown} not in the study; its configurations: "
                    + " ".join(f"{c}:{L}:{h}" + (f":{d:g}" if d else "") for c, L, h, d in configs_))
        configs_ = only
    grid = {c: tuple(a.lr) for c in CELLS} if a.lr else None
    n = run_queue(a.tab, a.results, workers=a.workers, configs=configs_, lr_grid=grid,
                  log=lambda line: print(line, flush=True),
                  checkpoints=a.budget // per_checkpoint, patience_checkpoints=a.patience,
                  settings=settings, init=a.init)
    print(f"{n} runs trained; every run of the study is now in {a.results}", flush=True)


if __name__ == "__main__":
    _cli()
