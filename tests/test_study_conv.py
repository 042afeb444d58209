"""The depth study at convergence: early stopping by patience, the
learning-rate screen, the resumable queue (``study.run_queue``)."""
import math
import os
from types import SimpleNamespace

import pytest

from conftest import tiny_data
from experiments import study


def _hist(valid):
    return SimpleNamespace(epoch=list(range(1, len(valid) + 1)), valid_ppl=list(valid))


def test_patience_waits_while_the_run_is_on_the_plateau():
    stop = study.patience(plateau_valid=17.0, checkpoints=2)
    # ten checkpoints at the letter-frequency level, the best long ago: keep going
    assert stop(_hist([16.9, 16.8] + [16.85] * 8)) is None


def test_patience_stops_exactly_after_its_checkpoints_without_a_new_best():
    stop = study.patience(plateau_valid=17.0, checkpoints=3)
    curve = [16.9, 12.0, 9.0, 8.0, 8.1, 8.2]
    assert all(stop(_hist(curve[:k])) is None for k in range(1, 7))
    why = stop(_hist(curve + [8.05]))
    assert why and "patience" in why and "checkpoint 4" in why
    assert stop(_hist([16.9, 12.0, float("nan"), 8.0])) is None  # NaN: not validated
    with pytest.raises(ValueError, match="at least 1"):
        study.patience(17.0, checkpoints=0)


def test_escape_tokens_is_the_first_checkpoint_below_the_plateau_line():
    curves = dict(valid_ppl=[17.0, 16.0, 15.2, 15.4, 9.0], tokens_seen=[10, 20, 30, 40, 50])
    assert study.escape_tokens(curves, plateau_valid=17.0) == 30  # 15.2 < 0.9 * 17 = 15.3
    assert study.escape_tokens(curves, plateau_valid=10.0) is None


def test_best_lr_chooses_on_validation_and_never_a_diverged_run():
    r = lambda v: dict(valid_ppl_chosen=v)
    assert study.best_lr({1.0: r(6.0), 2.0: r(5.5)}) == 2.0
    assert study.best_lr({1.0: r(5.5), 2.0: r(5.5)}) == 1.0  # a tie: the smaller rate
    assert study.best_lr({0.25: r(float("inf")), 1.0: r(7.0)}) == 1.0
    assert study.best_lr({0.5: r(float("nan")), 1.0: r(float("inf"))}) == 0.5


def test_conv_jobs_screens_then_trains_the_other_seeds_at_the_chosen_rate():
    cfg = [("gru", 2, 256, 0.0)]
    jobs = study.conv_jobs({}, cfg)
    assert [(j.lr, j.seed) for j in jobs] == [(1.0, 0), (2.0, 0)]  # the screen only
    assert jobs[0].key == "depth-conv/gru-2x256/lr1/seed0"
    half = {jobs[0].key: dict(valid_ppl_chosen=6.0)}
    assert study.conv_jobs(half, cfg) == [jobs[1]]  # nothing else until the screen ends
    done = dict(half, **{jobs[1].key: dict(valid_ppl_chosen=5.0)})
    rest = study.conv_jobs(done, cfg)
    assert [(j.lr, j.seed) for j in rest] == [(2.0, 1), (2.0, 2)]
    done.update({j.key: dict(valid_ppl_chosen=5.1) for j in rest})
    assert study.conv_jobs(done, cfg) == []  # resumed: nothing left
    assert study.Job("lstm", 2, 256, 1.0, 0, 0.2).key == "depth-conv/lstm-2x256-drop0.2/lr1/seed0"


def test_chosen_runs_keep_the_screen_winner_only():
    def e(lr, seed, valid):
        return dict(key=f"depth-conv/gru-1x256/lr{lr:g}/seed{seed}", tab="pytorch",
                    cell="gru", num_layers=1, num_hiddens=256, dropout=0.0, lr=lr,
                    seed=seed, valid_ppl_chosen=valid, test_ppl=valid)
    entries = [e(1.0, 0, 6.0), e(2.0, 0, 5.0), e(2.0, 1, 5.2), e(2.0, 2, 5.1),
               dict(e(2.0, 1, 9.0), tab="mxnet")]
    chosen = study.chosen_runs(entries, "pytorch")
    assert sorted((r["lr"], r["seed"]) for r in chosen) == [(2.0, 0), (2.0, 1), (2.0, 2)]


