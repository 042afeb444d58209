"""The book's chapter-8/9 API for PyTorch: ``from d2l_helpers import torch as d2l``.

Same names, signatures and mathematics as ``d2l.torch`` 0.17.6 for what
section 9.3 uses.  This file holds only what is PyTorch's own: the models,
the training step with fused clipping and SGD, and the op table
(:data:`BACKEND`) through which :mod:`d2l_helpers.backend` writes the rest of
the book's functions once for every framework (``train_ch8``,
``predict_ch8``, the loaders, ...).  Additions to the book, all in that
shared code: offline data (:mod:`d2l_helpers.corpora`), a History with
validation perplexity, one live plot, a progress bar, and a faster
``train_ch8``: each epoch's minibatches are copied to the device once, the
loss is summed on the device (one host sync per epoch), clipping and SGD are
fused into a few multi-tensor kernels, and on a CUDA GPU the whole training
step is captured once as a CUDA graph and replayed (:mod:`d2l_helpers.cuda_graphs`).

``d2l_helpers/mxnet.py`` is the same file for MXNet; read them side by side.
"""
import contextlib
import math
import platform

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from . import backend, cpu, cuda_graphs, precision
from .data import (DataError, Vocab, load_corpus_time_machine,  # noqa: F401
                   read_time_machine, seq_data_iter_random,
                   seq_data_iter_sequential, tokenize)
from .devices import describe_device  # noqa: F401
from .plot import plot_histories  # noqa: F401
from .training import History  # noqa: F401

FRAMEWORK = "pytorch"  # the tab's name
CLIP_THETA = 1         # the book clips gradients to norm 1


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


# ---------------------------------------------------------------- training

def grad_clipping(net, theta):
    """The book's gradient clipping: rescale so that the norm is <= theta."""
    params = _params(net)
    norm = torch.sqrt(sum(torch.sum(p.grad ** 2) for p in params))
    if norm > theta:
        for param in params:
            param.grad[:] *= theta / norm


def sgd(params, lr, batch_size):
    """Minibatch stochastic gradient descent (the book's ``d2l.sgd``)."""
    with torch.no_grad():
        for param in params:
            param -= lr * param.grad / batch_size
            param.grad.zero_()


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


def _as_fp32(state):
    if isinstance(state, (tuple, list)):
        return type(state)(s.float() for s in state)
    return state.float()


def _cpu_bf16_native():
    """Whether this CPU computes bf16 natively, as PyTorch and oneDNN report
    it: AMX or AVX-512 BF16 on x86 (plain AVX-512 only emulates bf16, which is
    slower than fp32), the BF16 extension on Arm."""
    if not torch.ops.mkldnn._is_mkldnn_bf16_supported():
        return False
    if platform.machine().lower() in ("x86_64", "amd64", "i386", "i686"):
        ask = lambda name: bool(getattr(torch.cpu, name, lambda: False)())
        return ask("_is_amx_tile_supported") or ask("_is_avx512_bf16_supported")
    return True


def _has_lstm(net):
    return isinstance(net, nn.Module) and any(isinstance(m, nn.LSTM) for m in net.modules())


def choose_precision(device, net=None, settings=None):
    """``(precision, reason)`` for training ``net`` on ``device``: see
    :mod:`d2l_helpers.precision` (``D2L_PRECISION``).

    On a CPU, ``auto`` picks bf16 only for a model with an ``nn.LSTM``: that
    layer runs oneDNN's bf16 kernel (about 2x fp32 on a CPU with AMX), while
    ``nn.GRU``, ``nn.RNN`` and from-scratch models run ordinary bf16 matrix
    products plus casts, slower than fp32 (``python -m tools.bench_precision``
    measures both).  ``settings``: whose ``precision`` (default: the environment's)."""
    dev = torch.device("cpu") if device is None else torch.device(device)
    if dev.type == "cuda":
        return precision.choose(torch.cuda.is_bf16_supported(), str(dev), settings=settings)
    if dev.type != "cpu":
        return precision.choose(False, str(dev), settings=settings)
    native = _cpu_bf16_native()
    if native and net is not None and not _has_lstm(net):
        return precision.choose(False, "this CPU", why_not="computes bf16 natively, "
                                "but only PyTorch's LSTM layer has a bf16 kernel that is "
                                "faster than fp32 here", settings=settings)
    return precision.choose(native, "this CPU", settings=settings)


