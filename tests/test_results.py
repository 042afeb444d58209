"""d2l_helpers.results: recorded runs keep their per-epoch curves."""
import math

from d2l_helpers import results
from d2l_helpers.training import History


def test_record_stores_per_epoch_curves(tmp_path, monkeypatch):
    path = tmp_path / "results.json"
    monkeypatch.setenv("D2L_RESULTS", str(path))
    h = History(epoch=[1, 2], train_ppl=[20.0, 12.5], valid_ppl=[float("nan"), 14.0],
                tokens_per_sec=[1000.0, 1100.0], wall_time=[1.0, 2.0],
                tokens_seen=[1120, 2240])
    results.record("test/curves", h, seed=3)
    (run,) = results.load(path)
    assert run["curves"]["train_ppl"] == [20.0, 12.5]
    assert run["curves"]["tokens_seen"] == [1120.0, 2240.0]
    assert math.isnan(run["curves"]["valid_ppl"][0]) and run["curves"]["valid_ppl"][1] == 14.0
    assert run["best_valid_ppl"] == 14.0 and run["seed"] == 3


def test_full_mode_reads_the_committed_snapshot():
    runs = results.full_mode()
    assert runs and all("key" in r and "tab" in r for r in runs)
    assert results.FULL_MODE.name == "full-mode.json"
