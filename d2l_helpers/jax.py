"""The book's chapter-8/9 API for JAX: ``from d2l_helpers import jax as d2l``.

The same names as ``d2l_helpers.torch`` for what section 9.3 uses, with the
models written in flax.nnx and the training step in optax.  This file holds
only what is JAX's own: the models, the training step with fused clipping
and SGD, and the op table (:data:`BACKEND`) through which
:mod:`d2l_helpers.backend` writes ``train_ch8``, ``predict_ch8``, the loaders,
History, divergence handling and Ctrl-C once for every framework.

What differs from PyTorch, and why:

* flax.nnx has recurrent *cells* (``SimpleCell``, ``GRUCell``,
  ``OptimizedLSTMCell``) but no multi-layer layer, so :class:`RNN`,
  :class:`GRU` and :class:`LSTM` stack them by hand: layer ``l`` reads the
  hidden states of layer ``l-1`` at every time step (notebook 01's equations),
  never the raw input again.
* flax keeps **one** bias per gate block (PyTorch and MXNet keep two whose sum
  is the bias), so an LSTM layer has ``4h(d + h) + 4h`` parameters.  flax's
  GRU has no bias inside the reset gate's product: its candidate state is
  ``tanh(X W_xn + b_n + R * (H W_hn))``.
* JAX arrays cannot change in place: a model's weights live in
  ``nnx.Param`` variables, :func:`grad_clipping` and :func:`sgd` return new
  arrays, and there is no global random generator: :func:`seed` starts the
  stream that models and :func:`next_key` draw from.
* JAX compiles: the first training step (and the first prediction) of a
  model takes a few seconds to compile, every later one reuses it.
"""
import contextlib
import functools
import itertools
import math
import os
import sys

import numpy as np

from . import backend, cpu, frameworks
from .data import (DataError, Vocab, load_corpus_time_machine,  # noqa: F401
                   read_time_machine, seq_data_iter_random,
                   seq_data_iter_sequential, tokenize)
from .devices import describe_device  # noqa: F401
from .plot import plot_histories  # noqa: F401
from .training import History  # noqa: F401

if sys.version_info < (3, 12):
    raise frameworks.unavailable_error(
        "jax", f"this is Python {sys.version_info[0]}.{sys.version_info[1]}; "
               f"JAX >= 0.11 needs Python >= 3.12")
try:
    import jax
    import jax.numpy as jnp
    import optax
    from flax import nnx
except ImportError as e:
    raise frameworks.unavailable_error("jax", e) from e

FRAMEWORK = "jax"  # the tab's name
CLIP_THETA = 1     # the book clips gradients to norm 1
BIASES_PER_GROUP = 1  # flax keeps one bias vector per weight group (PyTorch, MXNet: two)


# ---------------------------------------------------------------- random numbers

_keys = {"seed": 0, "count": itertools.count()}


def seed(s):
    """Start the random stream of this module (JAX has no global generator):
    models built without ``rngs`` and :func:`next_key` draw from it."""
    _keys["seed"], _keys["count"] = int(s), itertools.count()


def next_key():
    """A fresh ``jax.random`` key from the stream :func:`seed` started."""
    return jax.random.fold_in(jax.random.key(_keys["seed"]), next(_keys["count"]))


def _rngs(rngs):
    return rngs if rngs is not None else nnx.Rngs(next_key())


# ---------------------------------------------------------------- models

def _tracing(x):
    return isinstance(x, jax.core.Tracer)


class _Stacked(nnx.Module):
    """``num_layers`` flax cells stacked by hand, with PyTorch's interface:
    ``Y, state = layer(X, state)``, X of shape (num_steps, batch_size,
    num_inputs), the state (num_layers, batch_size, num_hiddens) (an LSTM:
    the pair (H, C)), Y the top layer's hidden state at every time step."""
    cell = None  # the flax cell class

    def __init__(self, num_inputs, num_hiddens, num_layers=1, *, dropout=0.0,
                 rngs=None):
        rngs = _rngs(rngs)
        self.num_inputs, self.num_hiddens, self.num_layers = num_inputs, num_hiddens, num_layers
        self.cells = nnx.List([self.cell(num_inputs if l == 0 else num_hiddens,
                                         num_hiddens, rngs=rngs)
                               for l in range(num_layers)])
        # dropout on each layer's output but the top one's, as PyTorch's dropout=
        self.dropout = nnx.Dropout(dropout, rngs=rngs) if dropout else None

    def __call__(self, X, state=None, *, train=False):
        if state is None:
            state = self.begin_state(X.shape[1])
        new_state = []
        for l, cell in enumerate(self.cells):
            if l > 0 and self.dropout is not None:
                X = self.dropout(X, deterministic=not train)
            carry, X = jax.lax.scan(lambda c, x: cell(c, x), self._carry(state, l), X)
            new_state.append(carry)  # X: this layer's H_t for every t, the next one's input
        return X, self._stack(new_state)

    # a GRU or plain RNN carries H; state[l] is layer l's
    def _carry(self, state, l):
        return state[l]

    def _stack(self, carries):
        return jnp.stack(carries)

    def begin_state(self, batch_size=1, device=None):
        H = jnp.zeros((self.num_layers, batch_size, self.num_hiddens))
        return H if device is None else jax.device_put(H, device)


