"""experiments.study: the statistics against closed forms and printed tables,
the validation/test split, and the exact token budget of a run."""
import math
import random

import numpy as np
import pytest

from conftest import tiny_data
from d2l_helpers import backend
from experiments import study


# ---------------------------------------------------------------- statistics

def test_mean_sd_uses_the_sample_standard_deviation():
    m, sd = study.mean_sd([2, 4, 4, 4, 5, 5, 7, 9])
    assert m == 5 and sd == pytest.approx(math.sqrt(32 / 7))
    assert math.isnan(study.mean_sd([3.0])[1])
    with pytest.raises(ValueError, match="no values"):
        study.mean_sd([])


def test_welch_by_hand():
    # a: mean 2, var 1; b: mean 5.5, var 5/3; se^2 = 1/3 + 5/12 = 3/4.
    w = study.welch([1, 2, 3], [4, 5, 6, 7])
    assert w["diff"] == pytest.approx(-3.5)
    assert w["t"] == pytest.approx(-3.5 / math.sqrt(0.75))
    df = 0.75 ** 2 / ((1 / 3) ** 2 / 2 + (5 / 12) ** 2 / 3)
    assert w["df"] == pytest.approx(df)
    # two-sided p of t = -4.0415 with df = 4.9592: 0.0100769433479888 by the
    # hand-written incomplete beta function (Lentz's method) that scipy replaced
    assert w["p"] == pytest.approx(0.0100769433479888, rel=1e-9)
    lo, hi = w["ci"]
    assert (lo + hi) / 2 == pytest.approx(-3.5) and hi < 0  # significant at 5%


def test_welch_with_equal_spread_reduces_to_students_df():
    w = study.welch([1.0, 2.0, 3.0], [1.5, 2.5, 3.5])
    assert w["df"] == pytest.approx(4)
    assert w["ci"][0] < 0 < w["ci"][1] and w["p"] > 0.5


def test_welch_p_is_uniform_under_the_null():
    # Same distribution: about 5% of p-values fall below 0.05.
    rng = random.Random(0)
    ps = [study.welch([rng.gauss(0, 1) for _ in range(3)],
                      [rng.gauss(0, 2) for _ in range(3)])["p"] for _ in range(2000)]
    assert 0.03 < sum(p < 0.05 for p in ps) / len(ps) < 0.07


def test_welch_needs_two_values_per_group():
    with pytest.raises(ValueError, match="at least 2"):
        study.welch([1.0], [1.0, 2.0])


# ---------------------------------------------------------------- data

def test_split_heldout_keeps_order_and_every_token():
    tokens = np.arange(101)
    valid, test = study.split_heldout(tokens)
    assert len(valid) == 50 and valid[-1] + 1 == test[0] and len(test) == 51
    with pytest.raises(ValueError, match="between 0 and 1"):
        study.split_heldout(tokens, 1.0)
    with pytest.raises(ValueError, match="hold out more"):
        study.split_heldout(tokens[:2])


class _Loader:
    """Three minibatches per pass, numbered, like a book loader."""
    batch_size, num_steps, vocab, valid_corpus = 2, 3, None, None

    def __init__(self):
        self.passes = 0

    def __iter__(self):
        self.passes += 1
        return iter([(self.passes, b) for b in range(3)])


def test_budget_iter_stops_inside_a_pass_and_keeps_snapshots():
    loader = _Loader()
    counter = iter(range(100))
    it = study.BudgetIter(loader, 2, snapshot=lambda: next(counter))
    blocks = [list(it) for _ in range(4)]  # 8 minibatches: 2 passes + 2
    assert [len(b) for b in blocks] == [2, 2, 2, 2]
    assert [x for b in blocks for x in b] == [
        (1, 0), (1, 1), (1, 2), (2, 0), (2, 1), (2, 2), (3, 0), (3, 1)]
    it.keep()
    assert it.kept == {0: 0, 1: 1, 2: 2, 3: 3, 4: 4} and it.passes == 2


# ---------------------------------------------------------------- one run

