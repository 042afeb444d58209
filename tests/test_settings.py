"""d2l_helpers.settings: every D2L_* variable read once, in one module, into a
frozen object that is passed down (issue 24, item 2).

* ``Settings.from_env`` reads each variable, with its default when unset, and
  a bad value is an error that names the valid ones;
* no module of ``d2l_helpers/``, ``experiments/`` or ``tools/`` but
  ``settings.py`` reads a ``D2L_*`` variable from the environment (a walk of
  their syntax trees);
* what is passed down is used: ``train_ch8`` given settings trains and records
  as they say, whatever the environment says.
"""
import ast
import dataclasses
import re
from pathlib import Path

import pytest

from d2l_helpers import modes
from d2l_helpers.errors import ConfigError
from d2l_helpers.settings import PrecisionError, Settings

ROOT = Path(__file__).resolve().parents[1]
READER = ROOT / "d2l_helpers" / "settings.py"
WALKED = ["d2l_helpers", "experiments", "tools"]

# Not settings, so not in Settings: what may still read such a name, and why.
ALLOWED = {
    # cpu.py's markers of the MXNet variables it set itself (config.py's docstring)
    ("d2l_helpers/cpu.py", "D2L_HELPERS_SET_MXNET_THREADS"),
    ("d2l_helpers/cpu.py", "D2L_HELPERS_SET_MXNET_ENGINE"),
    ("d2l_helpers/cpu.py", "D2L_HELPERS_SET_GOMP_SPINCOUNT"),
    # the benchmark makes a registry of its own and hands the folder on to its
    # workers' environment; it does not interpret the value
    ("tools/bench.py", "D2L_TRAININGS_DIR"),
}


# ------------------------------------------------------------ reading the environment

def test_unset_variables_give_the_defaults():
    assert Settings.from_env({}) == Settings()
    s = Settings()
    assert (s.tab, s.mode, s.threads, s.cuda_graph, s.precision) == (
        "pytorch", modes.FULL, "auto", "step", "auto")
    assert s.data_dir is s.data_mirror is s.results is s.trainings_dir is None


def test_every_variable_lands_in_its_field():
    s = Settings.from_env({
        "D2L_TAB": " MXNet", "D2L_QUICK": "class", "D2L_DATA_DIR": "~/cache",
        "D2L_DATA_MIRROR": "/m", "D2L_RESULTS": "build/r.json", "D2L_THREADS": "3",
        "D2L_TRAININGS_DIR": "/t", "D2L_CUDA_GRAPH": "0", "D2L_PRECISION": "BF16"})
    assert s == Settings(tab="mxnet", mode=modes.CLASS, data_dir="~/cache",
                         data_mirror="/m", results="build/r.json", threads=3,
                         trainings_dir="/t", cuda_graph="off", precision="bf16")
    assert Settings.from_env({"D2L_QUICK": "1", "D2L_THREADS": "off",
                              "D2L_CUDA_GRAPH": "epoch", "D2L_RESULTS": ""}) == Settings(
        mode=modes.QUICK, threads="off", cuda_graph="epoch")


def test_from_env_reads_the_process_environment_by_default(monkeypatch):
    monkeypatch.setenv("D2L_TAB", "mxnet")
    monkeypatch.setenv("D2L_QUICK", "1")
    assert (Settings.from_env().tab, Settings.from_env().mode) == ("mxnet", modes.QUICK)


@pytest.mark.parametrize("name, value, error, names", [
    ("D2L_TAB", "tensorflow", ConfigError, "valid tabs are: pytorch, mxnet, jax"),
    ("D2L_QUICK", "maybe", modes.ModeError, "D2L_QUICK=1 for quick mode"),
    ("D2L_THREADS", "0", ConfigError, "use a whole number >= 1"),
    ("D2L_CUDA_GRAPH", "yes", ConfigError, "epoch (one graph of many minibatches)"),
    ("D2L_PRECISION", "half", PrecisionError, "use one of auto, fp32, bf16"),
])
def test_a_bad_value_names_the_valid_ones(name, value, error, names):
    with pytest.raises(error, match=re.escape(names)) as e:
        Settings.from_env({name: value})
    assert repr(value) in str(e.value)


def test_settings_are_frozen():
    with pytest.raises(dataclasses.FrozenInstanceError):
        Settings().tab = "mxnet"


# ------------------------------------------------------------ one reader

def _constants(tree):
    """{name: string} of a module's top-level ``NAME = "..."`` assignments."""
    out = {}
    for node in tree.body:
        if isinstance(node, ast.Assign) and isinstance(node.value, ast.Constant) \
                and isinstance(node.value.value, str):
            out.update({t.id: node.value.value for t in node.targets if isinstance(t, ast.Name)})
    return out


def _is_environ(node):
    """``os.environ`` (or a bare ``environ``)."""
    return (isinstance(node, ast.Attribute) and node.attr == "environ") or \
        (isinstance(node, ast.Name) and node.id == "environ")


