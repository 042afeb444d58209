"""Corpora: a registry of books, a safe offline-capable fetcher, and the
book's text pipeline (tokenize, Vocab, minibatch iterators).

Where a file comes from, in order:

1. ``D2L_DATA_MIRROR=<folder>``: a local, read-only folder holding the files
   under their registry names (CI points this at ``../shared/data``).  A
   mirror file must match the pinned hash exactly.
2. The cache folder (``D2L_DATA_DIR``, default ``~/.cache/d2l_helpers``).
3. The corpus's real URL, downloaded with pooch into a temporary file and
   moved into the cache only after it has been checked.

The check, per corpus:

* ``time_machine`` (d2l's preprocessed copy): the sha1 from the book, strictly.
* Project Gutenberg books: the sha256 in our registry.  Project Gutenberg
  regenerates its files now and then, so a fresh download may differ from the
  pinned bytes.  Such a file is accepted only if it still looks like the book:
  plain text (no HTML), both Gutenberg start and end markers, the book's title
  near the top, and a size within 10% of the pinned one.  Its own sha256 is then
  recorded beside it (``<file>.sha256``) and a warning says results may differ
  slightly from ours.  An HTML error page or a truncated file fails these
  checks and is never cached.

Framework-neutral: the iterators yield NumPy arrays; ``d2l_helpers.torch``
and ``d2l_helpers.mxnet`` turn them into tensors.
"""
import collections
import hashlib
import os
import random
import re
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from . import config

__all__ = [
    "CORPORA", "DataError", "fetch", "read_text", "read_lines", "tokenize",
    "Vocab", "seq_data_iter_random", "seq_data_iter_sequential",
    "epoch_batches", "SeqDataLoader", "load_corpus", "data_dir",
]


class DataError(RuntimeError):
    """A corpus could not be provided; the message says how to fix it."""


@dataclass(frozen=True)
class Corpus:
    name: str
    title: str
    author: str
    filename: str
    url: str
    sha1: str = ""
    sha256: str = ""
    size: int = 0
    gutenberg: bool = True


_GUTENBERG = "https://www.gutenberg.org/cache/epub/{0}/pg{0}.txt"

CORPORA = {c.name: c for c in [
    Corpus("time_machine", "The Time Machine", "H. G. Wells", "timemachine.txt",
           "http://d2l-data.s3-accelerate.amazonaws.com/timemachine.txt",
           sha1="090b5e7e70c295757f55df93cb0a180b9691891a",
           sha256="8424dbd9532ac81f7e5f0b6add90e6952baea29158309d7d1bf3884f4e12c516",
           size=178979, gutenberg=False),
    Corpus("war_of_the_worlds", "The War of the Worlds", "H. G. Wells",
           "pg36-war-of-the-worlds.txt", _GUTENBERG.format(36),
           sha256="416e06181a43f1a8395dcfce93dc53f099660259ec0d3fadafbe71adca5ba853",
           size=366828),
    Corpus("invisible_man", "The Invisible Man", "H. G. Wells",
           "pg5230-the-invisible-man.txt", _GUTENBERG.format(5230),
           sha256="dccaea3d3dd72233d091296307c66ca79b4750a3a25e7407389343b87378ade1",
           size=300248),
    Corpus("doctor_moreau", "The Island of Doctor Moreau", "H. G. Wells",
           "pg159-the-island-of-doctor-moreau.txt", _GUTENBERG.format(159),
           sha256="6307dcd715690afb17bb3032e4612d5ea53140ab0133da6f8df0b096972ff9e3",
           size=269580),
    Corpus("first_men_in_the_moon", "The First Men in the Moon", "H. G. Wells",
           "pg1013-the-first-men-in-the-moon.txt", _GUTENBERG.format(1013),
           sha256="481ccc2096f5dd872e352f3999bbcffd3545ebe74c6fe307a0eb8699af6361f4",
           size=386526),
    Corpus("pride_and_prejudice", "Pride and Prejudice", "Jane Austen",
           "pg1342-pride-and-prejudice.txt", _GUTENBERG.format(1342),
           sha256="4d32e44d62c944d85f2634c4654d10ab097051eca75c77673a061c923bc5406b",
           size=772448),
    Corpus("sherlock_holmes", "The Adventures of Sherlock Holmes",
           "Arthur Conan Doyle", "pg1661-the-adventures-of-sherlock-holmes.txt",
           _GUTENBERG.format(1661),
           sha256="a3218ac048b5b939f4972527a5486e3631a3619e7e1adfb8412fcbdd3d08c034",
           size=607678),
]}