class RNN(_Stacked):
    """A multi-layer tanh RNN: ``RNN(num_inputs, num_hiddens, num_layers)``."""
    cell = nnx.SimpleCell


class GRU(_Stacked):
    """A multi-layer GRU (flax's cell: one bias per gate block)."""
    cell = nnx.GRUCell


class LSTM(_Stacked):
    """A multi-layer LSTM; its state is the pair (H, C), as in PyTorch."""
    cell = nnx.OptimizedLSTMCell  # the four gates in one matrix product

    def _carry(self, state, l):
        H, C = state
        return (C[l], H[l])  # flax's LSTM carry is (c, h)

    def _stack(self, carries):
        return (jnp.stack([h for _, h in carries]), jnp.stack([c for c, _ in carries]))

    def begin_state(self, batch_size=1, device=None):
        H = super().begin_state(batch_size, device)
        return (H, jnp.zeros_like(H))


class RNNModel(nnx.Module):
    """A recurrent layer (:class:`RNN`/:class:`GRU`/:class:`LSTM`) followed by
    a linear output layer; inputs are token indices, one-hot encoded."""

    def __init__(self, rnn_layer, vocab_size, *, rngs=None):
        self.rnn = rnn_layer
        self.vocab_size = vocab_size
        self.num_hiddens = rnn_layer.num_hiddens
        self.linear = nnx.Linear(self.num_hiddens, vocab_size, rngs=_rngs(rngs))

    def __call__(self, inputs, state, *, train=False):
        if not train and not _tracing(inputs):
            return _forward(self, inputs, state)  # compiled once per shape
        return self.forward(inputs, state, train=train)

    def forward(self, inputs, state, train=False):
        # inputs: (batch_size, num_steps) -> X: (num_steps, batch_size, vocab_size)
        X = jax.nn.one_hot(inputs.T, self.vocab_size)
        Y, state = self.rnn(X, state, train=train)
        # Y: (num_steps, batch_size, num_hiddens) -> (num_steps * batch_size, vocab_size)
        output = self.linear(Y.reshape((-1, Y.shape[-1])))
        return output, state

    def begin_state(self, device=None, batch_size=1):
        return self.rnn.begin_state(batch_size, device)


@nnx.jit
def _forward(net, inputs, state):
    return net.forward(inputs, state)


class RNNModelScratch(nnx.Module):
    """A model made of plain arrays and a forward function (as in the book).

    ``get_params`` returns the list of arrays; they are kept as
    ``nnx.Param`` in ``self.params`` (``p[...]`` reads or sets one), so that
    the training step and the snapshots of ``train_ch8`` treat them like any
    flax model's weights."""

    def __init__(self, vocab_size, num_hiddens, device, get_params,
                 init_state, forward_fn):
        self.vocab_size, self.num_hiddens = vocab_size, num_hiddens
        self.params = nnx.List([nnx.Param(p) for p in get_params(vocab_size, num_hiddens,
                                                                  device)])
        self.init_state, self.forward_fn = init_state, forward_fn

    def __call__(self, X, state, *, train=False):
        # X: (batch_size, num_steps) -> (num_steps, batch_size, vocab_size)
        X = jax.nn.one_hot(X.T, self.vocab_size)
        return self.forward_fn(X, state, [p[...] for p in self.params])

    def begin_state(self, batch_size, device):
        return self.init_state(batch_size, self.num_hiddens, device)


def _params(net):
    """The model's weights as its own ``nnx.Param`` variables, in a fixed order."""
    return [v for _, v in nnx.iter_graph(net) if isinstance(v, nnx.Param)]


def _begin_state(net, batch_size, device):
    if isinstance(net, RNNModel):
        return net.begin_state(batch_size=batch_size, device=device)
    return net.begin_state(batch_size, device)


