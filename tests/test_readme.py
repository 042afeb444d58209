"""README.md is short and true (issue 23).

* at most 250 lines (the rest lives in docs/);
* every relative link in README.md and docs/*.md resolves to a file;
* every message in the troubleshooting table is one that ``d2l_helpers``
  really prints: each piece between the ``…`` placeholders appears in a
  string literal of the package (f-strings' fixed parts included);
* no committed text file holds a path of one particular machine (anything
  under /work, /root, /home/<user> or /Users/<user>).
"""
import ast
import re
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
MAX_LINES = 250
LINK = re.compile(r"(?<!\!)\[[^\]]*\]\(([^)\s]+)\)|!\[[^\]]*\]\(([^)\s]+)\)")
MACHINE_PATH = re.compile(r"(?<![\w$.~-])/(?:work|root|home/[\w.-]+|Users/[\w.-]+)/")
TEXT_SUFFIXES = {".md", ".py", ".ipynb", ".txt", ".toml", ".yml", ".yaml", ".cfg", ".ini",
                 ".json", ".log", ".tsv", ".csv", ".sh", ".svg", ".in", ".lock", ""}


def relative_links(path):
    """``[(line number, target)]`` of the links in ``path`` that point into the repository."""
    out = []
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        for m in LINK.finditer(line):
            target = m.group(1) or m.group(2)
            if re.match(r"[a-z][a-z0-9+.-]*:", target) or target.startswith(("#", "/")):
                continue  # a URL, a mailto:, an anchor on the same page; absolute paths are below
            out.append((n, target.split("#", 1)[0]))
    return out


def broken_links(path):
    return [f"{path.relative_to(ROOT)}:{n}: {t}" for n, t in relative_links(path)
            if not (path.parent / t).exists()]


def test_readme_is_short():
    lines = README.read_text(encoding="utf-8").count("\n")
    assert lines <= MAX_LINES, (f"README.md has {lines} lines (at most {MAX_LINES}); move detail "
                                f"to docs/ (PERFORMANCE, PLATFORMS, TEACHING, RESULTS) and link it")


@pytest.mark.parametrize("path", [README] + sorted((ROOT / "docs").glob("*.md")),
                         ids=lambda p: str(p.relative_to(ROOT)))
def test_relative_links_resolve(path):
    assert broken_links(path) == []


def test_the_link_checker_catches_a_broken_link(tmp_path):
    (tmp_path / "there.md").write_text("x")
    page = tmp_path / "page.md"
    page.write_text("[ok](there.md#part) [web](https://d2l.ai) [gone](docs/GONE.md) ![img](nope.svg)")
    assert [t for _, t in relative_links(page)] == ["there.md", "docs/GONE.md", "nope.svg"]
    assert [t for _, t in relative_links(page) if not (tmp_path / t).exists()] == \
        ["docs/GONE.md", "nope.svg"]


def _literals():
    """The fixed text of every string literal in d2l_helpers (f-strings' parts too)."""
    parts = []
    for path in (ROOT / "d2l_helpers").glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                parts.append(node.value)
    return "\n".join(parts)


def troubleshooting_messages(text):
    """The code spans of the first column of README's troubleshooting table."""
    section = text.split("## When something goes wrong", 1)[1].split("\n## ", 1)[0]
    rows = [line for line in section.splitlines() if line.startswith("| `")]
    return [span for row in rows for span in re.findall(r"`([^`]+)`", row.split(" | ")[0])]


def unprinted(messages, literals):
    """The pieces (between '…') of ``messages`` that no literal holds."""
    missing = []
    for message in messages:
        for piece in message.split("…"):
            piece = piece.strip(" '\"")
            if len(piece) >= 6 and piece not in literals:
                missing.append(f"{message!r}: {piece!r}")
    return missing


def test_troubleshooting_quotes_messages_the_code_prints():
    messages = troubleshooting_messages(README.read_text(encoding="utf-8"))
    assert len(messages) >= 10
    assert unprinted(messages, _literals()) == []


def test_the_message_checker_catches_an_invented_message():
    literals = "could not download corpus \nthe loss diverged ("
    assert unprinted(["could not download corpus …", "the loss diverged (…)"], literals) == []
    assert unprinted(["the loss exploded in epoch …"], literals) == \
        ["'the loss exploded in epoch …': 'the loss exploded in epoch'"]


def committed_text_files():
    try:
        names = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True,
                               check=True).stdout.splitlines()
    except (OSError, subprocess.CalledProcessError):
        pytest.skip("not a git checkout: the committed files are unknown")
    return [ROOT / n for n in names
            if Path(n).suffix in TEXT_SUFFIXES and (ROOT / n).is_file()]


def test_no_committed_file_holds_a_machine_path():
    found = []
    for path in committed_text_files():
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            continue
        for n, line in enumerate(text.splitlines(), start=1):
            if MACHINE_PATH.search(line):
                found.append(f"{path.relative_to(ROOT)}:{n}: {line.strip()[:120]}")
    assert found == [], "paths of one machine (write a relative path or $VAR/ instead):\n" + \
        "\n".join(found)


def test_the_path_checker_catches_machine_paths():
    bad = [f"--json /{top}/a.json" for top in ("work/runs", "root/.cache", "home/ana")]
    good = ["build/work/x", "$OUT/work/x", "https://x.org/work/y", "~/.cache/x", "/tmp/x"]
    assert [s for s in bad + good if MACHINE_PATH.search(s)] == bad


def test_every_tool_is_named():
    text = README.read_text(encoding="utf-8")
    tools = sorted(p.stem for p in (ROOT / "tools").glob("*.py") if p.name != "__init__.py")
    assert [t for t in tools if f"`python -m tools.{t}`" not in text and t != "markers"] == []
    assert "`tools.markers` (a module" in text


def test_every_environment_variable_is_listed():
    """Each D2L_* name the package or the tools read is in the README's table
    (the D2L_HELPERS_SET_* markers are named as one family)."""
    text = README.read_text(encoding="utf-8")
    names = set()
    for folder in ("d2l_helpers", "tools"):
        for path in (ROOT / folder).glob("*.py"):
            names |= set(re.findall(r"\bD2L_[A-Z][A-Z_]*[A-Z]\b", path.read_text(encoding="utf-8")))
    names = {n for n in names if not n.startswith("D2L_HELPERS_SET_")}
    assert len(names) >= 8
    assert sorted(n for n in names if f"`{n}`" not in text) == []
