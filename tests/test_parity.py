"""d2l_helpers is a drop-in for the reference d2l 0.17.6: same vocabulary,
same minibatches, same forward pass and same training steps."""
import math
import random

import numpy as np
import pytest

from d2l_helpers import backend, data, frameworks


@pytest.fixture(autouse=True)
def _fp32(monkeypatch):
    """The book trains in fp32: so do these comparisons, whatever auto would
    pick on this machine (see test_auto_would_pick_bf16_for_the_lstm_here)."""
    monkeypatch.setenv("D2L_PRECISION", "fp32")


def test_auto_would_pick_bf16_for_the_lstm_here(monkeypatch):
    """Without the fixture's D2L_PRECISION=fp32, auto picks bf16 for the LSTM
    on a CPU with native bf16, so the tests below would not compare fp32."""
    import torch
    from torch import nn
    from d2l_helpers import torch as d2l
    monkeypatch.delenv("D2L_PRECISION")
    if not d2l._cpu_bf16_native():
        pytest.skip("this CPU has no native bf16: auto is fp32 here anyway")
    net = d2l.RNNModel(nn.LSTM(28, 32, 2), 28)
    assert d2l.choose_precision(torch.device("cpu"), net)[0] == "bf16"
    monkeypatch.setenv("D2L_PRECISION", "fp32")
    assert d2l.choose_precision(torch.device("cpu"), net)[0] == "fp32"


# ------------------------------------------------------------------ data

@pytest.mark.parametrize("tab", ["pytorch", "mxnet"])
def test_vocab_and_corpus_match_reference(tab, request):
    ref = request.getfixturevalue(f"ref_{frameworks.TABS[tab].package}")  # ref_torch, ref_mxnet
    ref_corpus, ref_vocab = ref.load_corpus_time_machine()
    corpus, vocab = data.load_corpus_time_machine()
    assert vocab.idx_to_token == ref_vocab.idx_to_token
    assert vocab.token_freqs == ref_vocab.token_freqs
    assert corpus == ref_corpus
    assert len(corpus) == 170580


def test_tokenize_and_vocab_api_match_reference(ref_torch):
    lines = ref_torch.read_time_machine()
    assert data.read_time_machine() == lines
    for kind in ("word", "char"):
        tokens = data.tokenize(lines, kind)
        assert tokens == ref_torch.tokenize(lines, kind)
        ours, theirs = data.Vocab(tokens, min_freq=2, reserved_tokens=["<pad>"]), \
            ref_torch.Vocab(tokens, min_freq=2, reserved_tokens=["<pad>"])
        assert ours.idx_to_token == theirs.idx_to_token
        assert ours[["the", "time", "zzz"]] == theirs[["the", "time", "zzz"]]


@pytest.mark.parametrize("use_random_iter", [False, True])
def test_minibatches_match_reference(ref_torch, use_random_iter):
    from d2l_helpers import torch as d2l
    ref_iter, _ = ref_torch.load_data_time_machine(32, 35, use_random_iter)
    our_iter, _ = d2l.load_data_time_machine(32, 35, use_random_iter)
    for epoch in range(3):
        random.seed(epoch)
        theirs = [(X.numpy(), Y.numpy()) for X, Y in ref_iter]
        random.seed(epoch)
        ours = [(X.numpy(), Y.numpy()) for X, Y in our_iter]
        random.seed(epoch)
        Xs, Ys = our_iter.epoch_batches()
        assert len(ours) == len(theirs) == len(Xs) == len(our_iter) > 0
        for (X, Y), (RX, RY), BX, BY in zip(ours, theirs, Xs, Ys):
            np.testing.assert_array_equal(X, RX)
            np.testing.assert_array_equal(Y, RY)
            np.testing.assert_array_equal(BX, RX)
            np.testing.assert_array_equal(BY, RY)