def _detach(state):
    return jax.tree.map(jax.lax.stop_gradient, state)


# ---------------------------------------------------------------- training

def grad_clipping(grads, theta):
    """The book's gradient clipping: rescale so that the norm is <= theta.
    JAX arrays cannot change in place: returns the clipped gradients."""
    norm = jnp.sqrt(sum(jnp.sum(g ** 2) for g in jax.tree.leaves(grads)))
    scale = jnp.minimum(1.0, theta / norm)
    return jax.tree.map(lambda g: g * scale, grads)


def sgd(params, grads, lr, batch_size):
    """Minibatch stochastic gradient descent (the book's ``d2l.sgd``),
    returning the new parameters."""
    return jax.tree.map(lambda p, g: p - lr * g / batch_size, params, grads)


@functools.lru_cache(maxsize=None)
def clip_sgd(lr, theta=CLIP_THETA):
    """The optax transformation of the training step: :func:`grad_clipping`
    then :func:`sgd` (the loss is a mean: batch_size 1), which XLA fuses.
    One object per (lr, theta): the compiled step of a model is reused by the
    next model of the same shape and lr (nnx.jit compares the optimizer's
    transformation by identity)."""
    return optax.chain(optax.clip_by_global_norm(theta), optax.sgd(lr))


def _xent(y_hat, Y):
    """Cross-entropy per token, labels time-major like ``y_hat``."""
    return optax.softmax_cross_entropy_with_integer_labels(y_hat, Y.T.reshape(-1))


@nnx.jit
def _jit_step(net, optimizer, X, Y, state):
    def loss_fn(net):
        y_hat, new_state = net(X, state, train=True)
        return _xent(y_hat, Y).mean(), new_state

    (l, state), grads = nnx.value_and_grad(loss_fn, has_aux=True)(net)
    optimizer.update(net, grads)  # clipping + SGD, in the compiled step
    return l, _detach(state)


def _train_step(net, params, lr, dtype="fp32", device=None):
    """One training step as a function of (X, Y, state) -> (loss, new state).

    The whole step (forward, backward, clipping, SGD) is one compiled XLA
    program; it reads the weights from the model's ``nnx.Param`` variables and
    writes them back, so ``train_ch8``'s snapshots and restores see them.
    A non-finite gradient makes the weights non-finite; ``training.fit`` sees
    it in the epoch's loss and puts back the weights of the last epoch."""
    optimizer = nnx.Optimizer(net, clip_sgd(lr), wrt=nnx.Param)

    def step(X, Y, state):
        return _jit_step(net, optimizer, X, Y, state)

    return step


# ---------------------------------------------------------------- what the experiments need

def num_params(net):
    """The number of trainable numbers in ``net``."""
    return sum(int(p[...].size) for p in _params(net))


def to_numpy(array):
    return np.asarray(array)


def get_threads():
    """The threads XLA computes with on the CPU: its pool is sized once, when
    JAX starts, to the usable cores (or to the count :func:`set_threads` or
    ``XLA_FLAGS`` gave before that)."""
    flags = os.environ.get("XLA_FLAGS", "")
    for part in flags.split():
        if part.startswith("--xla_cpu_multi_thread_eigen=false"):
            return 1
    return cpu.usable_cpus()[0]


def set_threads(n):
    """JAX fixes its CPU thread pool when it starts; a later change is not
    possible in the same process, so this only says so (once)."""
    if n != get_threads():
        from .notices import once
        once(("jax-threads", n), f"d2l_helpers: JAX keeps its {get_threads()} CPU "
             f"threads (XLA sizes its pool when JAX starts); set "
             f"XLA_FLAGS=--xla_cpu_multi_thread_eigen=false for one thread")


def _normal_init(net, sd=0.01):
    """Every weight from N(0, sd^2), every bias zero, in place."""
    for path, v in nnx.iter_graph(net):
        if isinstance(v, nnx.Param):
            if path[-1] == "bias":
                v[...] = jnp.zeros_like(v[...])
            else:
                v[...] = sd * jax.random.normal(next_key(), v[...].shape)
    return net


CELLS = {"rnn": RNN, "gru": GRU, "lstm": LSTM}


