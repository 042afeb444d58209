"""The book's chapter-8/9 API for MXNet 1.9: ``from d2l_helpers import mxnet as d2l``.

Same names, signatures and mathematics as ``d2l.mxnet`` 0.17.6 for what
section 9.3 uses, including the book's re-initialisation of Gluon models at
the start of ``train_ch8`` (``init.Normal(0.01)``).  As in
``d2l_helpers/torch.py`` (read them side by side), this file holds only what
is MXNet's own -- the models, the training step with fused clipping and SGD,
initialising and hybridizing a model -- and the op table (:data:`BACKEND`)
through which :mod:`d2l_helpers.backend` writes the rest once.  The faster
``train_ch8``: one host sync per epoch instead of one per minibatch, the
recurrent and dense layers hybridized, clipping and SGD fused into two
operators, and MXNet threads from this process's share of the CPU (``cpu.py``).
"""
import contextlib
import ctypes
import math
import threading

import numpy as _onp

from . import backend, cpu, frameworks
from . import precision as _precision
from .data import (DataError, Vocab, load_corpus_time_machine,  # noqa: F401
                   read_time_machine, seq_data_iter_random,
                   seq_data_iter_sequential, tokenize)
from .devices import describe_device  # noqa: F401
from .plot import plot_histories  # noqa: F401
from .training import History  # noqa: F401

cpu.set_mxnet_threads()  # before MXNet is imported: its engine and threads; see cpu.py
cpu.prepare_mxnet()

try:
    import mxnet as mx
    from mxnet import autograd, gluon, init, np, npx
    from mxnet.gluon import nn, rnn
except (ImportError, AttributeError, OSError) as e:  # numpy >= 1.24 -> AttributeError
    raise frameworks.unavailable_error("mxnet", e) from e

npx.set_np()

FRAMEWORK = "mxnet"  # the tab's name
CLIP_THETA = 1       # the book clips gradients to norm 1


# ---------------------------------------------------------------- models

class RNNModel(nn.Block):
    """A recurrent layer (rnn.RNN/GRU/LSTM) followed by a dense output layer."""

    def __init__(self, rnn_layer, vocab_size, **kwargs):
        super().__init__(**kwargs)
        self.rnn = rnn_layer
        self.vocab_size = vocab_size
        self.dense = nn.Dense(vocab_size)

    def forward(self, inputs, state):
        # inputs: (batch_size, num_steps) -> X: (num_steps, batch_size, vocab_size)
        X = npx.one_hot(inputs.T, self.vocab_size)
        Y, state = self.rnn(X, state)
        # Y: (num_steps, batch_size, num_hiddens) -> (num_steps * batch_size, vocab_size)
        output = self.dense(Y.reshape(-1, Y.shape[-1]))
        return output, state

    def begin_state(self, *args, **kwargs):
        return self.rnn.begin_state(*args, **kwargs)


class RNNModelScratch:
    """A model made of plain arrays and a forward function (as in the book)."""

    def __init__(self, vocab_size, num_hiddens, device, get_params,
                 init_state, forward_fn):
        self.vocab_size, self.num_hiddens = vocab_size, num_hiddens
        self.params = get_params(vocab_size, num_hiddens, device)
        self.init_state, self.forward_fn = init_state, forward_fn

    def __call__(self, X, state):
        # X: (batch_size, num_steps) -> (num_steps, batch_size, vocab_size)
        X = npx.one_hot(X.T, self.vocab_size)
        return self.forward_fn(X, state, self.params)

    def begin_state(self, batch_size, ctx):
        return self.init_state(batch_size, self.num_hiddens, ctx)


def _params(net):
    """The arrays that hold the weights (Gluon parameters or plain arrays)."""
    if isinstance(net, gluon.Block):
        return [p.data() for p in net.collect_params().values()]
    return net.params


def _begin_state(net, batch_size, device):
    return net.begin_state(batch_size=batch_size, ctx=device)


def _detach(state):
    return [s.detach() for s in state]


def _initialize(net, train_iter, device):
    """The book's train_ch8 (re)initialises Gluon models with N(0, 0.01^2)
    (a :func:`make_model` net made with ``init="framework"``: with Gluon's
    default initializer instead, uniform within +-0.07, biases zero).

    Gluon defers drawing the weights until the first forward pass; we make
    that pass here, on a batch of the right shape, so that the weights exist
    before training starts (and can be snapshotted).  The random draws are
    the same as in the book, which draws them in its first training step."""
    if not isinstance(net, gluon.Block):
        return
    if getattr(net, "start", "default") == "framework":  # Gluon's own initializer instead
        net.initialize(ctx=device, force_reinit=True)
    else:
        net.initialize(ctx=device, force_reinit=True, init=init.Normal(0.01))
    batch_size = getattr(train_iter, "batch_size", 1)
    num_steps = getattr(train_iter, "num_steps", 1)
    X = np.zeros((batch_size, num_steps), ctx=device)
    net(X, _begin_state(net, batch_size, device))


