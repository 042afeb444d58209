"""The CPU settings of d2l_helpers.cpu: thread counts from the process's share
of the machine (affinity mask, cgroup quota), the registry of running
trainings and its fair share, ``D2L_THREADS``, and the settings made at import.

No timings here: the speed of these settings is measured by
``tools/bench_shared.py`` (``make bench``)."""
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import require_tab

from d2l_helpers import config, cpu, notices, registry

ROOT = Path(__file__).resolve().parents[1]


def _torch():
    """PyTorch's Backend: how a training reads and sets its threads."""
    from d2l_helpers import torch as d2l
    return d2l.BACKEND


def _fresh_python(code, **env):
    """Run ``code`` in a new interpreter (these settings act at import time)."""
    full = {k: v for k, v in os.environ.items()
            if k not in ("OMP_NUM_THREADS", "MXNET_OMP_MAX_THREADS", "D2L_THREADS",
                         "MALLOC_MMAP_THRESHOLD_", cpu._OURS, "MXNET_ENGINE_TYPE",
                         cpu._OURS_ENGINE, "GOMP_SPINCOUNT", cpu._OURS_SPIN,
                         "OMP_WAIT_POLICY")}
    full.update(env)
    out = subprocess.run([sys.executable, "-c", code], env=full, cwd=ROOT,
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    return json.loads(out.stdout.strip().splitlines()[-1])


@pytest.fixture(autouse=True)
def _own_registry(tmp_path, monkeypatch):
    """Each test sees its own registry, not the trainings running on this machine."""
    monkeypatch.setenv("D2L_TRAININGS_DIR", str(tmp_path / "trainings"))
    for var in ("D2L_THREADS", "OMP_NUM_THREADS", "MXNET_OMP_MAX_THREADS"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setattr(cpu, "_active", [])
    notices.forget("registry")
    import torch
    threads = torch.get_num_threads()
    yield
    torch.set_num_threads(threads)  # the tests below give torch up to 8


# ------------------------------------------------------------ cgroup quota

def _fake_proc(tmp_path, cgroup, mounts):
    proc = tmp_path / "proc"
    proc.mkdir()
    (proc / "cgroup").write_text(cgroup)
    (proc / "mountinfo").write_text(mounts)
    return str(proc)


def test_cgroup_v2_cpu_max_is_read_from_the_process_cgroup_and_its_parents(tmp_path):
    root = tmp_path / "sys fs"  # a space, escaped as \040 in mountinfo
    (root / "hub" / "user-ada").mkdir(parents=True)
    (root / "hub" / "cpu.max").write_text("150000 100000\n")         # 1.5 CPUs
    (root / "hub" / "user-ada" / "cpu.max").write_text("max 100000\n")
    mount = str(root).replace(" ", "\\040")
    proc = _fake_proc(tmp_path, "0::/hub/user-ada\n",
                      f"30 23 0:26 / {mount} rw,nosuid - cgroup2 cgroup2 rw\n")
    assert cpu.cgroup_cpu_quota(proc) == 1.5
    (root / "hub" / "user-ada" / "cpu.max").write_text("50000 100000\n")
    assert cpu.cgroup_cpu_quota(proc) == 0.5  # the tightest limit wins
    (root / "hub" / "cpu.max").write_text("max 100000\n")
    (root / "hub" / "user-ada" / "cpu.max").write_text("max 100000\n")
    assert cpu.cgroup_cpu_quota(proc) is None


def test_cgroup_v1_quota_and_a_container_mount_root(tmp_path):
    # Inside a container the hierarchy's root is mounted at /sys/fs/cgroup/cpu.
    mount = tmp_path / "cpu"
    mount.mkdir()
    (mount / "cpu.cfs_quota_us").write_text("200000\n")
    (mount / "cpu.cfs_period_us").write_text("100000\n")
    proc = _fake_proc(tmp_path, "4:cpu,cpuacct:/docker/abc\n1:memory:/docker/abc\n",
                      f"40 31 0:37 /docker/abc {mount} rw - cgroup cgroup rw,cpu,cpuacct\n")
    assert cpu.cgroup_cpu_quota(proc) == 2.0
    (mount / "cpu.cfs_quota_us").write_text("-1\n")
    assert cpu.cgroup_cpu_quota(proc) is None


def test_no_cgroup_information_means_no_quota(tmp_path):
    assert cpu.cgroup_cpu_quota(str(tmp_path / "missing")) is None
    proc = _fake_proc(tmp_path, "garbage\n", "also garbage\n")
    assert cpu.cgroup_cpu_quota(proc) is None


def test_a_quota_caps_the_threads_and_is_named(monkeypatch):
    monkeypatch.setattr(cpu, "cgroup_cpu_quota", lambda: 1.5)
    monkeypatch.setattr(cpu, "physical_cores", lambda: 8)
    monkeypatch.setattr(cpu, "_affinity", lambda: (8, "affinity mask"))
    assert cpu.usable_cpus() == (1, "8 CPUs in the affinity mask, cgroup quota 1.5 CPUs")
    monkeypatch.setattr(cpu, "cgroup_cpu_quota", lambda: 0.25)
    assert cpu.usable_cpus()[0] == 1  # never 0
    monkeypatch.setattr(cpu, "cgroup_cpu_quota", lambda: None)
    monkeypatch.setattr(cpu, "physical_cores", lambda: 4)  # hyper-threads
    assert cpu.usable_cpus() == (4, "8 CPUs in the affinity mask, 4 physical cores")


def _cpu_cgroup_v1():
    """A folder where this machine lets us create a cgroup with a CPU quota."""
    base = Path("/sys/fs/cgroup/cpu")
    if sys.platform != "linux" or not (base / "cpu.cfs_quota_us").exists():
        return None
    return base if os.access(base, os.W_OK) else None


def test_a_real_temporary_cgroup_quota_is_respected():
    base = _cpu_cgroup_v1()
    if base is None:
        pytest.skip("no writable cgroup v1 cpu hierarchy here (the file-based "
                    "tests above cover the parsing)")
    group = base / f"d2l-test-{os.getpid()}"
    try:
        group.mkdir()
        (group / "cpu.cfs_period_us").write_text("100000")
        (group / "cpu.cfs_quota_us").write_text("100000")  # one CPU
    except OSError as e:
        pytest.skip(f"cannot create a cgroup here: {e}")
    try:
        code = (f"import json, os; open({str(group / 'cgroup.procs')!r}, 'w')"
                f".write(str(os.getpid()))\n"
                "from d2l_helpers import cpu; "
                "print(json.dumps([cpu.cgroup_cpu_quota(), cpu.usable_cpus()[0]]))")
        assert _fresh_python(code) == [1.0, 1]
    finally:
        group.rmdir()


# ------------------------------------------------------------ affinity mask

@pytest.mark.skipif(not hasattr(os, "sched_setaffinity"), reason="Linux only")
def test_a_restricted_affinity_mask_gives_one_thread():
    allowed = sorted(os.sched_getaffinity(0))
    if len(allowed) < 2:
        pytest.skip("this process may run on one CPU only: nothing to restrict")
    code = (f"import json, os; os.sched_setaffinity(0, {{{allowed[0]}}})\n"
            "from d2l_helpers import torch as d2l, cpu; import torch\n"
            "print(json.dumps([cpu.usable_cpus()[0], cpu.physical_cores(), "
            "torch.get_num_threads()]))")
    assert _fresh_python(code) == [1, 1, 1]


def test_physical_cores_is_within_the_logical_count():
    assert 1 <= cpu.physical_cores() <= (os.cpu_count() or 1)


# ------------------------------------------------------------ D2L_THREADS

@pytest.mark.parametrize("value", ["0", "-2", "two", "1.5", "max"])
def test_a_bad_d2l_threads_is_a_clear_error(monkeypatch, value):
    monkeypatch.setenv("D2L_THREADS", value)
    with pytest.raises(config.ConfigError, match=r"D2L_THREADS=.*whole number >= 1"):
        cpu.requested()


@pytest.mark.parametrize("value, expected", [("", "auto"), ("auto", "auto"), (" AUTO ", "auto"),
                                             ("off", "off"), ("3", 3), (" 1", 1)])
def test_good_d2l_threads_values(monkeypatch, value, expected):
    monkeypatch.setenv("D2L_THREADS", value)
    assert cpu.requested() == expected


def test_a_bad_d2l_threads_stops_the_import_with_the_remedy():
    out = subprocess.run([sys.executable, "-c", "from d2l_helpers import torch"], cwd=ROOT,
                         env=dict(os.environ, D2L_THREADS="many"),
                         capture_output=True, text=True, timeout=120)
    assert out.returncode != 0 and "use a whole number >= 1" in out.stderr


def test_d2l_threads_fixes_both_frameworks():
    code = ("import json, os; from d2l_helpers import torch as d2l, cpu; import torch\n"
            "cpu.set_mxnet_threads()  # what importing d2l_helpers.mxnet does first\n"
            "print(json.dumps([torch.get_num_threads(), os.environ['MXNET_OMP_MAX_THREADS']]))")
    assert _fresh_python(code, D2L_THREADS="3") == [3, "3"]


def test_omp_num_threads_of_the_user_is_left_alone():
    code = ("import json, os; from d2l_helpers import torch as d2l; import torch\n"
            "print(json.dumps([torch.get_num_threads(), "
            "os.environ.get('MXNET_OMP_MAX_THREADS')]))")
    assert _fresh_python(code, OMP_NUM_THREADS="1") == [1, None]


# ------------------------------------------------------------ the registry

@pytest.fixture
def live_pid():
    """The pid of a process that runs for the whole test."""
    p = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])
    yield p.pid
    p.kill()
    p.wait()


