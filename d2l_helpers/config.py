"""Environment switches shared by the whole package.

Three environment variables steer d2l_helpers:

* ``D2L_TAB``    -- which tab the notebooks run (see :mod:`d2l_helpers.frameworks`).
* ``D2L_QUICK``  -- the run mode: full, class or quick (see :mod:`d2l_helpers.modes`,
                    the only module that reads it).
* ``D2L_DATA_DIR`` / ``D2L_DATA_MIRROR`` -- see :mod:`d2l_helpers.corpora`.

Every value is validated: a typo is an error that names the valid values,
never a silent guess.
"""
import os

from . import frameworks, modes
from .errors import ConfigError  # noqa: F401  (re-exported: config.ConfigError)

TABS = frameworks.NAMES
DEFAULT_TAB = frameworks.DEFAULT


def check_tab(name, source="tab"):
    """Return ``name`` normalised, or raise ConfigError listing valid tabs."""
    tab = str(name).strip().lower()
    if tab not in TABS:
        raise ConfigError(
            f"unknown {source} {name!r}; valid tabs are: {', '.join(TABS)} "
            f"(cells may also be marked '#@tab all')")
    return tab


def active_tab():
    """The tab selected by ``D2L_TAB`` (default ``pytorch``)."""
    return check_tab(os.environ.get("D2L_TAB", DEFAULT_TAB) or DEFAULT_TAB,
                     source="D2L_TAB value")


def quick_mode():
    """True in quick mode (``D2L_QUICK=1``), the shrunken CI-sized runs.

    Kept for the notebooks' quick-mode notices; how much a notebook trains
    comes from ``modes.current().budget(name)``, and new code asks
    :func:`d2l_helpers.modes.current`."""
    return modes.current() is modes.QUICK
