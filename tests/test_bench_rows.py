"""tools/bench.py's fp32/bf16 rows and --device cuda table, and
tools/gpu_session.py, at tiny size: the workers run in this process (on the
CPU, two minibatches of the chapter's model), so the tables, the JSON record
and the clear failures are checked without a GPU and without minutes of
training."""
import json
import sys

import pytest

pytest.importorskip("torch")


@pytest.fixture
def bench(monkeypatch):
    monkeypatch.setattr(sys, "argv", ["bench.py", "--worker"])  # no registry folder
    from tools import bench
    from d2l_helpers import torch as d2l
    calls = []

    def spawn(tab, which, env_extra, **kw):
        """bench.spawn, in this process, at tiny size."""
        calls.append((which, dict(env_extra) if isinstance(env_extra, dict) else env_extra))
        with monkeypatch.context() as m:
            for k, v in (env_extra if isinstance(env_extra, dict) else {}).items():
                m.setenv(k, v)
            if which == "probe":
                out = bench.probe_precision()
            elif which == "gpuinfo":
                out = {"name": "Fake GPU", "torch": "9.9", "cuda": "0.0", "bf16": True}
            else:
                kw.pop("need_cuda", None)
                out = bench.run_once(tab, d2l, ours=which == "ours", max_tokens=2_500, **kw)
        return json.loads(json.dumps(out))  # what a worker's JSON line gives

    monkeypatch.setattr(bench, "spawn", spawn)
    bench.calls = calls
    return bench


def test_fp32_and_bf16_rows_side_by_side_where_bf16_is_native(bench, monkeypatch, capsys):
    from d2l_helpers import torch as d2l
    monkeypatch.setattr(d2l, "_cpu_bf16_native", lambda: True)
    r = bench.precision_compare(epochs=1, seeds=2)
    out = capsys.readouterr().out
    for d in ("fp32", "bf16"):
        for seed in (0, 1):
            assert f"| {d} | {seed} |" in out
    assert "bf16 / fp32:" in out and "x the tokens/s; final train perplexity" in out
    assert "for a GRU it picks fp32" in out and "LSTM" in out  # why GRU stays fp32
    runs = [c for c in bench.calls if c[0] == "ours"]
    # interleaved: seed 0 fp32 then bf16, seed 1 bf16 then fp32
    assert [c[1]["D2L_PRECISION"] for c in runs] == ["fp32", "bf16", "bf16", "fp32"]
    assert r["native"] and r["speed_ratio"] > 0 and len(r["bf16"]["runs"]) == 2
    assert {x["precision"] for x in r["bf16"]["runs"]} == {"bf16"}


def test_no_bf16_rows_where_it_is_not_native(bench, monkeypatch, capsys):
    from d2l_helpers import torch as d2l
    monkeypatch.setattr(d2l, "_cpu_bf16_native", lambda: False)
    r = bench.precision_compare(epochs=1, seeds=3)
    out = capsys.readouterr().out
    assert "bf16 is not native here, so no bf16 rows" in out
    assert "no native bf16" in out
    assert [c[0] for c in bench.calls] == ["probe"]  # nothing else ran
    assert r == {"tab": "pytorch", "native": False, "reason": r["reason"]}


def test_the_gpu_table_is_recorded_with_device_versions_and_every_loop(bench, tmp_path,
                                                                      capsys):
    path = tmp_path / "bench-gpu.json"
    rows = [r for r in bench.GPU_ROWS if "per step" not in r[0]]  # fewer, at tiny size
    bench.gpu_table(epochs=1, repeats=1, json_path=path, rows=rows)
    rec = json.loads(path.read_text())
    assert rec["device"]["name"] == "Fake GPU" and rec["device"]["torch"] == "9.9"
    loops = [r["loop"] for r in rec["rows"]]
    assert loops[0] == "d2l 0.17.6 train_ch8"
    assert {"d2l_helpers eager fp32", "d2l_helpers graph per epoch fp32"} <= set(loops)
    assert "d2l_helpers graph per step fp32" in [r[0] for r in bench.GPU_ROWS]
    envs = {r["loop"]: r["env"] for r in rec["rows"]}
    assert envs["d2l_helpers eager fp32"]["D2L_CUDA_GRAPH"] == "0"
    assert envs["d2l_helpers graph per epoch bf16"] == {"D2L_CUDA_GRAPH": "epoch",
                                                        "D2L_PRECISION": "bf16"}
    for r in rec["rows"]:
        assert r["speedup_vs_book"] > 0 and r["tokens_per_s"] > 0
        if r["loop"] != loops[0]:
            assert "ppl_rel_vs_eager_fp32" in r and "best_valid_rel_vs_eager_fp32" in r
    assert [r["precision"] for r in rec["rows"]][-1] == "bf16"
    assert "| d2l 0.17.6 train_ch8 | fp32 |" in capsys.readouterr().out


def test_a_failing_loop_is_recorded_and_the_others_still_run(bench, monkeypatch, tmp_path):
    real = bench.spawn

    def spawn(tab, which, env, **kw):
        if env.get("D2L_CUDA_GRAPH") == "epoch":
            sys.exit("benchmark run failed (pytorch, ours):\nRuntimeError: CUDA error: boom")
        return real(tab, which, env, **kw)

    monkeypatch.setattr(bench, "spawn", spawn)
    path = tmp_path / "bench-gpu.json"
    by_name = {r[0]: r for r in bench.GPU_ROWS}
    rows = [by_name[n] for n in ("d2l 0.17.6 train_ch8", "d2l_helpers graph per epoch fp32",
                                 "d2l_helpers eager fp32")]
    bench.gpu_table(epochs=1, repeats=1, json_path=path, rows=rows)
    rec = {r["loop"]: r for r in json.loads(path.read_text())["rows"]}
    assert "CUDA error: boom" in rec["d2l_helpers graph per epoch fp32"]["error"]
    assert rec["d2l_helpers eager fp32"]["tokens_per_s"] > 0  # ran after the failure


