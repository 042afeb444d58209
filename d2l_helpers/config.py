"""Environment switches shared by the whole package.

d2l_helpers reads nine environment variables, all of them in one module,
:mod:`d2l_helpers.settings`, into one frozen :class:`~d2l_helpers.settings.Settings`
that the entry points pass down (the module named after each one acts on it):

* ``D2L_TAB``           -- which tab the notebooks run (:func:`active_tab`; the
                           tabs are in :mod:`d2l_helpers.frameworks`).
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
``tests/test_docs_errors.py`` checks this list against the code, and
``tests/test_settings.py`` that no module but ``settings`` reads a setting.

Every value is validated: a typo is an error that names the valid values,
never a silent guess.
"""
from . import frameworks, modes
from .errors import ConfigError  # noqa: F401  (re-exported: config.ConfigError)
from .settings import check_tab  # noqa: F401  (re-exported: config.check_tab)
from .settings import current as settings_now

TABS = frameworks.NAMES
DEFAULT_TAB = frameworks.DEFAULT


def active_tab(settings=None):
    """The tab selected by ``D2L_TAB`` (default ``pytorch``): ``settings.tab``,
    or the environment's now when no settings are given."""
    return settings_now(settings).tab


def quick_mode():
    """True in quick mode (``D2L_QUICK=1``), the shrunken CI-sized runs.

    Kept for the notebooks' quick-mode notices; how much a notebook trains
    comes from ``modes.current().budget(name)``, and new code asks
    :func:`d2l_helpers.modes.current`."""
    return modes.current() is modes.QUICK