def test_mxnet_minibatches_match_reference(ref_mxnet):
    from d2l_helpers import mxnet as d2l
    ref_iter, _ = ref_mxnet.load_data_time_machine(32, 35, True)
    our_iter, _ = d2l.load_data_time_machine(32, 35, True)
    random.seed(7)
    theirs = [(X.asnumpy(), Y.asnumpy()) for X, Y in ref_iter]
    random.seed(7)
    ours = [(X.asnumpy(), Y.asnumpy()) for X, Y in our_iter]
    assert len(ours) == len(theirs) > 0
    for (X, Y), (RX, RY) in zip(ours, theirs):
        assert X.dtype == RX.dtype
        np.testing.assert_array_equal(X, RX)
        np.testing.assert_array_equal(Y, RY)


# ------------------------------------------------------------------ torch

def _torch_pair(ref, kind="LSTM", hidden=32, layers=2):
    import torch
    from torch import nn
    from d2l_helpers import torch as d2l
    torch.manual_seed(0)
    layer = getattr(nn, kind)
    theirs = ref.RNNModel(layer(28, hidden, layers), 28)
    ours = d2l.RNNModel(layer(28, hidden, layers), 28)
    ours.load_state_dict(theirs.state_dict())
    return d2l, ours, theirs


@pytest.mark.parametrize("kind", ["RNN", "GRU", "LSTM"])
def test_torch_forward_matches_reference(ref_torch, kind):
    import torch
    d2l, ours, theirs = _torch_pair(ref_torch, kind)
    X = torch.randint(0, 28, (4, 7))
    out, state = ours(X, ours.begin_state("cpu", batch_size=4))
    ref_out, ref_state = theirs(X, theirs.begin_state("cpu", batch_size=4))
    assert out.shape == (7 * 4, 28)
    torch.testing.assert_close(out, ref_out, rtol=0, atol=0)
    for s, r in zip(state if kind == "LSTM" else [state],
                    ref_state if kind == "LSTM" else [ref_state]):
        torch.testing.assert_close(s, r, rtol=0, atol=0)


@pytest.mark.parametrize("use_random_iter", [False, True])
def test_torch_training_steps_match_reference(ref_torch, use_random_iter):
    """Three epochs of the book's loop and of our fast loop, from the same
    weights on the same minibatches: same perplexity each epoch, same weights."""
    import torch
    from torch import nn
    d2l, ours, theirs = _torch_pair(ref_torch)
    ref_iter, vocab = ref_torch.load_data_time_machine(8, 10, use_random_iter, 2000)
    our_iter, _ = d2l.load_data_time_machine(8, 10, use_random_iter, 2000)
    lr = 1.0
    updater = torch.optim.SGD(theirs.parameters(), lr)
    train_epoch = backend.train_epoch_fn(d2l.BACKEND, ours, our_iter, lr, "cpu",
                                         use_random_iter)
    for epoch in range(3):
        random.seed(epoch)
        ref_ppl, _ = ref_torch.train_epoch_ch8(theirs, ref_iter, nn.CrossEntropyLoss(),
                                               updater, "cpu", use_random_iter)
        random.seed(epoch)
        loss_sum, n = train_epoch()
        assert math.exp(loss_sum / n) == pytest.approx(ref_ppl, rel=1e-5)
    for p, r in zip(ours.parameters(), theirs.parameters()):
        torch.testing.assert_close(p, r, rtol=1e-4, atol=1e-5)


def test_torch_train_ch8_matches_reference_end_to_end(ref_torch, capsys):
    """train_ch8 itself, called the book's way: same final perplexity."""
    import torch
    from torch import nn
    d2l, ours, theirs = _torch_pair(ref_torch, hidden=32)
    ref_iter, vocab = ref_torch.load_data_time_machine(8, 10, False, 3000)
    our_iter, _ = d2l.load_data_time_machine(8, 10, False, 3000)
    random.seed(1)
    ref_torch.train_ch8(theirs, ref_iter, vocab, 1, 4, torch.device("cpu"))
    ref_ppl = float(capsys.readouterr().out.split("perplexity ")[1].split(",")[0])
    random.seed(1)
    h = d2l.train_ch8(ours, our_iter, vocab, 1, 4, torch.device("cpu"))
    out = capsys.readouterr().out
    assert h.final_train_ppl == pytest.approx(ref_ppl, abs=0.051)
    assert f"perplexity {h.final_train_ppl:.1f}" in out and "tokens/sec on cpu" in out
    for p, r in zip(ours.parameters(), theirs.parameters()):
        torch.testing.assert_close(p, r, rtol=1e-4, atol=1e-5)


