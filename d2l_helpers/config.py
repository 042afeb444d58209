"""Environment switches shared by the whole package.

d2l_helpers reads nine environment variables, each in one module:

* ``D2L_TAB``           -- which tab the notebooks run (here; the tabs are in
                           :mod:`d2l_helpers.frameworks`).
* ``D2L_QUICK``         -- the run mode: full, class or quick (:mod:`d2l_helpers.modes`).
* ``D2L_DATA_DIR``, ``D2L_DATA_MIRROR`` -- the books' cache folder and a local
                           mirror (:mod:`d2l_helpers.corpora`).
* ``D2L_RESULTS``       -- the JSON file runs are recorded in (:mod:`d2l_helpers.results`).
* ``D2L_THREADS``       -- CPU threads per training (:mod:`d2l_helpers.cpu`).
* ``D2L_TRAININGS_DIR`` -- the registry of running trainings (:mod:`d2l_helpers.registry`).
* ``D2L_CUDA_GRAPH``    -- ``0`` turns off PyTorch's captured step (:mod:`d2l_helpers.cuda_graphs`).
* ``D2L_PRECISION``     -- fp32, bf16 or auto (:mod:`d2l_helpers.precision`).

Besides, :mod:`d2l_helpers.cpu` marks what it set for MXNet itself with
``D2L_HELPERS_SET_*`` variables (three markers), so that a child process can
tell its parent's settings from the user's; users do not set them.
``tests/test_docs_errors.py`` checks this list against the code.

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
