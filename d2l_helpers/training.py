"""The framework-neutral half of ``train_ch8``: checks, history, progress
bar, validation schedule, live plot, divergence and Ctrl-C handling.

``d2l_helpers.torch`` and ``d2l_helpers.mxnet`` each supply three small
callables -- train one epoch, evaluate held-out text, predict from a prefix --
and :func:`fit` does everything else, identically for both frameworks.
"""
import json
import math
import platform
import time
from dataclasses import asdict, dataclass, field

from . import config, cpu, plot
from .devices import describe_device


@dataclass
class History:
    """What one call of ``train_ch8`` measured, epoch by epoch.

    ``valid_ppl`` is NaN for epochs where validation was not run."""
    epoch: list = field(default_factory=list)
    train_ppl: list = field(default_factory=list)
    valid_ppl: list = field(default_factory=list)
    tokens_per_sec: list = field(default_factory=list)
    wall_time: list = field(default_factory=list)   # seconds since start
    tokens_seen: list = field(default_factory=list)  # cumulative
    device: str = ""
    framework: str = ""
    label: str = ""
    lr: float = float("nan")
    stopped: str = ""      # why training ended early ('' if it finished)
    samples: dict = field(default_factory=dict)
    versions: dict = field(default_factory=dict)

    @property
    def final_train_ppl(self):
        return self.train_ppl[-1] if self.train_ppl else float("nan")

    @property
    def final_valid_ppl(self):
        vals = [v for v in self.valid_ppl if not math.isnan(v)]
        return vals[-1] if vals else float("nan")

    @property
    def best_valid_ppl(self):
        vals = [v for v in self.valid_ppl if not math.isnan(v)]
        return min(vals) if vals else float("nan")

    @property
    def best_valid_epoch(self):
        """The epoch with the lowest validation perplexity (0 if none)."""
        pts = [(v, e) for e, v in zip(self.epoch, self.valid_ppl) if not math.isnan(v)]
        return min(pts)[1] if pts else 0

    @property
    def mean_tokens_per_sec(self):
        """Training tokens per second over the whole run (wall clock)."""
        if not self.wall_time:
            return float("nan")
        return self.tokens_seen[-1] / max(self.wall_time[-1], 1e-9)

    def summary(self):
        """A flat dict for result tables and ``results.json``."""
        return {"label": self.label, "framework": self.framework,
                "device": self.device, "epochs": len(self.epoch),
                "lr": self.lr,
                "final_train_ppl": self.final_train_ppl,
                "final_valid_ppl": self.final_valid_ppl,
                "best_valid_ppl": self.best_valid_ppl,
                "best_valid_epoch": self.best_valid_epoch,
                "tokens_per_sec": self.mean_tokens_per_sec,
                "wall_time_s": self.wall_time[-1] if self.wall_time else 0.0,
                "stopped": self.stopped, "versions": self.versions,
                "quick_mode": config.quick_mode()}

    def to_dict(self):
        return asdict(self)

    def to_json(self):
        return json.dumps(self.to_dict(), allow_nan=True)

    def plot(self, title=None):
        return plot.Plot(plot.draw_history(self, title=title or self.label))


def check_hparams(lr, num_epochs):
    if not (isinstance(lr, (int, float)) and math.isfinite(lr) and lr > 0):
        raise ValueError(f"lr={lr!r} must be a positive number (the book "
                         f"uses lr=1 or 2 for these models)")
    if not isinstance(num_epochs, int) or num_epochs < 0:
        raise ValueError(f"num_epochs={num_epochs!r} must be a whole number "
                         f">= 0")


def effective_epochs(num_epochs):
    """``num_epochs``, capped in quick mode with a one-line banner."""
    if config.quick_mode() and num_epochs > config.QUICK_MAX_EPOCHS:
        config.quick_banner(f"train_ch8: {num_epochs} epochs cut to "
                            f"{config.QUICK_MAX_EPOCHS}", key="epochs")
        return config.QUICK_MAX_EPOCHS
    return num_epochs


VALID_SHARE = 0.05  # validation may cost about this share of the training time