def _fake_training(reg, name, pid, started, expires=None):
    reg.write(name, {"pid": pid, "tab": "pytorch", "started": started,
                     "expires": expires or time.time() + 600, "threads": 1})


def _share(monkeypatch, usable, reg):
    monkeypatch.setattr(cpu, "usable_cpus", lambda: (usable, "test"))
    return cpu.TrainingShare(_torch(), registry=reg)


def test_two_trainings_get_half_the_cores_each(monkeypatch, tmp_path, live_pid, capsys):
    from d2l_helpers import notices
    notices.forget()  # an earlier test's training may have given the threads notice already
    reg = registry.Registry(tmp_path / "reg")
    share = _share(monkeypatch, 8, reg)
    assert share.threads == 8 and share.others == 0
    _fake_training(reg, "other", live_pid, started=time.time())
    assert share.rebalance() == 4 and share.others == 1
    assert cpu.fair_share(8, reg.live(), "other") == 4
    share.leave()
    assert set(reg.live()) == {"other"}
    assert "re-checked as it trains" in capsys.readouterr().out


def test_an_odd_core_goes_to_the_earliest_training(tmp_path, live_pid):
    reg = registry.Registry(tmp_path / "reg")
    for name, started in (("a", 1.0), ("b", 2.0)):
        _fake_training(reg, name, live_pid, started)
    entries = reg.live()
    assert [cpu.fair_share(3, entries, n) for n in ("a", "b")] == [2, 1]
    assert cpu.fair_share(1, entries, "b") == 1  # never 0 threads


