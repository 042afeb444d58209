"""The framework-neutral epoch loop of ``train_ch8``: checks, history,
progress bar, validation schedule, live plot, divergence and Ctrl-C handling.

:mod:`d2l_helpers.backend` builds a :class:`Run` -- train one epoch, evaluate
held-out text, predict from a prefix, snapshot and restore the weights -- and
:func:`fit` does everything else, identically for every framework.
"""
import json
import math
import platform
import time
from dataclasses import asdict, dataclass, field
from typing import Callable

from . import cpu, modes, plot
from .devices import describe_device

# Validation schedule: about this many validations per run, and never more
# than this share of the training time (a forward pass costs about a third of
# a training step per token).
VALIDATIONS_PER_RUN = 20
VALIDATION_TIME_BUDGET = 0.05
FORWARD_COST = 1 / 3
_MAX_LOG = math.log(float.fromhex("0x1.fffffffffffffp+1023"))  # exp() overflows above


def perplexity(mean_loss):
    """exp(mean cross-entropy); ``inf`` where exp would overflow (a diverged
    model), never an OverflowError."""
    return math.exp(mean_loss) if mean_loss <= _MAX_LOG else float("inf")


@dataclass
class History:
    """What one call of ``train_ch8`` measured, epoch by epoch.

    ``valid_ppl`` is NaN for epochs where validation was not run; ``mode``
    is the run mode it trained under (see :mod:`d2l_helpers.modes`)."""
    epoch: list = field(default_factory=list)
    train_ppl: list = field(default_factory=list)
    valid_ppl: list = field(default_factory=list)
    tokens_per_sec: list = field(default_factory=list)
    wall_time: list = field(default_factory=list)   # seconds since start
    tokens_seen: list = field(default_factory=list)  # cumulative
    device: str = ""
    tab: str = ""          # the tab it trained under: pytorch, mxnet or jax
    label: str = ""
    lr: float = float("nan")
    mode: str = "full"
    stopped: str = ""      # why training ended early ('' if it finished)
    precision: str = "fp32"  # of the forward pass: fp32, or bf16 autocast
    samples: dict = field(default_factory=dict)
    versions: dict = field(default_factory=dict)
    vocab_size: int = 0    # the perplexity of a uniform guess (0: unknown); not recorded

    @property
    def final_train_ppl(self):
        return self.train_ppl[-1] if self.train_ppl else float("nan")

    def _validated(self):
        return [(v, e) for e, v in zip(self.epoch, self.valid_ppl) if not math.isnan(v)]

    @property
    def final_valid_ppl(self):
        vals = self._validated()
        return vals[-1][0] if vals else float("nan")

    @property
    def best_valid_ppl(self):
        vals = self._validated()
        return min(vals)[0] if vals else float("nan")

    @property
    def best_valid_epoch(self):
        """The epoch with the lowest validation perplexity (0 if none)."""
        vals = self._validated()
        return min(vals)[1] if vals else 0

    @property
    def mean_tokens_per_sec(self):
        """Training tokens per second over the whole run (wall clock)."""
        if not self.wall_time:
            return float("nan")
        return self.tokens_seen[-1] / max(self.wall_time[-1], 1e-9)

    def summary(self):
        """A flat dict for result tables and ``results.json``."""
        return {"label": self.label, "tab": self.tab,
                "device": self.device, "epochs": len(self.epoch),
                "lr": self.lr,
                "final_train_ppl": self.final_train_ppl,
                "final_valid_ppl": self.final_valid_ppl,
                "best_valid_ppl": self.best_valid_ppl,
                "best_valid_epoch": self.best_valid_epoch,
                "tokens_per_sec": self.mean_tokens_per_sec,
                "wall_time_s": self.wall_time[-1] if self.wall_time else 0.0,
                "stopped": self.stopped, "versions": self.versions,
                "precision": self.precision,
                "mode": self.mode, "quick_mode": self.mode == "quick"}

    def to_dict(self):
        return asdict(self)

    def to_json(self):
        return json.dumps(self.to_dict(), allow_nan=True)

    def plot(self, title=None):
        return plot.Plot(plot.draw_history(self, title=title or self.label))


