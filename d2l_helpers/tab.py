"""``#@tab`` cells: one notebook, two frameworks.

Load it in a notebook's first code cell::

    %load_ext d2l_helpers.tab

Afterwards a code cell whose first line is ``#@tab pytorch``, ``#@tab mxnet``
or ``#@tab all`` runs only when it matches the active tab (``#@tab all``
always runs).  A skipped cell prints one short line instead.  The active
tab comes from ``D2L_TAB`` (default ``pytorch``); ``%tab mxnet`` switches
it inside a running kernel.  The tabs, and how to install the framework of
each, are listed in :mod:`d2l_helpers.frameworks`.
"""
import os
import re

from . import config, cpu, frameworks, modes

_MARKER = re.compile(r"^\s*#\s*@tab\s+(.*?)\s*$")

# Tabs whose own cells (not '#@tab all') have run in this kernel.
_ran = set()


class TabError(ValueError):
    """A bad ``#@tab`` marker or tab name."""


def parse_marker(first_line):
    """The tab names on a ``#@tab`` line, or None if the line is no marker."""
    m = _MARKER.match(first_line)
    if not m:
        return None
    names = [n.strip().lower() for n in re.split(r"[,\s]+", m.group(1)) if n]
    valid = config.TABS + ("all",)
    bad = [n for n in names if n not in valid]
    if bad or not names:
        raise TabError(f"unknown tab {' '.join(bad) or '(none)'!r} in "
                       f"'{first_line.strip()}'; valid tabs are: "
                       f"{', '.join(valid)}")
    return names


def transform_cell(lines):
    """IPython input transformer: keep, or replace with a one-line notice."""
    if not lines:
        return lines
    try:
        names = parse_marker(lines[0])
    except TabError as e:
        return [f"raise __import__('d2l_helpers.tab').tab.TabError({str(e)!r})\n"]
    if names is None or "all" in names:
        return lines
    active = config.active_tab()
    if active in names:
        _ran.add(active)
        return lines
    return [f"print('[#@tab {'/'.join(names)}] cell skipped: the active tab is "
            f"{active}')\n"]


def set_tab(name):
    """Switch the active tab (what ``%tab NAME`` does)."""
    tab = config.check_tab(name)
    frameworks.require(tab)
    os.environ["D2L_TAB"] = tab
    others = sorted(_ran - {tab})
    if others:
        print(f"Switched to {tab}, but {', '.join(others)} cells already ran in "
              f"this kernel: restart the kernel (Kernel > Restart) so that the "
              f"notebook runs cleanly under {tab}.")
    else:
        print(f"Active tab: {tab}")
    return tab


def load_ipython_extension(ip):
    tab = config.active_tab()  # an unknown D2L_TAB fails here, loudly
    frameworks.require(tab)
    mode = modes.current()     # so does an unknown D2L_QUICK
    if tab == "mxnet":         # before the notebook's `import mxnet`
        cpu.set_mxnet_threads(notice=False)
        cpu.prepare_mxnet()
    if transform_cell not in ip.input_transformers_post:
        ip.input_transformers_post.append(transform_cell)

    def tab_magic(line):
        """%tab [pytorch|mxnet]: show or switch the active tab."""
        if not line.strip():
            print(f"Active tab: {config.active_tab()}")
            return
        set_tab(line.strip())

    ip.register_magic_function(tab_magic, magic_kind="line", magic_name="tab")
    print(f"d2l_helpers: active tab is {tab}"
          + ("" if mode is modes.FULL else f" ({mode.name} mode)"))


def unload_ipython_extension(ip):
    if transform_cell in ip.input_transformers_post:
        ip.input_transformers_post.remove(transform_cell)
