"""Run modes: how much of the book's work a run does, as one policy.

``D2L_QUICK`` chooses the mode (read by :mod:`d2l_helpers.settings`, with the
others); this module says what each value means.

========  ==============  ===========================================================
mode      ``D2L_QUICK``   what it keeps
========  ==============  ===========================================================
full      ``0`` / unset   everything: the book's 500 epochs, all text
class     ``class``       40% of every run's epochs (at least one), all text: the
                          chapter's 500 epochs become 200 (about 80 s on a 2-core
                          CPU); the experiments of exercises 2-4 and the depth
                          study take their own smaller :data:`BUDGETS` (fewer
                          seeds, fewer tokens per run, every corpus kept whole),
                          sized to about 5 minutes each
quick     ``1``           at most 10 epochs, the first 10,000 characters of
                          training text, 2,000 of held-out text (CI: every notebook
                          in minutes; the numbers mean nothing)
========  ==============  ===========================================================

The mode is resolved once per public call (``train_ch8``, the loaders) with
:func:`resolve` and passed down as a :class:`Mode` (the ``mode`` of a
:class:`~d2l_helpers.settings.Settings`); the :class:`History` of a
run records its name.  Every cap prints a one-line banner, once.

Notebooks whose experiment is several runs (seeds, corpora, depths) ask the
mode for their :class:`Budget` by name: ``modes.current().budget("ex3")``.
"""
from dataclasses import dataclass, replace

from . import notices
from .errors import ConfigError  # not from config: config imports this module

ENV = "D2L_QUICK"


class ModeError(ConfigError):
    """``D2L_QUICK`` holds a value that names no mode."""


@dataclass(frozen=True)
class Mode:
    """A run mode: caps on epochs and text (``None``: no cap)."""
    name: str
    epoch_fraction: float = 1.0     # share of the requested epochs (at least 1)
    max_epochs: int = None
    max_train_tokens: int = None    # training text, characters
    max_valid_tokens: int = None    # held-out text, characters
    live_plot: bool = True          # redraw the plot during training

    def epochs(self, num_epochs):
        """``num_epochs`` as this mode runs them, with a banner if cut."""
        n = num_epochs
        if self.epoch_fraction < 1 and n > 0:
            n = max(1, round(n * self.epoch_fraction))
        if self.max_epochs is not None:
            n = min(n, self.max_epochs)
        if n != num_epochs:
            self.banner(f"train_ch8: {num_epochs} epochs cut to {n}",
                        key=("epochs", num_epochs))
        return n

    def train_tokens(self, max_tokens):
        """The training-text cap to use instead of the caller's ``max_tokens``
        (``-1`` or 0: no cap)."""
        cap = self.max_train_tokens
        if cap is not None and (max_tokens <= 0 or max_tokens > cap):
            self.banner(f"data: training text cut to the first {cap:,} "
                        f"characters", key="data")
            return cap
        return max_tokens

    def valid_tokens(self, tokens):
        """Held-out tokens, cut to this mode's cap."""
        return tokens if self.max_valid_tokens is None else tokens[:self.max_valid_tokens]

    def exact(self):
        """This mode without its epoch cuts (text caps kept), for runs whose
        size a :class:`Budget` already set in this mode."""
        return replace(self, epoch_fraction=1.0, max_epochs=None)

    def budget(self, notebook):
        """The :class:`Budget` of ``notebook`` (a key of :data:`BUDGETS`,
        e.g. ``"ex3"``) in this mode, with a banner outside full mode."""
        if notebook not in BUDGETS:
            raise KeyError(f"no budget for {notebook!r}; notebooks with budgets: "
                           f"{', '.join(BUDGETS)}")
        b = BUDGETS[notebook][self.name]
        mode = self if b.epoch_fraction is None else replace(
            self, epoch_fraction=b.epoch_fraction)
        b = replace(b, mode=mode)
        if self.name != "full":
            self.banner(f"{notebook} budget: {b.describe()}; full mode: "
                        f"{BUDGETS[notebook]['full'].describe()}", key=("budget", notebook))
        return b

    def banner(self, what, key=None):
        """One line saying what this mode cut (once per ``key``)."""
        notices.once(("mode", self.name, key or what),
                     f"[{self.name} mode] {what} ({ENV}={SETTING[self.name]}; "
                     f"unset it for full-size results)")


@dataclass(frozen=True)
class Budget:
    """How much one notebook's experiment trains in one mode.

    ``seeds``: the random seeds of every configuration.  Runs of
    ``study.run_one`` train exactly ``checkpoints * batches_per_checkpoint``
    minibatches (:meth:`tokens_per_run`).  Runs of ``train_ch8`` over whole
    epochs train ``mode.epochs(num_epochs)`` epochs, where ``mode`` is the
    current mode with this budget's ``epoch_fraction`` (if set).  ``depths``
    and ``wide``: the depth study's configurations."""
    seeds: tuple
    checkpoints: int = None
    batches_per_checkpoint: int = None
    epoch_fraction: float = None
    depths: tuple = None
    wide: bool = None
    mode: "Mode" = None  # filled in by Mode.budget

    def tokens_per_run(self, batch_size=32, num_steps=35):
        """Training tokens of one budgeted run (``None`` for epoch runs)."""
        if self.checkpoints is None:
            return None
        return self.checkpoints * self.batches_per_checkpoint * batch_size * num_steps

    def describe(self):
        """One line: seeds and the size of a run."""
        parts = [f"{len(self.seeds)} seed{'s' if len(self.seeds) > 1 else ''}"]
        if self.checkpoints is not None:
            parts.append(f"{self.tokens_per_run():,} training tokens per run "
                         f"({self.checkpoints} x {self.batches_per_checkpoint} minibatches)")
        if self.epoch_fraction is not None:
            parts.append(f"{self.epoch_fraction:.0%} of the epochs")
        if self.depths is not None:
            parts.append(f"{len(self.depths)} depths" + (" + the wide LSTM" if self.wide else ""))
        return ", ".join(parts)