def _autocast(device, dtype):
    """bf16 autocast of the forward pass and the loss, or nothing (fp32)."""
    if dtype != "bf16":
        return contextlib.nullcontext()
    kind = "cpu" if device is None else torch.device(device).type
    # cache_enabled=False: no cached weight casts that a CUDA graph would keep stale
    return torch.autocast(kind, dtype=torch.bfloat16, cache_enabled=False)


def _train_step(net, params, lr, dtype="fp32", device=None):
    """One training step as a function of (X, Y, state) -> (loss, new state).

    The state comes in without a gradient history and goes out detached, so
    the step only reads its inputs: that is what lets CUDA capture it.  With
    ``dtype="bf16"`` the forward pass and the loss run under bf16 autocast;
    the gradients arrive in fp32 (the weights' type), and clipping and SGD
    are fp32 as always."""
    loss = nn.CrossEntropyLoss()

    def step(X, Y, state):
        # X, Y: (batch_size, num_steps)
        with _autocast(device, dtype):
            y_hat, state = net(X, state)  # y_hat: (num_steps * batch_size, vocab_size)
            l = loss(y_hat, Y.T.reshape(-1))  # labels time-major, like y_hat
        grads = torch.autograd.grad(l, params)
        _clip_sgd(params, grads, lr, CLIP_THETA)  # the loss is a mean: batch_size 1
        state = _detach(state)
        if dtype == "bf16":  # keep the carried state fp32, as begin_state made it
            state = _as_fp32(state)
        return l.detach().float(), state

    return step


# ---------------------------------------------------------------- for experiments

def make_model(cell, num_layers, num_hiddens, vocab_size, dropout=0.0, init="default"):
    """The chapter's ``RNNModel`` around an ``nn.RNN/GRU/LSTM`` of ``num_layers``
    layers (``dropout`` between them), on the CPU.  ``init="normal"``: every
    weight from N(0, 0.01^2) and every bias zero, where the book's MXNet
    ``train_ch8`` starts; "default" keeps PyTorch's own start (uniform within
    +-1/sqrt(num_hiddens))."""
    backend.check_model_args(cell, init)
    layer = {"rnn": nn.RNN, "gru": nn.GRU, "lstm": nn.LSTM}[cell](
        vocab_size, num_hiddens, num_layers, dropout=dropout)
    net = RNNModel(layer, vocab_size)
    return normal_init(net) if init == "normal" else net


def normal_init(net, sd=0.01):
    """Draw every weight of ``net`` from N(0, sd^2) and set every bias to zero,
    in place (MXNet's ``init.Normal(0.01)`` leaves Gluon's biases at their own
    initialiser, zero).  Returns ``net``."""
    with torch.no_grad():
        for name, p in net.named_parameters():
            if name.rsplit(".", 1)[-1].startswith("bias"):
                p.zero_()
            else:
                p.normal_(0.0, sd)
    return net


def _rms(x):
    return float(x.detach().float().pow(2).mean().sqrt())