def test_dead_and_expired_trainings_are_ignored_and_removed(monkeypatch, tmp_path, live_pid):
    reg = registry.Registry(tmp_path / "reg")
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    _fake_training(reg, "dead", dead.pid, started=0.0)
    _fake_training(reg, "expired", live_pid, started=0.0, expires=time.time() - 1)
    (reg.dir / "half-written.json").write_text('{"pid": ')
    share = _share(monkeypatch, 4, reg)
    assert share.threads == 4 and share.others == 0
    assert not (reg.dir / "dead.json").exists() and not (reg.dir / "expired.json").exists()


def test_an_unwritable_registry_falls_back_with_one_notice(monkeypatch, tmp_path, capsys):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    reg = registry.Registry(blocker / "trainings")  # cannot be created, even by root
    share = _share(monkeypatch, 4, reg)
    assert share.threads == 4 and share.rebalance() == 4
    share2 = _share(monkeypatch, 4, reg)
    share2.leave()
    out = capsys.readouterr().out
    assert out.count("will not share the CPU") == 1 and str(reg.dir) in out


def test_fit_gives_pytorch_a_fair_share_between_epochs(monkeypatch, tmp_path, live_pid):
    """training.fit re-checks the registry before each epoch."""
    import torch
    from d2l_helpers import training
    monkeypatch.setattr(cpu, "usable_cpus", lambda: (4, "test"))
    reg = registry.Registry()
    seen = []

    def train_epoch():
        seen.append(torch.get_num_threads())
        if len(seen) == 1:  # another kernel starts training
            _fake_training(reg, "other", live_pid, started=time.time())
        return 1.0, 10

    run = training.Run(train_epoch=train_epoch, evaluate=lambda: float("nan"),
                       predict=lambda p: p, snapshot=lambda: None,
                       restore=lambda s: None)
    training.fit(run, num_epochs=2, lr=1, device="cpu", backend=_torch(), valid_every=5)
    assert seen == [4, 2]
    assert set(reg.live()) == {"other"}  # the finished training left the registry