def test_the_gpu_mode_fails_clearly_without_a_gpu(monkeypatch):
    import torch
    from tools import bench
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.raises(SystemExit, match="--device cuda needs a CUDA GPU"):
        bench._require_cuda()


def test_the_book_loop_imports_where_its_display_modules_are_missing(monkeypatch, capsys):
    """The GPU machine has no IPython, matplotlib_inline, torchvision, pandas
    or requests: d2l 0.17.6 still imports, with stand-ins that only display."""
    pytest.importorskip("d2l")
    from tools import bench
    for name in bench.BOOK_DISPLAY_IMPORTS:
        if name not in ("PIL", "PIL.Image"):  # matplotlib needs PIL: the GPU machine has it
            monkeypatch.setitem(sys.modules, name, None)  # import of it fails
    for name in [n for n in sys.modules if n == "d2l" or n.startswith("d2l.")]:
        monkeypatch.delitem(sys.modules, name)
    ref = bench._reference("pytorch")
    assert "stand-ins for IPython" in capsys.readouterr().err
    assert callable(ref.train_ch8)
    assert sys.modules.get("IPython") is None  # matplotlib does not see a fake IPython
    ref.Animator(xlabel="epoch", legend=["train"]).add(1, [3.0])


# ------------------------------------------------------------ tools/gpu_session.py

@pytest.fixture
def session(monkeypatch, tmp_path):
    from tools import gpu_session
    prepared = tmp_path / ".gpu_session"
    monkeypatch.setattr(gpu_session, "PREPARED", prepared)
    monkeypatch.setattr(gpu_session, "SITE", prepared / "site")
    monkeypatch.setattr(gpu_session, "DATA", prepared / "data")
    return gpu_session


def _main(gs, monkeypatch, *args):
    monkeypatch.setattr(sys, "argv", ["gpu_session.py", *args])
    return gs.main()


def test_the_gpu_session_wants_its_prepared_folder(session, monkeypatch, tmp_path):
    with pytest.raises(SystemExit, match="--prepare` here first.*carry '.gpu_session'"):
        _main(session, monkeypatch, "--dry-run", "--out", str(tmp_path / "out"))


def test_prepare_needs_the_books_then_the_dry_run_prints_the_plan(session, monkeypatch,
                                                                  tmp_path, capsys):
    monkeypatch.delenv("D2L_DATA_MIRROR", raising=False)
    with pytest.raises(SystemExit, match="set D2L_DATA_MIRROR"):
        _main(session, monkeypatch, "--prepare")
    books = tmp_path / "books"
    books.mkdir()
    (books / "timemachine.txt").write_text("the time machine")
    monkeypatch.setenv("D2L_DATA_MIRROR", str(books))
    monkeypatch.setattr(session, "ROOT", tmp_path)  # its .git/info/exclude, not ours
    _main(session, monkeypatch, "--prepare")
    for name in session.CARRY_PACKAGES:
        assert (session.SITE / name / "__init__.py").exists()
    assert (session.DATA / "timemachine.txt").exists()
    _main(session, monkeypatch, "--dry-run", "--out", str(tmp_path / "out"))
    out = capsys.readouterr().out
    assert "-m tools.bench --device cuda --epochs 500" in out
    assert "experiments.study --tab pytorch --results" in out and "--workers 8" in out
    assert "in 480 s" in out


def test_the_gpu_session_stops_at_once_without_a_gpu(session, monkeypatch, tmp_path):
    import torch
    for name in session.CARRY_PACKAGES:
        (session.SITE / name).mkdir(parents=True)
    session.DATA.mkdir()
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.raises(SystemExit, match="no CUDA GPU here.*'A GPU session'"):
        _main(session, monkeypatch, "--out", str(tmp_path / "out"))
    assert not (tmp_path / "out").exists()  # nothing ran


def test_book_perplexity_read_after_the_animators_terminal_escapes():
    """Outside a notebook, d2l 0.17.6's Animator clears its output with terminal
    escapes and no newline, so the closing line does not start a line (seen on
    2026-12-04: `make bench` stopped with a TypeError on the reference row)."""
    from tools import bench
    out = ("time traveller   \n<Figure size 350x250 with 1 Axes>\n\x1b[2K\r\x1b[2K\r"
           "perplexity 17.6, 29455.1 tokens/sec on cpu\ntime traveller  \n")
    assert bench.book_perplexity(out) == 17.6
    assert bench.book_perplexity("perplexity 1.0, 5.0 tokens/sec on cuda:0\n") == 1.0
    with pytest.raises(ValueError, match="closing"):
        bench.book_perplexity("Traceback ...")


def test_bench_compare_prints_each_round_and_the_median_ratio():
    from tools import bench_compare
    def rows(ratio, tps):
        return [{"tab": "pytorch", "ratio": ratio, "ours": [1.0, tps, 17.6]}]
    record = {"before": "aaa", "after": "bbb", "rounds": [
        {"before": rows(2.0, 50_000.0), "after": rows(2.2, 55_000.0)},
        {"before": rows(2.4, 52_000.0), "after": rows(2.1, 51_000.0)},
        {"before": rows(2.2, 51_000.0), "after": rows(2.3, 60_000.0)}]}
    head, _, line = bench_compare.table(record)
    assert "before (aaa)" in head and "after (bbb)" in head
    # medians: before 2.2 / 51,000, after 2.2 / 55,000
    assert line == "| pytorch | 2.00, 2.40, 2.20 | 2.20, 2.10, 2.30 | 1.000 | 51,000 | 55,000 | 1.078 |"
