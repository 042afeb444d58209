"""The framework contract, and the book's functions written once over it.

A :class:`Backend` is what a framework module (``d2l_helpers.torch``,
``d2l_helpers.mxnet``) hands to the framework-neutral code: a short table of
operators whose names differ between frameworks (as in d2l's own alias
table), plus the parts that really differ -- preparing a model, building a
training step, wrapping it (PyTorch's CUDA graph).  :class:`BookAPI` then
writes the book's chapter-8 functions once: the loaders, ``try_gpu``,
greedy decoding (``predict_ch8``), held-out perplexity (``evaluate_ppl``),
the epoch loop with its state-reset rule, and ``train_ch8``.

Each framework module binds them::

    BACKEND = backend.Backend(tab="pytorch", ...)
    _book = backend.BookAPI(BACKEND)
    train_ch8 = _book.train_ch8
"""
import numbers
from dataclasses import dataclass
from typing import Any, Callable

from . import cpu, data, modes, notices, results, training
from .settings import Settings

NUM_PREDS = 50         # characters train_ch8 predicts after each prefix (the book's)
PREFIXES = ("time traveller", "traveller")   # the book's two prompts
VALID_BATCH, VALID_STEPS = 32, 256           # held-out text: 32 rows of 256 steps


@dataclass(frozen=True)
class Backend:
    """What the neutral code needs from a framework (all plain functions)."""
    tab: str                   # the tab's name, see d2l_helpers.frameworks
    # devices
    num_gpus: Callable[[], int]
    gpu: Callable[[int], Any]
    cpu: Callable[[], Any]
    # arrays (the op table)
    to_device: Callable        # (numpy int array, device) -> tensor
    stack: Callable            # (list of tensors, device) -> stacked tensor on device
    zeros: Callable            # (device) -> scalar 0 to accumulate a loss on the device
    size: Callable             # (tensor) -> number of elements
    to_float: Callable         # (scalar tensor) -> float: a host sync
    argmax: Callable           # ((1, vocab) scores) -> int
    no_grad: Callable          # () -> context without gradient recording
    # the model
    params: Callable           # (net) -> list of weight arrays
    begin_state: Callable      # (net, batch_size, device) -> state
    detach: Callable           # (state) -> state without its gradient history
    loss_sum: Callable         # (y_hat, Y) -> summed cross-entropy, labels time-major
    copy: Callable             # (weight) -> a copy (for snapshots)
    assign: Callable           # (weight, copy) -> None, in place
    # what really differs
    prepare: Callable          # (net, train_iter, device) -> None, before training
    make_step: Callable        # (net, params, lr) -> step(X, Y, state) -> (loss, state)
    wrap_step: Callable        # (step, X, Y, state, params, device, settings=) -> step to use
    versions: Callable[[], dict]
    # what experiments and the CPU settings need (so that no other module imports a framework)
    seed: Callable             # (seed) -> None: seed the framework's own generator
    num_params: Callable       # (net) -> int: trainable numbers (Gluon: once prepared)
    to_numpy: Callable         # (array) -> numpy.ndarray, on the host
    get_threads: Callable      # () -> int: CPU threads the framework computes with now
    set_threads: Callable      # (n) -> None: compute with n CPU threads (if it can now)
    # (cell, num_layers, num_hiddens, vocab_size, dropout=0.0, init="default") -> the
    # book's RNNModel around the framework's rnn/gru/lstm layer, not on a device yet;
    # init "normal": weights from N(0, 0.01^2), biases 0 (the book's MXNet train_ch8);
    # "framework": the framework's own initializer, kept even where the book's train_ch8
    # would redraw the weights (MXNet: Gluon's default instead of N(0, 0.01^2); in
    # PyTorch and JAX the same as "default").
    # It draws no random number that the framework's own model would not (MXNet: none,
    # train_ch8 initialises), so that a seeded run trains as it always did.
    make_model: Callable
    # (net, X, Y, state) -> [per layer, bottom first: dict(state_rms, grad_norm), the
    # top one with output_rms too]: one forward and backward pass of a make_model net
    # at its start (X, Y: token indices (batch_size, num_steps), from to_device)
    layer_signals: Callable
    # (device, net, settings=) -> (precision, reason): "fp32" or "bf16" autocast, see
    # d2l_helpers.precision
    precision: Callable = None
    # (net) -> context: no gradient, and the model in inference mode (dropout off) until
    # it ends; None: no_grad() (a framework whose dropout acts only while training)
    inference: Callable = None
    # (net, device) -> net on device; None: prepare() puts the model there (MXNet)
    move_model: Callable = None


