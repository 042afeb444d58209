"""Run modes: how much of the book's work a run does, as one policy.

``D2L_QUICK`` chooses the mode; this module is the only one that reads it.

========  ==============  ===========================================================
mode      ``D2L_QUICK``   what it keeps
========  ==============  ===========================================================
full      ``0`` / unset   everything: the book's 500 epochs, all text
class     ``class``       40% of every run's epochs (at least one), all text: the
                          chapter's 500 epochs become 200, enough for validation
                          perplexity to fall and then rise (about 80 s on a 2-core
                          CPU); runs over several books keep their own corpora and
                          do 40% of their full-mode token budget
quick     ``1``           at most 10 epochs, the first 10,000 characters of
                          training text, 2,000 of held-out text (CI: every notebook
                          in minutes; the numbers mean nothing)
========  ==============  ===========================================================

The mode is resolved once per public call (``train_ch8``, the loaders) with
:func:`resolve` and passed down as a :class:`Mode`; the :class:`History` of a
run records its name.  Every cap prints a one-line banner, once.
"""
import os
from dataclasses import dataclass

from . import notices
from .config import ConfigError

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

    def banner(self, what, key=None):
        """One line saying what this mode cut (once per ``key``)."""
        notices.once(("mode", self.name, key or what),
                     f"[{self.name} mode] {what} ({ENV}={SETTING[self.name]}; "
                     f"unset it for full-size results)")


FULL = Mode("full")
CLASS = Mode("class", epoch_fraction=0.4)
QUICK = Mode("quick", max_epochs=10, max_train_tokens=10_000,
             max_valid_tokens=2_000, live_plot=False)
MODES = {m.name: m for m in (FULL, CLASS, QUICK)}
SETTING = {"full": "0", "class": "class", "quick": "1"}  # mode -> D2L_QUICK value

_VALUES = {"": FULL, "0": FULL, "false": FULL, "no": FULL, "off": FULL, "full": FULL,
           "1": QUICK, "true": QUICK, "yes": QUICK, "on": QUICK, "quick": QUICK,
           "class": CLASS}


def current():
    """The mode ``D2L_QUICK`` selects now (``full`` when unset)."""
    raw = os.environ.get(ENV, "")
    mode = _VALUES.get(raw.strip().lower())
    if mode is None:
        raise ModeError(
            f"{ENV}={raw!r} names no run mode; use {ENV}=1 for quick mode, "
            f"{ENV}=class for class mode, or {ENV}=0 (or unset it) for full runs")
    return mode


def resolve(mode=None):
    """``mode`` as a :class:`Mode`: a Mode, a mode name, or None (the environment)."""
    if mode is None:
        return current()
    if isinstance(mode, Mode):
        return mode
    if mode in MODES:
        return MODES[mode]
    raise ModeError(f"unknown mode {mode!r}; modes are: {', '.join(MODES)}")