def environment_reads(source):
    """[(line, variable)] of every read of the environment in ``source`` whose
    variable is a string (or a module constant holding one):
    ``os.environ[...]``, ``os.environ.get(...)``, ``os.getenv(...)`` and
    ``... in os.environ``.  Writes (``os.environ[...] = ``, ``pop``,
    ``update``, ``setdefault``) are not reads."""
    tree = ast.parse(source)
    consts = _constants(tree)

    def name(node):
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            return node.value
        if isinstance(node, ast.Name):
            return consts.get(node.id)
        return None

    out = []
    for node in ast.walk(tree):
        key = None
        if isinstance(node, ast.Subscript) and isinstance(node.ctx, ast.Load) \
                and _is_environ(node.value):
            key = node.slice
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.args:
            f = node.func
            if (f.attr == "get" and _is_environ(f.value)) or \
                    (f.attr == "getenv" and isinstance(f.value, ast.Name) and f.value.id == "os"):
                key = node.args[0]
        elif isinstance(node, ast.Compare) and len(node.ops) == 1 \
                and isinstance(node.ops[0], (ast.In, ast.NotIn)) \
                and _is_environ(node.comparators[0]):
            key = node.left
        if key is not None and name(key) is not None:
            out.append((node.lineno, name(key)))
    return out


def test_the_walker_finds_every_way_of_reading():
    src = ('import os\nENV = "D2L_QUICK"\n'
           'a = os.environ.get("D2L_TAB", "")\n'
           'b = os.environ["D2L_RESULTS"]\n'
           'c = os.getenv(ENV)\n'
           'd = "D2L_THREADS" in os.environ\n'
           'os.environ["D2L_TAB"] = "mxnet"\n'            # writes: not reads
           'os.environ.pop("D2L_PRECISION", None)\n'
           'e = os.environ.get("HOME")\n')
    assert environment_reads(src) == [(3, "D2L_TAB"), (4, "D2L_RESULTS"), (5, "D2L_QUICK"),
                                      (6, "D2L_THREADS"), (9, "HOME")]


def _modules():
    for folder in WALKED:
        yield from sorted((ROOT / folder).glob("*.py"))


def test_only_settings_reads_a_d2l_variable():
    """A module that wants a setting takes it from a Settings it is given (or
    from ``settings.current()``), so that one reader decides what each value
    means and a student can follow a setting from one place."""
    offenders = []
    for path in _modules():
        if path == READER:
            continue
        rel = path.relative_to(ROOT).as_posix()
        for line, var in environment_reads(path.read_text(encoding="utf-8")):
            if var.startswith("D2L_") and (rel, var) not in ALLOWED:
                offenders.append(f"{rel}:{line} reads {var}")
    assert not offenders, ("read d2l_helpers.settings.Settings (passed down, or "
                           "settings.current()) instead: " + "; ".join(offenders))


class Asked(dict):
    """An environment that notes every variable it is asked for (and has none)."""
    def __init__(self):
        super().__init__()
        self.asked = []

    def get(self, key, default=None):
        self.asked.append(key)
        return default

    def __getitem__(self, key):
        self.asked.append(key)
        raise KeyError(key)


def variables_read():
    """The names ``Settings.from_env`` asks its environment for."""
    env = Asked()
    Settings.from_env(env)
    return env.asked


def test_the_reader_asks_for_each_variable_once_one_per_field():
    asked = variables_read()
    assert len(asked) == len(set(asked)) == len(dataclasses.fields(Settings)) == 9
    assert all(name.startswith("D2L_") for name in asked)


# ------------------------------------------------------------ passed down

def test_train_ch8_uses_the_settings_it_is_given(monkeypatch, tmp_path, capsys):
    """The environment says quick mode, 2 threads, no results file and fp32; the
    settings passed say class mode, 1 thread, a file and auto: the settings win."""
    torch = pytest.importorskip("torch")
    from experiments import study
    from d2l_helpers import notices, results
    from d2l_helpers import torch as d2l
    notices.forget()
    monkeypatch.setenv("D2L_PRECISION", "fp32")
    monkeypatch.setenv("D2L_QUICK", "1")
    monkeypatch.setenv("D2L_THREADS", "2")
    monkeypatch.delenv("D2L_RESULTS", raising=False)
    path = tmp_path / "r.json"
    given = dataclasses.replace(Settings.from_env(), mode=modes.CLASS, threads=1,
                                results=str(path), trainings_dir=str(tmp_path / "t"),
                                precision="auto")
    vocab = d2l.Vocab(list("time traveller"))
    corpus = torch.randint(1, len(vocab), (400,)).numpy()
    it = d2l.make_loader(corpus, vocab, 4, 5)
    net = study.make_model(d2l, "gru", 1, 8, len(vocab), torch.device("cpu"))
    h = d2l.train_ch8(net, it, vocab, 1, 5, "cpu", record="test/given", settings=given)
    assert h.mode == "class" and len(h.epoch) == 2  # 40% of 5 epochs, not quick's 5
    out = capsys.readouterr().out
    assert "PyTorch computes with 1 CPU thread (D2L_THREADS=1)" in out  # frameworks.TABS title
    assert "D2L_PRECISION=fp32" not in out
    (run,) = results.load(path)
    assert run["key"] == "test/given" and run["mode"] == "class"
