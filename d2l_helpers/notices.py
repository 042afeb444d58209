"""Say a thing once per process: the one "notify once" helper.

``once(key, message)`` prints ``message`` the first time ``key`` is seen;
``once(key, message, kind="warn")`` issues a ``UserWarning`` instead.  Every
"said once" notice of the package (quick/class-mode banners, the CPU fallback
of ``try_gpu``, unknown prefix characters, ...) goes through here, so that a
test can reset them all with :func:`forget`.
"""
import warnings

_seen = set()


def once(key, message, kind="print"):
    """Print (or warn, ``kind="warn"``) ``message`` unless ``key`` was seen;
    returns whether it was said now."""
    if key in _seen:
        return False
    _seen.add(key)
    if kind == "warn":
        warnings.warn(message, stacklevel=3)
    else:
        print(message)
    return True


def forget(key=None):
    """Forget ``key`` (or every key), so that its notice is given again."""
    if key is None:
        _seen.clear()
    else:
        _seen.discard(key)