def _hybridize(net):
    """Compile the model's hybridizable parts (the recurrent layer and the
    dense layer of RNNModel) into static graphs: same results, less Python
    per step.  RNNModel itself stays a plain Block, as in the book."""
    if not isinstance(net, gluon.Block):
        return  # a from-scratch model: plain arrays, nothing to compile
    blocks = [net] if isinstance(net, gluon.HybridBlock) else net._children.values()
    for block in blocks:
        if isinstance(block, gluon.HybridBlock):
            block.hybridize(static_alloc=True, static_shape=True)


def _prepare(net, train_iter, device):
    _initialize(net, train_iter, device)
    _hybridize(net)


# ---------------------------------------------------------------- training

def grad_clipping(net, theta):
    """The book's gradient clipping: rescale so that the norm is <= theta."""
    params = _params(net)
    norm = math.sqrt(sum((p.grad ** 2).sum() for p in params))
    if norm > theta:
        for param in params:
            param.grad[:] *= theta / norm


def sgd(params, lr, batch_size):
    """Minibatch stochastic gradient descent (the book's ``d2l.sgd``)."""
    for param in params:
        param[:] = param - lr * param.grad / batch_size


_CHUNK = 32  # weights per preloaded_multi_sgd_update call: 70 in one call crash MXNet 1.9.1


def _clip_sgd(weights, grads, lr, theta):
    """Gradient clipping then an SGD step, fused: no host sync, two operators.

    The same mathematics as :func:`grad_clipping` followed by :func:`sgd`
    (``w -= lr * min(1, theta / norm) * g``), without the book's per-array
    Python loop: ``multi_sum_sq`` adds up the squares of all gradients in
    one operator, and ``preloaded_multi_sgd_update`` updates every weight in
    one more, reading the clipped learning rate from a device array so that
    the norm never travels to Python.  A non-finite gradient makes the
    weights non-finite; ``training.fit`` sees it in the epoch's loss and puts
    back the weights from the end of the previous epoch."""
    ws = [w.as_nd_ndarray() for w in weights]  # same memory, legacy API
    gs = [g.as_nd_ndarray() for g in grads]
    n = len(ws)
    norm = mx.nd.sqrt(mx.nd.sum(mx.nd.multi_sum_sq(*gs, num_arrays=n)))
    lr_clipped = lr * mx.nd.minimum(theta / norm, 1.0)  # shape (1,)
    for i in range(0, n, _CHUNK):
        w, g = ws[i:i + _CHUNK], gs[i:i + _CHUNK]
        k = len(w)
        lrs = mx.nd.broadcast_to(lr_clipped, (k,))
        wds = mx.nd.zeros((k,), ctx=lrs.context)
        pairs = [x for wg in zip(w, g) for x in wg]  # w0, g0, w1, g1, ...
        mx.nd.preloaded_multi_sgd_update(*pairs, lrs, wds, num_weights=k, out=w)


def _train_step(net, params, lr, dtype="fp32", device=None):
    """One training step as a function of (X, Y, state) -> (loss, new state);
    the state comes back detached (kept, without its gradient).  Always fp32
    (``dtype`` is accepted for the contract; see :data:`BACKEND`.precision)."""
    loss = gluon.loss.SoftmaxCrossEntropyLoss()
    grads = [p.grad for p in params]

    def step(X, Y, state):
        # X, Y: (batch_size, num_steps)
        with autograd.record():
            y_hat, state = net(X, state)  # y_hat: (num_steps * batch_size, vocab_size)
            l = loss(y_hat, Y.T.reshape(-1)).mean()  # labels time-major, like y_hat
        l.backward()
        _clip_sgd(params, grads, lr, CLIP_THETA)  # the loss is a mean: batch_size 1
        return l, _detach(state)

    return step


# ---------------------------------------------------------------- for experiments

# MXNet 1.9.1's fused RNN layers accept ``dropout`` but, on the CPU, never apply it
# (tests/test_study_conv.py measures it): the study has no MXNet dropout row.
LAYER_DROPOUT = False


def make_model(cell, num_layers, num_hiddens, vocab_size, dropout=0.0, init="default"):
    """The chapter's ``RNNModel`` around an ``rnn.RNN/GRU/LSTM`` of
    ``num_layers`` layers (``dropout`` between them), its weights not drawn
    yet: ``train_ch8`` initialises it on its device with N(0, 0.01^2), as the
    book does, unless ``init="framework"`` (then with Gluon's default
    initializer, uniform within +-0.07 and zero biases).  ``init`` ("default"
    or "framework": Gluon's default initializer; "normal": N(0, 0.01^2), zero
    biases) is kept as ``net.start`` for :func:`layer_signals`, which draws the
    weights itself."""
    backend.check_model_args(cell, init)
    if dropout and not LAYER_DROPOUT:
        raise ValueError(
            f"dropout={dropout!r}: MXNet 1.9.1's fused rnn.{cell.upper()} layer ignores dropout between "
            "layers on the CPU (its outputs while training equal those while evaluating), so this model "
            "would train without dropout; use the PyTorch tab for a dropout experiment")
    layer = {"rnn": rnn.RNN, "gru": rnn.GRU, "lstm": rnn.LSTM}[cell](
        num_hiddens, num_layers, dropout=dropout)
    net = RNNModel(layer, vocab_size)
    net.start = init
    return net