def test_d2l_threads_off_leaves_the_framework_alone(monkeypatch, tmp_path):
    monkeypatch.setenv("D2L_THREADS", "off")
    reg = registry.Registry(tmp_path / "reg")
    share = cpu.TrainingShare(_torch(), registry=reg)
    assert share.rebalance() == share.threads and not reg.dir.exists()


def test_a_gpu_training_takes_no_share_of_the_cpu(tmp_path):
    reg = registry.Registry(tmp_path / "reg")
    cpu.TrainingShare(_torch(), "cuda:0", registry=reg).rebalance()
    assert not reg.dir.exists()


def test_check_between_minibatches_rebalances_within_a_second(monkeypatch, tmp_path, live_pid):
    reg = registry.Registry(tmp_path / "reg")
    share = _share(monkeypatch, 8, reg)
    try:
        _fake_training(reg, "other", live_pid, started=time.time())
        cpu.check()  # looked just now: does not look again
        assert share.threads == 8
        monkeypatch.setattr(share, "CHECK_EVERY", 0.0)
        cpu.check()
        assert share.threads == 4
    finally:
        share.leave()
    assert share not in cpu._active


# ------------------------------------------------------------ MXNet, at import

def test_mxnet_gets_this_process_share_unless_the_user_chose():
    code = ("import json, os; from d2l_helpers import mxnet as d2l, cpu; "
            "print(json.dumps([d2l.CPU_THREADS, cpu.usable_cpus()[0], "
            "os.environ.get('MXNET_OMP_MAX_THREADS')]))")
    threads, cores, env = _fresh_python(code)
    assert threads == cores and env == str(cores)
    threads, _, env = _fresh_python(code, OMP_NUM_THREADS="1")
    assert threads == 1 and env is None  # the user's choice is left alone


