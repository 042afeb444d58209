"""README.md and notebook 03 quote `make bench`'s figures from the newest
CPU record in results/ (tools/speed.py), in both languages, exactly."""
import json
import re
import shutil
from pathlib import Path

import nbformat
import pytest

from tools import speed

ROOT = Path(__file__).resolve().parents[1]


def test_quotes_are_the_newest_records():
    assert speed.stale() == [], "run `python -m tools.speed` after recording a new bench"


def test_every_number_of_the_english_quote_comes_from_the_record():
    path, records = speed.newest()
    f = speed.figures(records)
    quote = speed.text(path, records, "en")
    want = [f"{r:.2f}" for r in f["tabs"].values()] + [f"({f['epochs']} epochs)"]
    if "speed" in f.get("bf16", {}):
        want += [str(f["bf16"]["epochs"]), str(f["bf16"]["seeds"]), f"{f['bf16']['speed']:.2f}",
                 f"{f['bf16']['ppl']:+.1%}".rstrip("%")]
    for number in want:
        assert number in quote
    assert "GPU: not measured yet" in quote  # no GPU record is quoted yet


@pytest.fixture
def copy(tmp_path):
    (tmp_path / "results").mkdir()
    (tmp_path / "notebooks").mkdir()
    path, _ = speed.newest()
    shutil.copy(path, tmp_path / "results" / path.name)
    shutil.copy(ROOT / "README.md", tmp_path / "README.md")
    shutil.copy(speed.NOTEBOOK, tmp_path / "notebooks" / speed.NOTEBOOK.name)
    return tmp_path, path.name


def test_a_changed_figure_makes_every_quote_stale_and_write_repairs_them(copy):
    root, name = copy
    records = json.loads((root / "results" / name).read_text())
    next(r for r in records if r.get("tab") == "pytorch")["ratio"] += 0.5
    (root / "results" / name).write_text(json.dumps(records))
    places = [p for p, _ in speed.stale(root)]
    assert places == ["README.md", f"{speed.NOTEBOOK.name} (zh)", f"{speed.NOTEBOOK.name} (en)"]
    speed.write(root)
    assert speed.stale(root) == []


def test_a_quote_edited_by_hand_is_stale(copy):
    root, _ = copy
    readme = root / "README.md"
    src = readme.read_text()
    readme.write_text(re.sub(r"(\d)\.(\d\d)×", lambda m: f"{(int(m[1]) + 1) % 10}.{m[2]}×", src, count=1))
    assert [p for p, _ in speed.stale(root)] == ["README.md"]


def test_the_notebook_needs_both_languages_marked(copy):
    root, _ = copy
    nb_path = root / "notebooks" / speed.NOTEBOOK.name
    nb = nbformat.read(str(nb_path), as_version=4)
    for c in nb.cells:
        if c.cell_type == "markdown" and "lang-zh" in c.metadata.get("tags", []):
            c.source = c.source.replace("<!-- speed:start -->", "").replace("<!-- speed:end -->", "")
    nbformat.write(nb, str(nb_path))
    assert any("one zh and one en" in want for _, want in speed.stale(root))


def test_no_record_names_the_command(tmp_path):
    with pytest.raises(FileNotFoundError, match="python -m tools.bench --json"):
        speed.newest(tmp_path)