def test_run_one_trains_on_exactly_the_budget(monkeypatch):
    torch = pytest.importorskip("torch")
    monkeypatch.setenv("D2L_TAB", "pytorch")
    monkeypatch.setenv("D2L_QUICK", "0")
    from d2l_helpers import torch as d2l
    data = tiny_data(d2l.Vocab, train=2_000)
    vocab = data["vocab"]
    res, hist, net = study.run_one(d2l, None, data, "gru", 2, 8, seed=0,
                              checkpoints=3, batches_per_checkpoint=5,
                              batch_size=4, num_steps=7,
                              device=torch.device("cpu"))
    # 3 * 5 minibatches of 4 x 7 tokens: 420, i.e. 0.21 passes of 2,000.
    assert res["budget_tokens"] == res["tokens_seen"] == 420
    assert hist.tokens_seen == [140, 280, 420]
    assert res["chosen_epoch"] == hist.best_valid_epoch in (1, 2, 3)
    assert res["valid_ppl_chosen"] == min(hist.valid_ppl)
    assert math.isfinite(res["test_ppl"]) and res["test_ppl"] > 1
    # GRU, 2 layers of 8: 3 gates of (W_x, W_h, two biases), then the output.
    v = len(vocab)
    assert res["params"] == 3 * (8 * v + 64 + 16) + 3 * (64 + 64 + 16) + 8 * v + v
    text = study.sample_text(d2l, net, vocab, "time", 20, temperature=0.7, seed=3,
                             device=torch.device("cpu"))
    assert text.startswith("time") and len(text) >= 24  # <unk> prints as 5 characters
    assert text == study.sample_text(d2l, net, vocab, "time", 20, temperature=0.7,
                                     seed=3, device=torch.device("cpu"))
    with pytest.raises(ValueError, match="predict_ch8"):
        study.sample_text(d2l, net, vocab, "time", 5, temperature=0)


def test_run_one_mxnet_keeps_the_budget_and_restores_the_chosen_weights(monkeypatch):
    pytest.importorskip("mxnet")
    monkeypatch.setenv("D2L_TAB", "mxnet")
    monkeypatch.setenv("D2L_QUICK", "0")
    from d2l_helpers import mxnet as d2l
    import mxnet as mx
    rng = np.random.default_rng(0)
    vocab = d2l.Vocab(list("time traveller"))
    data = dict(corpus=rng.integers(1, len(vocab), 1_000), vocab=vocab,
                valid=rng.integers(1, len(vocab), 200),
                test=rng.integers(1, len(vocab), 200))
    res, hist, net = study.run_one(d2l, None, data, "lstm", 2, 8, seed=0,
                              checkpoints=2, batches_per_checkpoint=3,
                              batch_size=4, num_steps=5, device=mx.cpu())
    assert res["tokens_seen"] == res["budget_tokens"] == 2 * 3 * 4 * 5
    assert res["params"] == study.param_formula("lstm", 2, 8, len(vocab))
    assert math.isfinite(res["test_ppl"])
    text = study.sample_text(d2l, net, vocab, "tim", 10, seed=1, device=mx.cpu())
    assert text.startswith("tim") and len(text) >= 13


def test_the_study_builds_the_model_of_the_module_it_is_given_mxnet(monkeypatch):
    """The framework comes from the ``d2l`` module given, never from D2L_TAB:
    under D2L_TAB=pytorch, run_one(mxnet module) trains an MXNet model (the
    old make_model read D2L_TAB and fed a PyTorch model to MXNet's train_ch8)."""
    monkeypatch.setenv("D2L_TAB", "pytorch")
    monkeypatch.setenv("D2L_QUICK", "0")
    from d2l_helpers import mxnet as d2l
    import mxnet as mx
    data = tiny_data(d2l.Vocab)
    res, hist, net = study.run_one(d2l, None, data, "gru", 1, 8, seed=0, checkpoints=1,
                                   batches_per_checkpoint=2, batch_size=4, num_steps=5,
                                   device=mx.cpu())
    assert hist.tab == "mxnet" and hasattr(net, "collect_params")
    assert res["params"] == study.param_formula("gru", 1, 8, len(data["vocab"]))
    assert study.param_count("gru", 1, 8, 28, d2l=d2l) == study.param_formula("gru", 1, 8, 28)
    with pytest.raises(ValueError, match="cell='cnn'; use one of rnn, gru, lstm"):
        study.make_model(d2l, "cnn", 1, 8, 28)


