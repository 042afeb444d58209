import math

import pytest

from experiments import stats


def test_holm_matches_hand_computation():
    # m = 4: sorted 0.01, 0.02, 0.03, 0.5 -> 0.04, 0.06, 0.06 (monotone), 0.5
    assert stats.holm([0.03, 0.5, 0.01, 0.02]) == pytest.approx([0.06, 0.5, 0.04, 0.06])


def test_holm_turns_two_borderline_results_nonsignificant():
    # ex3's old reading: p = 0.045 and 0.047 called significant one by one
    adj = stats.holm([0.045, 0.047, 0.3])
    assert all(p > 0.05 for p in adj)


def test_holm_caps_at_one_keeps_nan_out_of_m():
    adj = stats.holm([0.6, float("nan"), 0.9])
    assert adj[0] == 1.0 and adj[2] == 1.0 and math.isnan(adj[1])
    assert stats.holm([0.01, float("nan")]) == [0.01, pytest.approx(float("nan"), nan_ok=True)]


def test_holm_rejects_non_probabilities():
    with pytest.raises(ValueError, match="outside"):
        stats.holm([0.1, 1.5])