def test_run_one_stops_early_and_says_why(monkeypatch):
    torch = pytest.importorskip("torch")
    monkeypatch.setenv("D2L_TAB", "pytorch")
    monkeypatch.setenv("D2L_QUICK", "0")
    from d2l_helpers import torch as d2l
    data = tiny_data(d2l.Vocab, train=2_000)
    stop = lambda h: "no better validation (patience)" if len(h.epoch) == 2 else None
    res, hist, _ = study.run_one(d2l, None, data, "lstm", 1, 8, seed=0,
                                 checkpoints=5, batches_per_checkpoint=3, batch_size=4,
                                 num_steps=7, device=torch.device("cpu"), early_stop=stop)
    assert hist.epoch == [1, 2] and res["tokens_seen"] == 2 * 3 * 4 * 7
    assert res["stop_reason"] == "patience" and res["budget_tokens"] == 5 * 3 * 4 * 7
    assert res["precision"] in ("fp32", "bf16")
    res, hist, _ = study.run_one(d2l, None, data, "lstm", 1, 8, seed=0,
                                 checkpoints=2, batches_per_checkpoint=3, batch_size=4,
                                 num_steps=7, device=torch.device("cpu"))
    assert res["stop_reason"] == "cap" and hist.epoch == [1, 2]


def test_run_queue_records_every_run_and_resumes(tmp_path, monkeypatch):
    pytest.importorskip("torch")
    from d2l_helpers import results
    monkeypatch.setenv("D2L_QUICK", "1")  # the first 10,000 characters
    # the queue's own tab is recorded, whatever D2L_TAB says (it once recorded
    # `python -m experiments.study --tab mxnet`'s runs as pytorch, the default tab)
    monkeypatch.setenv("D2L_TAB", "mxnet")
    monkeypatch.delenv("D2L_RESULTS", raising=False)
    path = tmp_path / "conv.json"
    kw = dict(configs=[("lstm", 1, 8, 0.0), ("rnn", 1, 8, 0.0)],
              lr_grid={"lstm": (1.0, 2.0), "rnn": (0.5,)}, seeds=(0, 1),
              checkpoints=2, batches_per_checkpoint=2, log=None)
    assert study.run_queue("pytorch", path, workers=2, **kw) == 5  # 2 + 1 screens, 2 seeds
    entries = results.load(path)
    assert len(entries) == 5 and all(e["tab"] == "pytorch" for e in entries)
    assert all(e["mode"] == "quick" for e in entries)  # the workers got the parent's settings
    assert "D2L_RESULTS" not in os.environ  # the path went down in them, not through here
    for e in entries:
        assert e["stop_reason"] == "cap" and e["curves"]["tokens_seen"][-1] == e["tokens_seen"]
        assert {"lr", "budget_tokens", "escape_tokens", "precision", "dropout"} <= set(e)
    assert study.run_queue("pytorch", path, workers=1, **kw) == 0  # nothing left to do
    with pytest.raises(ValueError, match="at least 1"):
        study.run_queue("pytorch", path, workers=0, **kw)


def _batch(vocab_size=28, seed=0):
    import numpy as np
    rng = np.random.default_rng(seed)
    c = rng.integers(1, vocab_size, 8 * 35 + 1)
    return c[:-1].reshape(8, 35), c[1:].reshape(8, 35)