def test_plan_full_and_quick(monkeypatch):
    monkeypatch.setenv("D2L_QUICK", "0")
    full = study.plan()
    assert len(study.configs(full["depths"], full["wide"])) * len(full["seeds"]) == 39
    monkeypatch.setenv("D2L_QUICK", "1")
    quick = study.plan()
    assert study.configs(quick["depths"], quick["wide"]) == [
        (c, L, 256) for c in ("rnn", "gru", "lstm") for L in (1, 2)]


def test_compare_needs_enough_seeds():
    runs = [dict(cell="gru", num_layers=L, num_hiddens=8, test_ppl=10.0 + L + 0.1 * s)
            for L in (1, 2) for s in range(3)] + \
           [dict(cell="lstm", num_layers=1, num_hiddens=8, test_ppl=9.0)]
    w = study.compare(runs, ("gru", 2, 8), ("gru", 1, 8), min_seeds=3)
    assert abs(w["diff"] - 1.0) < 1e-12
    with pytest.raises(ValueError, match="1 and 3 seeds recorded; a test needs at least 3"):
        study.compare(runs, ("lstm", 1, 8), ("gru", 1, 8), min_seeds=3)
    with pytest.raises(ValueError, match="at least 2"):
        study.compare(runs, ("lstm", 1, 8), ("gru", 1, 8))


# ---------------------------------------------------------------- baselines and the initialisation check

def test_fisher_exact_matches_published_values():
    assert abs(study.fisher_exact(3, 4, 1, 4) - 0.4857) < 1e-4   # Fisher's lady tasting tea
    assert abs(study.fisher_exact(1, 12, 9, 12) - 0.002759) < 1e-6  # Wikipedia's dieting table
    assert study.fisher_exact(1, 12, 9, 12) == study.fisher_exact(9, 12, 1, 12)  # two-sided
    assert study.fisher_exact(2, 6, 2, 6) == 1.0
    with pytest.raises(ValueError, match="at least one run"):
        study.fisher_exact(3, 2, 0, 4)


def test_unigram_ppl_is_the_letter_frequency_guess():
    # 'a' has frequency 3/4 and 'b' 1/4: perplexity on "ab" = 1 / sqrt(3/4 * 1/4)
    assert abs(study.unigram_ppl([0, 0, 0, 1], [0, 1]) - 1 / math.sqrt(3 / 16)) < 1e-12
    assert abs(study.unigram_ppl([2, 3], [3, 3, 2]) - 2.0) < 1e-12  # uniform over 2 tokens
    with pytest.raises(ValueError, match=r"tokens \[7\] never occur"):
        study.unigram_ppl([0, 1], [7])
    with pytest.raises(ValueError, match="non-empty"):
        study.unigram_ppl([], [1])
    valid, test = study.unigram_baseline()
    assert 1 < test < valid < 28  # far below the uniform guess, above a perfect model


