"""Process settings for training on the CPU: how many threads, and glibc's
memory reuse.

How many threads.  A kernel should compute with no more threads than the
cores it really has, and when several trainings run on one machine (two
notebooks, a class on one server) they should split those cores instead of
each taking all of them: oversubscribed, two PyTorch kernels on 2 cores
train 2.7x slower in total than with one thread each.  So:

* :func:`usable_cpus` counts this process's real share of the machine: the
  affinity mask (``os.sched_getaffinity``, or ``os.process_cpu_count`` on
  Python 3.13+), the cgroup CPU quota (v2 ``cpu.max``, v1
  ``cpu.cfs_quota_us``; containers and JupyterHub's ``cpu_limit`` set it), and
  the physical cores among the allowed CPUs (hyper-threads count once);
* a small registry of running trainings (:mod:`d2l_helpers.registry`, one
  file per training in a per-user temporary folder) tells each training how many are
  running; ``training.fit`` calls :meth:`TrainingShare.rebalance` before
  every epoch, the training loop (``backend.py``, both frameworks) calls
  :func:`check` between minibatches (it looks at most every 0.2 s), and
  PyTorch gets ``usable // trainings`` threads;
* MXNet (a CPU build) is rebalanced the same way, through what MXNet 1.9
  allows: importing ``d2l_helpers.mxnet`` (or ``%load_ext d2l_helpers.tab``
  with the MXNet tab) sets ``MXNET_ENGINE_TYPE=NaiveEngine``, so
  every operator runs in the thread that called it (the training's), and
  ``MXNET_OMP_MAX_THREADS`` to the usable cores, a ceiling; the count itself
  is that thread's OpenMP setting, which MXNet's ``MXSetNumOMPThreads``
  changes at any time (``d2l_helpers.mxnet``'s ``set_threads``).  Without the naive
  engine (the user chose another, or MXNet was imported before
  ``d2l_helpers.mxnet``), operators run in MXNet's own worker threads, which no call
  reaches: MXNet then keeps the share of the moment it was imported.

``D2L_THREADS`` overrides all this: a whole number fixes the thread count,
``off`` leaves both frameworks their own defaults, ``auto`` (or unset) is the
rule above.  ``OMP_NUM_THREADS`` (both frameworks) and
``MXNET_OMP_MAX_THREADS`` (MXNet) set by the user are left alone.
"""
import functools
import math
import os
import platform
import re
import subprocess
import sys
import time
from pathlib import Path

from .devices import notice_once
from .frameworks import TABS
from .registry import Registry
from .settings import current as settings_now

_OURS = "D2L_HELPERS_SET_MXNET_THREADS"  # marks MXNET_OMP_MAX_THREADS as set by us
_OURS_ENGINE = "D2L_HELPERS_SET_MXNET_ENGINE"  # marks MXNET_ENGINE_TYPE as set by us
_OURS_SPIN = "D2L_HELPERS_SET_GOMP_SPINCOUNT"  # marks GOMP_SPINCOUNT as set by us
NAIVE = "NaiveEngine"
# How long an idle OpenMP thread of MXNet's libgomp spins before it sleeps.  After
# MXNet's count drops (another training started), libgomp's default (300,000)
# kept the idle thread spinning at about 45% of a core; see prepare_mxnet().
GOMP_SPIN = "10000"


# ------------------------------------------------------------ counting CPUs

def _affinity():
    """(CPUs this process may run on, where that number came from)."""
    if hasattr(os, "sched_getaffinity"):  # Linux
        return len(os.sched_getaffinity(0)), "affinity mask"
    if hasattr(os, "process_cpu_count"):  # Python 3.13+: Windows affinity too
        return os.process_cpu_count() or 1, "os.process_cpu_count()"
    return os.cpu_count() or 1, "os.cpu_count()"


def _affinity_set():
    return os.sched_getaffinity(0) if hasattr(os, "sched_getaffinity") else None