WELLS = ["time_machine", "war_of_the_worlds", "invisible_man",
         "doctor_moreau", "first_men_in_the_moon"]


# --------------------------------------------------------------------------
# Fetching
# --------------------------------------------------------------------------

def data_dir():
    """The cache folder: ``D2L_DATA_DIR`` or the user's cache directory."""
    env = os.environ.get("D2L_DATA_DIR")
    if env:
        return Path(env).expanduser()
    import pooch
    return Path(pooch.os_cache("d2l_helpers"))


def _corpus(name):
    if name not in CORPORA:
        raise DataError(f"unknown corpus {name!r}; known corpora: "
                        f"{', '.join(sorted(CORPORA))}")
    return CORPORA[name]


def _digest(path, algo):
    h = hashlib.new(algo)
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _matches_pin(path, c):
    if c.sha1:
        return _digest(path, "sha1") == c.sha1
    return _digest(path, "sha256") == c.sha256


def _looks_like_book(path, c):
    """Content checks for a regenerated Project Gutenberg file.

    Returns a reason string when the file is rejected, else ``None``."""
    raw = Path(path).read_bytes()
    head = raw[:4096].lower()
    if b"<html" in head or b"<!doctype" in head:
        return "it is an HTML page, not plain text"
    if c.size and abs(len(raw) - c.size) > 0.1 * c.size:
        return f"its size {len(raw)} bytes is not within 10% of {c.size}"
    text = raw.decode("utf-8", errors="replace")
    if not (_START.search(text) and _END.search(text)):
        return "the Project Gutenberg start/end markers are missing (truncated?)"
    if c.title.lower() not in text[:20000].lower():
        return f"the title {c.title!r} is not near the top"
    return None


def _accepted_sidecar(path):
    return Path(str(path) + ".sha256")


def _cached_ok(path, c):
    if _matches_pin(path, c):
        return True
    side = _accepted_sidecar(path)
    return (c.gutenberg and side.exists()
            and side.read_text().strip() == _digest(path, "sha256"))


def _atomic_write_text(path, text):
    tmp = Path(f"{path}.tmp-{os.getpid()}")
    tmp.write_text(text)
    os.replace(tmp, path)


def _from_mirror(c, mirror):
    folder = Path(mirror).expanduser()
    if not folder.is_dir():
        raise DataError(
            f"D2L_DATA_MIRROR={mirror!r} is not a folder; point it at a folder "
            f"holding {c.filename!r}, or unset it to download from {c.url}")
    path = folder / c.filename
    if not path.is_file():
        raise DataError(
            f"the mirror folder {str(folder)!r} (D2L_DATA_MIRROR) has no file "
            f"{c.filename!r} for corpus {c.name!r}; copy it there, or unset "
            f"D2L_DATA_MIRROR to download it from {c.url}")
    if not _matches_pin(path, c):
        raise DataError(
            f"the mirror file {str(path)!r} does not match the pinned hash of "
            f"corpus {c.name!r}; replace it with a good copy of {c.url}")
    return path


def fetch(name, progressbar=True):
    """Return the local path of corpus ``name``, fetching it if needed."""
    c = _corpus(name)
    mirror = os.environ.get("D2L_DATA_MIRROR")
    if mirror:
        return _from_mirror(c, mirror)

    folder = data_dir()
    path = folder / c.filename
    # The registry's file names are fixed, but check anyway that nothing can
    # be written outside the cache folder.
    if path.resolve().parent != folder.resolve():
        raise DataError(f"refusing to write {c.filename!r} outside {folder}")
    if path.exists():
        if _cached_ok(path, c):
            return path
        warnings.warn(f"cached file {str(path)!r} is corrupt (hash mismatch); "
                      f"deleting it and fetching {c.name!r} again")
        path.unlink()
        _accepted_sidecar(path).unlink(missing_ok=True)

    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise DataError(f"cannot create the data cache folder {str(folder)!r} "
                        f"({e}); set D2L_DATA_DIR to a writable folder") from e
    if not os.access(folder, os.W_OK):
        raise DataError(f"the data cache folder {str(folder)!r} is not writable;"
                        f" set D2L_DATA_DIR to a writable folder, or "
                        f"D2L_DATA_MIRROR to a folder that holds {c.filename!r}")
    return _download(c, path, progressbar)


