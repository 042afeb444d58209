"""Environment switches shared by the whole package.

Three environment variables steer d2l_helpers:

* ``D2L_TAB``    -- which framework the notebooks run (``pytorch`` or ``mxnet``).
* ``D2L_QUICK``  -- ``1`` shrinks training so that CI can run every notebook
                    in minutes; ``0`` (the default) gives the real results.
* ``D2L_DATA_DIR`` / ``D2L_DATA_MIRROR`` -- see :mod:`d2l_helpers.data`.

Every value is validated: a typo is an error that names the valid values,
never a silent guess.
"""
import os

TABS = ("pytorch", "mxnet")
DEFAULT_TAB = "pytorch"

# What quick mode (D2L_QUICK=1) keeps of the real work.
QUICK_MAX_EPOCHS = 10
QUICK_MAX_TOKENS = 10_000
QUICK_MAX_VALID_TOKENS = 2_000

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"", "0", "false", "no", "off"}


class ConfigError(ValueError):
    """A d2l_helpers environment variable holds a value we cannot use."""


def check_tab(name, source="tab"):
    """Return ``name`` normalised, or raise ConfigError listing valid tabs."""
    tab = str(name).strip().lower()
    if tab not in TABS:
        raise ConfigError(
            f"unknown {source} {name!r}; valid tabs are: {', '.join(TABS)} "
            f"(cells may also be marked '#@tab all')")
    return tab


def active_tab():
    """The framework selected by ``D2L_TAB`` (default ``pytorch``)."""
    return check_tab(os.environ.get("D2L_TAB", DEFAULT_TAB) or DEFAULT_TAB,
                     source="D2L_TAB value")


def quick_mode():
    """True when ``D2L_QUICK`` asks for the shrunken CI-sized runs."""
    raw = os.environ.get("D2L_QUICK", "")
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ConfigError(
        f"D2L_QUICK={raw!r} is neither true nor false; use D2L_QUICK=1 for "
        f"quick mode or D2L_QUICK=0 (or unset it) for full runs")


_banners_shown = set()


def quick_banner(what, key=None):
    """Print one line saying what quick mode cut (once per distinct ``key``)."""
    key = key or what
    if key in _banners_shown:
        return
    _banners_shown.add(key)
    print(f"[quick mode] {what} (D2L_QUICK=1; unset it for full-size results)")