def _rms(x):
    return float(np.sqrt((x ** 2).mean()))


def layer_signals(net, X, Y, state):
    """One forward and backward pass of a :func:`make_model` net on the token
    minibatch ``X``, ``Y`` (batch_size, num_steps) from ``state``; per layer,
    bottom first: the RMS of its last hidden state, the norm of the loss's
    gradient with respect to its weights (biases left out), and for the top
    layer the RMS of its output (what the output layer sees).  The weights
    are drawn first, on the CPU, as :func:`make_model` was asked (``net.start``)."""
    if getattr(net, "start", "default") == "normal":
        net.initialize(mx.init.Normal(0.01), force_reinit=True)
    else:
        net.initialize(force_reinit=True)  # Gluon's default initializer
    with autograd.record():
        out, state = net.rnn(npx.one_hot(X.T, net.vocab_size), state)
        h = out.shape[-1]
        loss = _xent(net.dense(out.reshape(-1, h)), Y.T.reshape(-1)).mean()
    loss.backward()
    params = net.rnn.collect_params()
    signals = [dict(state_rms=_rms(state[0][k]), grad_norm=math.sqrt(sum(
        float((p.grad() ** 2).sum()) for name, p in params.items()
        if f"l{k}_" in name and name.endswith("weight"))))
        for k in range(len(state[0]))]
    signals[-1]["output_rms"] = _rms(out)
    return signals


def _num_params(net):
    if isinstance(net, gluon.Block):  # shapes are known after prepare (or a forward pass)
        return sum(int(_onp.prod(p.shape)) for p in net.collect_params().values())
    return sum(int(p.size) for p in net.params)


_omp = {}  # thread id -> the OpenMP threads set for it by _set_threads


def _set_threads(n):
    """Compute with ``n`` threads in the calling thread: MXNet 1.9's
    ``MXSetNumOMPThreads``, which sets that thread's OpenMP count.  Only with
    the naive engine (:func:`cpu.mxnet_is_dynamic`), where operators run in the
    calling thread; otherwise MXNet keeps the count it read at import."""
    if not cpu.mxnet_is_dynamic():
        return
    mx.base.check_call(mx.base._LIB.MXSetNumOMPThreads(ctypes.c_int(int(n))))
    _omp[threading.get_ident()] = int(n)


def _get_threads():
    return (cpu.mxnet_is_dynamic() and _omp.get(threading.get_ident())) or cpu.mxnet_threads()


# ---------------------------------------------------------------- the op table

def _to_device(a, device):
    # The book's d2l.tensor makes float32 arrays of token indices.
    return np.array(_onp.asarray(a, dtype=_onp.float32), ctx=device)


def _assign(p, saved):
    p[:] = saved


_xent = gluon.loss.SoftmaxCrossEntropyLoss()

BACKEND = backend.Backend(
    tab=FRAMEWORK,
    num_gpus=npx.num_gpus,
    gpu=npx.gpu,
    cpu=npx.cpu,
    to_device=_to_device,
    stack=lambda xs, device: np.stack(xs).as_in_ctx(device),
    zeros=lambda device: np.zeros((), ctx=device),
    size=lambda x: x.size,
    to_float=float,
    argmax=lambda y: int(y.argmax(axis=1).reshape(1)),
    no_grad=contextlib.nullcontext,  # MXNet records gradients only when asked
    params=_params,
    begin_state=_begin_state,
    detach=_detach,
    loss_sum=lambda y_hat, Y: _xent(y_hat, Y.T.reshape(-1)).sum(),
    copy=lambda p: p.copy(),
    assign=_assign,
    prepare=_prepare,
    make_step=_train_step,
    wrap_step=lambda step, *args, **kwargs: step,  # no graph capture for MXNet
    versions=lambda: {"mxnet": mx.__version__, "threads": CPU_THREADS},
    seed=mx.random.seed,
    num_params=_num_params,
    to_numpy=lambda a: a.asnumpy(),
    get_threads=_get_threads,
    set_threads=_set_threads,
    make_model=make_model,
    layer_signals=layer_signals,
    # fp32 only: MXNet's AMP (bf16 through oneDNN) is not wired in or measured yet.
    precision=lambda device, net=None, settings=None: _precision.choose(
        False, "MXNet", supported=False, settings=settings),
)
CPU_THREADS = cpu.configure(BACKEND)  # the naive engine: this thread's share of the cores

_book = backend.BookAPI(BACKEND)
try_gpu, try_all_gpus = _book.try_gpu, _book.try_all_gpus
load_data_time_machine, load_data_books = _book.load_data_time_machine, _book.load_data_books
make_loader, predict_ch8, evaluate_ppl = _book.make_loader, _book.predict_ch8, _book.evaluate_ppl
train_ch8 = _book.train_ch8