def layer_signals(net, X, Y, state):
    """One forward and backward pass of a :func:`make_model` net on the token
    minibatch ``X``, ``Y`` (batch_size, num_steps) from ``state``; per layer,
    bottom first: the RMS of its last hidden state, the norm of the loss's
    gradient with respect to its weights (biases left out), and for the top
    layer the RMS of its output (what the output layer sees)."""
    xs = F.one_hot(X.T.long(), net.vocab_size).float()  # (num_steps, batch, vocab)
    out, state = net.rnn(xs, state)
    H = state[0] if isinstance(state, tuple) else state  # LSTM: (H, C)
    loss = F.cross_entropy(net.linear(out.reshape(-1, net.num_hiddens)),
                           Y.T.reshape(-1).long())
    named = [(n, p) for n, p in net.rnn.named_parameters() if n.startswith("weight")]
    grads = dict(zip([n for n, _ in named], torch.autograd.grad(loss, [p for _, p in named])))
    signals = [dict(state_rms=_rms(H[k]), grad_norm=math.sqrt(sum(
        float(g.norm()) ** 2 for n, g in grads.items() if n.endswith(f"_l{k}"))))
        for k in range(net.rnn.num_layers)]
    signals[-1]["output_rms"] = _rms(out)
    return signals


def _wrap_step(step, X, Y, state, params, device, settings=None):
    """On a CUDA device, the step captured as a CUDA graph (see cuda_graphs)."""
    return cuda_graphs.graph_or_eager(step, X, Y, state, params, device, BACKEND,
                                      settings=settings)


def _set_threads(n):
    if torch.get_num_threads() != n:
        torch.set_num_threads(n)


# ---------------------------------------------------------------- the op table

def _to_device(a, device):
    t = torch.from_numpy(np.ascontiguousarray(a, dtype=np.int64))
    return t if device is None else t.to(device)


def _restore(p, saved):
    with torch.no_grad():
        p.copy_(saved)


@contextlib.contextmanager
def _inference(net):
    """No gradient, and ``net.eval()`` (dropout off) until the block ends, then
    the mode ``net`` had: validation and generation never see dropout."""
    training = getattr(net, "training", None)  # None: not an nn.Module (RNNModelScratch)
    if training is not None:
        net.eval()
    try:
        with torch.no_grad():
            yield
    finally:
        if training is not None:
            net.train(training)


_xent_sum = nn.CrossEntropyLoss(reduction="sum")

BACKEND = backend.Backend(
    tab=FRAMEWORK,
    num_gpus=torch.cuda.device_count,
    gpu=lambda i: torch.device(f"cuda:{i}"),
    cpu=lambda: torch.device("cpu"),
    to_device=_to_device,
    stack=lambda xs, device: torch.stack(xs).to(device),
    zeros=lambda device: torch.zeros((), device=device),
    size=lambda x: x.numel(),
    to_float=float,
    argmax=lambda y: int(y.argmax(dim=1).reshape(1)),
    no_grad=torch.no_grad,
    params=_params,
    begin_state=_begin_state,
    detach=_detach,
    loss_sum=lambda y_hat, Y: _xent_sum(y_hat, Y.T.reshape(-1)),
    copy=lambda p: p.detach().clone(),
    assign=_restore,
    prepare=lambda net, train_iter, device: None,
    make_step=_train_step,
    wrap_step=_wrap_step,
    versions=lambda: {"torch": torch.__version__, "threads": torch.get_num_threads()},
    seed=lambda seed: torch.manual_seed(seed) and None,
    num_params=lambda net: sum(p.numel() for p in _params(net)),
    to_numpy=lambda a: a.detach().cpu().numpy(),
    get_threads=torch.get_num_threads,
    set_threads=_set_threads,
    make_model=make_model,
    layer_signals=layer_signals,
    precision=choose_precision,
    move_model=lambda net, device: net.to(device),
    inference=_inference,
)
cpu.configure(BACKEND)  # threads and glibc memory reuse; see cpu.py

_book = backend.BookAPI(BACKEND)
try_gpu, try_all_gpus = _book.try_gpu, _book.try_all_gpus
load_data_time_machine, load_data_books = _book.load_data_time_machine, _book.load_data_books
make_loader, predict_ch8, evaluate_ppl = _book.make_loader, _book.predict_ch8, _book.evaluate_ppl
train_ch8 = _book.train_ch8
