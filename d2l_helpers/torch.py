"""The book's chapter-8/9 API for PyTorch: ``from d2l_helpers import torch as d2l``.

Same names, signatures and mathematics as ``d2l.torch`` 0.17.6 for what
section 9.3 uses.  Differences, all additions:

* data comes through :mod:`d2l_helpers.data` (offline mirror, hash checks);
* ``train_ch8`` returns a :class:`~d2l_helpers.training.History` with
  validation perplexity, draws one live plot and a progress bar, and trains
  faster: each epoch's minibatches are copied to the device once, the loss
  is summed on the device (one host sync per epoch, not per batch), clipping
  and SGD are fused into a few multi-tensor kernels, and on a CUDA GPU the
  whole training step is captured once as a CUDA graph and replayed.

``d2l_helpers/mxnet.py`` is the same file for MXNet; read them side by side.
"""
import math
import warnings

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from . import cpu, cuda_graphs, training
from . import data as _data
from .data import (DataError, Vocab, load_corpus_time_machine,  # noqa: F401
                   read_time_machine, seq_data_iter_random,
                   seq_data_iter_sequential, tokenize)
from .devices import describe_device, notice_once  # noqa: F401
from .plot import plot_histories  # noqa: F401
from .training import History  # noqa: F401

FRAMEWORK = "pytorch"
cpu.configure("pytorch")  # threads and glibc memory reuse; see cpu.py


# ---------------------------------------------------------------- devices

def try_gpu(i=0):
    """Return gpu(i) if it exists, otherwise the CPU (and say so once)."""
    if torch.cuda.device_count() >= i + 1:
        return torch.device(f"cuda:{i}")
    notice_once(("try_gpu", i), f"try_gpu({i}): no GPU {i} found "
                f"({torch.cuda.device_count()} available); using the CPU")
    return torch.device("cpu")


def try_all_gpus():
    """Return all GPUs, or [cpu] if there is none."""
    devices = [torch.device(f"cuda:{i}")
               for i in range(torch.cuda.device_count())]
    return devices if devices else [torch.device("cpu")]


# ---------------------------------------------------------------- data

def _to_tensor(a):
    return torch.from_numpy(np.ascontiguousarray(a, dtype=np.int64))


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

class RNNModel(nn.Module):
    """A recurrent layer (nn.RNN/GRU/LSTM) followed by a linear output layer."""

    def __init__(self, rnn_layer, vocab_size, **kwargs):
        super().__init__(**kwargs)
        self.rnn = rnn_layer
        self.vocab_size = vocab_size
        self.num_hiddens = self.rnn.hidden_size
        self.num_directions = 2 if self.rnn.bidirectional else 1
        self.linear = nn.Linear(self.num_hiddens * self.num_directions,
                                self.vocab_size)

    def forward(self, inputs, state):
        # inputs: (batch_size, num_steps) -> X: (num_steps, batch_size, vocab_size)
        X = F.one_hot(inputs.T.long(), self.vocab_size).to(torch.float32)
        Y, state = self.rnn(X, state)
        # Y: (num_steps, batch_size, num_hiddens) -> (num_steps * batch_size, vocab_size)
        output = self.linear(Y.reshape((-1, Y.shape[-1])))
        return output, state

    def begin_state(self, device, batch_size=1):
        shape = (self.num_directions * self.rnn.num_layers, batch_size,
                 self.num_hiddens)
        if isinstance(self.rnn, nn.LSTM):
            return (torch.zeros(shape, device=device),
                    torch.zeros(shape, device=device))
        return torch.zeros(shape, device=device)


class RNNModelScratch:
    """A model made of plain tensors and a forward function (as in the book)."""

    def __init__(self, vocab_size, num_hiddens, device, get_params,
                 init_state, forward_fn):
        self.vocab_size, self.num_hiddens = vocab_size, num_hiddens
        self.params = get_params(vocab_size, num_hiddens, device)
        self.init_state, self.forward_fn = init_state, forward_fn

    def __call__(self, X, state):
        # X: (batch_size, num_steps) -> (num_steps, batch_size, vocab_size)
        X = F.one_hot(X.T, self.vocab_size).type(torch.float32)
        return self.forward_fn(X, state, self.params)

    def begin_state(self, batch_size, device):
        return self.init_state(batch_size, self.num_hiddens, device)