def _check_signal(d2l):
    X, Y = _batch()
    small = [study.init_signal(d2l, "rnn", L, "normal", X, Y) for L in (1, 2, 3)]
    # each N(0, 0.01^2) layer scales its input by about 0.01 * sqrt(256) = 0.16
    for a, b in zip(small, small[1:]):
        assert 0.05 < b["top_rms"] / a["top_rms"] < 0.3
    assert len(small[2]["grad_norm"]) == 3 and all(g > 0 for g in small[2]["grad_norm"])
    big = study.init_signal(d2l, "rnn", 3, "default", X, Y)
    assert big["top_rms"] > 20 * small[2]["top_rms"]
    with pytest.raises(ValueError, match="init="):
        study.init_signal(d2l, "rnn", 1, "xavier", X, Y)


def test_init_signal_shrinks_by_sigma_sqrt_h_per_layer(monkeypatch):
    pytest.importorskip("torch")
    monkeypatch.setenv("D2L_TAB", "pytorch")
    from d2l_helpers import torch as d2l
    _check_signal(d2l)


def test_init_signal_shrinks_by_sigma_sqrt_h_per_layer_mxnet(monkeypatch):
    monkeypatch.setenv("D2L_TAB", "mxnet")
    from d2l_helpers import mxnet as d2l
    _check_signal(d2l)


def test_run_queue_refuses_a_folder_or_damaged_file_before_training(tmp_path):
    from d2l_helpers import results
    with pytest.raises(ValueError, match="is a folder; name a JSON file"):
        study.run_queue("pytorch", tmp_path, configs=[("lstm", 1, 8, 0.0)])
    bad = tmp_path / "conv.json"
    bad.write_text("[{")
    with pytest.raises(results.ResultsError, match="conv.json"):
        study.run_queue("pytorch", bad, configs=[("lstm", 1, 8, 0.0)])
    assert bad.read_text() == "[{"  # left untouched


def test_the_dropout_option_changes_only_the_dropout_row():
    # the queue order puts the 4-layer RNN last: it must keep dropout 0
    got = study.configs_for(0.3)
    assert [c for c in got if c[3]] == [("lstm", 2, 256, 0.3)]
    assert ("rnn", 4, 256, 0.0) in got and len(got) == len(study.conv_configs())
    assert all(c[3] == 0 for c in study.configs_for(0)) and len(study.configs_for(0)) == 13


def test_sigterm_stops_the_queue_and_its_workers(tmp_path):
    """``kill`` of the study's process ends its training workers too (before,
    the parent died at once and its pool workers went on training, orphaned)."""
    pytest.importorskip("torch")
    psutil = pytest.importorskip("psutil")
    import os
    import signal
    import subprocess
    import sys
    import time
    # full mode: a run far longer than the test, so an orphaned worker would still be training
    env = {k: v for k, v in os.environ.items() if k != "D2L_QUICK"}
    env["D2L_THREADS"] = "1"
    log = tmp_path / "study.log"  # a file, not a pipe: an orphan would hold a pipe open
    with open(log, "w") as f:
        proc = subprocess.Popen(
            [sys.executable, "-m", "experiments.study", "--tab", "pytorch", "--workers", "1",
             "--results", str(tmp_path / "conv.json"), "--only", "lstm:1:256"],
            env=env, stdout=f, stderr=subprocess.STDOUT)
    parent = psutil.Process(proc.pid)
    deadline = time.time() + 120
    workers = []
    while time.time() < deadline and not workers:
        time.sleep(0.5)
        workers = [p for p in parent.children(recursive=True)
                   if "resource_tracker" not in " ".join(p.cmdline())]
    assert workers, "the queue never started a worker"
    time.sleep(2)  # let the worker start training
    proc.send_signal(signal.SIGTERM)
    proc.wait(timeout=60)
    gone, alive = psutil.wait_procs(workers, timeout=20)
    out = log.read_text()
    for p in alive:
        p.kill()
    assert not alive, f"workers left training after the queue was stopped: {alive}\n{out}"
    assert "the same command goes on" in out
    assert proc.returncode != 0


