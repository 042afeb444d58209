"""d2l_helpers.results: recorded runs keep their per-epoch curves; train_ch8
and study.run_one record their own runs (record=key)."""
import json
import math

import numpy as np
import pytest

from d2l_helpers import results, study
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
    assert results.FULL_MODE.name == "full-mode.json"


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
    net = study.make_model("gru", 1, 8, len(vocab), cpu)
    calls = []
    h = d2l.train_ch8(net, train_iter, vocab, 1, 2, cpu, record="test/gru/seed3",
                      seed=3, num_params=lambda: calls.append(1) or study.num_params(net))
    (run,) = results.load(path)
    assert calls == [1]  # a function field is called once, after training
    assert run["key"] == "test/gru/seed3" and run["tab"] == "pytorch"
    assert run["seed"] == 3 and run["num_params"] == study.num_params(net)
    assert run["curves"]["train_ppl"] == h.train_ppl
    # the same entry as recording by hand, as the lesson cells used to
    by_hand = results.record("test/gru/seed3", h, num_params=run["num_params"], seed=3)
    assert set(by_hand) == set(run)
    same = lambda e: json.dumps({k: v for k, v in e.items() if k != "time"}, sort_keys=True)
    assert same(by_hand) == same(run)  # NaN validation points compare equal as text


def test_extra_fields_without_a_key_are_refused(monkeypatch, tmp_path):
    d2l, cpu, vocab, corpus, heldout, path = _tiny(monkeypatch, tmp_path)
    train_iter = d2l.make_loader(corpus, vocab, 4, 5)
    net = study.make_model("gru", 1, 8, len(vocab), cpu)
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

    res, h, net = study.run_one(d2l, study.make_model, data, "gru", 1, 8, seed=0,
                                checkpoints=2, batches_per_checkpoint=2, batch_size=4,
                                num_steps=5, device=cpu, evaluate=evaluate,
                                record="test/one/seed0", books=["a", "b"])
    (run,) = results.load(path)
    assert run["key"] == "test/one/seed0" and run["books"] == ["a", "b"]
    # evaluate ran at the chosen checkpoint: it reproduces the test perplexity
    assert seen == [run["ppl_again"]] and math.isclose(run["ppl_again"], res["test_ppl"])
    assert {k: run[k] for k in res if k != "books"} == \
        {k: v for k, v in res.items() if k != "books"}