def test_normal_init_starts_pytorch_where_mxnet_starts(monkeypatch):
    torch = pytest.importorskip("torch")
    from d2l_helpers import torch as d2l
    torch.manual_seed(0)
    net = study.make_model(d2l, "rnn", 2, 64, 28, torch.device("cpu"), init="normal")
    params = dict(net.named_parameters())
    assert {n for n in params if "bias" in n} and all(
        not p.any() for n, p in params.items() if "bias" in n)
    weights = torch.cat([p.flatten() for n, p in params.items() if "bias" not in n])
    assert abs(weights.std().item() - 0.01) < 0.001 and abs(weights.mean().item()) < 0.001
    default = study.make_model(d2l, "rnn", 2, 64, 28, torch.device("cpu"))
    assert any(p.abs().sum() > 0 for n, p in default.named_parameters() if "bias" in n)
    with pytest.raises(ValueError, match="use one of default, normal"):
        study.make_model(d2l, "rnn", 1, 8, 28, torch.device("cpu"), init="xavier")
    with pytest.raises(ValueError, match="use one of default, normal"):
        study.run_study(None, init="zeros")
    assert study.run_key("rnn", 2, 256, 1, "normal") == "depth-init-normal/rnn-2x256/seed1"
    assert study.run_key("rnn", 2, 256, 1) == "depth/rnn-2x256/seed1"


def test_run_one_snapshots_and_restores_a_scratch_model(monkeypatch):
    """The book's RNNModelScratch keeps its weights in a plain list: run_one
    counts them, keeps a copy per checkpoint and restores the chosen one."""
    torch = pytest.importorskip("torch")
    monkeypatch.setenv("D2L_TAB", "pytorch")
    monkeypatch.setenv("D2L_QUICK", "0")
    from d2l_helpers import torch as d2l
    data = tiny_data(d2l.Vocab)
    v, h = len(data["vocab"]), 8

    def get_params(vocab_size, num_hiddens, device):
        ps = [torch.randn(vocab_size, num_hiddens) * 0.01, torch.randn(num_hiddens, num_hiddens) * 0.01,
              torch.zeros(num_hiddens), torch.randn(num_hiddens, vocab_size) * 0.01, torch.zeros(vocab_size)]
        return [p.requires_grad_(True) for p in ps]

    def rnn(inputs, state, params):
        W_xh, W_hh, b_h, W_hq, b_q = params
        H, = state
        outputs = []
        for X in inputs:
            H = torch.tanh(X @ W_xh + H @ W_hh + b_h)
            outputs.append(H @ W_hq + b_q)
        return torch.cat(outputs, dim=0), (H,)

    def make_model(kind, num_layers, num_hiddens, vocab_size, device):
        return d2l.RNNModelScratch(vocab_size, num_hiddens, device, get_params,
                                   lambda b, n, d: (torch.zeros((b, n)),), rnn)

    res, hist, net = study.run_one(d2l, make_model, data, "scratch", 1, h, seed=0,
                                   checkpoints=3, batches_per_checkpoint=2, batch_size=4,
                                   num_steps=5, lr=1, device=torch.device("cpu"))
    assert res["params"] == v * h + h * h + h + h * v + v
    assert res["tokens_seen"] == res["budget_tokens"] == 3 * 2 * 4 * 5
    # the net holds the chosen checkpoint: its test perplexity is the reported one
    assert abs(d2l.evaluate_ppl(net, data["test"], torch.device("cpu")) - res["test_ppl"]) < 1e-6
    assert all(p.requires_grad for p in net.params)
    b = d2l.BACKEND
    snap = backend.snapshot(b, b.params(net))
    with torch.no_grad():
        net.params[0].add_(1.0)
    backend.restore(b, b.params(net), snap)
    assert torch.equal(net.params[0], snap[0]) and net.params[0] is not snap[0]


def test_scratch_snapshots_under_mxnet():
    pytest.importorskip("mxnet")
    from mxnet import np as mnp
    from d2l_helpers import mxnet as d2l

    class Scratch:  # the shape of the book's RNNModelScratch: weights in a list
        def __init__(self):
            self.params = [mnp.ones((2, 3)), mnp.zeros(3)]
            for p in self.params:
                p.attach_grad()

    net = Scratch()
    assert d2l.BACKEND.num_params(net) == 9
    b = d2l.BACKEND
    snap = backend.snapshot(b, b.params(net))
    net.params[0][:] = 5
    assert float(snap[0].sum()) == 6  # a copy, not a view
    backend.restore(b, b.params(net), snap)
    assert float(net.params[0].sum()) == 6 and net.params[0].grad is not None
