"""Every ``D2L_*`` environment variable, read in one place into one object.

:meth:`Settings.from_env` reads the nine variables that choose what
d2l_helpers does, checks each value, and returns a frozen :class:`Settings`;
no other module reads them (``tests/test_settings.py`` holds every module to
that).  A typo is an error that names the valid values, never a silent guess.

=====================  =================  ====================================================
variable               field              meaning (unset: the default)
=====================  =================  ====================================================
``D2L_TAB``            ``tab``            the tab notebooks run: pytorch (default), mxnet, jax
``D2L_QUICK``          ``mode``           the run mode (:mod:`d2l_helpers.modes`): ``0`` full
                                          (default), ``class``, ``1`` quick
``D2L_DATA_DIR``       ``data_dir``       the books' cache folder (default: the user's cache)
``D2L_DATA_MIRROR``    ``data_mirror``    a folder holding the books, used instead of the web
``D2L_RESULTS``        ``results``        the JSON file runs are recorded in (default: none)
``D2L_THREADS``        ``threads``        CPU threads per training: auto (default), off, or n
``D2L_TRAININGS_DIR``  ``trainings_dir``  the registry of running trainings (default: a
                                          per-user temporary folder)
``D2L_CUDA_GRAPH``     ``cuda_graph``     PyTorch on a GPU: step (``1``, default), epoch,
                                          off (``0``)
``D2L_PRECISION``      ``precision``      the forward pass: auto (default), fp32, bf16
=====================  =================  ====================================================

Where a setting comes from: an entry point -- ``train_ch8`` and the loaders
(``load_data_time_machine``, ``load_data_books``) of a tab's module, and
``experiments/study.py`` -- calls ``Settings.from_env()`` once per call and
passes the object down, as it passes a :class:`~d2l_helpers.modes.Mode`; the
module that uses a value takes it from the object (``settings.threads`` in
:mod:`d2l_helpers.cpu`, ...).  A function called without one
(``modes.current()``, ``config.active_tab()``, ...) reads the environment
then, through :func:`current`.  Nothing
is cached at import: ``%tab`` (which sets ``D2L_TAB``) and tests that set a
variable take effect at the next call.
"""
import os
from dataclasses import dataclass

from . import frameworks, modes
from .errors import ConfigError

# What D2L_CUDA_GRAPH's values mean (d2l_helpers.cuda_graphs acts on them)
CUDA_GRAPH_VALUES = {"0": "off", "1": "step", "epoch": "epoch"}
PRECISIONS = ("auto", "fp32", "bf16")


class PrecisionError(ConfigError):
    """``D2L_PRECISION`` holds a value that names no precision."""


@dataclass(frozen=True)
class Settings:
    """What the ``D2L_*`` variables chose; the defaults are those of an
    environment that sets none of them.  Paths are the strings as set (None
    when unset or empty)."""
    tab: str = frameworks.DEFAULT
    mode: modes.Mode = modes.FULL
    data_dir: str = None
    data_mirror: str = None
    results: str = None
    threads: object = "auto"     # "auto", "off" or a whole number >= 1
    trainings_dir: str = None
    cuda_graph: str = "step"     # "step", "epoch" or "off"
    precision: str = "auto"      # "auto", "fp32" or "bf16"

    @classmethod
    def from_env(cls, environ=None):
        """The settings that ``environ`` (default ``os.environ``) chooses;
        raises :class:`~d2l_helpers.errors.ConfigError` (or a subclass) for a
        value it cannot use."""
        env = os.environ if environ is None else environ

        def path(name):
            return env.get(name) or None

        return cls(
            tab=check_tab(env.get("D2L_TAB") or frameworks.DEFAULT, source="D2L_TAB value"),
            mode=_mode(env.get("D2L_QUICK", "")),
            data_dir=path("D2L_DATA_DIR"),
            data_mirror=path("D2L_DATA_MIRROR"),
            results=path("D2L_RESULTS"),
            threads=_threads(env.get("D2L_THREADS", "")),
            trainings_dir=path("D2L_TRAININGS_DIR"),
            cuda_graph=_cuda_graph(env.get("D2L_CUDA_GRAPH", "1")),
            precision=_precision(env.get("D2L_PRECISION", "")),
        )


def current(settings=None):
    """``settings``, or the environment's now (what a function given none uses)."""
    return Settings.from_env() if settings is None else settings


# ------------------------------------------------------------ one check per variable

def check_tab(name, source="tab"):
    """Return ``name`` normalised, or raise ConfigError listing valid tabs."""
    tab = str(name).strip().lower()
    if tab not in frameworks.NAMES:
        raise ConfigError(
            f"unknown {source} {name!r}; valid tabs are: {', '.join(frameworks.NAMES)} "
            f"(cells may also be marked '#@tab all')")
    return tab


def _mode(raw):
    mode = modes.VALUES.get(raw.strip().lower())
    if mode is None:
        env = modes.ENV
        raise modes.ModeError(
            f"{env}={raw!r} names no run mode; use {env}=1 for quick mode, "
            f"{env}=class for class mode, or {env}=0 (or unset it) for full runs")
    return mode


def _threads(raw):
    value = raw.strip().lower()
    if value in ("", "auto"):
        return "auto"
    if value == "off":
        return "off"
    if value.isdigit() and int(value) >= 1:
        return int(value)
    raise ConfigError(
        f"D2L_THREADS={raw!r} is not a thread count; use a whole number >= 1 "
        f"(e.g. D2L_THREADS=2), 'auto' (the default: a fair share of this "
        f"process's CPUs) or 'off' (the frameworks' own defaults), or unset it")


def _cuda_graph(raw):
    value = raw.strip().lower() or "1"
    if value not in CUDA_GRAPH_VALUES:
        raise ConfigError(f"D2L_CUDA_GRAPH={raw!r} is not one of "
                          f"1 (one graph per training step, the default), epoch (one "
                          f"graph of many minibatches) or 0 (no CUDA graphs)")
    return CUDA_GRAPH_VALUES[value]


def _precision(raw):
    value = raw.strip().lower() or "auto"
    if value not in PRECISIONS:
        raise PrecisionError(f"D2L_PRECISION={raw!r} names no precision; use one "
                             f"of {', '.join(PRECISIONS)} (or unset it for auto)")
    return value