def _download(c, path, progressbar):
    import pooch
    tmp_name = f".{c.filename}.download-{os.getpid()}"
    tmp = path.parent / tmp_name
    try:
        pooch.retrieve(c.url, known_hash=None, fname=tmp_name,
                       path=path.parent, progressbar=progressbar)
    except Exception as e:  # requests' errors, OSError, ...
        tmp.unlink(missing_ok=True)
        raise DataError(
            f"could not download corpus {c.name!r} from {c.url} ({e}). "
            f"Offline? Set D2L_DATA_MIRROR to a folder holding {c.filename!r}, "
            f"or put the file into the cache folder D2L_DATA_DIR "
            f"({str(path.parent)!r})") from e
    try:
        if not _matches_pin(tmp, c):
            reason = ("it does not match the book's sha1" if not c.gutenberg
                      else _looks_like_book(tmp, c))
            if reason:
                raise DataError(
                    f"the download of {c.name!r} from {c.url} was rejected: "
                    f"{reason}. Nothing was cached; try again later, or set "
                    f"D2L_DATA_MIRROR to a folder holding a good {c.filename!r}")
            warnings.warn(
                f"{c.filename}: Project Gutenberg has regenerated this file, so "
                f"it differs from the copy our results were measured on; it "
                f"passed the content checks and is used, but numbers may differ "
                f"slightly")
            _atomic_write_text(_accepted_sidecar(path), _digest(tmp, "sha256"))
        os.replace(tmp, path)  # atomic: a reader sees no file or a whole one
    finally:
        tmp.unlink(missing_ok=True)
    return path


# --------------------------------------------------------------------------
# Text
# --------------------------------------------------------------------------

_START = re.compile(r"^[ \t]*\*\*\* ?START OF (THE|THIS) PROJECT GUTENBERG.*$",
                    re.MULTILINE | re.IGNORECASE)
_END = re.compile(r"^[ \t]*\*\*\* ?END OF (THE|THIS) PROJECT GUTENBERG.*$",
                  re.MULTILINE | re.IGNORECASE)
# Older files also put "End of the Project Gutenberg EBook of ..." before the marker.
_END_LINE = re.compile(r"^[ \t]*End of (the |this )?Project Gutenberg.*$",
                       re.MULTILINE | re.IGNORECASE)


def strip_gutenberg(text):
    """Drop the Project Gutenberg header and licence footer, if present."""
    start, end = _START.search(text), _END.search(text)
    if start:
        text = text[start.end():end.start() if end else None]
    tail = _END_LINE.search(text, max(0, len(text) - 2000))
    if tail:
        text = text[:tail.start()]
    return text


def read_text(name):
    """The raw text of corpus ``name`` (Gutenberg header/footer removed)."""
    c = _corpus(name)
    raw = fetch(name).read_bytes().decode("utf-8-sig")
    raw = raw.replace("\r\n", "\n").replace("\r", "\n")
    return strip_gutenberg(raw) if c.gutenberg else raw


_NON_LETTERS = re.compile("[^A-Za-z]+")


def read_lines(name="time_machine"):
    """The book's preprocessing: letters only, lower case, one entry per line."""
    lines = read_text(name).split("\n")
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


def char_text(name):
    """The book's character stream: preprocessed lines joined with no separator."""
    return "".join(read_lines(name))


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
    """Iterate over minibatches of a token corpus, the book's way.

    Beyond the book it carries ``valid_corpus``: held-out tokens that training
    never sees, for validation perplexity.  ``to_tensor`` turns the NumPy
    minibatches into framework tensors."""

    def __init__(self, batch_size, num_steps, use_random_iter, max_tokens,
                 corpus=None, vocab=None, valid_corpus=None, to_tensor=None,
                 name="time_machine"):
        if corpus is None:
            corpus, vocab, valid_corpus = load_corpus(name, max_tokens)
        self.corpus, self.vocab = corpus, vocab
        self.valid_corpus = valid_corpus
        self.batch_size, self.num_steps = batch_size, num_steps
        self.use_random_iter = use_random_iter
        self.to_tensor = to_tensor or (lambda a: a)
        check_batching(len(self.corpus), batch_size, num_steps)

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


VALID_FRACTION = 0.1


def heldout_split(text, fraction=VALID_FRACTION):
    """Split a character stream or token array into (first 90%, last 10%)."""
    cut = len(text) - int(len(text) * fraction)
    return text[:cut], text[cut:]


def load_corpus(name="time_machine", max_tokens=-1, valid_fraction=VALID_FRACTION):
    """Token indices of a book, its character Vocab, and a held-out tail.

    The vocabulary is built from the whole book, as in the book.  The last
    ``valid_fraction`` of the tokens is held out; ``max_tokens`` then cuts the
    *training* part (the first 10,000 characters by default in the book, which
    are the same here as long as they fit in the training part)."""
    text = char_text(name)
    vocab = Vocab(text)
    tokens = vocab.encode_text(text)
    train, valid = heldout_split(tokens, valid_fraction)
    max_tokens, valid = _quick_max_tokens(max_tokens), _quick_valid(valid)
    if max_tokens > 0:
        train = train[:max_tokens]
    return train, vocab, valid