def default_valid_every(num_epochs, train_tokens=0, valid_tokens=0):
    """How often to validate: about 20 times per run (every 25 epochs for the
    book's 500), but never so often that validation costs more than ~5% of
    training.  A forward pass costs about a third of a training step per
    token, so validating ``valid_tokens`` every k epochs of ``train_tokens``
    costs ``valid_tokens / (3 * k * train_tokens)`` of the training time."""
    every = max(1, num_epochs // 20)
    if train_tokens and valid_tokens:
        every = max(every, math.ceil(valid_tokens / (3 * VALID_SHARE * train_tokens)))
    return every


def _progress(num_epochs, desc):
    from tqdm.auto import tqdm
    return tqdm(total=num_epochs, desc=desc, unit="epoch", leave=True,
                disable=None, mininterval=0.5)


def fit(*, num_epochs, lr, device, framework, train_epoch, evaluate, predict,
        snapshot, restore, valid_every=None, label="", versions=None,
        prefixes=("time traveller", "traveller"), valid_tokens=0):
    """Run the epochs and return a :class:`History`.

    ``train_epoch()`` returns ``(loss_sum, num_tokens)`` for one epoch with a
    single host sync; ``evaluate()`` returns validation perplexity or NaN;
    ``snapshot()``/``restore(s)`` save and restore the parameters so that an
    interrupted or diverged epoch can be undone (one copy per epoch, so the
    training step itself needs no check for nan).  The last epoch is always validated;
    see :func:`default_valid_every` for the others.
    """
    check_hparams(lr, num_epochs)
    num_epochs = effective_epochs(num_epochs)
    h = History(device=describe_device(device), framework=framework,
                label=label, lr=lr, versions=dict(versions or {},
                                                  python=platform.python_version()))
    live = plot.LivePlot(title=label or None)
    bar = _progress(num_epochs, label or f"train ({framework})")
    start, seen, speed = time.perf_counter(), 0, float("nan")
    epoch, saved = 0, None
    share = cpu.TrainingShare(framework, device)  # registers this training; says its threads
    try:
        for epoch in range(1, num_epochs + 1):
            share.rebalance()  # a fair share of the cores, as other trainings come and go
            saved = snapshot()
            t0 = time.perf_counter()
            loss_sum, n = train_epoch()
            dt = time.perf_counter() - t0
            if not math.isfinite(loss_sum):
                restore(saved)  # the weights from the end of the last good epoch
                h.stopped = (f"the loss became nan/inf in epoch {epoch}; "
                             f"training stopped and the model keeps its weights "
                             f"from the end of epoch {epoch - 1}. Try a lower lr "
                             f"than {lr}")
                print(h.stopped)
                break
            seen += n
            speed = n / max(dt, 1e-9)
            if valid_every is None:  # now that an epoch's size is known
                valid_every = default_valid_every(num_epochs, n, valid_tokens)
            due = epoch % valid_every == 0 or epoch == num_epochs
            valid = evaluate() if due else float("nan")
            h.epoch.append(epoch)
            h.train_ppl.append(math.exp(loss_sum / n))
            h.valid_ppl.append(valid)
            h.tokens_per_sec.append(speed)
            h.wall_time.append(time.perf_counter() - start)
            h.tokens_seen.append(seen)
            bar.update(1)
            post = {"ppl": f"{h.train_ppl[-1]:.2f}"}
            if not math.isnan(h.final_valid_ppl):
                post["valid"] = f"{h.final_valid_ppl:.2f}"
            bar.set_postfix(post, refresh=False)
            live.update(h)
    except KeyboardInterrupt:
        if saved is not None:
            restore(saved)
        h.stopped = (f"interrupted during epoch {epoch}: kept the model and "
                     f"history after epoch {epoch - 1}")
        print(h.stopped)
    finally:
        share.leave()
        bar.close()
    live.update(h, final=True)
    if h.epoch:
        # The book's closing lines, then ours.
        print(f"perplexity {h.final_train_ppl:.1f}, {speed:.1f} tokens/sec on "
              f"{device}")
        if not math.isnan(h.final_valid_ppl):
            print(f"validation perplexity {h.final_valid_ppl:.1f} on held-out text "
                  f"(best {h.best_valid_ppl:.1f} at epoch {h.best_valid_epoch}); "
                  f"{h.mean_tokens_per_sec:.1f} tokens/sec over the whole run")
    for p in prefixes:
        h.samples[p] = predict(p)
        print(h.samples[p])
    return h
