"""The #@tab input transformer, the %tab magic and D2L_TAB/D2L_QUICK checks."""
import importlib
import sys

import pytest
from IPython.core.interactiveshell import InteractiveShell

from conftest import hide_package, require_tab
from d2l_helpers import config, frameworks, tab


@pytest.fixture(scope="module")
def _shell():
    return InteractiveShell.instance()


@pytest.fixture
def ip(_shell, monkeypatch):
    monkeypatch.setattr(tab, "_ran", set())
    _shell.run_line_magic("load_ext", "d2l_helpers.tab")
    yield _shell
    _shell.run_line_magic("unload_ext", "d2l_helpers.tab")


def run(ip, code):
    result = ip.run_cell(code)
    return result


def test_matching_and_all_cells_run_other_tab_is_skipped(ip, capsys):
    run(ip, "#@tab all\nx_all = 1")
    run(ip, "#@tab pytorch\nx_torch = 2")
    run(ip, "#@tab mxnet\nx_mx = 3")
    assert ip.user_ns["x_all"] == 1 and ip.user_ns["x_torch"] == 2
    assert "x_mx" not in ip.user_ns
    out = capsys.readouterr().out
    assert "[#@tab mxnet] cell skipped: the active tab is pytorch" in out
    assert out.count("skipped") == 1


def test_cells_without_marker_run(ip):
    run(ip, "y_plain = 5")
    assert ip.user_ns["y_plain"] == 5


def test_unknown_marker_is_an_error_listing_valid_tabs(ip):
    result = run(ip, "#@tab tensorflow\nz = 1")
    assert isinstance(result.error_in_exec, tab.TabError)
    msg = str(result.error_in_exec)
    assert "tensorflow" in msg and "pytorch, mxnet, jax, all" in msg
    assert "z" not in ip.user_ns


def test_tab_magic_switches_and_warns_to_restart(ip, capsys, monkeypatch):
    require_tab("mxnet")  # switching to it needs it installed
    monkeypatch.setenv("D2L_TAB", "pytorch")
    run(ip, "#@tab pytorch\nq = 1")
    ip.run_line_magic("tab", "mxnet")
    out = capsys.readouterr().out
    assert "restart the kernel" in out and "pytorch cells already ran" in out
    assert config.active_tab() == "mxnet"
    run(ip, "#@tab mxnet\nran_mx = True")
    assert ip.user_ns["ran_mx"] is True


def test_tab_magic_without_other_cells_does_not_warn(ip, capsys, monkeypatch):
    require_tab("mxnet")  # switching to it needs it installed
    monkeypatch.setenv("D2L_TAB", "pytorch")
    ip.run_line_magic("tab", "mxnet")
    out = capsys.readouterr().out
    assert "Active tab: mxnet" in out and "restart" not in out


def test_tab_magic_rejects_unknown_name(ip):
    with pytest.raises(config.ConfigError, match="valid tabs are: pytorch, mxnet, jax"):
        ip.run_line_magic("tab", "tensorflow")


def test_unknown_D2L_TAB_fails_at_load(monkeypatch):
    monkeypatch.setenv("D2L_TAB", "tf")
    with pytest.raises(config.ConfigError, match="unknown D2L_TAB value 'tf'.*pytorch, mxnet"):
        config.active_tab()
    shell = InteractiveShell.instance()
    with pytest.raises(config.ConfigError):
        tab.load_ipython_extension(shell)


MXNET_HINT = r"MXNet is retired.*Python 3\.11.*make lab PYTHON=python3\.11.*Windows has no MXNet"


def test_tab_magic_mxnet_when_missing_says_why_and_how(ip, monkeypatch):
    hide_package(monkeypatch, "mxnet")
    with pytest.raises(frameworks.TabUnavailable, match=MXNET_HINT):
        ip.run_line_magic("tab", "mxnet")
    assert config.active_tab() == "pytorch"   # nothing switched


JAX_HINT = r"Python >= 3\.12.*make lab PYTHON=python3\.13"
MISSING = [("mxnet", MXNET_HINT), ("jax", JAX_HINT)]  # jax: Python 3.11, or 3.12+ without the layer


@pytest.mark.parametrize("name,hint", MISSING, ids=[n for n, _ in MISSING])
def test_D2L_TAB_when_missing_fails_at_load(monkeypatch, name, hint):
    hide_package(monkeypatch, name)
    monkeypatch.setenv("D2L_TAB", name)
    with pytest.raises(frameworks.TabUnavailable, match=hint):
        tab.load_ipython_extension(InteractiveShell.instance())


@pytest.mark.parametrize("name,hint", MISSING, ids=[n for n, _ in MISSING])
def test_importing_tab_module_without_its_framework_says_why_and_how(monkeypatch, name, hint):
    monkeypatch.setitem(sys.modules, name, None)  # makes `import <framework>` fail
    monkeypatch.delitem(sys.modules, f"d2l_helpers.{name}", raising=False)
    with pytest.raises(ImportError, match=hint):
        importlib.import_module(f"d2l_helpers.{name}")
    monkeypatch.delitem(sys.modules, f"d2l_helpers.{name}", raising=False)


def test_pytorch_missing_names_make_lab(monkeypatch):
    hide_package(monkeypatch, "torch")
    with pytest.raises(frameworks.TabUnavailable, match=r"PyTorch is missing: run `make lab`"):
        frameworks.require("pytorch")


def test_registry_is_the_one_list_of_tabs():
    from tools import nbtools
    assert config.TABS == tuple(frameworks.TABS) == ("pytorch", "mxnet", "jax")
    assert nbtools.TAB_MARKERS == ("#@tab all", "#@tab pytorch", "#@tab mxnet", "#@tab jax")
    installed = [t for t in frameworks.TABS.values() if frameworks.available(t.name)]
    assert installed, "no framework installed at all"
    for t in installed:  # a missing framework's module raises (tested above)
        assert importlib.import_module(t.helpers).FRAMEWORK == t.name