CELLS = ("rnn", "gru", "lstm")       # the layers make_model builds
INITS = ("default", "normal", "framework")  # the starts make_model knows


def check_model_args(cell, init):
    """A clear error for a cell or a start that ``make_model`` does not know."""
    if cell not in CELLS:
        raise ValueError(f"cell={cell!r}; use one of {', '.join(CELLS)}")
    if init not in INITS:
        raise ValueError(f"init={init!r}; use one of {', '.join(INITS)}")


def snapshot(b, params):
    """Copies of the weight arrays ``params`` (``b.params(net)``), for :func:`restore`."""
    return [b.copy(p) for p in params]


def restore(b, params, saved):
    """Put the copies ``saved`` (from :func:`snapshot`) back into ``params``, in place
    (the arrays keep their identity, gradient buffers and device)."""
    for p, s in zip(params, saved):
        b.assign(p, s)


def put_on(b, net, device):
    """``net`` on ``device`` where the framework needs it moved (``b.move_model``)."""
    return net if b.move_model is None or device is None else b.move_model(net, device)


def inference(b, net):
    """The context of a forward pass that only measures or generates: no
    gradient, and dropout off (PyTorch's ``net.eval()``, undone afterwards)."""
    return b.inference(net) if b.inference is not None else b.no_grad()


def decode(b, prefix, num_preds, net, vocab, device, choose):
    """Feed ``prefix`` to ``net`` then generate ``num_preds`` tokens, each
    ``choose(scores)`` of the last output ((1, vocab) scores -> token index):
    ``b.argmax`` is the book's greedy ``predict_ch8``."""
    state = b.begin_state(net, 1, device)
    outputs = [vocab[prefix[0]]]

    def get_input():  # the last character, shape (1, 1)
        return b.to_device([[outputs[-1]]], device)

    with inference(b, net):
        for y in prefix[1:]:  # warm-up: feed the prefix, keep the state
            _, state = net(get_input(), state)
            outputs.append(vocab[y])
        for _ in range(num_preds):
            y, state = net(get_input(), state)
            outputs.append(choose(y))
    return "".join(vocab.idx_to_token[i] for i in outputs)


def check_num_preds(num_preds):
    if (isinstance(num_preds, bool) or not isinstance(num_preds, numbers.Integral)
            or num_preds < 0):
        raise ValueError(f"num_preds={num_preds!r} must be a whole number >= 0 "
                         f"(how many characters to generate after the prefix)")


def check_record(record, fields):
    """Extra keyword arguments are fields of a recorded run: refuse them
    without a ``record`` key (most likely a misspelt argument)."""
    if fields and record is None:
        raise TypeError(f"unexpected keyword argument(s) {', '.join(sorted(fields))}: "
                        f"extra fields are only recorded with record='<key>' "
                        f"(e.g. record='ex2/gru/seed0'); check the spelling otherwise")
    if record is not None and (not isinstance(record, str) or not record):
        raise ValueError(f"record={record!r} must be a non-empty key such as "
                         f"'ex2/gru/seed0'")


# How to put a student's model on ``device``, per tab (check_model_device).
MOVE_MODEL = {
    "pytorch": "move it there first with net.to(device) (a from-scratch model: "
               "create its weights with device=device)",
    "mxnet": "put its weights there (MXNet's counterpart of PyTorch's "
             "net.to(device)): net.collect_params().reset_ctx(device) for a Gluon "
             "model (train_ch8 itself initialises Gluon models on device), or "
             "create a from-scratch model's weights with get_params(..., device)",
    "jax": "move its weights there first with d2l.BACKEND.move_model(net, device) "
           "(a from-scratch model: create its arrays with jax.device_put(..., device))",
}


class DeviceMismatchError(ValueError):
    """A model's weights are not on the ``device`` it was handed over with."""


def _same_device(have, want):
    try:
        want = type(have)(want)  # 'cuda' -> torch.device, 'gpu' -> mx.Context
    except Exception:  # noqa: BLE001 - cannot tell: leave it to the framework
        return True
    if hasattr(have, "type") and hasattr(have, "index"):  # PyTorch: cuda is cuda:0
        return have == want or (have.type == want.type and None in (have.index, want.index))
    return have == want