def make_model(cell, num_layers, num_hiddens, vocab_size, dropout=0.0, init="default"):
    """The chapter's ``RNNModel`` over ``num_layers`` stacked flax cells
    (``cell``: "rnn", "gru" or "lstm"; ``dropout`` between layers), on JAX's
    default device.  ``init="normal"``: every weight from N(0, 0.01^2) and
    every bias zero, where the book's MXNet ``train_ch8`` starts; "default"
    keeps flax's own start (LeCun normal inputs, orthogonal recurrent
    weights, zero biases).  The weights come from :func:`seed`'s stream."""
    backend.check_model_args(cell, init)
    layer = CELLS[cell](vocab_size, num_hiddens, num_layers, dropout=dropout)
    net = RNNModel(layer, vocab_size)
    return _normal_init(net) if init == "normal" else net


def move_model(net, device):
    """``net`` with every weight on ``device`` (in place; returns ``net``)."""
    for p in _params(net):
        p[...] = jax.device_put(p[...], device)
    return net


def _rms(x):
    return float(jnp.sqrt(jnp.mean(jnp.square(x))))


def layer_signals(net, X, Y, state):
    """One forward and backward pass of a :func:`make_model` net on the token
    minibatch ``X``, ``Y`` (batch_size, num_steps) from ``state``; per layer,
    bottom first: the RMS of its last hidden state, the norm of the loss's
    gradient with respect to its weights (biases left out), and for the top
    layer the RMS of its output (what the output layer sees)."""
    def loss_fn(net):
        out, new_state = net.rnn(jax.nn.one_hot(X.T, net.vocab_size), state)
        y_hat = net.linear(out.reshape(-1, net.num_hiddens))
        return _xent(y_hat, Y).mean(), (out, new_state)

    (_, (out, new_state)), grads = nnx.value_and_grad(loss_fn, has_aux=True)(net)
    H = new_state[0] if isinstance(new_state, tuple) else new_state  # LSTM: (H, C)
    signals = []
    for k in range(net.rnn.num_layers):
        sq = sum(float(jnp.sum(jnp.square(g))) for path, g in
                 nnx.to_flat_state(nnx.state(grads.rnn.cells[k])) if path[-1] == "kernel")
        signals.append(dict(state_rms=_rms(H[k]), grad_norm=math.sqrt(sq)))
    signals[-1]["output_rms"] = _rms(out)
    return signals


# ---------------------------------------------------------------- the op table

def _num_gpus():
    try:
        return len(jax.devices("gpu"))
    except RuntimeError:  # no GPU backend
        return 0


def _to_device(a, device):
    x = jnp.asarray(np.asarray(a, dtype=np.int32))
    return x if device is None else jax.device_put(x, device)


def _assign(p, saved):
    p[...] = saved


def _versions():
    import flax
    return {"jax": jax.__version__, "flax": flax.__version__, "optax": optax.__version__,
            "threads": get_threads()}


BACKEND = backend.Backend(
    tab=FRAMEWORK,
    num_gpus=_num_gpus,
    gpu=lambda i: jax.devices("gpu")[i],
    cpu=lambda: jax.devices("cpu")[0],
    to_device=_to_device,
    stack=lambda xs, device: jax.device_put(jnp.stack(xs), device),
    zeros=lambda device: jax.device_put(jnp.zeros(()), device),
    size=lambda x: int(x.size),
    to_float=float,
    argmax=lambda y: int(y.argmax(axis=1).reshape(1)[0]),
    no_grad=contextlib.nullcontext,  # JAX differentiates only what it is asked to
    params=_params,
    begin_state=_begin_state,
    detach=_detach,
    loss_sum=lambda y_hat, Y: _xent(y_hat, Y).sum(),
    copy=lambda p: p[...],  # JAX arrays never change: the array is the snapshot
    assign=_assign,
    prepare=lambda net, train_iter, device: None,
    make_step=_train_step,
    wrap_step=lambda step, X, Y, state, params, device, settings=None: step,
    versions=_versions,
    seed=seed,
    num_params=num_params,
    to_numpy=to_numpy,
    get_threads=get_threads,
    set_threads=set_threads,
    make_model=make_model,
    layer_signals=layer_signals,
    move_model=move_model,
)
cpu.configure(BACKEND)  # glibc memory reuse; XLA sizes its own thread pool (see cpu.py)

_book = backend.BookAPI(BACKEND)
try_gpu, try_all_gpus = _book.try_gpu, _book.try_all_gpus
load_data_time_machine, load_data_books = _book.load_data_time_machine, _book.load_data_books
make_loader, predict_ch8, evaluate_ppl = _book.make_loader, _book.predict_ch8, _book.evaluate_ppl
train_ch8 = _book.train_ch8
