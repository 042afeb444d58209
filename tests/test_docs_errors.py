"""The documents stay true to the code (issue 20, item 5).

* Every message that README.md or docs/*.md quote in a table of messages
  (a table whose first column is headed "message" or "报错") is one that
  ``d2l_helpers`` really raises, warns or prints: the quoted start, with its
  ``…`` placeholders, must match the start of the message of one
  ``raise``/``warn``/``print``/notice call, whose own ``{...}`` fields match
  anything.  A fragment found in some unrelated literal is not enough.
* ``config.py``'s docstring names every ``D2L_*`` variable the package reads
  (``Settings.from_env`` asks for; settings.py's table too),
  and no other.
* docs/ARCHITECTURE.md's module table lists every module of the package, and
  only those.

The documents are read when the tests run, so these hold whoever rewrites
them."""
import ast
import re
from functools import lru_cache
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "d2l_helpers"
DOCS = [ROOT / "README.md"] + sorted((ROOT / "docs").glob("*.md"))
WILD = None  # a placeholder: "…" in a document, a {field} in the code
FIELD_CHARS = 20  # a document may write a field's value (a word) instead of "…"
# calls whose first argument is a message the user sees
SAYS = {"print", "warn", "once", "notice_once", "banner", "skip"}


# ------------------------------------------------------------ the code's messages

def _pattern(node):
    """A message expression as a list of characters and WILDs, or None."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return list(node.value)
    if isinstance(node, ast.JoinedStr):
        out = []
        for part in node.values:
            out += _pattern(part) if isinstance(part, ast.Constant) else [WILD]
        return out
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        left, right = _pattern(node.left), _pattern(node.right)
        return (left or [WILD]) + (right or [WILD])
    return None


def _callee(node):
    f = node.func
    return f.attr if isinstance(f, ast.Attribute) else getattr(f, "id", "")


def _says(name):
    """Whether a call of ``name`` hands its message to the user: print, a
    warning, a notice, or an exception class (any capitalised name)."""
    return name in SAYS or re.fullmatch(r"[A-Z]\w*|unavailable_error", name) is not None


@lru_cache(maxsize=None)
def code_messages():
    """Every message a raise, warning, print or notice of d2l_helpers gives
    (also through a variable or attribute assigned a message first, as in
    ``h.stopped = f"..."; print(h.stopped)``)."""
    out = []
    for path in sorted(PACKAGE.glob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        assigned = {}
        for node in ast.walk(tree):
            if isinstance(node, ast.Assign) and _pattern(node.value):
                for target in node.targets:
                    assigned.setdefault(ast.unparse(target), []).append(_pattern(node.value))
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call) or not node.args or not _says(_callee(node)):
                continue
            # notices.once(key, message): the message is the second argument
            name = _callee(node)
            arg = (node.args[1:2] if name in ("once", "notice_once") else node.args[:1])
            for a in arg:
                for p in [_pattern(a)] if _pattern(a) else assigned.get(ast.unparse(a), []):
                    out.append((tuple(p), f"{path.name}:{node.lineno}"))
    return out


def _starts(doc, code):
    """Whether ``doc`` (chars and WILDs) matches the start of ``code``."""
    @lru_cache(maxsize=None)
    def go(i, j):
        if i == len(doc):
            return True                     # the document quotes the start only
        if doc[i] is WILD:
            return go(i + 1, j) or (j < len(code) and go(i, j + 1))
        if j == len(code):
            return False
        if code[j] is WILD:                 # a field of the code's message: the
            return go(i, j + 1) or any(     # document may spell out a value, one word
                go(i + k, j + 1) for k in range(1, FIELD_CHARS + 1)
                if i + k < len(doc)         # followed by more of the document
                and all(ch is not WILD and not ch.isspace() for ch in doc[i:i + k]))
        return doc[i] == code[j] and go(i + 1, j + 1)
    return go(0, 0)


def raised_by(message, messages=None):
    """Where the code gives ``message`` (a document's quote), or []."""
    doc = tuple(WILD if ch == "…" else ch for ch in message.strip())
    return [where for code, where in (messages or code_messages()) if _starts(doc, code)]


# ------------------------------------------------------------ the documents' quotes

def _cells(line):
    return [c.strip() for c in line.strip().strip("|").split("|")]


def quoted_messages(text):
    """The messages quoted in the first column of every table of messages."""
    out, in_table = [], False
    for line in text.splitlines():
        if not line.lstrip().startswith("|"):
            in_table = False
            continue
        first = _cells(line)[0]
        if re.search(r"message|报错", first, re.I) and "`" not in first:
            in_table = True                 # a header row
            continue
        if in_table and not set(first) <= set("-: "):
            while True:                     # drop notes in parentheses: (warning), (`D2L_TAB`)
                shorter = re.sub(r"\s*\((?:[^()`]|`[^`]*`)*\)\s*$", "", first)
                if shorter == first:
                    break
                first = shorter
            out += re.findall(r"`([^`]+)`", first)
    return out


def test_every_message_the_documents_quote_is_raised_by_the_code():
    found = {doc.name: quoted_messages(doc.read_text(encoding="utf-8")) for doc in DOCS}
    assert len(found["README.md"]) >= 10, "README's table of messages was not found"
    missing = [f"{name}: {m!r}" for name, ms in found.items() for m in ms if not raised_by(m)]
    assert missing == [], ("messages quoted in the documents that no raise, warning or "
                           "print of d2l_helpers gives:\n" + "\n".join(missing))


def test_the_checker_tells_a_real_message_from_an_invented_or_stale_one():
    code = [(tuple(_pattern(ast.parse(src, mode="eval").body)), "x.py:1") for src in (
        'f"could not download corpus {c.name!r} from {c.url} ({e}). Offline?"',
        'f"try_gpu({i}): no GPU {i} found ({n} available); using the CPU"',
        '"the loss diverged (" + what + ") in epoch"')]
    assert raised_by("could not download corpus …", code)
    assert raised_by("try_gpu(…): no GPU … found (… available); using the CPU", code)
    assert raised_by("the loss diverged (…) in epoch", code)
    assert not raised_by("could not fetch corpus …", code)            # invented
    assert not raised_by("D2L_QUICK=… is neither true nor false", code)  # a stale one
    assert not raised_by("from … (", code)              # the middle of a message is not its start
    assert raised_by("try_gpu(1): no GPU 1 found", code)               # a value for a field
    assert not raised_by("the mirror folder … has no file …",  # the code's fields hold
                         [((WILD, *": the model's weights are on ", WILD), "")])  # no sentences
    assert not raised_by("anything at all", [((WILD, *": the model"), "x.py:2")])
    table = ("| message starts with · 报错 | what to do |\n| --- | --- |\n"
             "| `could not download corpus …` (warning) | offline |\n"
             "| `a …` / `b …` (`D2L_TAB`) | x |\n\n| other | table |\n| `not a message` | x |\n")
    assert quoted_messages(table) == ["could not download corpus …", "a …", "b …"]


# ------------------------------------------------------------ the docstrings of config.py and settings.py

def variables_read():
    """The D2L_* names the package reads: those ``Settings.from_env`` asks its
    environment for (tests/test_settings.py holds every other module to
    asking it), and the ``D2L_HELPERS_SET_*`` markers that cpu.py keeps
    (constants in the code, not its docstrings)."""
    from d2l_helpers.settings import Settings

    class Asked(dict):
        def get(self, key, default=None):
            names.add(key)
            return default

    names = set()
    Settings.from_env(Asked())
    for path in PACKAGE.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Constant) and isinstance(node.value, str) \
                    and re.fullmatch(r"D2L_HELPERS_SET_[A-Z_]+", node.value):
                names.add(node.value)
    return names