@dataclass
class Run:
    """What :func:`fit` calls; built by :class:`d2l_helpers.backend.BookAPI`.

    ``train_epoch()`` returns ``(loss_sum, num_tokens)`` for one epoch with a
    single host sync; ``evaluate()`` returns validation perplexity or NaN;
    ``predict(prefix)`` a string; ``snapshot()``/``restore(s)`` save and put
    back the weights, so that an interrupted or diverged epoch can be undone
    (one copy per epoch, so the training step itself needs no check for nan)."""
    train_epoch: Callable
    evaluate: Callable
    predict: Callable
    snapshot: Callable
    restore: Callable
    valid_tokens: int = 0
    vocab_size: int = 0  # plots draw the uniform guess's perplexity


def check_hparams(lr, num_epochs):
    if isinstance(lr, bool) or not (isinstance(lr, (int, float)) and math.isfinite(lr)
                                    and lr > 0):
        raise ValueError(f"lr={lr!r} must be a positive number (the book "
                         f"uses lr=1 or 2 for these models)")
    if isinstance(num_epochs, bool) or not isinstance(num_epochs, int) or num_epochs < 0:
        raise ValueError(f"num_epochs={num_epochs!r} must be a whole number "
                         f">= 0")


def default_valid_every(num_epochs, train_tokens=0, valid_tokens=0):
    """How often to validate: about VALIDATIONS_PER_RUN times per run (every
    25 epochs for the book's 500), but never so often that validation costs
    more than VALIDATION_TIME_BUDGET of training: validating ``valid_tokens``
    every k epochs of ``train_tokens`` costs
    ``FORWARD_COST * valid_tokens / (k * train_tokens)`` of the training time."""
    every = max(1, num_epochs // VALIDATIONS_PER_RUN)
    if train_tokens and valid_tokens:
        every = max(every, math.ceil(FORWARD_COST * valid_tokens
                                     / (VALIDATION_TIME_BUDGET * train_tokens)))
    return every


def _progress(num_epochs, desc):
    from tqdm.auto import tqdm
    return tqdm(total=num_epochs, desc=desc, unit="epoch", leave=True,
                disable=None, mininterval=0.5)


def _divergence(loss_sum, n):
    """None if the epoch's mean loss gives a finite perplexity, else what went wrong."""
    mean = loss_sum / n if n else float("nan")
    if math.isnan(mean):
        return "nan"
    if math.isinf(mean):
        return "inf"
    if not math.isfinite(perplexity(mean)):
        return f"{mean:.3g} per token, too large for a perplexity"
    return None


def _stop_diverged(h, epoch, lr, what):
    kept = (f"its weights from the end of epoch {epoch - 1}" if epoch > 1
            else "its initial weights")
    h.stopped = (f"the loss diverged ({what}) in epoch {epoch}; training "
                 f"stopped and the model keeps {kept}. Try a lower lr than {lr}")
    print(h.stopped)


def _record(h, epoch, loss_sum, n, valid, dt, start):
    seen = (h.tokens_seen[-1] if h.tokens_seen else 0) + n
    h.epoch.append(epoch)
    h.train_ppl.append(perplexity(loss_sum / n))
    h.valid_ppl.append(valid)
    h.tokens_per_sec.append(n / max(dt, 1e-9))
    h.wall_time.append(time.perf_counter() - start)
    h.tokens_seen.append(seen)


def _show(bar, live, h):
    bar.update(1)
    post = {"ppl": f"{h.final_train_ppl:.2f}"}
    if not math.isnan(h.final_valid_ppl):
        post["valid"] = f"{h.final_valid_ppl:.2f}"
    bar.set_postfix(post, refresh=False)
    live.update(h)


def _epochs(run, h, num_epochs, lr, valid_every, bar, live, share, early_stop=None):
    """The epoch loop; returns normally, or stops at divergence / Ctrl-C, or
    when ``early_stop(h)`` gives a reason."""
    start, epoch, saved = time.perf_counter(), 0, None
    try:
        for epoch in range(1, num_epochs + 1):
            share.rebalance()  # a fair share of the cores, as other trainings come and go
            saved = run.snapshot()
            t0 = time.perf_counter()
            loss_sum, n = run.train_epoch()
            dt = time.perf_counter() - t0
            what = _divergence(loss_sum, n)
            if what:
                run.restore(saved)  # the weights from the end of the last good epoch
                _stop_diverged(h, epoch, lr, what)
                return
            if valid_every is None:  # now that an epoch's size is known
                valid_every = default_valid_every(num_epochs, n, run.valid_tokens)
            due = epoch % valid_every == 0 or epoch == num_epochs
            _record(h, epoch, loss_sum, n, run.evaluate() if due else float("nan"),
                    dt, start)
            _show(bar, live, h)
            why = early_stop(h) if early_stop is not None else None
            if why:
                h.stopped = why
                return
    except KeyboardInterrupt:
        if saved is not None:
            run.restore(saved)
        h.stopped = (f"interrupted during epoch {epoch}: kept the model and "
                     f"history after epoch {epoch - 1}")
        print(h.stopped)


def _closing_lines(h, device):
    """The book's closing line, then ours."""
    if not h.epoch:
        return
    print(f"perplexity {h.final_train_ppl:.1f}, {h.tokens_per_sec[-1]:.1f} "
          f"tokens/sec on {device}")
    if not math.isnan(h.final_valid_ppl):
        print(f"validation perplexity {h.final_valid_ppl:.1f} on held-out text "
              f"(best {h.best_valid_ppl:.1f} at epoch {h.best_valid_epoch}); "
              f"{h.mean_tokens_per_sec:.1f} tokens/sec over the whole run")


def fit(run, *, num_epochs, lr, device, backend, mode=modes.FULL, valid_every=None,
        label="", versions=None, prefixes=(), precision="fp32", early_stop=None,
        settings=None):
    """Run the epochs of ``run`` (a :class:`Run`) and return a :class:`History`.

    ``early_stop(history)`` (optional) is called after every recorded epoch;
    a non-empty string it returns ends training there and becomes
    ``history.stopped`` (e.g. "no better validation for 3 checkpoints").

    ``mode`` may cut the epochs; the last epoch is always validated, see
    :func:`default_valid_every` for the others.  The caller has checked
    ``lr`` and ``num_epochs`` (:func:`check_hparams`).  ``backend`` is the
    framework's :class:`~d2l_helpers.backend.Backend`: its tab names the History,
    and its threads take this training's share of the CPU (:mod:`d2l_helpers.cpu`,
    as ``settings`` say: ``D2L_THREADS``, ``D2L_TRAININGS_DIR``)."""
    num_epochs, tab = mode.epochs(num_epochs), backend.tab
    h = History(device=describe_device(device), tab=tab, label=label,
                lr=lr, mode=mode.name, vocab_size=run.vocab_size, precision=precision,
                versions=dict(versions or {}, python=platform.python_version()))
    live = plot.LivePlot(title=label or None, only_at_end=not mode.live_plot)
    bar = _progress(num_epochs, label or f"train ({tab})")
    share = cpu.TrainingShare(backend, device, settings=settings)  # registers it; says its threads
    try:
        _epochs(run, h, num_epochs, lr, valid_every, bar, live, share, early_stop)
    finally:
        share.leave()
        bar.close()
    live.update(h, final=True)
    _closing_lines(h, device)
    for p in prefixes:
        h.samples[p] = run.predict(p)
        print(h.samples[p])
    return h
