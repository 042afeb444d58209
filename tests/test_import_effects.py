"""`import d2l_helpers` changes nothing in the process: no environment
variable, no file of the trainings registry (issue 20, item 6)."""
import json
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

_CHILD = """
import json, os, sys
before = dict(os.environ)
import d2l_helpers, d2l_helpers.config, d2l_helpers.modes, d2l_helpers.results
after = dict(os.environ)
print(json.dumps({k: [before.get(k), after.get(k)] for k in set(before) | set(after)
                  if before.get(k) != after.get(k)}))
"""


def _run(code, **env):
    full = {k: v for k, v in os.environ.items()
            if not k.startswith(("MXNET_", "D2L_HELPERS_SET_", "GOMP_"))}
    full.update(env)
    out = subprocess.run([sys.executable, "-c", code], env=full, cwd=ROOT,
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    return out.stdout.strip().splitlines()[-1]


def test_import_d2l_helpers_leaves_environ_and_registry_alone(tmp_path):
    reg = tmp_path / "trainings"
    reg.mkdir()
    stale = reg / "99999999-1.json"  # a training long gone: the registry drops
    stale.write_text(json.dumps({"pid": 99999999, "started": 1.0,  # such files
                                 "expires": time.time() - 3600}))  # when it reads
    changed = json.loads(_run(_CHILD, D2L_TRAININGS_DIR=str(reg), D2L_TAB="mxnet"))
    assert changed == {}, f"import d2l_helpers changed the environment: {changed}"
    assert stale.exists(), "import d2l_helpers deleted a file of the trainings registry"


def test_modes_does_not_import_config():
    # config imports modes (config.quick_mode); the other way would be a cycle
    import ast
    tree = ast.parse((ROOT / "d2l_helpers" / "modes.py").read_text())
    imported = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.level == 1:
            imported.add(node.module or "")
            imported.update(a.name for a in node.names if not node.module)
    assert "config" not in imported, "modes.py imports config.py: an import cycle"


_STUDENT = """
import json, sys
import d2l_helpers.torch
print(json.dumps(sorted(m for m in sys.modules if m.split(".")[0] == "experiments")))
"""


def test_a_students_import_loads_no_experiment_code():
    # what a student runs (`from d2l_helpers import torch as d2l`) stays below the
    # experiments package (issue 24): neither at import nor through another module
    loaded = json.loads(_run(_STUDENT))
    assert loaded == [], f"import d2l_helpers.torch imported {loaded}"
    import ast
    for path in sorted((ROOT / "d2l_helpers").glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = ([a.name for a in node.names] if isinstance(node, ast.Import) else
                     [node.module or ""] if isinstance(node, ast.ImportFrom) and not node.level
                     else [])
            assert not any(n.split(".")[0] == "experiments" for n in names), (
                f"{path.name}:{node.lineno} imports the experiments package; the library "
                f"must not depend on it (move the code to experiments/ instead)")
