"""The book's text pipeline, framework-neutral and free of I/O below the
loaders: text -> tokens -> ``Vocab`` -> minibatches (NumPy arrays).

``load_corpus``/``load_books`` read books through :mod:`d2l_helpers.corpora`
and apply the run mode's text caps (:mod:`d2l_helpers.modes`);
``SeqDataLoader`` only iterates over the token arrays it is given.
``d2l_helpers.torch`` and ``d2l_helpers.mxnet`` turn the arrays into tensors
(``to_tensor``).
"""
import collections
import random
import re

import numpy as np

from . import modes, notices
from .settings import current as settings_now
from .corpora import CORPORA, WELLS, DataError, data_dir, fetch, read_text  # noqa: F401

__all__ = [
    # corpora, re-exported
    "CORPORA", "WELLS", "DataError", "data_dir", "fetch", "read_text",
    # text
    "read_lines", "read_time_machine", "char_text", "tokenize", "Vocab",
    "count_corpus",
    # minibatches
    "seq_data_iter_random", "seq_data_iter_sequential", "epoch_batches",
    "check_batching", "SeqDataLoader", "valid_batches",
    # loaders
    "VALID_FRACTION", "heldout_split", "load_corpus", "load_corpus_time_machine",
    "load_books", "load_data_books", "check_prefix",
]

_NON_LETTERS = re.compile("[^A-Za-z]+")


def read_lines(name="time_machine", settings=None):
    """The book's preprocessing: letters only, lower case, one entry per line."""
    lines = read_text(name, settings).split("\n")
    if lines and lines[-1] == "":
        lines.pop()  # like readlines(): a final newline ends the last line
    return [_NON_LETTERS.sub(" ", line).strip().lower() for line in lines]


def read_time_machine():
    """Book API: the lines of *The Time Machine*, preprocessed."""
    return read_lines("time_machine")


def tokenize(lines, token="word"):
    """Split each line into word or character tokens (the book's function)."""
    if token == "word":
        return [line.split() for line in lines]
    if token == "char":
        return [list(line) for line in lines]
    raise ValueError(f"unknown token type {token!r}; use 'word' or 'char'")


class Vocab:
    """Map tokens to indices, most frequent first; index 0 is ``<unk>``.

    ``tokens`` is a list of tokens, a list of lists of tokens (as in the
    book), or a plain string, which counts its characters (fast path)."""

    def __init__(self, tokens=None, min_freq=0, reserved_tokens=None):
        counter = count_corpus(tokens if tokens is not None else [])
        # sorted() is stable, so ties keep first-seen order, as in the book.
        self._token_freqs = sorted(counter.items(), key=lambda kv: kv[1],
                                   reverse=True)
        self.idx_to_token = ["<unk>"] + list(reserved_tokens or [])
        self.token_to_idx = {t: i for i, t in enumerate(self.idx_to_token)}
        for token, freq in self._token_freqs:
            if freq < min_freq:
                break
            if token not in self.token_to_idx:
                self.idx_to_token.append(token)
                self.token_to_idx[token] = len(self.idx_to_token) - 1

    def __len__(self):
        return len(self.idx_to_token)

    def __getitem__(self, tokens):
        if not isinstance(tokens, (list, tuple)):
            return self.token_to_idx.get(tokens, self.unk)
        return [self.__getitem__(t) for t in tokens]

    def to_tokens(self, indices):
        if not isinstance(indices, (list, tuple)):
            return self.idx_to_token[indices]
        return [self.idx_to_token[i] for i in indices]

    def encode_text(self, text):
        """Indices of the characters of ``text`` as an int64 array (fast)."""
        table = np.full(0x110000 if max(text, default="\0") > "\xff" else 256,
                        self.unk, dtype=np.int64)
        for token, idx in self.token_to_idx.items():
            if len(token) == 1 and ord(token) < len(table):
                table[ord(token)] = idx
        codes = np.frombuffer(text.encode("utf-32-le"), dtype=np.uint32)
        return table[codes]

    @property
    def unk(self):
        return 0

    @property
    def token_freqs(self):
        return self._token_freqs


def count_corpus(tokens):
    """Count token frequencies (flattening a list of token lists)."""
    if isinstance(tokens, str):
        return collections.Counter(tokens)
    if len(tokens) == 0 or isinstance(tokens[0], list):
        tokens = [t for line in tokens for t in line]
    return collections.Counter(tokens)


def char_text(name, settings=None):
    """The book's character stream: preprocessed lines joined with no separator."""
    return "".join(read_lines(name, settings))


# --------------------------------------------------------------------------
# Minibatches
# --------------------------------------------------------------------------

