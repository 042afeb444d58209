"""CUDA graphs for the PyTorch training step: part of the PyTorch tab
(``frameworks.TABS["pytorch"].modules``), imported by ``d2l_helpers.torch`` only.

On a GPU, the chapter's small model spends most of each step launching
kernels from Python, not computing.  A CUDA graph records the kernels of one
whole training step (forward, backward, clipping, SGD) once; replaying it
launches all of them with a single call.  ``graph_or_eager`` builds such a
step, checks that a replay gives the same loss and weights as the ordinary
(eager) step on the first minibatch, and otherwise falls back to the eager
step with a one-line notice.  ``D2L_CUDA_GRAPH=0`` switches graphs off.

``D2L_CUDA_GRAPH=epoch`` goes further: many minibatches -- a whole epoch when
it has at most ``EPOCH_GRAPH_MAX_BATCHES`` of them, else chunks of that many
plus the last few one step at a time -- are captured as ONE graph, so an
epoch costs one replay (one launch) and one host sync instead of one replay
per minibatch.  Its first replay is checked against the same minibatches
trained eagerly, and any failure falls back to the one-step graph with a
notice.  It is opt-in because it is **unmeasured on a GPU**: no device run has
recorded its speed or its agreement with the eager loop yet (the tests run it
on the CPU with a fake capture; ``tools/gpu_session.py`` measures it where a
GPU is lent, into ``results/bench-gpu-<date>.json``).  Until such a record
exists, the default stays one graph per step.

``capture`` is a parameter so that the tests can check everything around the
capture on a CPU, with a stand-in that re-runs the step instead of replaying.
"""
import torch

from . import backend, notices
from .settings import CUDA_GRAPH_VALUES, current as settings_now

GRAPH_WARMUPS = 3            # eager runs on a side stream before capturing
CHECK_RTOL, CHECK_ATOL = 1e-4, 1e-6  # replay vs eager step on the first minibatch
EPOCH_GRAPH_MAX_BATCHES = 64  # minibatches in one graph (D2L_CUDA_GRAPH=epoch)
EPOCH_GRAPH_MAX_SIZES = 4     # graphs of different lengths kept (epochs vary by one)
MODES = CUDA_GRAPH_VALUES  # D2L_CUDA_GRAPH value -> what it does


def graph_mode(settings=None):
    """``D2L_CUDA_GRAPH``: ``"step"`` (default, ``1``), ``"epoch"`` or ``"off"`` (``0``):
    ``settings.cuda_graph``, or the environment's now."""
    return settings_now(settings).cuda_graph


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


def _checked(build, eager, params, b):
    """Build a captured runner with ``build()`` and check it against ``eager``.

    ``build()`` returns ``(runner, replay_once)``; ``eager()`` and
    ``replay_once()`` each train from the same weights and return a loss.
    The weights are put back (``backend.restore`` with the Backend ``b``)
    after the warm-up, the check and any failure; a difference raises
    RuntimeError."""
    saved = backend.snapshot(b, params)

    def put_back():
        backend.restore(b, params, saved)

    try:
        runner, replay_once = build()
        put_back()  # undo the warm-up's updates
        l_eager = eager()  # the check: the same work each way
        w_eager = backend.snapshot(b, params)
        put_back()
        l_graph = replay_once()
        same = torch.allclose(l_eager, l_graph, rtol=CHECK_RTOL, atol=CHECK_ATOL) and all(
            torch.allclose(a, b, rtol=CHECK_RTOL, atol=CHECK_ATOL)
            for a, b in zip(w_eager, params))
        if not bool(same):
            raise RuntimeError("the replayed step differs from the eager step")
        return runner
    finally:
        put_back()


def _fallback_notice(key, what, e, instead):
    notices.once(key, f"train_ch8: {what} not possible "
                 f"({type(e).__name__}: {str(e).splitlines()[0][:120]}); {instead}")


def graph_or_eager(step, X, Y, state, params, device, b, capture=cuda_capture,
                   settings=None):
    """The captured step if it can be built and gives the eager step's
    result on a first minibatch; otherwise ``step`` itself, with a notice.
    ``b``: PyTorch's Backend (its ``copy``/``assign`` put the weights back).
    With ``D2L_CUDA_GRAPH=epoch`` the captured step is wrapped in an
    :class:`EpochGraphs`, whose ``run_epoch`` trains many minibatches per replay.
    ``settings``: whose ``cuda_graph`` (default: the environment's)."""
    if torch.device(device).type != "cuda" and capture is cuda_capture:
        return step  # CUDA graphs exist only on CUDA devices
    mode = graph_mode(settings)
    if mode == "off":
        return step

    def build():
        graph = _GraphStep(step, X, Y, state, capture)
        return graph, lambda: graph(X, Y, state)[0]

    try:
        graph = _checked(build, lambda: step(X, Y, _clone(state))[0], params, b)
    except Exception as e:  # noqa: BLE001 - any failure means: train eagerly
        _fallback_notice("cuda-graph", "CUDA graph capture", e, "training without it")
        return step
    if mode == "epoch":
        return EpochGraphs(step, graph, params, b, capture)
    return graph