def check_model_device(b, net, device, where):
    """Raise DeviceMismatchError, naming the remedy, when a weight of ``net`` is
    not on ``device`` (PyTorch would fail deep inside the first step)."""
    try:
        weights = b.params(net)
    except Exception:  # noqa: BLE001 - no weights yet (Gluon's deferred init)
        return
    for w in weights:
        have = getattr(w, "ctx", None) or getattr(w, "device", None)  # MXNet, PyTorch
        if have is not None and not _same_device(have, device):
            raise DeviceMismatchError(
                f"{where}: the model's weights are on {have}, but device is "
                f"{device}; {MOVE_MODEL.get(b.tab, 'put the model on device first')}")


def epoch_arrays(b, train_iter, device):
    """One epoch's minibatches on ``device``: X, Y of shape
    (num_batches, batch_size, num_steps), with a single copy."""
    if hasattr(train_iter, "epoch_batches"):
        X, Y = train_iter.epoch_batches()
        return b.to_device(X, device), b.to_device(Y, device)
    pairs = list(train_iter)  # any iterable of (X, Y) pairs, as the book allows
    return (b.stack([x for x, _ in pairs], device),
            b.stack([y for _, y in pairs], device))


def choose_precision(b, device, net=None, settings=None):
    """``(precision, reason)`` of the backend for ``net`` on ``device`` (fp32 if
    it has no policy)."""
    if b.precision is None:
        return "fp32", "this framework trains in fp32 only"
    return b.precision(device, net, settings=settings)


def train_epoch_fn(b, net, train_iter, lr, device, use_random_iter, dtype="fp32",
                   settings=None):
    """Build ``train_epoch() -> (loss_sum, num_tokens)`` for :func:`training.fit`:
    the loss is summed on the device, with one host sync per epoch.  ``settings``
    go to ``b.wrap_step`` (PyTorch's ``D2L_CUDA_GRAPH``)."""
    params = b.params(net)
    step = b.make_step(net, params, lr, dtype, device)
    runner = None  # the step to use: chosen at the first minibatch

    def train_epoch():
        nonlocal runner
        Xs, Ys = epoch_arrays(b, train_iter, device)
        if hasattr(runner, "run_epoch"):  # D2L_CUDA_GRAPH=epoch: see cuda_graphs.EpochGraphs
            loss_sum = runner.run_epoch(Xs, Ys, lambda n: b.begin_state(net, n, device),
                                        use_random_iter)
            return b.to_float(loss_sum), b.size(Ys)
        loss_sum, state = b.zeros(device), None
        for X, Y in zip(Xs, Ys):
            # X, Y: (batch_size, num_steps)
            if state is None or use_random_iter:  # the book's state-reset rule
                state = b.begin_state(net, X.shape[0], device)
            if runner is None:
                runner = b.wrap_step(step, X, Y, state, params, device, settings=settings)
            l, state = runner(X, Y, state)  # state: kept, without its gradient
            loss_sum = loss_sum + l * b.size(Y)
            cpu.check()  # a fair share of the cores, within 0.2 s of a change
        return b.to_float(loss_sum), b.size(Ys)  # the epoch's one host sync

    return train_epoch