def test_mxnet_takes_its_share_among_running_trainings(tmp_path, live_pid):
    reg = registry.Registry(tmp_path / "reg")
    _fake_training(reg, "other", live_pid, started=time.time())
    code = ("import json; from d2l_helpers import mxnet as d2l, cpu; "
            "print(json.dumps([d2l.CPU_THREADS, cpu.usable_cpus()[0]]))")
    threads, cores = _fresh_python(code, D2L_TRAININGS_DIR=str(reg.dir))
    assert threads == max(1, cores // 2)


def test_an_inherited_setting_of_ours_is_not_taken_for_the_user_s():
    # A child process of a kernel inherits the MXNET_OMP_MAX_THREADS we set.
    require_tab("mxnet")
    code = ("import json; from d2l_helpers import mxnet as d2l; "
            "print(json.dumps(d2l.CPU_THREADS))")
    assert _fresh_python(code, MXNET_OMP_MAX_THREADS="7", **{cpu._OURS: "7"}) != 7
    assert _fresh_python(code, MXNET_OMP_MAX_THREADS="7") == 7


def test_the_notebooks_import_order_still_sets_mxnet_threads():
    # The notebooks load d2l_helpers.tab first (%load_ext), then `import mxnet`,
    # then `from d2l_helpers import mxnet as d2l`.
    code = ("import json, types, d2l_helpers.tab as tab\n"
            "tab.load_ipython_extension(types.SimpleNamespace(input_transformers_post=[], "
            "register_magic_function=lambda *a, **k: None))\n"
            "import mxnet; from d2l_helpers import mxnet as d2l, "
            "cpu; print(json.dumps([d2l.CPU_THREADS, cpu.usable_cpus()[0]]))")
    threads, cores = _fresh_python(code, D2L_TAB="mxnet")
    assert threads == cores


def test_importing_mxnet_first_is_told_once():
    code = ("import json, io, contextlib, mxnet; out = io.StringIO()\n"
            "with contextlib.redirect_stdout(out):\n"
            "    from d2l_helpers import mxnet as d2l, cpu\n"
            "print(json.dumps([d2l.CPU_THREADS, cpu.usable_cpus()[0], out.getvalue()]))")
    threads, cores, said = _fresh_python(code)
    if threads != cores:  # machines without hyper-threads, like CI's
        assert "imported before d2l_helpers" in said
        assert f"MXNET_OMP_MAX_THREADS={cores}" in said
    else:
        assert said == ""


def test_malloc_setting_is_made_once_and_respects_the_environment():
    code = ("import json; from d2l_helpers import cpu; "
            "print(json.dumps(cpu.keep_freed_memory_for_reuse()))")
    assert _fresh_python(code) is sys.platform.startswith("linux")
    assert _fresh_python(code, MALLOC_MMAP_THRESHOLD_="131072") is False


def test_env_describes_the_import_settings():
    env = cpu.env(3)
    assert env["OMP_NUM_THREADS"] == env["MXNET_OMP_MAX_THREADS"] == "3"
    assert int(env["MALLOC_TRIM_THRESHOLD_"]) == 2 * int(env["MALLOC_MMAP_THRESHOLD_"])


# ------------------------------------------------------------ MXNet, at run time

_BUSY_THREADS = r'''
import json, os, time
from d2l_helpers import mxnet as d2l, cpu, registry
from mxnet import np, autograd
from mxnet.gluon import rnn

def ticks():  # CPU ticks of every thread of this process
    out = {}
    for t in os.listdir("/proc/self/task"):
        with open(f"/proc/self/task/{t}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        out[t] = int(fields[11]) + int(fields[12])  # utime + stime
    return out

net = d2l.RNNModel(rnn.LSTM(256, 2), 28)
net.initialize()
X = np.zeros((32, 35))

def busy(steps=12):
    """CPU ticks of the busiest threads over a few training steps."""
    before = ticks()
    for _ in range(steps):
        with autograd.record():
            Y, _ = net(X, net.begin_state(batch_size=32))
            loss = (Y ** 2).mean()
        loss.backward()
    loss.wait_to_read()
    after = ticks()
    return sorted((after[t] - before.get(t, 0) for t in after), reverse=True)[:3]

share = cpu.TrainingShare(d2l.BACKEND)
busy(2)  # the OpenMP threads exist now
alone = [share.threads, busy()]
registry.Registry().write("other", {"pid": os.getppid(), "tab": "pytorch",
                                    "started": time.time(), "expires": time.time() + 600,
                                    "threads": 1})
share.rebalance()
shared = [share.threads, busy()]
print(json.dumps([cpu.usable_cpus()[0], os.environ.get("MXNET_ENGINE_TYPE"),
                  cpu.mxnet_is_dynamic(), alone, shared, share.describe()]))
'''


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_mxnet_runs_in_the_training_thread_and_gives_up_threads_at_run_time(tmp_path):
    """MXNet fixes its thread pool at import; with the naive engine its
    operators run in the training's thread, whose OpenMP count d2l_helpers
    changes when another training starts (here: one in the registry)."""
    require_tab("mxnet")
    usable, engine, dynamic, alone, shared, said = _fresh_python(
        _BUSY_THREADS, D2L_TRAININGS_DIR=str(tmp_path / "reg"))
    assert engine == "NaiveEngine" and dynamic
    assert "re-checked as it trains" in said
    if usable < 2:
        pytest.skip("one usable core: nothing to give up (CI has 2)")
    assert alone[0] == usable and shared[0] == usable // 2
    (main, second, _) = alone[1]
    assert second > 0.2 * main  # alone: a second thread computes too
    (main, second, _) = shared[1]
    assert second < 0.15 * main, shared  # sharing 2 cores: one thread, none spinning


def test_a_users_engine_keeps_mxnets_share_at_import():
    require_tab("mxnet")
    code = ("import json, os; from d2l_helpers import mxnet as d2l, cpu; "
            "s = cpu.TrainingShare(d2l.BACKEND); s.leave(); "
            "print(json.dumps([d2l.CPU_THREADS, os.environ.get('MXNET_OMP_MAX_THREADS'), "
            "cpu.mxnet_is_dynamic(), s.describe(), os.environ.get('GOMP_SPINCOUNT')]))")
    threads, env, dynamic, said, spin = _fresh_python(
        code, MXNET_ENGINE_TYPE="ThreadedEnginePerDevice")
    assert env == str(threads) and not dynamic and spin is None
    assert "MXNET_ENGINE_TYPE=ThreadedEnginePerDevice was set by the user" in said
    # a fixed count: MXNet's own engine, and the count at import
    threads, env, dynamic, said, spin = _fresh_python(code, D2L_THREADS="1")
    assert (threads, env, dynamic) == (1, "1", False) and "D2L_THREADS=1" in said


def test_an_inherited_engine_of_ours_is_decided_again():
    # A child process of an MXNet kernel inherits what import d2l_helpers set.
    require_tab("mxnet")
    code = ("import json, os; from d2l_helpers import mxnet as d2l, cpu; "
            "print(json.dumps([os.environ.get('MXNET_ENGINE_TYPE'), cpu.mxnet_is_dynamic()]))")
    inherited = {"MXNET_ENGINE_TYPE": "NaiveEngine", cpu._OURS_ENGINE: "NaiveEngine",
                 "MXNET_OMP_MAX_THREADS": "2", cpu._OURS: "2"}
    assert _fresh_python(code, **inherited) == ["NaiveEngine", True]
    assert _fresh_python(code, D2L_THREADS="1", **inherited) == [None, False]


def test_the_short_spin_is_for_mxnet_only_and_yields_to_the_user():
    code = ("import json, os; import d2l_helpers.{mod}; "
            "print(json.dumps(os.environ.get('GOMP_SPINCOUNT')))")
    assert _fresh_python(code.format(mod="torch")) is None  # PyTorch's libgomp: untouched
    require_tab("mxnet")
    assert _fresh_python(code.format(mod="mxnet")) == cpu.GOMP_SPIN
    assert _fresh_python(code.format(mod="mxnet"), GOMP_SPINCOUNT="5") == "5"
    assert _fresh_python(code.format(mod="mxnet"), OMP_WAIT_POLICY="PASSIVE") is None
    # the notebooks: the tab extension, then `import mxnet`
    tab = ("import json, os; from d2l_helpers import tab; tab.load_ipython_extension("
           "type('IP', (), dict(input_transformers_post=[], register_magic_function="
           "lambda *a, **k: None))()); import mxnet; "
           "print(json.dumps(os.environ.get('GOMP_SPINCOUNT')))")
    assert _fresh_python(tab, D2L_TAB="mxnet") == cpu.GOMP_SPIN


def test_a_cuda_build_of_mxnet_keeps_its_own_engine(tmp_path):
    # The naive engine would make GPU work synchronous: a CUDA build is left alone.
    (tmp_path / "mxnet").mkdir()
    (tmp_path / "mxnet" / "__init__.py").write_text("")
    (tmp_path / "mxnet_cu112-1.9.1.dist-info").mkdir()
    code = ("import json, os; from d2l_helpers import cpu; cpu.set_mxnet_threads(); "
            "print(json.dumps([os.environ.get('MXNET_ENGINE_TYPE'), cpu._mxnet_cuda_build(), "
            "cpu._engine_reason()]))")
    engine, cuda, why = _fresh_python(code, PYTHONPATH=str(tmp_path))
    assert (engine, cuda) == (None, True) and "CUDA build" in why
    assert _fresh_python(code)[:2] == ["NaiveEngine", False]
