"""The book's chapter-8/9 API for MXNet 1.9: ``from d2l_helpers import mxnet as d2l``.

Same names, signatures and mathematics as ``d2l.mxnet`` 0.17.6 for what
section 9.3 uses, including the book's re-initialisation of Gluon models at
the start of ``train_ch8`` (``init.Normal(0.01)``).  Additions, as in
``d2l_helpers/torch.py`` (read them side by side): offline data, a History
with validation perplexity, one live plot, a progress bar, and a faster
``train_ch8``: one host sync per epoch instead of one per minibatch, the
recurrent and dense layers hybridized, clipping and SGD fused into two
operators, and MXNet threads from this process's share of the CPU (``cpu.py``).
"""
import math

import numpy as _onp

from . import data as _data
from . import cpu, training
from .data import (DataError, Vocab, load_corpus_time_machine,  # noqa: F401
                   read_time_machine, seq_data_iter_random,
                   seq_data_iter_sequential, tokenize)
from .devices import describe_device, notice_once  # noqa: F401
from .plot import plot_histories  # noqa: F401
from .training import History  # noqa: F401

CPU_THREADS = cpu.configure("mxnet")  # before MXNet is imported; see cpu.py

try:
    import mxnet as mx
    from mxnet import autograd, gluon, init, np, npx
    from mxnet.gluon import nn
except (ImportError, AttributeError, OSError) as e:  # numpy >= 1.24 -> AttributeError
    raise ImportError(
        f"MXNet could not be imported ({e}). This tab needs mxnet==1.9.1 with "
        f"numpy<1.24: run `make lab` (it installs both into .venv), or "
        f"`pip install mxnet==1.9.1 numpy==1.23.5`; or use the pytorch tab "
        f"(D2L_TAB=pytorch)") from e

npx.set_np()

FRAMEWORK = "mxnet"


# ---------------------------------------------------------------- devices

def try_gpu(i=0):
    """Return gpu(i) if it exists, otherwise the CPU (and say so once)."""
    if npx.num_gpus() >= i + 1:
        return npx.gpu(i)
    notice_once(("try_gpu", i), f"try_gpu({i}): no GPU {i} found "
                f"({npx.num_gpus()} available); using the CPU")
    return npx.cpu()


def try_all_gpus():
    """Return all GPUs, or [cpu()] if there is none."""
    devices = [npx.gpu(i) for i in range(npx.num_gpus())]
    return devices if devices else [npx.cpu()]


# ---------------------------------------------------------------- data

def _to_tensor(a, ctx=None):
    # The book's d2l.tensor makes float32 arrays of token indices.
    return np.array(_onp.asarray(a, dtype=_onp.float32), ctx=ctx)


def load_data_time_machine(batch_size, num_steps, use_random_iter=False,
                           max_tokens=10000):
    """Return the minibatch iterator and the vocabulary of *The Time Machine*."""
    loader = _data.SeqDataLoader(batch_size, num_steps, use_random_iter,
                                 max_tokens, to_tensor=_to_tensor)
    return loader, loader.vocab


def load_data_books(batch_size, num_steps, books, use_random_iter=False,
                    max_tokens=-1, valid_book="time_machine"):
    """Train on several books; see :func:`d2l_helpers.data.load_data_books`."""
    return _data.load_data_books(batch_size, num_steps, books, use_random_iter,
                                 max_tokens, valid_book, to_tensor=_to_tensor)


def make_loader(corpus, vocab, batch_size, num_steps, use_random_iter=False,
                valid_corpus=None):
    """A book-style minibatch iterator over any token array."""
    return _data.make_loader(corpus, vocab, batch_size, num_steps,
                             use_random_iter, valid_corpus, to_tensor=_to_tensor)


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


# ---------------------------------------------------------------- prediction

def predict_ch8(prefix, num_preds, net, vocab, device):
    """Generate ``num_preds`` characters after ``prefix`` (greedy decoding)."""
    _data.check_prefix(prefix, vocab)
    state = _begin_state(net, 1, device)
    outputs = [vocab[prefix[0]]]

    def get_input():
        return np.array([outputs[-1]], ctx=device).reshape((1, 1))

    for y in prefix[1:]:  # warm-up: feed the prefix, keep the state
        _, state = net(get_input(), state)
        outputs.append(vocab[y])
    for _ in range(num_preds):
        y, state = net(get_input(), state)
        outputs.append(int(y.argmax(axis=1).reshape(1)))
    return "".join(vocab.idx_to_token[i] for i in outputs)


# ---------------------------------------------------------------- training

def grad_clipping(net, theta):
    """The book's gradient clipping: rescale so that the norm is <= theta."""
    params = _params(net)
    norm = math.sqrt(sum((p.grad ** 2).sum() for p in params))
    if norm > theta:
        for param in params:
            param.grad[:] *= theta / norm


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


def sgd(params, lr, batch_size):
    """Minibatch stochastic gradient descent (the book's ``d2l.sgd``)."""
    for param in params:
        param[:] = param - lr * param.grad / batch_size