@functools.lru_cache(maxsize=None)
def _darwin_physical_cpus():
    try:
        out = subprocess.run(["sysctl", "-n", "hw.physicalcpu"], capture_output=True,
                             text=True, timeout=5).stdout
        return int(out.strip())
    except (OSError, ValueError, subprocess.SubprocessError):
        return None


def physical_cores():
    """CPU cores this process may use, counting a core's hyper-threads once.

    Reads Linux's CPU topology for the CPUs in the affinity mask; on macOS asks
    ``sysctl hw.physicalcpu``; elsewhere returns the logical CPU count."""
    cpus = _affinity_set()
    if cpus is None:
        logical = _affinity()[0]
        mac = _darwin_physical_cpus() if sys.platform == "darwin" else None
        return min(logical, mac or logical)
    cores = set()
    for cpu in cpus:
        try:
            with open(f"/sys/devices/system/cpu/cpu{cpu}/topology/"
                      f"thread_siblings_list") as f:
                cores.add(f.read().strip())  # e.g. "0,4": one core, two threads
        except OSError:
            return len(cpus)
    return len(cores) or 1


def _unescape(path):
    """mountinfo writes a space as \\040 (octal escapes)."""
    return re.sub(r"\\([0-7]{3})", lambda m: chr(int(m.group(1), 8)), path)


def _cgroup_cpu_dirs(cgroup_text, mountinfo_text):
    """[(version, folder)] of this process's cgroups that can limit the CPU."""
    paths = {}  # version -> the process's path in that hierarchy
    for line in cgroup_text.splitlines():
        parts = line.split(":", 2)
        if len(parts) != 3:
            continue
        if parts[0] == "0" and parts[1] == "":
            paths[2] = parts[2]
        elif "cpu" in parts[1].split(","):
            paths[1] = parts[2]
    found = []
    for line in mountinfo_text.splitlines():
        fields = line.split()
        if " - " not in line or len(fields) < 5:
            continue
        root, mount = _unescape(fields[3]), _unescape(fields[4])
        after = line.split(" - ", 1)[1].split()
        fstype, opts = after[0], (after[2] if len(after) > 2 else "")
        version = 2 if fstype == "cgroup2" else 1 if fstype == "cgroup" else None
        if version is None or version not in paths:
            continue
        if version == 1 and "cpu" not in opts.split(","):
            continue
        path = paths[version]
        rel = path[len(root):] if path.startswith(root) else ""
        found.append((version, Path(mount), Path(mount + "/" + rel.strip("/"))))
    return found


def _read_quota(version, folder):
    """CPUs allowed by the quota in ``folder`` (a float), or None."""
    try:
        if version == 2:
            quota, period = (folder / "cpu.max").read_text().split()[:2]
            return None if quota == "max" else int(quota) / int(period)
        quota = int((folder / "cpu.cfs_quota_us").read_text())
        period = int((folder / "cpu.cfs_period_us").read_text())
        return quota / period if quota > 0 and period > 0 else None
    except (OSError, ValueError):
        return None


def cgroup_cpu_quota(proc="/proc/self"):
    """The CPUs the cgroup quota allows this process (e.g. 1.5), or None.

    Reads ``cpu.max`` (cgroup v2) or ``cpu.cfs_quota_us``/``cpu.cfs_period_us``
    (v1) in the process's own cgroup and every parent up to the mount point,
    and returns the tightest; ``proc`` is there for the tests."""
    try:
        cgroups = Path(proc, "cgroup").read_text()
        mounts = Path(proc, "mountinfo").read_text()
    except OSError:  # not Linux, or /proc hidden
        return None
    limits = []
    for version, mount, folder in _cgroup_cpu_dirs(cgroups, mounts):
        while True:
            quota = _read_quota(version, folder)
            if quota is not None:
                limits.append(quota)
            if folder == mount or folder == folder.parent:
                break
            folder = folder.parent
    return min(limits) if limits else None


def usable_cpus():
    """(cores this process may keep busy, one line saying why)."""
    logical, source = _affinity()
    cores = min(physical_cores(), logical)
    why = [f"{logical} CPUs in the {source}"]
    if cores < logical:
        why.append(f"{cores} physical cores")
    quota = cgroup_cpu_quota()
    if quota is not None:
        why.append(f"cgroup quota {quota:g} CPUs")
        cores = min(cores, max(1, math.floor(quota)))
    return max(1, cores), ", ".join(why)