class BookAPI:
    """The book's chapter-8 functions for one :class:`Backend`."""

    def __init__(self, backend):
        self.b = backend

    # ------------------------------------------------------------ devices

    def try_gpu(self, i=0):
        """Return gpu(i) if it exists, otherwise the CPU (and say so once)."""
        if self.b.num_gpus() >= i + 1:
            return self.b.gpu(i)
        notices.once(("try_gpu", i), f"try_gpu({i}): no GPU {i} found "
                     f"({self.b.num_gpus()} available); using the CPU")
        return self.b.cpu()

    def try_all_gpus(self):
        """Return all GPUs, or [cpu] if there is none."""
        return [self.b.gpu(i) for i in range(self.b.num_gpus())] or [self.b.cpu()]

    # ------------------------------------------------------------ data

    def _to_tensor(self, a):
        return self.b.to_device(a, None)

    def load_data_time_machine(self, batch_size, num_steps, use_random_iter=False,
                               max_tokens=10000, mode=None, settings=None):
        """Return the minibatch iterator and the vocabulary of *The Time Machine*."""
        return self.load_data_books(batch_size, num_steps, ["time_machine"],
                                    use_random_iter, max_tokens, mode=mode,
                                    settings=settings)

    def load_data_books(self, batch_size, num_steps, books, use_random_iter=False,
                        max_tokens=-1, valid_book="time_machine", mode=None,
                        settings=None):
        """Train on several books; see :func:`d2l_helpers.data.load_data_books`.
        ``settings`` (default: the environment's, read now) choose the mode and
        where the books come from."""
        return data.load_data_books(batch_size, num_steps, books, use_random_iter,
                                    max_tokens, valid_book,
                                    to_tensor=self._to_tensor, mode=mode,
                                    settings=settings or Settings.from_env())

    def make_loader(self, corpus, vocab, batch_size, num_steps,
                    use_random_iter=False, valid_corpus=None):
        """A book-style minibatch iterator over any token array."""
        return data.SeqDataLoader(corpus, vocab, batch_size, num_steps,
                                  use_random_iter, valid_corpus,
                                  to_tensor=self._to_tensor)

    # ------------------------------------------------------------ prediction

    def predict_ch8(self, prefix, num_preds, net, vocab, device):
        """Generate ``num_preds`` characters after ``prefix`` (greedy decoding)."""
        b = self.b
        check_num_preds(num_preds)
        data.check_prefix(prefix, vocab)
        check_model_device(b, net, device, "predict_ch8")
        return decode(b, prefix, num_preds, net, vocab, device, b.argmax)

    # ------------------------------------------------------------ evaluation

    def evaluate_ppl(self, net, corpus, device, batch_size=VALID_BATCH,
                     num_steps=VALID_STEPS):
        """Perplexity on held-out tokens, state carried across the whole text."""
        b = self.b
        check_model_device(b, net, device, "evaluate_ppl")
        if corpus is None or len(corpus) < batch_size + 1:
            return float("nan")
        total, count = b.zeros(device), 0
        state = b.begin_state(net, batch_size, device)
        with inference(b, net):
            for X, Y in data.valid_batches(corpus, batch_size, num_steps):
                X, Y = b.to_device(X, device), b.to_device(Y, device)
                y_hat, state = net(X, state)
                total = total + b.loss_sum(y_hat, Y)
                count += b.size(Y)
        return training.perplexity(b.to_float(total) / count)

    # ------------------------------------------------------------ training

    def train_ch8(self, net, train_iter, vocab, lr, num_epochs, device,
                  use_random_iter=False, valid_every=None, label="", mode=None,
                  early_stop=None, record=None, settings=None, **fields):
        """Train ``net`` (the book's signature) and return its History.

        Prints the book's closing lines (perplexity, speed, two predictions) plus
        validation perplexity on held-out text (``train_iter.valid_corpus``).
        ``mode`` (default: ``D2L_QUICK``) may cut the epochs; see
        :mod:`d2l_helpers.modes`.  ``record`` (a key such as
        ``'ex2/gru/seed0'``) stores the History, with ``fields`` added, by
        :func:`d2l_helpers.results.record` (written only where ``D2L_RESULTS``
        names a file); a field given as a function is called after training
        (e.g. to count the weights Gluon creates then).  ``early_stop(history)``,
        if given, is asked after every epoch and stops training when it
        returns a reason (see :func:`d2l_helpers.training.fit`).  The forward
        pass runs in the precision of :mod:`d2l_helpers.precision`, said once.
        ``settings`` (a :class:`~d2l_helpers.settings.Settings`; default: the
        ``D2L_*`` variables, read once, now) go down to every part that uses them."""
        check_record(record, fields)
        settings = settings or Settings.from_env()
        b = self.b
        training.check_hparams(lr, num_epochs)
        dtype, why = choose_precision(b, device, net, settings)
        notices.once(("precision", b.tab, str(device), dtype),
                     f"d2l_helpers: training in {dtype}: {why}")
        b.prepare(net, train_iter, device)
        check_model_device(b, net, device, "train_ch8")
        valid_corpus = getattr(train_iter, "valid_corpus", None)
        params = b.params(net)
        run = training.Run(
            train_epoch=train_epoch_fn(b, net, train_iter, lr, device, use_random_iter,
                                       dtype, settings),
            evaluate=lambda: self.evaluate_ppl(net, valid_corpus, device),
            predict=lambda prefix: self.predict_ch8(prefix, NUM_PREDS, net, vocab, device),
            snapshot=lambda: snapshot(b, params),
            restore=lambda saved: restore(b, params, saved),
            valid_tokens=0 if valid_corpus is None else len(valid_corpus),
            vocab_size=len(vocab))
        history = training.fit(run, num_epochs=num_epochs, lr=lr, device=device,
                               backend=b, mode=modes.resolve(mode, settings),
                               settings=settings,
                               valid_every=valid_every, label=label,
                               versions=b.versions(), prefixes=PREFIXES,
                               precision=dtype, early_stop=early_stop)
        if record is not None:
            # a failure to record is told, and the trained History still returned
            results.record_after_training(record, history, settings, **{
                k: v() if callable(v) else v for k, v in fields.items()})
        return history
