"""The fast training path: fused clipping + SGD, the captured (graph) step and
its fallbacks (the CPU settings made at import are tested in test_cpu.py).

CUDA graphs need a CUDA GPU.  On the CPU these tests replace the capture with
a stand-in that records the step function and re-runs it on the same input
and output buffers, which is what a replay does; that checks everything of
ours around the capture (static buffers, state carried between replays,
weights put back after the warm-up, the self-check and the fallbacks)."""
import dataclasses
import functools
import math
import re

import numpy as np
import pytest


# ------------------------------------------------------------ fused clip + SGD

def _book_update(weights, grads, lr, theta):
    """The book's grad_clipping followed by sgd, in float64 numpy."""
    norm = math.sqrt(sum(float((g.astype(np.float64) ** 2).sum()) for g in grads))
    scale = theta / norm if norm > theta else 1.0
    return [w - lr * scale * g for w, g in zip(weights, grads)]


def _arrays(n, big):
    rng = np.random.default_rng(n)
    shapes = [(7, 5), (5,), (3, 4, 2)] * (n // 3) + [(2,)] * (n % 3)
    return ([rng.normal(size=s).astype(np.float32) for s in shapes],
            [(rng.normal(size=s) * (3.0 if big else 0.01)).astype(np.float32)
             for s in shapes])


@pytest.mark.parametrize("big", [True, False], ids=["clipped", "not-clipped"])
def test_torch_fused_clip_sgd_equals_book_update(big):
    import torch
    from d2l_helpers import torch as d2l
    W, G = _arrays(10, big)
    expected = _book_update(W, G, lr=0.5, theta=1.0)
    params = [torch.tensor(w) for w in W]
    d2l._clip_sgd(params, [torch.tensor(g) for g in G], 0.5, 1.0)
    for p, e in zip(params, expected):
        np.testing.assert_allclose(p.numpy(), e, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("n", [10, 70])  # 70: more arrays than one operator call takes
@pytest.mark.parametrize("big", [True, False], ids=["clipped", "not-clipped"])
def test_mxnet_fused_clip_sgd_equals_book_update(n, big):
    from d2l_helpers import mxnet as d2l
    from mxnet import np as mnp
    W, G = _arrays(n, big)
    expected = _book_update(W, G, lr=0.5, theta=1.0)
    params = [mnp.array(w) for w in W]
    d2l._clip_sgd(params, [mnp.array(g) for g in G], 0.5, 1.0)
    for p, e in zip(params, expected):
        np.testing.assert_allclose(p.asnumpy(), e, rtol=1e-5, atol=1e-6)


# ------------------------------------------------------------ the captured step

class FakeCapture:
    """Stands in for ``torch.cuda.graph`` on the CPU: runs ``fn`` once while
    "capturing" and, on replay, runs it again and writes its results into the
    buffers returned at capture time, as a CUDA graph replay does."""

    def __init__(self, fail=None, stale_inputs=False, broken_from=0):
        self.fail, self.stale_inputs, self.replays = fail, stale_inputs, 0
        self.broken_from = broken_from  # captures before this one work
        self.captures = 0

    def __call__(self, fn):
        from d2l_helpers import cuda_graphs
        self.captures += 1
        broken = self.captures > self.broken_from
        if self.fail and broken:
            raise self.fail
        loss, state = fn()
        frozen = None

        def replay():
            nonlocal frozen
            self.replays += 1
            if self.stale_inputs and broken:  # a broken capture: always the first result
                frozen = frozen or (loss.clone(), state)
                new_loss, new_state = frozen
            else:
                new_loss, new_state = fn()
            loss.copy_(new_loss)
            cuda_graphs._copy_into(state, new_state)

        return replay, (loss, state)


def _train(epochs, capture=None, use_random_iter=False, layer="lstm"):
    """Epoch losses and final weights of a small model, eager or captured."""
    import random
    import torch
    from torch import nn
    from d2l_helpers import backend, cuda_graphs
    from d2l_helpers import torch as d2l
    torch.manual_seed(0)
    random.seed(0)
    it, vocab = d2l.load_data_time_machine(4, 10, use_random_iter, max_tokens=1500)
    rnn = (nn.LSTM if layer == "lstm" else nn.GRU)(len(vocab), 16)
    net = d2l.RNNModel(rnn, len(vocab))
    b = d2l.BACKEND
    if capture is not None:  # the captured step, with a stand-in for CUDA's capture
        b = dataclasses.replace(b, wrap_step=functools.partial(
            cuda_graphs.graph_or_eager, b=b, capture=capture))
    train_epoch = backend.train_epoch_fn(b, net, it, 1.0, "cpu", use_random_iter)
    losses = [train_epoch()[0] for _ in range(epochs)]
    return losses, [p.detach().numpy().copy() for p in net.parameters()]


@pytest.mark.parametrize("use_random_iter", [False, True], ids=["sequential", "random"])
@pytest.mark.parametrize("layer", ["lstm", "gru"])
def test_captured_step_trains_exactly_like_the_eager_step(use_random_iter, layer, capsys):
    capture = FakeCapture()
    losses, weights = _train(3, capture, use_random_iter, layer)
    ref_losses, ref_weights = _train(3, None, use_random_iter, layer)
    assert capture.replays > 3 * 10  # the replayed step really did the training
    assert "not possible" not in capsys.readouterr().out
    np.testing.assert_allclose(losses, ref_losses, rtol=1e-6)
    for a, b in zip(weights, ref_weights):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("capture", [
    FakeCapture(fail=RuntimeError("operation not permitted when stream is capturing")),
    FakeCapture(stale_inputs=True),  # wrong results: caught by the self-check
], ids=["capture-fails", "replay-is-wrong"])
def test_a_failed_or_wrong_capture_falls_back_to_eager_with_one_notice(capture, capsys):
    from d2l_helpers import notices
    notices.forget("cuda-graph")
    losses, weights = _train(2, capture)
    ref_losses, ref_weights = _train(2, None)
    out = capsys.readouterr().out
    assert out.count("CUDA graph capture not possible") == 1
    assert "training without it" in out
    np.testing.assert_allclose(losses, ref_losses, rtol=1e-6)
    for a, b in zip(weights, ref_weights):  # the attempt left no trace
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7)


def test_graphs_can_be_switched_off(monkeypatch):
    monkeypatch.setenv("D2L_CUDA_GRAPH", "0")
    capture = FakeCapture()
    _train(1, capture)
    assert capture.replays == 0


def test_no_capture_is_tried_on_the_cpu(capsys):
    import torch
    from d2l_helpers import cuda_graphs
    from d2l_helpers import torch as d2l
    step = object()
    X = torch.zeros((2, 3), dtype=torch.long)
    assert cuda_graphs.graph_or_eager(step, X, X, X, [], "cpu", d2l.BACKEND) is step
    assert capsys.readouterr().out == ""


# ------------------------------------------------------------ many minibatches per graph

@pytest.mark.parametrize("max_batches", [64, 3], ids=["whole-epoch", "chunks-of-3"])
@pytest.mark.parametrize("use_random_iter", [False, True], ids=["sequential", "random"])
@pytest.mark.parametrize("layer", ["lstm", "gru"])
def test_epoch_graphs_train_exactly_like_the_eager_loop(monkeypatch, capsys, max_batches,
                                                        use_random_iter, layer):
    """D2L_CUDA_GRAPH=epoch: after the first epoch, each epoch is a few replays
    of one graph of many minibatches (the remainder one step at a time), with
    the same losses and weights as the eager loop."""
    from d2l_helpers import cuda_graphs
    monkeypatch.setenv("D2L_CUDA_GRAPH", "epoch")
    monkeypatch.setattr(cuda_graphs, "EPOCH_GRAPH_MAX_BATCHES", max_batches)
    seen = []
    real = cuda_graphs._ChunkGraph.__init__
    monkeypatch.setattr(cuda_graphs._ChunkGraph, "__init__", lambda self, step, Xs, *a:
                        (seen.append(Xs.shape[0]), real(self, step, Xs, *a))[1])
    capture = FakeCapture()
    losses, weights = _train(3, capture, use_random_iter, layer)
    monkeypatch.setenv("D2L_CUDA_GRAPH", "0")
    ref_losses, ref_weights = _train(3, None, use_random_iter, layer)
    assert "not possible" not in capsys.readouterr().out
    # 36 or 37 minibatches an epoch here: one graph of a whole epoch, or of 3
    assert seen and len(seen) <= 2
    assert all(k == 3 for k in seen) if max_batches == 3 else all(k >= 36 for k in seen)
    assert capture.captures == 1 + len(seen)  # the step graph, then the chunk graph(s)
    np.testing.assert_allclose(losses, ref_losses, rtol=1e-6)
    for a, b in zip(weights, ref_weights):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("capture", [
    FakeCapture(fail=RuntimeError("out of memory"), broken_from=1),
    FakeCapture(stale_inputs=True, broken_from=1),  # the chunk graph's replay is wrong
], ids=["capture-fails", "replay-is-wrong"])
def test_a_failed_epoch_graph_falls_back_to_one_graph_per_step(monkeypatch, capsys, capture):
    from d2l_helpers import notices
    notices.forget()
    monkeypatch.setenv("D2L_CUDA_GRAPH", "epoch")
    losses, weights = _train(3, capture)
    monkeypatch.setenv("D2L_CUDA_GRAPH", "0")
    ref_losses, ref_weights = _train(3, None)
    out = capsys.readouterr().out
    assert len(re.findall(r"CUDA graph of \d+ minibatches not possible", out)) == 1
    assert "training with one graph per minibatch" in out
    assert "CUDA graph capture not possible" not in out  # the step graph still works
    assert capture.captures == 2  # no second try at the chunk graph
    np.testing.assert_allclose(losses, ref_losses, rtol=1e-6)
    for a, b in zip(weights, ref_weights):  # the failed attempt left no trace
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("value", ["2", "yes", "epochs"])
def test_a_bad_graph_setting_is_a_clear_error(monkeypatch, value):
    from d2l_helpers import cuda_graphs
    from d2l_helpers.errors import ConfigError
    monkeypatch.setenv("D2L_CUDA_GRAPH", value)
    with pytest.raises(ConfigError, match=f"D2L_CUDA_GRAPH='{value}'.*epoch"):
        _train(1, FakeCapture())
    assert cuda_graphs.graph_mode.__doc__