def _params(net):
    if isinstance(net, nn.Module):
        return [p for p in net.parameters() if p.requires_grad]
    return net.params


def _begin_state(net, batch_size, device):
    if isinstance(net, nn.Module):
        return net.begin_state(batch_size=batch_size, device=device)
    return net.begin_state(batch_size, device)


def _detach(state):
    if isinstance(state, (tuple, list)):
        return type(state)(s.detach() for s in state)
    return state.detach()


# ---------------------------------------------------------------- prediction

def predict_ch8(prefix, num_preds, net, vocab, device):
    """Generate ``num_preds`` characters after ``prefix`` (greedy decoding)."""
    _data.check_prefix(prefix, vocab)
    state = _begin_state(net, 1, device)
    outputs = [vocab[prefix[0]]]

    def get_input():
        return torch.tensor([outputs[-1]], device=device).reshape((1, 1))

    with torch.no_grad():
        for y in prefix[1:]:  # warm-up: feed the prefix, keep the state
            _, state = net(get_input(), state)
            outputs.append(vocab[y])
        for _ in range(num_preds):
            y, state = net(get_input(), state)
            outputs.append(int(y.argmax(dim=1).reshape(1)))
    return "".join(vocab.idx_to_token[i] for i in outputs)


# ---------------------------------------------------------------- training

def grad_clipping(net, theta):
    """The book's gradient clipping: rescale so that the norm is <= theta."""
    params = _params(net)
    norm = torch.sqrt(sum(torch.sum(p.grad ** 2) for p in params))
    if norm > theta:
        for param in params:
            param.grad[:] *= theta / norm


def _clip_sgd(params, grads, lr, theta):
    """Gradient clipping then an SGD step, fused: no host sync, four kernels.

    The same mathematics as :func:`grad_clipping` followed by :func:`sgd`:
    ``w -= lr * min(1, theta / norm) * g``.  The ``torch._foreach_*``
    operators (the ones ``torch.optim`` uses inside) treat the whole list of
    arrays in one launch, and the norm stays on the device.  A non-finite
    gradient makes the weights non-finite; ``training.fit`` sees it in the
    epoch's loss and puts back the weights from the end of the last epoch."""
    with torch.no_grad():
        norm = torch.linalg.vector_norm(torch.stack(torch._foreach_norm(grads)))
        torch._foreach_mul_(grads, torch.clamp(theta / norm, max=1.0))
        torch._foreach_add_(params, grads, alpha=-lr)


def sgd(params, lr, batch_size):
    """Minibatch stochastic gradient descent (the book's ``d2l.sgd``)."""
    with torch.no_grad():
        for param in params:
            param -= lr * param.grad / batch_size
            param.grad.zero_()


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
        X, y = X.to(device), y.to(device)
        y_hat, state = net(X, state)
        l = loss(y_hat, y.long()).mean()
        if isinstance(updater, torch.optim.Optimizer):
            updater.zero_grad()
            l.backward()
            grad_clipping(net, 1)
            updater.step()
        else:
            l.backward()
            grad_clipping(net, 1)
            updater(batch_size=1)
        total += float(l) * y.numel()
        count += y.numel()
    return math.exp(total / count), count / (time.perf_counter() - start)


def _epoch_batches(train_iter, device):
    """One epoch's minibatches on ``device``: X, Y of shape
    (num_batches, batch_size, num_steps), with a single copy."""
    if hasattr(train_iter, "epoch_batches"):
        X, Y = train_iter.epoch_batches()
        X, Y = _to_tensor(X), _to_tensor(Y)
    else:  # any iterable of (X, Y) pairs, as the book allows
        pairs = list(train_iter)
        X = torch.stack([x for x, _ in pairs])
        Y = torch.stack([y for _, y in pairs])
    return X.to(device), Y.to(device)


