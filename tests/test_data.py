"""Fetching books: mirror, cache, real HTTP downloads from a loopback server,
and every way a file can be missing, wrong or half-written."""
import dataclasses
import functools
import http.server
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from d2l_helpers import corpora, data, frameworks, notices
from conftest import mirror_dir


# ------------------------------------------------------------ a loopback server

class _Handler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture
def server(tmp_path):
    """Serve tmp_path/'www' on 127.0.0.1; returns (folder, base_url)."""
    www = tmp_path / "www"
    www.mkdir()
    handler = functools.partial(_Handler, directory=str(www))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield www, f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()


@pytest.fixture
def online(monkeypatch, server):
    """No mirror; every corpus URL points at the loopback server."""
    www, base = server
    monkeypatch.delenv("D2L_DATA_MIRROR")
    for name, c in corpora.CORPORA.items():
        monkeypatch.setitem(corpora.CORPORA, name,
                            dataclasses.replace(c, url=f"{base}/{c.filename}"))
    return www


def serve(www, name, content=None):
    c = corpora.CORPORA[name]
    body = (mirror_dir() / c.filename).read_bytes() if content is None else content
    (www / c.filename).write_bytes(body)
    return body


def cache_files():
    return sorted(p.name for p in corpora.data_dir().iterdir())


# ------------------------------------------------------------ the mirror

def test_a_mirror_serves_every_registered_corpus_by_its_hash(monkeypatch, tmp_path):
    mirror = tmp_path / "mirror"
    mirror.mkdir()
    for c in corpora.CORPORA.values():
        (mirror / c.filename).write_bytes((mirror_dir() / c.filename).read_bytes())
    monkeypatch.setenv("D2L_DATA_MIRROR", str(mirror))
    for name in corpora.CORPORA:
        assert corpora.fetch(name) == mirror / corpora.CORPORA[name].filename
    assert list(corpora.data_dir().iterdir()) == []  # nothing copied to the cache


def test_mirror_missing_folder_names_it(monkeypatch, tmp_path):
    monkeypatch.setenv("D2L_DATA_MIRROR", str(tmp_path / "nope"))
    with pytest.raises(corpora.DataError, match="nope.*is not a folder"):
        corpora.fetch("time_machine")


def test_mirror_lacking_a_file_names_folder_and_file(monkeypatch, tmp_path):
    monkeypatch.setenv("D2L_DATA_MIRROR", str(tmp_path))
    with pytest.raises(corpora.DataError) as e:
        corpora.fetch("invisible_man")
    assert str(tmp_path) in str(e.value) and "pg5230-the-invisible-man.txt" in str(e.value)


def test_mirror_file_with_wrong_hash_is_refused(monkeypatch, tmp_path):
    (tmp_path / "timemachine.txt").write_text("not the book")
    monkeypatch.setenv("D2L_DATA_MIRROR", str(tmp_path))
    with pytest.raises(corpora.DataError, match="does not match the pinned hash"):
        corpora.fetch("time_machine")


# ------------------------------------------------------------ downloads

def test_download_is_hash_checked_and_cached(online):
    serve(online, "time_machine")
    path = corpora.fetch("time_machine", progressbar=False)
    assert path.parent == corpora.data_dir() and corpora._matches_pin(path, corpora.CORPORA["time_machine"])
    (online / "timemachine.txt").unlink()           # second call: from the cache
    assert corpora.fetch("time_machine", progressbar=False) == path
    assert cache_files() == ["timemachine.txt"]


def test_no_network_and_no_mirror_names_corpus_url_and_variables(monkeypatch):
    monkeypatch.delenv("D2L_DATA_MIRROR")
    c = corpora.CORPORA["time_machine"]
    monkeypatch.setitem(corpora.CORPORA, "time_machine",
                        dataclasses.replace(c, url="http://127.0.0.1:9/timemachine.txt"))
    with pytest.raises(corpora.DataError) as e:
        corpora.fetch("time_machine", progressbar=False)
    msg = str(e.value)
    for part in ("'time_machine'", "http://127.0.0.1:9/timemachine.txt",
                 "D2L_DATA_MIRROR", "D2L_DATA_DIR"):
        assert part in msg
    assert cache_files() == []


def test_time_machine_with_wrong_bytes_is_rejected(online):
    body = serve(online, "time_machine")
    serve(online, "time_machine", body.replace(b"time", b"tide"))
    with pytest.raises(corpora.DataError, match="rejected: it does not match the book's sha1"):
        corpora.fetch("time_machine", progressbar=False)
    assert cache_files() == []