# ------------------------------------------------------------------ mxnet

def _mx_pair(ref, kind="LSTM", hidden=32, layers=2):
    import mxnet as mx
    from mxnet import init, np as mnp
    from mxnet.gluon import rnn
    from d2l_helpers import mxnet as d2l
    mx.random.seed(0)
    layer = getattr(rnn, kind)
    theirs = ref.RNNModel(layer(hidden, layers), 28)
    ours = d2l.RNNModel(layer(hidden, layers), 28)
    for net in (theirs, ours):
        net.initialize(init.Normal(0.01))
        net(mnp.zeros((2, 3)), net.begin_state(batch_size=2))
    for p, r in zip(ours.collect_params().values(), theirs.collect_params().values()):
        assert p.shape == r.shape
        p.set_data(r.data())
    return d2l, ours, theirs


@pytest.mark.parametrize("kind", ["RNN", "GRU", "LSTM"])
def test_mxnet_forward_matches_reference(ref_mxnet, kind):
    from mxnet import np as mnp
    d2l, ours, theirs = _mx_pair(ref_mxnet, kind)
    X = mnp.random.randint(0, 28, (4, 7)).astype("float32")
    out, state = ours(X, ours.begin_state(batch_size=4))
    ref_out, ref_state = theirs(X, theirs.begin_state(batch_size=4))
    assert out.shape == (7 * 4, 28)
    np.testing.assert_array_equal(out.asnumpy(), ref_out.asnumpy())
    for s, r in zip(state, ref_state):
        np.testing.assert_array_equal(s.asnumpy(), r.asnumpy())


def test_mxnet_training_steps_match_reference(ref_mxnet):
    from mxnet import gluon, npx
    d2l, ours, theirs = _mx_pair(ref_mxnet)
    ref_iter, _ = ref_mxnet.load_data_time_machine(8, 10, False, 2000)
    our_iter, _ = d2l.load_data_time_machine(8, 10, False, 2000)
    lr = 1.0
    trainer = gluon.Trainer(theirs.collect_params(), "sgd", {"learning_rate": lr})
    d2l._hybridize(ours)  # what train_ch8 does after the book's initialisation
    train_epoch = backend.train_epoch_fn(d2l.BACKEND, ours, our_iter, lr, npx.cpu(), False)
    for epoch in range(3):
        random.seed(epoch)
        ref_ppl, _ = ref_mxnet.train_epoch_ch8(
            theirs, ref_iter, gluon.loss.SoftmaxCrossEntropyLoss(),
            lambda batch_size: trainer.step(batch_size), npx.cpu(), False)
        random.seed(epoch)
        loss_sum, n = train_epoch()
        assert math.exp(loss_sum / n) == pytest.approx(ref_ppl, rel=1e-5)
    for p, r in zip(ours.collect_params().values(), theirs.collect_params().values()):
        np.testing.assert_allclose(p.data().asnumpy(), r.data().asnumpy(),
                                   rtol=1e-4, atol=1e-5)


def test_mxnet_train_ch8_initialises_and_trains_like_reference(ref_mxnet, capsys):
    """The book's MXNet train_ch8 re-initialises the model; ours does the same
    random draws, so from the same seed the two runs end identical."""
    import mxnet as mx
    from mxnet import npx
    from mxnet.gluon import rnn
    from d2l_helpers import mxnet as d2l
    ref_iter, vocab = ref_mxnet.load_data_time_machine(8, 10, False, 3000)
    our_iter, _ = d2l.load_data_time_machine(8, 10, False, 3000)
    theirs = ref_mxnet.RNNModel(rnn.LSTM(32, 2), 28)
    ours = d2l.RNNModel(rnn.LSTM(32, 2), 28)
    random.seed(1)
    mx.random.seed(1)
    ref_mxnet.train_ch8(theirs, ref_iter, vocab, 1, 3, npx.cpu())
    ref_ppl = float(capsys.readouterr().out.split("perplexity ")[1].split(",")[0])
    random.seed(1)
    mx.random.seed(1)
    h = d2l.train_ch8(ours, our_iter, vocab, 1, 3, npx.cpu())
    assert h.final_train_ppl == pytest.approx(ref_ppl, abs=0.051)
    for p, r in zip(ours.collect_params().values(), theirs.collect_params().values()):
        np.testing.assert_allclose(p.data().asnumpy(), r.data().asnumpy(),
                                   rtol=1e-4, atol=1e-5)