def _chunk(step, Xs, Ys, state, begin_state, reset):
    """Train the minibatches ``Xs[i], Ys[i]`` in order from ``state``, as the
    epoch loop does; returns (loss summed over tokens, last state)."""
    total = None
    for X, Y in zip(Xs, Ys):
        if reset:  # use_random_iter: the book's fresh state for every minibatch
            state = begin_state(X.shape[0])
        l, state = step(X, Y, state)
        total = l * Y.numel() if total is None else total + l * Y.numel()
    return total, state


class _ChunkGraph:
    """``k`` consecutive minibatches captured as one graph (one replay trains
    them all).  Inputs are copied into ``self.Xs``, ``self.Ys``, ``self.state``;
    the summed loss and the last state are read from the recorded outputs."""

    def __init__(self, step, Xs, Ys, state, begin_state, reset, capture):
        self.Xs, self.Ys, self.state = Xs.clone(), Ys.clone(), _clone(state)
        self.replay, (self.loss, self.next_state) = capture(
            lambda: _chunk(step, self.Xs, self.Ys, self.state, begin_state, reset))

    def __call__(self, Xs, Ys, state):
        self.Xs.copy_(Xs)
        self.Ys.copy_(Ys)
        _copy_into(self.state, state)
        self.replay()
        return self.loss, self.next_state


class EpochGraphs:
    """``D2L_CUDA_GRAPH=epoch``: the one-step runner (called per minibatch,
    as always, for the first epoch) plus :meth:`run_epoch`, which
    ``backend.train_epoch_fn`` calls for every later epoch.

    An epoch of ``n`` minibatches replays a graph of ``k = min(n,
    EPOCH_GRAPH_MAX_BATCHES)`` minibatches ``n // k`` times and runs the
    remaining ``n % k`` through the one-step runner.  A graph is built (and
    checked against the same minibatches trained eagerly) the first time a
    length is needed; sequential partitioning changes an epoch's length by
    one minibatch at most, so a few lengths are kept.  If building or the
    check fails, that epoch and all later ones train one step at a time,
    after a one-line notice."""

    def __init__(self, step, per_step, params, b, capture=cuda_capture):
        self.step, self.per_step, self.params, self.b = step, per_step, params, b
        self.capture, self.graphs, self.failed = capture, {}, False

    def __call__(self, X, Y, state):
        return self.per_step(X, Y, state)

    def _graph(self, k, Xs, Ys, state, begin_state, reset):
        if k in self.graphs or self.failed:
            return self.graphs.get(k)
        if len(self.graphs) >= EPOCH_GRAPH_MAX_SIZES:
            return None

        def build():
            g = _ChunkGraph(self.step, Xs, Ys, state, begin_state, reset, self.capture)
            return g, lambda: g(Xs, Ys, state)[0]

        def eager():
            return _chunk(self.step, Xs, Ys, _clone(state), begin_state, reset)[0]

        try:
            self.graphs[k] = _checked(build, eager, self.params, self.b)
        except Exception as e:  # noqa: BLE001 - any failure: one step at a time
            self.failed = True
            _fallback_notice("cuda-graph-epoch", f"a CUDA graph of {k} minibatches", e,
                             "training with one graph per minibatch")
        return self.graphs.get(k)

    def run_epoch(self, Xs, Ys, begin_state, reset):
        """Train one epoch (``Xs``, ``Ys``: (n, batch, steps) on the device);
        return the loss summed over its tokens, on the device (no sync)."""
        n = Xs.shape[0]
        k = min(n, EPOCH_GRAPH_MAX_BATCHES)
        state = begin_state(Xs.shape[1])
        graph = self._graph(k, Xs[:k], Ys[:k], state, begin_state, reset) if k > 1 else None
        total, i = torch.zeros((), device=Xs.device), 0
        if graph is not None:
            for i in range(0, n - k + 1, k):
                loss, state = graph(Xs[i:i + k], Ys[i:i + k], state)
                total = total + loss
            i += k
        rest_total, _ = _chunk(self.per_step, Xs[i:], Ys[i:], state, begin_state, reset)
        return total if rest_total is None else total + rest_total