def test_html_error_page_is_rejected_and_nothing_cached(online):
    serve(online, "war_of_the_worlds", b"<!DOCTYPE html><html><body>Error 503</body></html>" * 8000)
    with pytest.raises(corpora.DataError, match="HTML page"):
        corpora.fetch("war_of_the_worlds", progressbar=False)
    assert cache_files() == []


def test_truncated_download_is_rejected_and_nothing_cached(online):
    body = (mirror_dir() / corpora.CORPORA["war_of_the_worlds"].filename).read_bytes()
    serve(online, "war_of_the_worlds", body[: len(body) // 2])
    with pytest.raises(corpora.DataError, match="rejected"):
        corpora.fetch("war_of_the_worlds", progressbar=False)
    assert cache_files() == []
    # cut just before the end marker: right size, but truncated
    serve(online, "war_of_the_worlds", body[: body.rfind(b"*** END")])
    with pytest.raises(corpora.DataError, match="markers are missing"):
        corpora.fetch("war_of_the_worlds", progressbar=False)
    assert cache_files() == []


def test_regenerated_gutenberg_file_is_accepted_with_a_warning(online):
    body = (mirror_dir() / corpora.CORPORA["doctor_moreau"].filename).read_bytes()
    regenerated = body.replace(b"Release date", b"Release Date", 1) + b"\n"
    assert regenerated != body
    serve(online, "doctor_moreau", regenerated)
    with pytest.warns(UserWarning, match="regenerated"):
        path = corpora.fetch("doctor_moreau", progressbar=False)
    assert sorted(cache_files()) == [path.name, path.name + ".sha256"]
    assert corpora.fetch("doctor_moreau", progressbar=False) == path  # cached copy is trusted
    assert "moreau" in data.char_text("doctor_moreau")


def test_corrupt_cached_file_is_never_used_and_is_refetched(online):
    serve(online, "time_machine")
    path = corpora.fetch("time_machine", progressbar=False)
    path.write_bytes(path.read_bytes()[:1000])                    # corrupt the cache
    with pytest.warns(UserWarning, match="corrupt"):
        again = corpora.fetch("time_machine", progressbar=False)
    assert corpora._matches_pin(again, corpora.CORPORA["time_machine"])


def test_corrupt_cached_file_without_network_is_a_clear_error(online):
    serve(online, "time_machine")
    path = corpora.fetch("time_machine", progressbar=False)
    path.write_text("garbage")
    (online / "timemachine.txt").unlink()                         # the server now 404s
    with pytest.warns(UserWarning, match=str(path.name)):
        with pytest.raises(corpora.DataError, match="could not download"):
            corpora.fetch("time_machine", progressbar=False)
    assert cache_files() == []


def test_unwritable_cache_dir_is_a_clear_error(online, monkeypatch, tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    monkeypatch.setenv("D2L_DATA_DIR", str(blocker / "cache"))
    with pytest.raises(corpora.DataError, match="set D2L_DATA_DIR to a writable folder"):
        corpora.fetch("time_machine", progressbar=False)
    monkeypatch.setenv("D2L_DATA_DIR", str(tmp_path))
    monkeypatch.setattr(os, "access", lambda *a: False)  # root ignores mode bits
    with pytest.raises(corpora.DataError, match="is not writable"):
        corpora.fetch("time_machine", progressbar=False)


_CHILD = """
import dataclasses, sys
from d2l_helpers import corpora, data, notices
c = corpora.CORPORA['pride_and_prejudice']
corpora.CORPORA['pride_and_prejudice'] = dataclasses.replace(c, url=sys.argv[1])
print(corpora.fetch('pride_and_prejudice', progressbar=False))
"""


def test_two_processes_fetching_at_once_end_with_one_good_file(online):
    serve(online, "pride_and_prejudice")
    c = corpora.CORPORA["pride_and_prejudice"]
    env = dict(os.environ)
    procs = [subprocess.Popen([sys.executable, "-c", _CHILD, c.url], env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for _ in range(2)]
    outs = [p.communicate(timeout=120) for p in procs]
    assert all(p.returncode == 0 for p in procs), outs
    assert {o.strip() for o, _ in outs} == {str(corpora.data_dir() / c.filename)}
    assert cache_files() == [c.filename]
    assert corpora._matches_pin(corpora.data_dir() / c.filename, c)


# ------------------------------------------------------------ security

@pytest.mark.parametrize("name", ["../etc/passwd", "/etc/passwd", "time_machine/../../x"])
def test_corpus_names_cannot_escape_the_cache(name):
    with pytest.raises(corpora.DataError, match="unknown corpus"):
        corpora.fetch(name)


def test_nothing_is_unpickled():
    src = "".join(p.read_text() for p in Path(data.__file__).parent.glob("*.py"))
    assert "pickle" not in src and "np.load(" not in src


def test_seq_data_loader_does_no_io(monkeypatch):
    def no_io(*args, **kwargs):
        raise AssertionError("SeqDataLoader read a file")
    monkeypatch.setattr(corpora, "fetch", no_io)
    monkeypatch.setattr(data, "char_text", no_io)
    corpus = np.arange(500) % 28
    loader = data.SeqDataLoader(corpus, data.Vocab("abc"), 4, 10)
    assert len(list(loader)) == len(loader) > 0


def test_all_lists_every_public_name_the_notebooks_import():
    for name in ("WELLS", "char_text", "heldout_split", "read_lines", "load_books",
                 "load_data_books", "CORPORA", "DataError"):
        assert name in data.__all__ and hasattr(data, name)
    assert all(hasattr(data, name) for name in data.__all__)


# ------------------------------------------------------------ text pipeline

@pytest.mark.parametrize("name", [n for n, c in corpora.CORPORA.items() if c.gutenberg])
def test_gutenberg_header_and_licence_are_stripped(name):
    text = corpora.read_text(name)
    assert "gutenberg" not in text.lower(), "header or licence text left in"
    raw = (mirror_dir() / corpora.CORPORA[name].filename).read_text(encoding="utf-8-sig")
    assert len(text) > 0.85 * len(raw) or name == "sherlock_holmes"
    assert corpora.CORPORA[name].title.split(":")[0].lower() in raw.lower()


def test_char_tokenization_of_all_books_is_fast():
    start = time.perf_counter()
    train, vocab, valid, tails = data.load_books(list(corpora.CORPORA))
    assert time.perf_counter() - start < 20     # seconds, not minutes (typ. < 1 s)
    assert len(vocab) == 28 and vocab.idx_to_token[1] == " "
    assert len(train) > 2_000_000


def test_held_out_tail_is_never_trained_on():
    train, vocab, valid = data.load_corpus("time_machine", max_tokens=-1)
    whole = vocab.encode_text(data.char_text("time_machine"))
    assert len(train) + len(valid) == len(whole)
    np.testing.assert_array_equal(valid, whole[len(train):])
    tr2, vocab2, valid2, _ = data.load_books(data.WELLS)
    assert vocab2.idx_to_token == vocab.idx_to_token     # one vocabulary for every mix
    np.testing.assert_array_equal(valid2, valid)         # the same stretch for every run
    assert len(tr2) > 5 * len(train)


def test_batch_larger_than_corpus_states_the_numbers():
    from d2l_helpers import torch as d2l
    with pytest.raises(ValueError, match=r"32 \* 35 = 1120.*has 500"):
        d2l.load_data_time_machine(32, 35, max_tokens=500)
    with pytest.raises(ValueError, match="num_steps=0"):
        d2l.load_data_time_machine(32, 0)


def test_quick_mode_caps_data_with_one_banner(monkeypatch, capsys):
    monkeypatch.setenv("D2L_QUICK", "1")
    notices.forget()
    train, _, valid, _ = data.load_books(data.WELLS)
    data.load_books(data.WELLS)
    assert len(train) == 10_000 and len(valid) == 2_000
    assert capsys.readouterr().out.count("[quick mode]") == 1


@pytest.mark.parametrize("tab", ["pytorch", "mxnet"])
def test_load_data_books_gives_framework_tensors_and_per_book_tails(tab):
    import importlib
    d2l = importlib.import_module(frameworks.TABS[tab].helpers)
    it, vocab = d2l.load_data_books(4, 10, ["time_machine", "sherlock_holmes"], max_tokens=3000)
    X, Y = next(iter(it))
    assert tuple(X.shape) == (4, 10) and len(it.corpus) == 3000
    assert sorted(it.valid_corpora) == ["sherlock_holmes", "time_machine"]
    np.testing.assert_array_equal(it.valid_corpus, it.valid_corpora["time_machine"])
    small = d2l.make_loader(it.corpus[:500], vocab, 2, 5)
    assert len(list(small)) == len(small) > 0
