"""d2l_helpers.results: recorded runs keep their per-epoch curves; train_ch8
and study.run_one record their own runs (record=key)."""
import json
import math
import sys

import numpy as np
import pytest

from d2l_helpers import results
from experiments import study
from d2l_helpers.training import History


def test_record_stores_per_epoch_curves(tmp_path, monkeypatch):
    path = tmp_path / "results.json"
    monkeypatch.setenv("D2L_RESULTS", str(path))
    h = History(epoch=[1, 2], train_ppl=[20.0, 12.5], valid_ppl=[float("nan"), 14.0],
                tokens_per_sec=[1000.0, 1100.0], wall_time=[1.0, 2.0],
                tokens_seen=[1120, 2240])
    results.record("test/curves", h, seed=3)
    (run,) = results.load(path)
    assert run["curves"]["train_ppl"] == [20.0, 12.5]
    assert run["curves"]["tokens_seen"] == [1120.0, 2240.0]
    assert math.isnan(run["curves"]["valid_ppl"][0]) and run["curves"]["valid_ppl"][1] == 14.0
    assert run["best_valid_ppl"] == 14.0 and run["seed"] == 3


def test_full_mode_reads_the_committed_snapshot():
    runs = results.full_mode()
    assert runs and all("key" in r and "tab" in r for r in runs)
    assert not any("framework" in r for r in runs)
    assert results.FULL_MODE.name == "full-mode.json"


def test_an_old_entry_naming_its_tab_framework_loads_with_tab(tmp_path, monkeypatch):
    """Runs recorded before 2026-12-04 (e.g. a long study still appending with
    the old code) carry ``framework`` beside ``tab``; they load, and are
    rewritten, with ``tab`` alone (History's own tab winning over D2L_TAB's)."""
    path = tmp_path / "old.json"
    old = [{"label": "a", "framework": "mxnet", "key": "conv/gru/1", "tab": "mxnet"},
           {"label": "b", "framework": "mxnet", "key": "conv/gru/2", "tab": "pytorch"},
           {"label": "c", "framework": "", "key": "notebook/03", "tab": "jax"}]
    path.write_text(json.dumps(old))
    runs = results.load(path)
    assert [(r["key"], r["tab"]) for r in runs] == [
        ("conv/gru/1", "mxnet"), ("conv/gru/2", "mxnet"), ("notebook/03", "jax")]
    assert not any("framework" in r for r in runs)
    assert results.find(runs, "conv/gru/2", "mxnet")
    monkeypatch.setenv("D2L_RESULTS", str(path))
    monkeypatch.setenv("D2L_TAB", "pytorch")
    results.record("conv/gru/3", History(tab="mxnet", epoch=[1], train_ppl=[9.0],
                                         valid_ppl=[8.0], tokens_seen=[10], wall_time=[1.0]))
    written = json.loads(path.read_text())
    assert [(r["key"], r["tab"]) for r in written][-1] == ("conv/gru/3", "mxnet")
    assert not any("framework" in r for r in written)


# ---------------------------------------------------------------- recording in the helpers

def _tiny(monkeypatch, tmp_path):
    """A PyTorch GRU and a loader over random characters; D2L_RESULTS set."""
    torch = pytest.importorskip("torch")
    monkeypatch.setenv("D2L_TAB", "pytorch")
    monkeypatch.setenv("D2L_QUICK", "0")
    path = tmp_path / "results.json"
    monkeypatch.setenv("D2L_RESULTS", str(path))
    from d2l_helpers import torch as d2l
    rng = np.random.default_rng(0)
    vocab = d2l.Vocab(list("time traveller"))
    corpus, heldout = rng.integers(1, len(vocab), 600), rng.integers(1, len(vocab), 200)
    return d2l, torch.device("cpu"), vocab, corpus, heldout, path


