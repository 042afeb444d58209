"""CUDA graphs for the PyTorch training step (used by ``d2l_helpers.torch``).

On a GPU, the chapter's small model spends most of each step launching
kernels from Python, not computing.  A CUDA graph records the kernels of one
whole training step (forward, backward, clipping, SGD) once; replaying it
launches all of them with a single call.  ``graph_or_eager`` builds such a
step, checks that a replay gives the same loss and weights as the ordinary
(eager) step on the first minibatch, and otherwise falls back to the eager
step with a one-line notice.  ``D2L_CUDA_GRAPH=0`` switches graphs off.

``capture`` is a parameter so that the tests can check everything around the
capture on a CPU, with a stand-in that re-runs the step instead of replaying.
"""
import os

import torch

from . import notices

GRAPH_WARMUPS = 3            # eager runs on a side stream before capturing
CHECK_RTOL, CHECK_ATOL = 1e-4, 1e-6  # replay vs eager step on the first minibatch


def _clone(state):
    if isinstance(state, (tuple, list)):
        return type(state)(s.clone() for s in state)
    return state.clone()


def _tensors(state):
    """A state's tensors: one tensor (RNN, GRU) or a tuple of two (LSTM)."""
    return list(state) if isinstance(state, (tuple, list)) else [state]


def _copy_into(dst, src):
    for d, s in zip(_tensors(dst), _tensors(src)):
        d.copy_(s)


def cuda_capture(fn):
    """Record ``fn()`` as a CUDA graph; return (replay, the outputs of fn).

    Warm-up runs go on a side stream first, as PyTorch requires; they change
    the weights, which the caller puts back."""
    side = torch.cuda.Stream()
    side.wait_stream(torch.cuda.current_stream())
    with torch.cuda.stream(side):
        for _ in range(GRAPH_WARMUPS):
            fn()
    torch.cuda.current_stream().wait_stream(side)
    graph = torch.cuda.CUDAGraph()
    with torch.cuda.graph(graph):
        out = fn()
    return graph.replay, out


class _GraphStep:
    """A training step captured once and replayed for every minibatch.

    A replay relaunches the recorded kernels on the same memory: no Python
    and no launch overhead per kernel.  Inputs are copied into the recorded
    buffers (``self.X``, ``self.Y``, ``self.state``); the loss and the new
    state are read from the recorded outputs, which the next replay
    overwrites.  Capturing runs the step a few times (warm-up), which
    changes the weights: the caller puts them back."""

    def __init__(self, step, X, Y, state, capture=cuda_capture):
        self.X, self.Y, self.state = X.clone(), Y.clone(), _clone(state)
        self.step = step
        self.replay, (self.loss, self.next_state) = capture(
            lambda: step(self.X, self.Y, self.state))

    def __call__(self, X, Y, state):
        if X.shape != self.X.shape:  # a minibatch of another shape: run eagerly
            return self.step(X, Y, state)
        self.X.copy_(X)
        self.Y.copy_(Y)
        _copy_into(self.state, state)
        self.replay()
        return self.loss, self.next_state


def graph_or_eager(step, X, Y, state, params, device, capture=cuda_capture):
    """The captured step if it can be built and gives the eager step's
    result on a first minibatch; otherwise ``step`` itself, with a notice."""
    if torch.device(device).type != "cuda" and capture is cuda_capture:
        return step  # CUDA graphs exist only on CUDA devices
    if os.environ.get("D2L_CUDA_GRAPH", "1") == "0":
        return step
    saved = [p.detach().clone() for p in params]

    def put_back():
        with torch.no_grad():
            for p, s in zip(params, saved):
                p.copy_(s)

    try:
        graph = _GraphStep(step, X, Y, state, capture)
        put_back()  # undo the warm-up's updates
        l_eager, _ = step(X, Y, _clone(state))  # the check: one step each way
        w_eager = [p.detach().clone() for p in params]
        put_back()
        l_graph, _ = graph(X, Y, state)
        same = torch.allclose(l_eager, l_graph, rtol=CHECK_RTOL, atol=CHECK_ATOL) and all(
            torch.allclose(a, b, rtol=CHECK_RTOL, atol=CHECK_ATOL)
            for a, b in zip(w_eager, params))
        put_back()
        if not bool(same):
            raise RuntimeError("the replayed step differs from the eager step")
        return graph
    except Exception as e:  # noqa: BLE001 - any failure means: train eagerly
        put_back()
        notices.once("cuda-graph", f"train_ch8: CUDA graph capture not possible "
                     f"({type(e).__name__}: {str(e).splitlines()[0][:120]}); "
                     f"training without it")
        return step