def test_mxnet_rnn_layers_ignore_dropout_on_the_cpu():
    """Why MXNet has no dropout row: its fused LSTM gives the same outputs while
    training as while evaluating, dropout 0.5 or not (if a new MXNet applied it,
    d2l_helpers.mxnet.LAYER_DROPOUT should become True)."""
    pytest.importorskip("mxnet")
    from mxnet import autograd, np, npx
    from mxnet.gluon import rnn
    from d2l_helpers import mxnet as d2l
    npx.set_np()
    layer = rnn.LSTM(16, 2, dropout=0.5)
    layer.initialize()
    X, state = np.random.uniform(size=(5, 3, 8)), layer.begin_state(batch_size=3)
    evaluating, _ = layer(X, state)
    with autograd.record():  # training mode
        training, _ = layer(X, state)
    assert float(np.abs(training - evaluating).max()) < 1e-6
    assert d2l.LAYER_DROPOUT is False


def test_mxnet_dropout_model_is_refused_with_the_remedy(monkeypatch, capsys):
    pytest.importorskip("mxnet")
    import sys
    from d2l_helpers import mxnet as d2l
    with pytest.raises(ValueError, match="ignores dropout between layers.*PyTorch tab"):
        d2l.make_model("lstm", 2, 8, 28, dropout=0.2)
    assert d2l.make_model("lstm", 2, 8, 28) is not None  # without dropout: built
    monkeypatch.setattr(sys, "argv", ["study", "--tab", "mxnet", "--results", "x.json",
                                      "--only", "lstm:2:256:0.2"])
    with pytest.raises(SystemExit):
        study._cli()
    assert "--tab pytorch" in capsys.readouterr().err


def test_the_initialisation_check_is_keyed_and_read_apart_from_the_study():
    cfg = [("lstm", 3, 256, 0.0)]
    jobs = study.conv_jobs({}, cfg, init="framework")
    assert [j.key for j in jobs] == ["depth-conv-init-framework/lstm-3x256/lr1/seed0",
                                     "depth-conv-init-framework/lstm-3x256/lr2/seed0"]
    assert study.Job("lstm", 3, 256, 2.0, 1, init="normal").key == \
        "depth-conv-init-normal/lstm-3x256/lr2/seed1"
    def e(key, init):
        return dict(key=key, tab="mxnet", cell="lstm", num_layers=3, num_hiddens=256,
                    dropout=0.0, lr=2.0, seed=0, valid_ppl_chosen=6.0, test_ppl=6.0, init=init)
    entries = [e("depth-conv/lstm-3x256/lr2/seed0", "default"),
               e("depth-conv-init-framework/lstm-3x256/lr2/seed0", "framework")]
    assert [r["init"] for r in study.conv_runs(entries, "mxnet")] == ["default"]
    assert [r["init"] for r in study.chosen_runs(entries, "mxnet", "framework")] == ["framework"]
    with pytest.raises(ValueError, match="init="):
        study.conv_study("xavier")


def test_mxnet_framework_start_keeps_gluons_initializer_through_train_ch8():
    """The book's MXNet train_ch8 redraws every weight from N(0, 0.01^2);
    init="framework" keeps Gluon's default (uniform within +-0.07), the start
    of the initialisation check."""
    import importlib.util
    if importlib.util.find_spec("mxnet") is None:
        pytest.skip("MXNet is not installed")
    from d2l_helpers import mxnet as d2l  # before mxnet itself: it sets MXNet's threads
    import mxnet as mx
    sds = {}
    for init in ("default", "framework"):
        net = d2l.make_model("lstm", 2, 64, 28, init=init)
        d2l._initialize(net, None, mx.cpu())
        w = [p.data().asnumpy() for name, p in net.rnn.collect_params().items()
             if name.endswith("weight")]
        sds[init] = float(sum(x.std() for x in w) / len(w))
        assert all(abs(x).max() <= (0.07 if init == "framework" else 1.0) for x in w)
    assert 0.008 < sds["default"] < 0.012  # the book's N(0, 0.01^2)
    assert 0.035 < sds["framework"] < 0.045  # uniform within +-0.07: sd 0.07 / sqrt(3)