def _train_step(net, params, lr):
    """One training step as a function of (X, Y, state) -> (loss, new state).

    The state comes in without a gradient history and goes out detached, so
    the step only reads its inputs: that is what lets CUDA capture it."""
    loss = nn.CrossEntropyLoss()

    def step(X, Y, state):
        # X, Y: (batch_size, num_steps)
        y_hat, state = net(X, state)  # y_hat: (num_steps * batch_size, vocab_size)
        l = loss(y_hat, Y.T.reshape(-1))  # labels time-major, like y_hat
        grads = torch.autograd.grad(l, params)
        _clip_sgd(params, grads, lr, 1)  # the loss is a mean: batch_size 1
        return l.detach(), _detach(state)

    return step


def _epoch_fn(net, train_iter, lr, device, use_random_iter,
              capture=cuda_graphs.cuda_capture):
    """Build ``train_epoch()`` for :func:`training.fit`."""
    params = _params(net)
    step = _train_step(net, params, lr)
    runner = None  # the step to use: chosen at the first minibatch

    def train_epoch():
        nonlocal runner
        Xs, Ys = _epoch_batches(train_iter, device)
        loss_sum = torch.zeros((), device=device)
        state = None
        for X, Y in zip(Xs, Ys):
            # X, Y: (batch_size, num_steps)
            if state is None or use_random_iter:
                state = _begin_state(net, X.shape[0], device)
            if runner is None:
                runner = cuda_graphs.graph_or_eager(step, X, Y, state, params,
                                                    device, capture)
            l, state = runner(X, Y, state)  # state: kept, without its gradient
            loss_sum += l * Y.numel()
            cpu.check()  # a fair share of the cores, within a second of a change
        return float(loss_sum), Ys.numel()  # the epoch's one host sync

    return train_epoch


def evaluate_ppl(net, corpus, device, batch_size=32, num_steps=256):
    """Perplexity on held-out tokens, state carried across the whole text."""
    if corpus is None or len(corpus) < batch_size + 1:
        return float("nan")
    loss = nn.CrossEntropyLoss(reduction="sum")
    total, count, state = 0.0, 0, _begin_state(net, batch_size, device)
    with torch.no_grad():
        for X, Y in _data.valid_batches(corpus, batch_size, num_steps):
            X, Y = _to_tensor(X).to(device), _to_tensor(Y).to(device)
            y_hat, state = net(X, state)
            total = total + loss(y_hat, Y.T.reshape(-1))
            count += Y.numel()
    return math.exp(float(total) / count)


def _snapshot(net):
    return [p.detach().clone() for p in _params(net)]


def _restore(net, saved):
    with torch.no_grad():
        for p, s in zip(_params(net), saved):
            p.copy_(s)


def train_ch8(net, train_iter, vocab, lr, num_epochs, device,
              use_random_iter=False, valid_every=None, label=""):
    """Train ``net`` (the book's signature) and return its History.

    Prints the book's closing lines (perplexity, speed, two predictions) plus
    validation perplexity on held-out text (``train_iter.valid_corpus``)."""
    training.check_hparams(lr, num_epochs)
    valid_corpus = getattr(train_iter, "valid_corpus", None)
    return training.fit(
        num_epochs=num_epochs, lr=lr, device=device, framework=FRAMEWORK,
        train_epoch=_epoch_fn(net, train_iter, lr, device, use_random_iter),
        evaluate=lambda: evaluate_ppl(net, valid_corpus, device),
        predict=lambda prefix: predict_ch8(prefix, 50, net, vocab, device),
        snapshot=lambda: _snapshot(net), restore=lambda s: _restore(net, s),
        valid_every=valid_every, label=label,
        valid_tokens=0 if valid_corpus is None else len(valid_corpus),
        versions={"torch": torch.__version__, "threads": torch.get_num_threads()})
