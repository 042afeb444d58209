"""tools/ is an installed package with one import style (issue 24, item 5).

* No .py under ``tools/`` or ``tests/`` (``tests/browser`` too) edits the
  import path: ``sys.path.insert/append/extend/...``, an assignment to
  ``sys.path`` or one of its items, ``site.addsitedir``.  The project's
  editable install provides ``d2l_helpers``, ``experiments`` and ``tools``;
  pytest finds ``conftest`` and the helpers beside a test by itself.
* The tools, and the tests, import a tool one way: ``from tools import x``
  (never a bare ``import bench``, which works only with ``tools/`` on the
  path, nor ``from tools.x import y``).
* Every command-line tool answers ``python -m tools.<name> --help``.
* The one tool that measures another checkout's code
  (``tools/bench_mxnet_engine.py``) does it without a path edit: its kernels
  start in that checkout.
"""
import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
FOLDERS = ("tools", "tests")
TOOLS = sorted(p.stem for p in (ROOT / "tools").glob("*.py") if p.stem != "__init__")
# Not asked for --help: a module that is no command (markers), and commands
# that read sys.argv themselves, where --help would be taken as an argument
# (draw_deep_rnn [OUT] would draw into a file named --help, resolve_lock
# [TARGET...] asks the package registry, sync_env [--check] rewrites files).
NO_HELP = {"markers", "draw_deep_rnn", "resolve_lock", "sync_env"}
_MUTATORS = {"insert", "append", "extend", "remove", "pop", "clear", "__setitem__"}


def path_edits(source):
    """[(line, what)] of every edit of the import path in ``source``."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            owner, name = ast.unparse(node.func.value), node.func.attr
            if owner == "sys.path" and name in _MUTATORS:
                found.append((node.lineno, f"sys.path.{name}"))
            elif owner == "site" and name == "addsitedir":
                found.append((node.lineno, "site.addsitedir"))
        elif isinstance(node, (ast.Assign, ast.AugAssign, ast.AnnAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for t in targets:
                t = t.value if isinstance(t, ast.Subscript) else t
                if ast.unparse(t) == "sys.path":
                    found.append((node.lineno, "sys.path ="))
    return sorted(found)


def test_the_checker_finds_every_kind_of_edit():
    source = """
import sys, site
sys.path.insert(0, "/x")
sys.path.append("/x")
sys.path[:0] = ["/x"]
sys.path += ["/x"]
sys.path = ["/x"]
site.addsitedir("/x")
def f():
    sys.path.extend(["/x"])
"""
    assert path_edits(source) == [
        (3, "sys.path.insert"), (4, "sys.path.append"), (5, "sys.path ="), (6, "sys.path ="),
        (7, "sys.path ="), (8, "site.addsitedir"), (10, "sys.path.extend")]
    # reading the path, or passing a path to a child process, is not an edit
    assert path_edits("import sys\nprint(sys.path[0], list(sys.path))\n"
                      "env = {'PYTHONPATH': str(ROOT)}\n") == []


def _sources():
    for folder in FOLDERS:
        for path in sorted((ROOT / folder).rglob("*.py")):
            yield path.relative_to(ROOT).as_posix(), path.read_text(encoding="utf-8")


def test_no_tool_and_no_test_edits_the_import_path():
    found = [f"{rel}:{line}: {what}" for rel, source in _sources()
             for line, what in path_edits(source)]
    assert found == [], ("edits of the import path (import `from tools import x`, "
                         "`from d2l_helpers import y`; the editable install provides them):\n"
                         + "\n".join(found))


def other_tool_imports(source):
    """[(line, how)] of every import of a tool not written ``from tools import x``:
    by its bare name (``import book``, ``from nbtools import x``; these work
    only with tools/ on the path), relative (``from . import slides``), or
    through the dotted name (``import tools.slides``, ``from tools.book
    import notebooks``)."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found += [(node.lineno, f"import {a.name}") for a in node.names
                      if a.name in TOOLS or a.name.startswith("tools.")]
        elif isinstance(node, ast.ImportFrom):
            module = "." * node.level + (node.module or "")
            if module in TOOLS or module.startswith((".", "tools.")):
                found.append((node.lineno, f"from {module} import"))
    return sorted(found)


def test_the_one_style_checker_can_fail():
    assert other_tool_imports(
        "import book\nfrom nbtools import check\nfrom . import slides\n"
        "import tools.slides as s\nfrom tools.book import notebooks\n"
        "from tools import book\nimport json\nfrom packaging.markers import Marker\n") == [
        (1, "import book"), (2, "from nbtools import"), (3, "from . import"),
        (4, "import tools.slides"), (5, "from tools.book import")]


def test_tools_are_imported_one_way():
    found = [f"{rel}:{line}: {how}" for rel, source in _sources()
             for line, how in other_tool_imports(source)]
    assert found == [], "import the tools as `from tools import x`:\n" + "\n".join(found)


def test_the_list_of_tools_without_help_is_current():
    assert NO_HELP <= set(TOOLS), f"no such tools: {sorted(NO_HELP - set(TOOLS))}"


def test_the_project_installs_the_three_packages():
    """The editable install (tools/setup_env.py, `pip install -e .`) is what
    lets `from tools import x` and `python -m tools.<name>` work without a
    path edit, from any folder."""
    import tomllib
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    assert config["tool"]["setuptools"]["packages"] == ["d2l_helpers", "experiments", "tools"]


@pytest.mark.parametrize("name", [t for t in TOOLS if t not in NO_HELP])
def test_every_tool_runs_as_a_module(name):
    """Run in this checkout's root, so that its own tools answer (`-m` puts
    the working folder first on the path), not those of another checkout
    that the environment may have installed."""
    run = subprocess.run([sys.executable, "-m", f"tools.{name}", "--help"],
                         capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert run.returncode == 0, run.stderr[-2000:]
    assert run.stdout.startswith("usage: "), run.stdout[:300]


def test_benchmark_kernels_run_the_code_of_the_checkout_named(tmp_path):
    """tools/bench_mxnet_engine.py measures another checkout's code without
    editing the path: bench_shared starts each kernel as ``python -m
    tools.bench_shared --worker`` in that checkout, whose ``tools`` then comes
    first.  A fake checkout whose kernel says where it ran shows which code
    ran (this checkout's would train a model instead)."""
    from tools import bench_shared
    fake = tmp_path / "other-checkout"
    (fake / "tools").mkdir(parents=True)
    (fake / "tools" / "__init__.py").write_text("")
    (fake / "tools" / "bench_shared.py").write_text(
        "import json, sys\n"
        "print('ready', flush=True)\n"
        "sys.stdin.readline()\n"
        "print(json.dumps({'ran': __file__, 'tokens_per_s': 1.0}))\n")
    group = bench_shared.run_group("pytorch", 2, {}, 1, 100, checkout=fake)
    ran = [Path(g["ran"]).resolve() for g in group]
    assert ran == [(fake / "tools" / "bench_shared.py").resolve()] * 2
