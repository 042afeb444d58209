"""Only the per-framework modules touch a framework (issue 24, item 2).

Every .py of ``d2l_helpers/`` and ``experiments/`` is parsed, and any way of
getting at a framework -- ``import``, ``from ... import``,
``importlib.import_module``, ``__import__`` or ``sys.modules[...]`` /
``sys.modules.get(...)``, at module level or inside a function -- is an error
outside the modules that the tab registry lists for a framework
(``frameworks.TABS[tab].modules``: ``d2l_helpers/torch.py`` and its private
``cuda_graphs.py``, ``d2l_helpers/mxnet.py``).  Everything else reaches a
framework through ``d2l.BACKEND`` (``backend.Backend``).
"""
import ast
from pathlib import Path

import pytest

from d2l_helpers import frameworks

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("d2l_helpers", "experiments")
# the frameworks of the tabs, and the libraries a JAX tab brings with it
FRAMEWORKS = {t.package for t in frameworks.TABS.values()} | {
    "torch", "mxnet", "jax", "jaxlib", "flax", "optax"}
OWNERS = {m for t in frameworks.TABS.values() for m in t.modules}


def _top(name):
    return (name or "").split(".")[0]


def _const(node):
    return node.value if isinstance(node, ast.Constant) and isinstance(node.value, str) else None


def framework_uses(source):
    """[(line, framework, how)] of every way ``source`` gets at a framework."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found += [(node.lineno, _top(a.name), "import") for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0:
            found.append((node.lineno, _top(node.module), "from-import"))
        elif isinstance(node, ast.Call) and node.args and _const(node.args[0]):
            f = node.func
            name = f.attr if isinstance(f, ast.Attribute) else getattr(f, "id", "")
            owner = f.value if isinstance(f, ast.Attribute) else None
            if name in ("import_module", "__import__"):
                found.append((node.lineno, _top(_const(node.args[0])), name))
            elif name == "get" and ast.unparse(owner) == "sys.modules":
                found.append((node.lineno, _top(_const(node.args[0])), "sys.modules.get"))
        elif (isinstance(node, ast.Subscript) and ast.unparse(node.value) == "sys.modules"
              and _const(node.slice)):
            found.append((node.lineno, _top(_const(node.slice)), "sys.modules[]"))
    return [f for f in found if f[1] in FRAMEWORKS]


def _modules():
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            rel = path.relative_to(ROOT).with_suffix("")
            yield ".".join(rel.parts).removesuffix(".__init__"), path


def test_the_walk_finds_every_way_in():
    src = '''
import os, torch.nn
from mxnet import np
from . import torch as d2l          # our module, not the framework
def f():
    import jax.numpy as jnp
    importlib.import_module("flax.nnx")
    __import__("optax")
    t = sys.modules.get("torch")
    return sys.modules["mxnet"], "mxnet" in sys.modules  # a membership test is fine
'''
    assert [(how, fw) for _, fw, how in framework_uses(src)] == [
        ("import", "torch"), ("from-import", "mxnet"), ("import", "jax"),
        ("import_module", "flax"), ("__import__", "optax"),
        ("sys.modules.get", "torch"), ("sys.modules[]", "mxnet")]


def test_the_registry_names_modules_that_exist():
    names = dict(_modules())
    assert "d2l_helpers.torch" in OWNERS and "d2l_helpers.mxnet" in OWNERS
    assert all(m in names for m in OWNERS), OWNERS - set(names)


@pytest.mark.parametrize("module, path", [m for m in _modules() if m[0] not in OWNERS],
                         ids=lambda x: x if isinstance(x, str) else "")
def test_only_the_framework_modules_touch_a_framework(module, path):
    uses = framework_uses(path.read_text(encoding="utf-8"))
    assert not uses, (
        f"{path.relative_to(ROOT)} gets at a framework: "
        + ", ".join(f"line {line}: {how} {fw}" for line, fw, how in uses)
        + "; go through the Backend of the module it is given (d2l.BACKEND), or list "
          "the module as the tab's own in d2l_helpers/frameworks.py (Tab.private)")
