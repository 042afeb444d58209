"""A registry of the trainings running on this machine, so that they can
share its cores (see :mod:`d2l_helpers.cpu`).

One small JSON file per running training in a per-user temporary folder:
the training's pid, its start time and an expiry time that it pushes forward
while it runs.  Files are written atomically (a temporary file, then
``os.replace``), so a reader never sees half a file; a file whose process is
gone or whose expiry has passed (a killed kernel, a reused pid) is ignored and
removed.  Works on Linux, macOS and Windows; no file locks are needed, since
each training writes only its own file.
"""
import getpass
import json
import os
import re
import sys
import tempfile
import time
from pathlib import Path

from .settings import current as settings_now


def registry_dir(settings=None):
    """The per-user folder of running trainings (``D2L_TRAININGS_DIR``,
    ``settings.trainings_dir``, overrides it)."""
    directory = settings_now(settings).trainings_dir
    if directory:
        return Path(directory)
    try:
        user = re.sub(r"[^A-Za-z0-9_.-]", "_", getpass.getuser())
    except Exception:  # no user name (some containers): the uid will do
        user = str(os.getuid()) if hasattr(os, "getuid") else "user"
    return Path(tempfile.gettempdir(), f"d2l_helpers-{user}", "trainings")


def pid_alive(pid):
    """Whether process ``pid`` exists (never signals it)."""
    if pid == os.getpid():
        return True
    if sys.platform == "win32":  # os.kill(pid, 0) would terminate it there
        import ctypes
        kernel32 = ctypes.windll.kernel32
        handle = kernel32.OpenProcess(0x1000, False, pid)  # QUERY_LIMITED_INFORMATION
        if not handle:
            return kernel32.GetLastError() == 5  # access denied: it exists
        code = ctypes.c_ulong()
        kernel32.GetExitCodeProcess(handle, ctypes.byref(code))
        kernel32.CloseHandle(handle)
        return code.value == 259  # STILL_ACTIVE
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process
        return True
    except OSError:
        return False
    return True


class Registry:
    """Running trainings on this machine, one small JSON file each."""

    def __init__(self, directory=None, settings=None):
        self.dir = Path(directory) if directory else registry_dir(settings)

    def write(self, name, entry):
        self.dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        if hasattr(os, "getuid") and self.dir.stat().st_uid != os.getuid():
            raise PermissionError(f"{self.dir} belongs to another user")
        tmp = self.dir / f".{name}.{os.getpid()}.tmp"
        tmp.write_text(json.dumps(entry))
        os.replace(tmp, self.dir / f"{name}.json")

    def remove(self, name):
        try:
            (self.dir / f"{name}.json").unlink()
        except OSError:
            pass

    def live(self, now=None):
        """{name: entry} of the trainings running now."""
        now = time.time() if now is None else now
        out = {}
        try:
            files = list(self.dir.glob("*.json"))
        except OSError:
            return out
        for path in files:
            try:
                entry = json.loads(path.read_text())
                pid, expires = int(entry["pid"]), float(entry["expires"])
            except (OSError, ValueError, KeyError, TypeError):
                continue  # being replaced, or not ours: skip it this time
            if pid_alive(pid) and expires > now:
                out[path.stem] = entry
            else:
                self.remove(path.stem)
        return out
