"""Names of compute devices, for result tables and the training summary.

``try_gpu``/``try_all_gpus`` live in the framework modules (they return a
framework's device object); this module only turns a device into words.
"""
import functools
import os
import platform
import re
import subprocess
import sys

from .notices import once as notice_once  # noqa: F401  (the one notify-once registry)


@functools.lru_cache(maxsize=None)
def cpu_name():
    """The CPU model, e.g. 'AMD EPYC 7B13', with the number of cores."""
    name = ""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.lower().startswith("model name"):
                    name = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    if not name and sys.platform == "darwin":
        try:
            name = subprocess.run(["sysctl", "-n", "machdep.cpu.brand_string"],
                                  capture_output=True, text=True).stdout.strip()
        except OSError:
            pass
    name = name or platform.processor() or platform.machine() or "unknown CPU"
    return f"{name} ({os.cpu_count()} cores)"


@functools.lru_cache(maxsize=None)
def gpu_name(i=0):
    """The name of GPU ``i`` (asks torch if loaded, else nvidia-smi)."""
    torch = sys.modules.get("torch")
    if torch is not None and torch.cuda.is_available():
        return torch.cuda.get_device_name(i)
    try:
        out = subprocess.run(["nvidia-smi", "--query-gpu=name",
                              "--format=csv,noheader"], capture_output=True,
                             text=True, timeout=10).stdout.splitlines()
        return out[i].strip()
    except (OSError, IndexError, subprocess.SubprocessError):
        return f"GPU {i}"


def describe_device(device):
    """Words for a torch device or an MXNet context: 'CPU: …' or 'GPU: …'."""
    text = str(device)
    m = re.match(r"(cuda|gpu)[:(]?(\d*)", text)
    if m:
        return f"GPU: {gpu_name(int(m.group(2) or 0))}"
    return f"CPU: {cpu_name()}"


def physical_cores():
    """CPU cores this process may use, counting a core's hyper-threads once.

    Reads Linux's CPU topology; elsewhere returns the logical CPU count."""
    try:
        cpus = os.sched_getaffinity(0)
    except AttributeError:  # macOS, Windows
        return os.cpu_count() or 1
    cores = set()
    for cpu in cpus:
        try:
            with open(f"/sys/devices/system/cpu/cpu{cpu}/topology/"
                      f"thread_siblings_list") as f:
                cores.add(f.read().strip())  # e.g. "0,4": one core, two threads
        except OSError:
            return len(cpus)
    return len(cores) or 1


def mxnet_cpu_threads(notice=True):
    """Give MXNet one thread per physical core; return the count it will use.

    On x86, MXNet 1.9 assumes every core has two hyper-threads and uses half
    of the logical CPUs, unless ``OMP_NUM_THREADS`` or ``MXNET_OMP_MAX_THREADS``
    is set.  On a machine without hyper-threads (most cloud VMs, many
    laptops) that leaves half of the cores idle: on a 2-core VM MXNet trains
    on one.  MXNet reads these variables once, when it is first imported, so
    this must run before ``import mxnet``: ``import d2l_helpers`` (and the
    notebooks' ``%load_ext d2l_helpers.tab``) calls it.  A value you set
    yourself wins.  If MXNet was imported first, say so once (``notice``)."""
    for var in ("OMP_NUM_THREADS", "MXNET_OMP_MAX_THREADS"):
        value = os.environ.get(var, "").split(",")[0]
        if value.strip().isdigit():
            return int(value)
    cores = physical_cores()
    if "mxnet" not in sys.modules:
        os.environ["MXNET_OMP_MAX_THREADS"] = str(cores)
        return cores
    # Too late: MXNet has chosen already.
    halves = platform.machine().lower() in ("x86_64", "amd64", "i386", "i686")
    logical = (len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity")
               else os.cpu_count() or 2)
    threads = max(1, logical // (2 if halves else 1))
    if notice and threads < cores:
        notice_once("mxnet-threads", f"MXNet was imported before d2l_helpers and "
                    f"computes with {threads} of {cores} CPU cores; import "
                    f"d2l_helpers first, or set MXNET_OMP_MAX_THREADS={cores}")
    return threads


M_TRIM_THRESHOLD, M_MMAP_THRESHOLD = -1, -3  # glibc's mallopt parameter numbers
_MALLOC_MMAP_MAX = 32 * 2**20  # glibc's own upper limit for the dynamic threshold


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
        return bool(libc.mallopt(M_MMAP_THRESHOLD, _MALLOC_MMAP_MAX)
                    and libc.mallopt(M_TRIM_THRESHOLD, 2 * _MALLOC_MMAP_MAX))
    except (OSError, AttributeError):
        return False