# ------------------------------------------------------------ the user's choice

def requested(settings=None):
    """What ``D2L_THREADS`` asks for: 'auto', 'off' or a whole number >= 1
    (``settings.threads``, or the environment's now)."""
    return settings_now(settings).threads


def _user_env(tab):
    """The own thread variable of tab ``tab``'s framework that the user set, as 'VAR=value'."""
    names = ["OMP_NUM_THREADS"]
    if tab == "mxnet" and not _mxnet_env_is_ours():
        names.insert(0, "MXNET_OMP_MAX_THREADS")
    for name in names:
        if os.environ.get(name, "").strip():
            return f"{name}={os.environ[name]}"
    return None


def fair_share(usable, entries, name):
    """Threads for training ``name`` among ``entries``: ``usable // n``, the
    remainder going to the earliest trainings; at least 1."""
    order = sorted(entries, key=lambda k: (entries[k]["started"], k))
    n = max(1, len(order))
    rank = order.index(name) if name in order else n - 1
    return max(1, usable // n + (1 if rank < usable % n else 0))


# ------------------------------------------------------------ one training

class TrainingShare:
    """One training's place in the registry; ``training.fit`` uses it as::

        share = cpu.TrainingShare(backend, device)  # before the first epoch
        share.rebalance()                           # before every epoch
        share.leave()                               # in ``finally``

    ``backend`` (a :class:`~d2l_helpers.backend.Backend`) reads and sets the
    framework's threads (``get_threads``, ``set_threads``); ``threads`` is the
    count the framework reports after each change.  A training on
    a GPU takes no share of the CPU.  Never raises
    because of the registry: if its folder cannot be written, the training
    runs alone with one notice."""

    STALE_AFTER = 600.0  # seconds without an update, at least (see _entry)
    CHECK_EVERY = 0.2    # seconds between two looks at the registry in check()
    # (a look reads one small file per training, about 1 ms for four: 0.5% of the time)

    def __init__(self, backend, device="cpu", registry=None, settings=None):
        settings = settings_now(settings)
        self.backend = backend
        self.tab = tab = backend.tab
        self.registry = registry or Registry(settings=settings)
        self.name = f"{os.getpid()}-{id(self):x}"
        self.started = time.time()
        self.mode = settings.threads
        if re.match(r"(cuda|gpu)", str(device)):
            self.mode = "off"  # trains on a GPU: takes no share of the CPU
        self.fixed = _fixed(backend, self.mode)
        self.usable, self.why = usable_cpus()
        # MXNet changes its count only with the naive engine (its threads are fixed at
        # import); JAX never (XLA sizes its pool once, when JAX starts)
        self.dynamic = tab != "jax" and (tab != "mxnet" or mxnet_is_dynamic())
        if tab == "mxnet" and self.dynamic:
            self.usable = min(self.usable, mxnet_ceiling())
        self.others = 0
        self.threads = self.fixed[0] if self.fixed else backend.get_threads()
        self._written = self._last_call = self._longest_gap = 0.0
        self.ok = True
        if self.mode != "off":
            _active.append(self)
            self.rebalance()
            notice_once(("threads", tab), self.describe())

    def _entry(self, now):
        expires = now + max(self.STALE_AFTER, 3 * self._longest_gap)
        return {"pid": os.getpid(), "tab": self.tab,
                "started": self.started, "expires": expires, "threads": self.threads}

    def rebalance(self):
        """Update the registry; give PyTorch its fair share of threads now."""
        if self.mode == "off":
            return self.threads
        now = time.time()
        if self._last_call:
            self._longest_gap = max(self._longest_gap, now - self._last_call)
        self._last_call = now
        if now - self._written > self.STALE_AFTER / 4:
            try:
                self.registry.write(self.name, self._entry(now))
                self._written, self.ok = now, True
            except OSError as e:  # tried again next time (a Windows file in use)
                self.ok = False
                notice_once("registry", f"d2l_helpers: cannot write {self.registry.dir} "
                            f"({e.strerror or e}); this training will not share the "
                            f"CPU with other trainings on this machine")
        entries = self.registry.live(now) if self.ok else {}
        entries.setdefault(self.name, self._entry(now))
        self.others = len(entries) - 1
        if self.fixed or not self.dynamic:
            return self.threads  # MXNet's pool was fixed at import
        share = fair_share(self.usable, entries, self.name)
        if share != self.threads:
            self.backend.set_threads(share)
            self.threads = self.backend.get_threads()
        return self.threads

    def describe(self):
        """One line: how many threads, and why."""
        title = TABS[self.tab].title if self.tab in TABS else self.tab
        head = (f"d2l_helpers: {title} computes with {self.threads} CPU "
                f"thread{'s' if self.threads > 1 else ''}")
        if self.fixed:
            return f"{head} ({self.fixed[1]})"
        mine = (f"{self.usable} cores usable ({self.why})")
        if self.tab == "jax":
            return (f"{head}, {mine}: XLA sizes its thread pool once, when JAX "
                    f"starts, and does not share the cores with other trainings")
        if not self.dynamic:
            return (f"{head}, its share when MXNet was imported: {mine}; MXNet keeps "
                    f"this count (its engine is not {NAIVE}: {_engine_reason()}; set "
                    f"D2L_THREADS to choose another count before import)")
        n = self.others + 1
        engine = f" (MXNet's {NAIVE}: operators run in this thread)" \
            if self.tab == "mxnet" else ""
        return (f"{head}: {mine}, {n} training{'s' if n > 1 else ''} running on "
                f"this machine, re-checked as it trains{engine} (D2L_THREADS=n fixes it)")

    def leave(self):
        if self in _active:
            _active.remove(self)
        self.registry.remove(self.name)


_active = []  # the TrainingShare of the training running in this process, if any


def check():
    """Rebalance the running training if it has not looked for a while.

    Cheap enough for every minibatch (one clock read): the training loop
    (``backend.train_epoch_fn``, every framework) calls it, so that a training adapts within a fifth of a second
    when another one starts, not only at its next epoch."""
    if _active:
        share = _active[-1]
        if time.time() - share._last_call >= share.CHECK_EVERY:
            share.rebalance()


def _fixed(b, mode):
    """(threads, reason) when the user fixed the count, else None."""
    if isinstance(mode, int):
        if b.tab == "mxnet" and _user_env("mxnet"):
            return b.get_threads(), f"set by {_user_env('mxnet')}"
        return mode, f"D2L_THREADS={mode}"
    env = _user_env(b.tab)
    return (b.get_threads(), f"set by {env}") if env else None


# ------------------------------------------------------------ MXNet at run time

def mxnet_is_dynamic():
    """True when MXNet runs every operator in the calling thread (the naive
    engine, set by :func:`set_mxnet_threads`), so ``d2l_helpers.mxnet``'s
    ``set_threads`` changes how many threads it computes with."""
    return (os.environ.get("MXNET_ENGINE_TYPE") == NAIVE
            and os.environ.get(_OURS_ENGINE) == NAIVE
            and _mxnet_env_is_ours())


def _mxnet_env_is_ours():
    ours = os.environ.get(_OURS)
    return bool(ours) and os.environ.get("MXNET_OMP_MAX_THREADS") == ours


def mxnet_ceiling():
    """The most threads MXNet can use in this process (fixed at its import)."""
    value = os.environ.get("MXNET_OMP_MAX_THREADS", "").strip()
    return int(value) if value.isdigit() and int(value) > 0 else mxnet_threads()


@functools.lru_cache(maxsize=None)
def _mxnet_cuda_build():
    """True if a CUDA build of MXNet (``mxnet-cu112``, ...) is installed: the
    naive engine would make its GPU work synchronous, so it is left alone.
    Looks for the build's ``.dist-info`` beside the package, without importing it."""
    import importlib.util
    try:
        spec = importlib.util.find_spec("mxnet")
    except (ImportError, ValueError):
        return False
    if spec is None or not spec.origin:
        return False
    site = Path(spec.origin).parent.parent
    return any(site.glob("mxnet_cu*.dist-info")) or any(site.glob("mxnet_cu*.egg-info"))


def _engine_reason():
    if "MXNET_ENGINE_TYPE" in os.environ and os.environ.get(_OURS_ENGINE) != \
            os.environ["MXNET_ENGINE_TYPE"]:
        return f"MXNET_ENGINE_TYPE={os.environ['MXNET_ENGINE_TYPE']} was set by the user"
    if requested() != "auto":
        return f"D2L_THREADS={requested()}"
    if _mxnet_cuda_build():
        return "a CUDA build of MXNet is installed"
    return "MXNet was imported before d2l_helpers"


# ------------------------------------------------------------ at import

def _initial_share():
    """Threads for a training that starts now: a share among the running ones."""
    usable = usable_cpus()[0]
    try:
        others = len(Registry().live())
    except OSError:
        others = 0
    return max(1, usable // (others + 1))


def mxnet_threads():
    """The OpenMP threads MXNet computes with (or will, once imported).

    MXNet 1.9 reads ``MXNET_OMP_MAX_THREADS``, else ``OMP_NUM_THREADS``, else
    on x86 half of the logical CPUs (it assumes two hyper-threads per core),
    once, at its import."""
    for var in ("MXNET_OMP_MAX_THREADS", "OMP_NUM_THREADS"):
        value = os.environ.get(var, "").split(",")[0].strip()
        if value.isdigit() and int(value) > 0:
            return int(value)
    halves = platform.machine().lower() in ("x86_64", "amd64", "i386", "i686")
    return max(1, _affinity()[0] // (2 if halves else 1))


def set_mxnet_threads(notice=True):
    """Choose MXNet's thread count before ``import mxnet``; return it.

    Importing ``d2l_helpers.mxnet`` calls this (before ``import mxnet``),
    and so does ``%load_ext d2l_helpers.tab`` when the MXNet tab is active;
    ``import d2l_helpers`` alone does not.  MXNet reads the variable once,
    when it is first imported.  If MXNet was
    imported first, say so once (``notice``)."""
    mode = requested()
    if mode == "off" or _user_env("mxnet"):
        return mxnet_threads()
    threads = mode if isinstance(mode, int) else _initial_share()
    if "mxnet" not in sys.modules:
        engine = os.environ.get("MXNET_ENGINE_TYPE")
        users_engine = engine is not None and os.environ.get(_OURS_ENGINE) != engine
        if mode == "auto" and not users_engine and not _mxnet_cuda_build():
            # operators in the calling thread, up to all usable cores; the share
            # itself is set in that thread (configure, TrainingShare.rebalance)
            os.environ["MXNET_ENGINE_TYPE"] = os.environ[_OURS_ENGINE] = NAIVE
            os.environ["MXNET_OMP_MAX_THREADS"] = os.environ[_OURS] = str(usable_cpus()[0])
        else:
            if engine is not None and not users_engine:  # inherited from our parent
                del os.environ["MXNET_ENGINE_TYPE"], os.environ[_OURS_ENGINE]
            os.environ["MXNET_OMP_MAX_THREADS"] = os.environ[_OURS] = str(threads)
        return threads
    if mxnet_is_dynamic():  # MXNet read our settings: the count is set per thread
        return threads
    now = mxnet_threads()  # too late: MXNet has chosen already
    if notice and now != threads:
        notice_once("mxnet-threads", f"MXNet was imported before d2l_helpers and "
                    f"computes with {now} CPU threads instead of {threads}; import "
                    f"d2l_helpers first, or set MXNET_OMP_MAX_THREADS={threads}")
    return now


def prepare_mxnet():
    """Before ``import mxnet``, in a process that trains with MXNet (the MXNet
    tab, ``d2l_helpers.mxnet``): with the naive engine, idle OpenMP threads
    spin only briefly (``GOMP_SPINCOUNT``), unless the user set
    ``GOMP_SPINCOUNT`` or ``OMP_WAIT_POLICY``.  Not done for PyTorch, which
    has its own copy of libgomp and its own thread pool."""
    if ("mxnet" in sys.modules or not mxnet_is_dynamic()
            or "OMP_WAIT_POLICY" in os.environ):
        return
    spin = os.environ.get("GOMP_SPINCOUNT")
    if spin is None or spin == os.environ.get(_OURS_SPIN):
        os.environ["GOMP_SPINCOUNT"] = os.environ[_OURS_SPIN] = GOMP_SPIN


def configure(b):
    """What ``d2l_helpers.torch``/``.mxnet`` call once their framework is
    imported (``b``: their Backend); returns the threads it computes with.

    Sets glibc's memory reuse, and the framework's thread count to this
    training's share now (``fit`` re-checks it as it trains), unless
    ``D2L_THREADS=off`` or the user set the framework's own variable.  MXNet
    must also have had :func:`set_mxnet_threads` and :func:`prepare_mxnet`
    before its import."""
    keep_freed_memory_for_reuse()
    mode = requested()
    fixed_at_import = (b.tab == "mxnet" and not mxnet_is_dynamic()  # noticed before import
                       or b.tab == "jax")  # XLA sizes its own pool when JAX starts
    if mode == "off" or _user_env(b.tab) or fixed_at_import:
        return b.get_threads()
    b.set_threads(mode if isinstance(mode, int) else _initial_share())
    return b.get_threads()


# ------------------------------------------------------------ memory

M_TRIM_THRESHOLD, M_MMAP_THRESHOLD = -1, -3  # glibc's mallopt parameter numbers
MALLOC_MMAP_MAX = 32 * 2**20  # glibc's own upper limit for the dynamic threshold


@functools.lru_cache(maxsize=None)
def keep_freed_memory_for_reuse():
    """Let glibc reuse freed tensor memory instead of returning it to the OS.

    glibc serves each allocation above 128 KB with a fresh ``mmap`` and gives
    it back on ``free``.  It raises that limit by itself after it sees such
    blocks freed, but in our fresh training processes that did not happen
    soon enough: the steps mapped their activations anew and page-faulted on
    every page, 1.7 million page faults and 4.3 s of kernel time in a 20-epoch
    run of the chapter's model on 2 cores (a quarter of the wall time).  Setting
    the limits to the values glibc would adopt itself (32 MB for ``mmap``,
    64 MB of free heap kept) removes that cost.  Linux with glibc only; an
    explicit ``MALLOC_MMAP_THRESHOLD_`` in the environment wins.  Returns
    whether the setting was made."""
    if not sys.platform.startswith("linux") or "MALLOC_MMAP_THRESHOLD_" in os.environ:
        return False
    try:
        import ctypes
        libc = ctypes.CDLL(None)
        if not hasattr(libc, "mallopt") or not hasattr(libc, "gnu_get_libc_version"):
            return False  # musl and other C libraries: leave them alone
        return bool(libc.mallopt(M_MMAP_THRESHOLD, MALLOC_MMAP_MAX)
                    and libc.mallopt(M_TRIM_THRESHOLD, 2 * MALLOC_MMAP_MAX))
    except (OSError, AttributeError):
        return False


def env(threads=None):
    """What importing d2l_helpers sets in a process, as environment variables,
    so that another program (the book's loop in ``tools/bench.py``) can run
    with the same settings.  ``threads`` defaults to this process's share."""
    n = str(threads or _initial_share())
    naive = {} if _mxnet_cuda_build() else {"MXNET_ENGINE_TYPE": NAIVE}
    return {"OMP_NUM_THREADS": n, "MXNET_OMP_MAX_THREADS": n, **naive,
            "MALLOC_MMAP_THRESHOLD_": str(MALLOC_MMAP_MAX),
            "MALLOC_TRIM_THRESHOLD_": str(2 * MALLOC_MMAP_MAX)}
