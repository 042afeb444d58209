"""Names of compute devices, for result tables and the training summary.

``try_gpu``/``try_all_gpus`` live in the framework modules (they return a
framework's device object); this module only turns a device into words.
The process settings for the CPU (threads, memory) are in :mod:`d2l_helpers.cpu`.
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
    """The name of GPU ``i``, as nvidia-smi gives it (else 'GPU i')."""
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
