"""Corpora: a registry of books and a safe, offline-capable fetcher.

Where a file comes from, in order:

1. ``D2L_DATA_MIRROR=<folder>``: a local, read-only folder holding the files
   under their registry names (an offline machine, or CI, points it at its
   copy of the books).  A mirror file must match the pinned hash exactly.
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

:func:`read_text` returns a book's text without the Gutenberg header and
licence; :mod:`d2l_helpers.data` turns it into tokens and minibatches.
"""
import os
import re
import warnings
from dataclasses import dataclass
from pathlib import Path

import pooch

from .settings import current as settings_now

__all__ = ["CORPORA", "WELLS", "Corpus", "DataError", "data_dir", "fetch",
           "read_text", "strip_gutenberg"]

# Gutenberg content checks for a regenerated file (see the module docstring).
HTML_SNIFF_BYTES = 4096      # look for <html / <!doctype in the first bytes
TITLE_SNIFF_CHARS = 20_000   # the title must appear this near the top
SIZE_TOLERANCE = 0.1         # accepted size: within 10% of the pinned one
FOOTER_SNIFF_CHARS = 2000    # "End of the Project Gutenberg ..." line near the end


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

def data_dir(settings=None):
    """The cache folder: ``D2L_DATA_DIR`` (``settings.data_dir``) or the user's
    cache directory."""
    folder = settings_now(settings).data_dir
    if folder:
        return Path(folder).expanduser()
    return Path(pooch.os_cache("d2l_helpers"))


def _corpus(name):
    if name not in CORPORA:
        raise DataError(f"unknown corpus {name!r}; known corpora: "
                        f"{', '.join(sorted(CORPORA))}")
    return CORPORA[name]


def _digest(path, algo):
    return pooch.file_hash(str(path), alg=algo)


def _matches_pin(path, c):
    if c.sha1:
        return _digest(path, "sha1") == c.sha1
    return _digest(path, "sha256") == c.sha256


def _looks_like_book(path, c):
    """Content checks for a regenerated Project Gutenberg file.

    Returns a reason string when the file is rejected, else ``None``."""
    raw = Path(path).read_bytes()
    head = raw[:HTML_SNIFF_BYTES].lower()
    if b"<html" in head or b"<!doctype" in head:
        return "it is an HTML page, not plain text"
    if c.size and abs(len(raw) - c.size) > SIZE_TOLERANCE * c.size:
        return f"its size {len(raw)} bytes is not within 10% of {c.size}"
    text = raw.decode("utf-8", errors="replace")
    if not (_START.search(text) and _END.search(text)):
        return "the Project Gutenberg start/end markers are missing (truncated?)"
    if c.title.lower() not in text[:TITLE_SNIFF_CHARS].lower():
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


def fetch(name, progressbar=True, settings=None):
    """Return the local path of corpus ``name``, fetching it if needed (from
    ``D2L_DATA_MIRROR`` if set, into ``D2L_DATA_DIR``: ``settings``' fields)."""
    c = _corpus(name)
    settings = settings_now(settings)
    if settings.data_mirror:
        return _from_mirror(c, settings.data_mirror)

    folder = data_dir(settings)
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
# Project Gutenberg's header and licence
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
    tail = _END_LINE.search(text, max(0, len(text) - FOOTER_SNIFF_CHARS))
    if tail:
        text = text[:tail.start()]
    return text


def read_text(name, settings=None):
    """The raw text of corpus ``name`` (Gutenberg header/footer removed)."""
    c = _corpus(name)
    raw = fetch(name, settings=settings).read_bytes().decode("utf-8-sig")
    raw = raw.replace("\r\n", "\n").replace("\r", "\n")
    return strip_gutenberg(raw) if c.gutenberg else raw