def _quick_max_tokens(max_tokens):
    """In quick mode, cut the training text (with a one-line banner)."""
    cap = config.QUICK_MAX_TOKENS
    if config.quick_mode() and (max_tokens <= 0 or max_tokens > cap):
        config.quick_banner(f"data: training text cut to the first {cap:,} "
                            f"characters", key="data")
        return cap
    return max_tokens


def _quick_valid(tokens):
    """In quick mode, cut held-out text to its first QUICK_MAX_VALID_TOKENS."""
    return tokens[:config.QUICK_MAX_VALID_TOKENS] if config.quick_mode() else tokens


def load_corpus_time_machine(max_tokens=-1):
    """Book API: (corpus as a list of indices, vocab) of *The Time Machine*.

    Unlike :func:`load_corpus`, nothing is held out: this is the book's data."""
    text = char_text("time_machine")
    vocab = Vocab(text)
    corpus = vocab.encode_text(text).tolist()
    if max_tokens > 0:
        corpus = corpus[:max_tokens]
    return corpus, vocab


def load_books(books, max_tokens=-1, valid_book="time_machine",
               valid_fraction=VALID_FRACTION):
    """Training tokens from several books, each with its own held-out tail.

    Every book is preprocessed as in the book and split: its last
    ``valid_fraction`` is held out and never trained on.  The training parts
    are joined in the given order and ``max_tokens`` cuts the result.  The
    tail of ``valid_book`` is *the* validation text, the same stretch whichever
    books are trained on, so runs are comparable.

    Returns ``(train tokens, vocab, held-out tokens of valid_book,
    {book: held-out tokens} for every book named)``."""
    if isinstance(books, str):
        books = [books]
    if not books:
        raise ValueError("books is empty; name at least one corpus, e.g. "
                         "['time_machine']")
    names = list(dict.fromkeys(list(books) + [valid_book]))
    splits = {name: heldout_split(char_text(name), valid_fraction)
              for name in names}
    train_text = "".join(splits[name][0] for name in books)
    # One vocabulary for every mix of books: the book's, from The Time Machine
    # (after preprocessing every book uses the same 26 letters and space).
    vocab = Vocab(char_text("time_machine"))
    train = vocab.encode_text(train_text)
    tails = {name: _quick_valid(vocab.encode_text(tail))
             for name, (_, tail) in splits.items()}
    max_tokens = _quick_max_tokens(max_tokens)
    if max_tokens > 0:
        train = train[:max_tokens]
    return train, vocab, tails[valid_book], tails


def load_data_books(batch_size, num_steps, books, use_random_iter=False,
                    max_tokens=-1, valid_book="time_machine", to_tensor=None):
    """Like ``load_data_time_machine``, but trains on several books.

    The last 10% of every book is held out; ``train_iter.valid_corpus`` is the
    tail of ``valid_book`` and ``train_iter.valid_corpora`` maps each book to
    its own tail (for per-book perplexity with ``evaluate_ppl``)."""
    corpus, vocab, valid, tails = load_books(books, max_tokens, valid_book)
    loader = make_loader(corpus, vocab, batch_size, num_steps,
                         use_random_iter, valid, to_tensor)
    loader.valid_corpora = tails
    return loader, vocab


def make_loader(corpus, vocab, batch_size, num_steps, use_random_iter=False,
                valid_corpus=None, to_tensor=None):
    """A book-style minibatch iterator over any token array."""
    return SeqDataLoader(batch_size, num_steps, use_random_iter, -1,
                         corpus=corpus, vocab=vocab, valid_corpus=valid_corpus,
                         to_tensor=to_tensor)


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


_warned_unknown = set()


def check_prefix(prefix, vocab):
    """Reject an empty prefix; warn once about characters the vocab lacks."""
    if not isinstance(prefix, str) or not prefix:
        raise ValueError(f"prefix={prefix!r}: give at least one character to "
                         f"start the prediction from, e.g. 'time traveller'")
    unknown = sorted({ch for ch in prefix if ch not in vocab.token_to_idx})
    key = "".join(unknown)
    if unknown and key not in _warned_unknown:
        _warned_unknown.add(key)
        warnings.warn(f"prefix {prefix!r} has characters outside the "
                      f"vocabulary ({''.join(unknown)!r}); they are read as "
                      f"<unk>. The vocabulary has lower-case letters and space.")