def _budgets(full, class_, quick):
    return {"full": full, "class": class_, "quick": quick}


# Each notebook's experiment in each mode.  Full and quick are the sizes the
# recorded results were made with; class mode is sized to about 5 minutes per
# notebook and tab on a 2-core CPU (tests/test_modes.py checks the estimate).
BUDGETS = {
    # exercise 1: the scratch and the built-in two-layer RNN, the same budget as
    # exercise 2 (the book's 500 epochs as 20 checkpoints of 25 epochs' worth);
    # class mode 2 seeds and 110 epochs' worth (MXNet's scratch model, the
    # slowest, trains at about 13,000 tokens/s)
    "ex1": _budgets(Budget(seeds=(0, 1, 2), checkpoints=20, batches_per_checkpoint=200),
                    Budget(seeds=(0, 1), checkpoints=20, batches_per_checkpoint=44),
                    Budget(seeds=(0,), checkpoints=2, batches_per_checkpoint=3)),
    # exercise 2: LSTM and GRU on the chapter's text, the book's 500 epochs of 8
    # minibatches as 20 checkpoints of 25 epochs' worth; class mode keeps 2 seeds
    # (Welch's test needs 2) and 110 epochs' worth (about 5 minutes), past the
    # recorded PyTorch minimum of the GRU (checkpoints 2-3, epochs 50-75) but not
    # always the LSTM's (checkpoints 5-6, epochs 125-150)
    "ex2": _budgets(Budget(seeds=(0, 1, 2), checkpoints=20, batches_per_checkpoint=200),
                    Budget(seeds=(0, 1), checkpoints=20, batches_per_checkpoint=44),
                    Budget(seeds=(0,), checkpoints=2, batches_per_checkpoint=3)),
    # exercise 3: six corpora, the same tokens per run for each
    "ex3": _budgets(Budget(seeds=(0, 1, 2), checkpoints=10, batches_per_checkpoint=107),
                    Budget(seeds=(0, 1), checkpoints=10, batches_per_checkpoint=18),
                    Budget(seeds=(0,), checkpoints=2, batches_per_checkpoint=3)),
    # exercise 4: Wells, Wells + Austen + Doyle, and Wells for half the
    # checkpoints (so ``checkpoints`` stays even)
    "ex4": _budgets(Budget(seeds=(0, 1, 2), checkpoints=10, batches_per_checkpoint=107),
                    Budget(seeds=(0, 1), checkpoints=10, batches_per_checkpoint=36),
                    Budget(seeds=(0,), checkpoints=2, batches_per_checkpoint=3)),
    # the depth study (notebook 04): class mode is full mode's seed 0
    "04": _budgets(Budget(seeds=(0, 1, 2), checkpoints=10, batches_per_checkpoint=18,
                          depths=(1, 2, 3, 4), wide=True),
                   Budget(seeds=(0,), checkpoints=10, batches_per_checkpoint=18,
                          depths=(1, 2, 3, 4), wide=True),
                   Budget(seeds=(0,), checkpoints=2, batches_per_checkpoint=3,
                          depths=(1, 2), wide=False)),
}

FULL = Mode("full")
CLASS = Mode("class", epoch_fraction=0.4)
QUICK = Mode("quick", max_epochs=10, max_train_tokens=10_000,
             max_valid_tokens=2_000, live_plot=False)
MODES = {m.name: m for m in (FULL, CLASS, QUICK)}
SETTING = {"full": "0", "class": "class", "quick": "1"}  # mode -> D2L_QUICK value

VALUES = {"": FULL, "0": FULL, "false": FULL, "no": FULL, "off": FULL, "full": FULL,
          "1": QUICK, "true": QUICK, "yes": QUICK, "on": QUICK, "quick": QUICK,
          "class": CLASS}  # D2L_QUICK value -> mode


def current(settings=None):
    """The mode ``D2L_QUICK`` selects (``full`` when unset): ``settings.mode``,
    or the environment's now when no settings are given."""
    from .settings import current as settings_now  # settings imports this module
    return settings_now(settings).mode


def resolve(mode=None, settings=None):
    """``mode`` as a :class:`Mode`: a Mode, a mode name, or None (the mode of
    ``settings``, by default of the environment's)."""
    if mode is None:
        return current(settings)
    if isinstance(mode, Mode):
        return mode
    if mode in MODES:
        return MODES[mode]
    raise ModeError(f"unknown mode {mode!r}; modes are: {', '.join(MODES)}")