# ------------------------------------------------------------ grad_clipping and sgd
# The book's clipping and SGD, kept as book API (train_ch8 uses the fused
# _clip_sgd, checked against them in test_fast_path).  train_epoch_ch8 is
# gone: our train_ch8 has its own, faster epoch loop.

def _fill_grads(grads, scale, seed=0):
    rng = np.random.default_rng(seed)
    return [(rng.normal(size=tuple(g.shape)) * scale).astype(np.float32) for g in grads]


@pytest.mark.parametrize("scale", [3.0, 0.001], ids=["clipped", "not-clipped"])
def test_torch_grad_clipping_and_sgd_match_reference(ref_torch, scale):
    import torch
    d2l, ours, theirs = _torch_pair(ref_torch)
    values = _fill_grads(list(ours.parameters()), scale)
    for net in (ours, theirs):
        for p, v in zip(net.parameters(), values):
            p.grad = torch.tensor(v)
    d2l.grad_clipping(ours, 1)
    ref_torch.grad_clipping(theirs, 1)
    for p, r in zip(ours.parameters(), theirs.parameters()):
        torch.testing.assert_close(p.grad, r.grad, rtol=1e-6, atol=1e-7)
    clipped = torch.sqrt(sum((p.grad ** 2).sum() for p in ours.parameters()))
    assert float(clipped) <= 1 + 1e-5 or scale < 1
    d2l.sgd(list(ours.parameters()), 0.5, 4)
    ref_torch.sgd(list(theirs.parameters()), 0.5, 4)
    for p, r in zip(ours.parameters(), theirs.parameters()):
        torch.testing.assert_close(p, r, rtol=0, atol=0)
        assert float(p.grad.abs().sum()) == 0  # the book's sgd zeroes the gradient


@pytest.mark.parametrize("scale", [3.0, 0.001], ids=["clipped", "not-clipped"])
def test_mxnet_grad_clipping_and_sgd_match_reference(ref_mxnet, scale):
    d2l, ours, theirs = _mx_pair(ref_mxnet)
    ours_p = [p.data() for p in ours.collect_params().values()]
    theirs_p = [p.data() for p in theirs.collect_params().values()]
    values = _fill_grads(ours_p, scale)
    for params in (ours_p, theirs_p):
        for p, v in zip(params, values):
            p.grad[:] = v
    d2l.grad_clipping(ours, 1)
    ref_mxnet.grad_clipping(theirs, 1)
    for p, r in zip(ours_p, theirs_p):
        np.testing.assert_allclose(p.grad.asnumpy(), r.grad.asnumpy(), rtol=1e-6, atol=1e-7)
    d2l.sgd(ours_p, 0.5, 4)
    ref_mxnet.sgd(theirs_p, 0.5, 4)
    for p, r in zip(ours_p, theirs_p):
        np.testing.assert_array_equal(p.asnumpy(), r.asnumpy())


# ------------------------------------------------------------ skips say why

def test_a_missing_reference_package_is_a_skip_that_says_why(monkeypatch):
    import sys
    import conftest
    monkeypatch.setitem(sys.modules, "d2l.torch", None)  # `import d2l.torch` fails
    with pytest.raises(pytest.skip.Exception,
                       match=r"d2l\.torch \(d2l 0\.17\.6\).*pip install --no-deps d2l==0\.17\.6"):
        conftest._reference("torch", monkeypatch)


def test_a_missing_framework_is_a_skip_that_says_why(monkeypatch):
    import conftest
    conftest.hide_package(monkeypatch, "mxnet")
    with pytest.raises(pytest.skip.Exception, match=r"mxnet tab is not available.*Python 3\.11"):
        conftest._reference("mxnet", monkeypatch)