def seq_data_iter_random(corpus, batch_size, num_steps):
    """Random sampling: shuffled, non-overlapping subsequences.

    Consumes Python's ``random`` exactly as the book does, so a seed gives
    the book's minibatches.  Yields ``X, Y`` of shape (batch_size, num_steps).
    """
    corpus = np.asarray(corpus)
    corpus = corpus[random.randint(0, num_steps - 1):]
    num_subseqs = (len(corpus) - 1) // num_steps
    starts = list(range(0, num_subseqs * num_steps, num_steps))
    random.shuffle(starts)
    num_batches = num_subseqs // batch_size
    for i in range(0, batch_size * num_batches, batch_size):
        idx = np.array(starts[i:i + batch_size])[:, None] + np.arange(num_steps)
        yield corpus[idx], corpus[idx + 1]


def seq_data_iter_sequential(corpus, batch_size, num_steps):
    """Sequential partitioning: minibatch k+1 continues where minibatch k ended.

    Yields ``X, Y`` of shape (batch_size, num_steps)."""
    corpus = np.asarray(corpus)
    offset = random.randint(0, num_steps)
    num_tokens = ((len(corpus) - offset - 1) // batch_size) * batch_size
    Xs = corpus[offset:offset + num_tokens].reshape(batch_size, -1)
    Ys = corpus[offset + 1:offset + 1 + num_tokens].reshape(batch_size, -1)
    num_batches = Xs.shape[1] // num_steps
    for i in range(0, num_steps * num_batches, num_steps):
        yield Xs[:, i:i + num_steps], Ys[:, i:i + num_steps]


def epoch_batches(corpus, batch_size, num_steps, use_random_iter):
    """All minibatches of one epoch at once, for a single host-to-device copy.

    Returns ``X, Y`` of shape (num_batches, batch_size, num_steps), drawing the
    same random numbers as the per-batch iterators above."""
    it = (seq_data_iter_random if use_random_iter
          else seq_data_iter_sequential)(corpus, batch_size, num_steps)
    pairs = list(it)
    if not pairs:
        return (np.zeros((0, batch_size, num_steps), np.int64),) * 2
    X, Y = zip(*pairs)
    return np.stack(X), np.stack(Y)


def check_batching(corpus_len, batch_size, num_steps, what="the corpus"):
    """Raise ValueError when one epoch would hold no minibatch at all."""
    if batch_size < 1 or num_steps < 1:
        raise ValueError(f"batch_size={batch_size} and num_steps={num_steps} "
                         f"must both be at least 1")
    need = batch_size * num_steps + num_steps + 1
    if corpus_len < need:
        raise ValueError(
            f"batch_size * num_steps = {batch_size} * {num_steps} = "
            f"{batch_size * num_steps} needs at least {need} tokens, but "
            f"{what} has {corpus_len}; lower batch_size or num_steps, or use "
            f"more text (max_tokens)")


class SeqDataLoader:
    """Iterate over minibatches of a token array, the book's way (no I/O:
    the loaders below read the books and build it).

    Beyond the book it carries ``valid_corpus``: held-out tokens that training
    never sees, for validation perplexity.  ``to_tensor`` turns the NumPy
    minibatches into framework tensors."""

    def __init__(self, corpus, vocab, batch_size, num_steps,
                 use_random_iter=False, valid_corpus=None, to_tensor=None):
        check_batching(len(corpus), batch_size, num_steps)
        self.corpus, self.vocab = corpus, vocab
        self.valid_corpus = valid_corpus
        self.batch_size, self.num_steps = batch_size, num_steps
        self.use_random_iter = use_random_iter
        self.to_tensor = to_tensor or (lambda a: a)

    @property
    def data_iter_fn(self):
        return (seq_data_iter_random if self.use_random_iter
                else seq_data_iter_sequential)

    def __iter__(self):
        for X, Y in self.data_iter_fn(self.corpus, self.batch_size,
                                      self.num_steps):
            yield self.to_tensor(X), self.to_tensor(Y)

    def __len__(self):
        n = len(self.corpus)
        if self.use_random_iter:
            return ((n - self.num_steps) // self.num_steps) // self.batch_size
        return ((n - self.num_steps - 1) // self.batch_size) // self.num_steps

    def epoch_batches(self):
        return epoch_batches(self.corpus, self.batch_size, self.num_steps,
                             self.use_random_iter)


def valid_batches(corpus, batch_size, num_steps):
    """Deterministic minibatches covering held-out tokens once, in order.

    The text is cut into ``batch_size`` rows read left to right, so the model's
    state can be carried from one chunk to the next.  Yields X, Y of shape
    (batch_size, <= num_steps)."""
    corpus = np.asarray(corpus)
    n = ((len(corpus) - 1) // batch_size) * batch_size
    Xs = corpus[:n].reshape(batch_size, -1)
    Ys = corpus[1:n + 1].reshape(batch_size, -1)
    for i in range(0, Xs.shape[1], num_steps):
        yield Xs[:, i:i + num_steps], Ys[:, i:i + num_steps]


# --------------------------------------------------------------------------
# Loaders: books -> (training tokens, vocab, held-out tokens) -> SeqDataLoader
# --------------------------------------------------------------------------

VALID_FRACTION = 0.1  # the last 10% of every book is held out


def heldout_split(text, fraction=VALID_FRACTION):
    """Split a character stream or token array into (first 90%, last 10%)."""
    cut = len(text) - int(len(text) * fraction)
    return text[:cut], text[cut:]


def load_books(books, max_tokens=-1, valid_book="time_machine",
               valid_fraction=VALID_FRACTION, mode=None, settings=None):
    """Training tokens from several books, each with its own held-out tail.

    Every book is preprocessed as in the book and split: its last
    ``valid_fraction`` is held out and never trained on.  The training parts
    are joined in the given order and ``max_tokens`` cuts the result.  The
    tail of ``valid_book`` is *the* validation text, the same stretch whichever
    books are trained on, so runs are comparable.  ``mode`` (default: the
    mode of ``settings``, by default the environment's) may cap both;
    ``settings`` also say where the books come from (``D2L_DATA_MIRROR``,
    ``D2L_DATA_DIR``).

    Returns ``(train tokens, vocab, held-out tokens of valid_book,
    {book: held-out tokens} for every book named)``."""
    settings = settings_now(settings)
    mode = modes.resolve(mode, settings)
    if isinstance(books, str):
        books = [books]
    if not books:
        raise ValueError("books is empty; name at least one corpus, e.g. "
                         "['time_machine']")
    names = list(dict.fromkeys(list(books) + [valid_book]))
    splits = {name: heldout_split(char_text(name, settings), valid_fraction)
              for name in names}
    train_text = "".join(splits[name][0] for name in books)
    # One vocabulary for every mix of books: the book's, from The Time Machine
    # (after preprocessing every book uses the same 26 letters and space).
    vocab = Vocab(char_text("time_machine", settings))
    train = vocab.encode_text(train_text)
    tails = {name: mode.valid_tokens(vocab.encode_text(tail))
             for name, (_, tail) in splits.items()}
    max_tokens = mode.train_tokens(max_tokens)
    if max_tokens > 0:
        train = train[:max_tokens]
    return train, vocab, tails[valid_book], tails


def load_corpus(name="time_machine", max_tokens=-1, valid_fraction=VALID_FRACTION,
                mode=None):
    """Token indices of one book, its character Vocab, and a held-out tail.

    The last ``valid_fraction`` of the tokens is held out; ``max_tokens`` then
    cuts the *training* part (the first 10,000 characters by default in the
    book, which are the same here as long as they fit in the training part)."""
    train, vocab, valid, _ = load_books([name], max_tokens, name, valid_fraction,
                                        mode)
    return train, vocab, valid


def load_corpus_time_machine(max_tokens=-1):
    """Book API: (corpus as a list of indices, vocab) of *The Time Machine*.

    Unlike :func:`load_corpus`, nothing is held out: this is the book's data."""
    text = char_text("time_machine")
    vocab = Vocab(text)
    corpus = vocab.encode_text(text).tolist()
    if max_tokens > 0:
        corpus = corpus[:max_tokens]
    return corpus, vocab


def load_data_books(batch_size, num_steps, books, use_random_iter=False,
                    max_tokens=-1, valid_book="time_machine", to_tensor=None,
                    mode=None, settings=None):
    """Like ``load_data_time_machine``, but trains on several books.

    The last 10% of every book is held out; ``train_iter.valid_corpus`` is the
    tail of ``valid_book`` and ``train_iter.valid_corpora`` maps each book to
    its own tail (for per-book perplexity with ``evaluate_ppl``)."""
    corpus, vocab, valid, tails = load_books(books, max_tokens, valid_book,
                                             mode=mode, settings=settings)
    loader = SeqDataLoader(corpus, vocab, batch_size, num_steps,
                           use_random_iter, valid, to_tensor)
    loader.valid_corpora = tails
    return loader, vocab


def check_prefix(prefix, vocab):
    """Reject an empty prefix; warn once about characters the vocab lacks."""
    if not isinstance(prefix, str) or not prefix:
        raise ValueError(f"prefix={prefix!r}: give at least one character to "
                         f"start the prediction from, e.g. 'time traveller'")
    unknown = "".join(sorted({ch for ch in prefix if ch not in vocab.token_to_idx}))
    if unknown:
        notices.once(("prefix", unknown),
                     f"prefix {prefix!r} has characters outside the "
                     f"vocabulary ({unknown!r}); they are read as "
                     f"<unk>. The vocabulary has lower-case letters and space.",
                     kind="warn")
