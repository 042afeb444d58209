"""Write generated text into a file between two HTML-comment markers.

``replace_between(path, "bench", text)`` puts ``text`` between
``<!-- bench:start -->`` and ``<!-- bench:end -->``, keeping both markers, and
refuses (with the file and marker named) when the markers are missing,
repeated or out of order.  ``tools/book.py`` and ``tools/bench.py`` use it
for README.md.
"""
from pathlib import Path


class MarkerError(ValueError):
    """The file does not hold exactly one start marker before one end marker."""


def markers(name):
    return f"<!-- {name}:start -->", f"<!-- {name}:end -->"


def replace_between(path, name, text):
    """Replace what lies between the ``name`` markers of ``path`` with ``text``."""
    path = Path(path)
    src = path.read_text()
    start, end = markers(name)
    if src.count(start) != 1 or src.count(end) != 1 or src.index(start) > src.index(end):
        raise MarkerError(f"{path} must hold '{start}' once, followed by '{end}' "
                          f"once; add them where the generated text belongs")
    head, rest = src.split(start, 1)
    _, tail = rest.split(end, 1)
    path.write_text(f"{head}{start}\n{text.strip()}\n{end}{tail}")
