"""Corrections for families of tests.

Every answer that runs several tests on one question (depth within a cell,
corpora against each other, one author after another) reads them as a
*family*: the chance of at least one false "significant" grows with the
number of tests, so each family's p-values are adjusted with Holm's
step-down method before any is called significant.
"""
import math


def holm(pvalues):
    """Holm-adjusted p-values, in the order given.

    Sort the m p-values ascending, multiply the i-th smallest (i from 0) by
    ``m - i``, make the sequence non-decreasing, cap it at 1.  A test is
    significant at level alpha when its adjusted p is below alpha; this
    controls the family-wise error rate at alpha (Holm 1979).  NaN p-values
    (a test that could not run) stay NaN and do not count towards m."""
    ps = [float(p) for p in pvalues]
    for p in ps:
        if not (math.isnan(p) or 0.0 <= p <= 1.0):
            raise ValueError(f"p-value {p!r} lies outside [0, 1]")
    order = sorted((p, i) for i, p in enumerate(ps) if not math.isnan(p))
    m, out, running = len(order), [float("nan")] * len(ps), 0.0
    for rank, (p, i) in enumerate(order):
        running = max(running, min(1.0, (m - rank) * p))
        out[i] = running
    return out