def test_train_ch8_records_its_history_with_fields(monkeypatch, tmp_path):
    d2l, cpu, vocab, corpus, heldout, path = _tiny(monkeypatch, tmp_path)
    train_iter = d2l.make_loader(corpus, vocab, 4, 5, valid_corpus=heldout)
    net = study.make_model(d2l, "gru", 1, 8, len(vocab), cpu)
    calls = []
    h = d2l.train_ch8(net, train_iter, vocab, 1, 2, cpu, record="test/gru/seed3",
                      seed=3, num_params=lambda: calls.append(1) or d2l.BACKEND.num_params(net))
    (run,) = results.load(path)
    assert calls == [1]  # a function field is called once, after training
    assert run["key"] == "test/gru/seed3" and run["tab"] == "pytorch"
    assert run["seed"] == 3 and run["num_params"] == d2l.BACKEND.num_params(net)
    assert run["curves"]["train_ppl"] == h.train_ppl
    # the same entry as recording by hand, as the lesson cells used to
    by_hand = results.record("test/gru/seed3", h, num_params=run["num_params"], seed=3)
    assert set(by_hand) == set(run)
    same = lambda e: json.dumps({k: v for k, v in e.items() if k != "time"}, sort_keys=True)
    assert same(by_hand) == same(run)  # NaN validation points compare equal as text


def test_extra_fields_without_a_key_are_refused(monkeypatch, tmp_path):
    d2l, cpu, vocab, corpus, heldout, path = _tiny(monkeypatch, tmp_path)
    train_iter = d2l.make_loader(corpus, vocab, 4, 5)
    net = study.make_model(d2l, "gru", 1, 8, len(vocab), cpu)
    with pytest.raises(TypeError, match="record="):
        d2l.train_ch8(net, train_iter, vocab, 1, 1, cpu, seeed=0)
    with pytest.raises(ValueError, match="non-empty key"):
        d2l.train_ch8(net, train_iter, vocab, 1, 1, cpu, record="")
    assert not path.exists()


def test_run_one_records_the_result_and_what_evaluate_measures(monkeypatch, tmp_path):
    d2l, cpu, vocab, corpus, heldout, path = _tiny(monkeypatch, tmp_path)
    valid, test = study.split_heldout(heldout)
    data = dict(corpus=corpus, vocab=vocab, valid=valid, test=test)
    seen = []

    def evaluate(net):
        seen.append(d2l.evaluate_ppl(net, test, cpu))
        return {"ppl_again": seen[-1]}

    res, h, net = study.run_one(d2l, None, data, "gru", 1, 8, seed=0,
                                checkpoints=2, batches_per_checkpoint=2, batch_size=4,
                                num_steps=5, device=cpu, evaluate=evaluate,
                                record="test/one/seed0", books=["a", "b"])
    (run,) = results.load(path)
    assert run["key"] == "test/one/seed0" and run["books"] == ["a", "b"]
    # evaluate ran at the chosen checkpoint: it reproduces the test perplexity
    assert seen == [run["ppl_again"]] and math.isclose(run["ppl_again"], res["test_ppl"])
    assert {k: run[k] for k in res if k != "books"} == \
        {k: v for k, v in res.items() if k != "books"}


# ---------------------------------------------------------------- faults

_WRITER = """
import sys, time
from d2l_helpers import results
name, n, start, pad = sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), int(sys.argv[4])
while time.time() < start:
    time.sleep(0.001)
for i in range(n if n > 0 else 10**9):  # n <= 0: one key, rewritten until killed
    results.record(name if n <= 0 else f"{name}/{i}", {"pad": [0.5] * pad})
    print(i, flush=True)
"""