def train_epoch_ch8(net, train_iter, loss, updater, device, use_random_iter):
    """The book's one-epoch loop, kept for reference and API compatibility.

    ``train_ch8`` uses the faster :func:`_epoch_fn` instead."""
    import time
    state, start, total, count = None, time.perf_counter(), 0.0, 0
    for X, Y in train_iter:
        if state is None or use_random_iter:
            state = _begin_state(net, X.shape[0], device)
        else:
            state = _detach(state)
        y = Y.T.reshape(-1)
        X, y = X.as_in_ctx(device), y.as_in_ctx(device)
        with autograd.record():
            y_hat, state = net(X, state)
            l = loss(y_hat, y).mean()
        l.backward()
        grad_clipping(net, 1)
        updater(batch_size=1)
        total += float(l) * y.size
        count += y.size
    return math.exp(total / count), count / (time.perf_counter() - start)


def _epoch_batches(train_iter, device):
    """One epoch's minibatches on ``device``: X, Y of shape
    (num_batches, batch_size, num_steps), with a single copy."""
    if hasattr(train_iter, "epoch_batches"):
        X, Y = train_iter.epoch_batches()
        return _to_tensor(X, device), _to_tensor(Y, device)
    pairs = list(train_iter)  # any iterable of (X, Y) pairs, as the book allows
    return (np.stack([x for x, _ in pairs]).as_in_ctx(device),
            np.stack([y for _, y in pairs]).as_in_ctx(device))


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


def _train_step(net, params, lr):
    """One training step as a function of (X, Y, state) -> (loss, new state);
    the state comes back detached (kept, without its gradient)."""
    loss = gluon.loss.SoftmaxCrossEntropyLoss()
    grads = [p.grad for p in params]

    def step(X, Y, state):
        # X, Y: (batch_size, num_steps)
        with autograd.record():
            y_hat, state = net(X, state)  # y_hat: (num_steps * batch_size, vocab_size)
            l = loss(y_hat, Y.T.reshape(-1)).mean()  # labels time-major, like y_hat
        l.backward()
        _clip_sgd(params, grads, lr, 1)  # the loss is a mean: batch_size 1
        return l, _detach(state)

    return step


def _epoch_fn(net, train_iter, lr, device, use_random_iter):
    """Build ``train_epoch()`` for :func:`training.fit`."""
    _hybridize(net)
    step = _train_step(net, _params(net), lr)

    def train_epoch():
        Xs, Ys = _epoch_batches(train_iter, device)
        loss_sum = np.zeros((), ctx=device)
        state = None
        for X, Y in zip(Xs, Ys):
            # X, Y: (batch_size, num_steps)
            if state is None or use_random_iter:
                state = _begin_state(net, X.shape[0], device)
            l, state = step(X, Y, state)  # state: kept, without its gradient
            loss_sum = loss_sum + l * Y.size
        return float(loss_sum), Ys.size  # the epoch's one host sync

    return train_epoch


def evaluate_ppl(net, corpus, device, batch_size=32, num_steps=256):
    """Perplexity on held-out tokens, state carried across the whole text."""
    if corpus is None or len(corpus) < batch_size + 1:
        return float("nan")
    loss = gluon.loss.SoftmaxCrossEntropyLoss()
    total, count = np.zeros((), ctx=device), 0
    state = _begin_state(net, batch_size, device)
    for X, Y in _data.valid_batches(corpus, batch_size, num_steps):
        X, Y = _to_tensor(X, device), _to_tensor(Y, device)
        y_hat, state = net(X, state)
        total = total + loss(y_hat, Y.T.reshape(-1)).sum()
        count += Y.size
    return math.exp(float(total) / count)


def _snapshot(net):
    return [p.copy() for p in _params(net)]


def _restore(net, saved):
    for p, s in zip(_params(net), saved):
        p[:] = s


def _initialize(net, train_iter, device):
    """The book's train_ch8 (re)initialises Gluon models with N(0, 0.01^2).

    Gluon defers drawing the weights until the first forward pass; we make
    that pass here, on a batch of the right shape, so that the weights exist
    before training starts (and can be snapshotted).  The random draws are
    the same as in the book, which draws them in its first training step."""
    if not isinstance(net, gluon.Block):
        return
    net.initialize(ctx=device, force_reinit=True, init=init.Normal(0.01))
    batch_size = getattr(train_iter, "batch_size", 1)
    num_steps = getattr(train_iter, "num_steps", 1)
    X = np.zeros((batch_size, num_steps), ctx=device)
    net(X, _begin_state(net, batch_size, device))


def train_ch8(net, train_iter, vocab, lr, num_epochs, device,
              use_random_iter=False, valid_every=None, label=""):
    """Train ``net`` (the book's signature) and return its History.

    Prints the book's closing lines (perplexity, speed, two predictions) plus
    validation perplexity on held-out text (``train_iter.valid_corpus``)."""
    training.check_hparams(lr, num_epochs)
    _initialize(net, train_iter, device)
    valid_corpus = getattr(train_iter, "valid_corpus", None)
    return training.fit(
        num_epochs=num_epochs, lr=lr, device=device, framework=FRAMEWORK,
        train_epoch=_epoch_fn(net, train_iter, lr, device, use_random_iter),
        evaluate=lambda: evaluate_ppl(net, valid_corpus, device),
        predict=lambda prefix: predict_ch8(prefix, 50, net, vocab, device),
        snapshot=lambda: _snapshot(net), restore=lambda s: _restore(net, s),
        valid_every=valid_every, label=label,
        valid_tokens=0 if valid_corpus is None else len(valid_corpus),
        versions={"mxnet": mx.__version__,
                  "threads": CPU_THREADS})