@pytest.mark.parametrize("module", ["config", "settings"])
def test_docstring_names_every_variable_read(module):
    """config.py's docstring lists them all, and settings.py's table those it reads."""
    import importlib
    doc = importlib.import_module(f"d2l_helpers.{module}").__doc__
    documented = set(re.findall(r"D2L_[A-Z_]+", doc))
    documented = {n for n in documented if not n.endswith("_")}  # D2L_HELPERS_SET_* as a family
    read = variables_read()
    markers = {n for n in read if n.startswith("D2L_HELPERS_SET_")}
    assert len(read - markers) == 9
    assert read - markers - documented == set(), f"read but not in {module}.py's docstring"
    if module == "config":
        assert documented - read - {"D2L_HELPERS_SET_"} == set(), "in the docstring, never read"
        assert "D2L_HELPERS_SET_*" in doc and len(markers) >= 1
    else:
        assert documented - read == set(), "in the docstring, never read"


# ------------------------------------------------------------ ARCHITECTURE's module table

def test_architecture_lists_every_module():
    text = (ROOT / "docs" / "ARCHITECTURE.md").read_text(encoding="utf-8")
    table = text.split("## Modules", 1)[1].split("\n## ", 1)[0]
    listed = set(re.findall(r"`(\w+\.py)`", table))
    modules = {p.name for p in PACKAGE.glob("*.py")} - {"__init__.py"}
    assert modules - listed == set(), "modules missing from docs/ARCHITECTURE.md"
    assert listed - modules == set(), "docs/ARCHITECTURE.md lists modules that do not exist"