def _writer(name, n, start, pad, path):
    import os, subprocess, sys
    env = dict(os.environ, D2L_RESULTS=str(path))
    return subprocess.Popen([sys.executable, "-c", _WRITER, name, str(n), str(start), str(pad)],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def test_concurrent_writers_lose_no_entry(tmp_path):
    import time
    path = tmp_path / "results.json"
    start = time.time() + 1.0  # all start together, after their imports
    procs = [_writer(f"w{k}", 15, start, 500, path) for k in range(4)]
    for p in procs:
        out, err = p.communicate(timeout=60)
        assert p.returncode == 0, err[-2000:]
    keys = {r["key"] for r in results.load(path)}
    assert keys == {f"w{k}/{i}" for k in range(4) for i in range(15)}, \
        f"{60 - len(keys)} of 60 entries lost"


@pytest.mark.skipif(sys.platform == "win32", reason="no kill -9 on Windows")
def test_kill_9_mid_write_leaves_a_whole_file_and_loses_nothing(tmp_path, monkeypatch):
    import signal, time
    path = tmp_path / "results.json"
    start = time.time() + 1.0
    others = [_writer(f"s{k}", 20, start, 200, path) for k in range(2)]
    mid_write = 0
    for _ in range(4):
        victim = _writer("victim", 0, start, 100_000, path)  # ~0.5 MB per write
        victim.stdout.readline()  # it has written once
        tmp = tmp_path / f".results.json.tmp-{victim.pid}"
        deadline = time.time() + 10
        while not tmp.exists() and time.time() < deadline:
            pass  # kill it as soon as it starts writing its next file
        victim.send_signal(signal.SIGKILL)
        victim.wait()
        mid_write += tmp.exists()  # killed between writing and os.replace
        assert results.load(path)  # whole after every kill
    for p in others:
        out, err = p.communicate(timeout=60)
        assert p.returncode == 0, err[-2000:]
    monkeypatch.setenv("D2L_RESULTS", str(path))
    results.record("after", {"x": 1})  # the lock of a killed writer is free
    keys = {r["key"] for r in results.load(path)}
    assert keys == {f"s{k}/{i}" for k in range(2) for i in range(20)} | {"victim", "after"}
    assert mid_write >= 1, "no kill landed mid-write: the probe proved nothing"
    print(f"{mid_write} of 4 kills landed mid-write")


def test_a_damaged_file_is_named_left_untouched_and_the_entry_rescued(tmp_path, monkeypatch):
    path = tmp_path / "results.json"
    damaged = '[{"key": "old", "tab": "pytorch"}, {"key": "ha'
    path.write_text(damaged)
    monkeypatch.setenv("D2L_RESULTS", str(path))
    with pytest.raises(results.ResultsError) as e:
        results.record("new/run", {"x": 1.5})
    rescue = results.rescue_path(path)
    assert str(path) in str(e.value) and "damaged" in str(e.value)
    assert str(rescue) in str(e.value)               # says where the entry went
    assert path.read_text() == damaged               # left untouched
    assert [r["key"] for r in results.load(rescue)] == ["new/run"]
    with pytest.raises(results.ResultsError, match="results.json"):
        results.load(path)                           # reading names it too


def test_a_folder_as_d2l_results_is_a_clear_error(tmp_path, monkeypatch):
    monkeypatch.setenv("D2L_RESULTS", str(tmp_path))
    with pytest.raises(results.ResultsError, match="is a folder; set it to a JSON file"):
        results.record("a/run", {"x": 1})
    assert list(tmp_path.iterdir()) == []


def test_train_ch8_and_run_one_return_the_history_when_recording_fails(
        monkeypatch, tmp_path, capsys):
    d2l, cpu, vocab, corpus, heldout, path = _tiny(monkeypatch, tmp_path)
    monkeypatch.setenv("D2L_RESULTS", str(tmp_path))  # a folder: recording fails
    train_iter = d2l.make_loader(corpus, vocab, 4, 5, valid_corpus=heldout)
    net = study.make_model(d2l, "gru", 1, 8, len(vocab), cpu)
    h = d2l.train_ch8(net, train_iter, vocab, 1, 2, cpu, record="test/folder")
    assert len(h.train_ppl) == 2
    err = capsys.readouterr().err
    assert "'test/folder' was trained, but it was not recorded" in err and "is a folder" in err
    valid, test = study.split_heldout(heldout)
    data = dict(corpus=corpus, vocab=vocab, valid=valid, test=test)
    res, h, net = study.run_one(d2l, None, data, "gru", 1, 8, seed=0,
                                checkpoints=2, batches_per_checkpoint=2, batch_size=4,
                                num_steps=5, device=cpu, record="test/one/folder")
    assert h.train_ppl and math.isfinite(res["test_ppl"])
    assert "'test/one/folder' was trained, but it was not recorded" in capsys.readouterr().err
