"""Three-way verdicts on the paper's claims: reproduced, contradicted or inconclusive.

A claim of an effect is reproduced when the test is significant in the paper's direction,
contradicted when it is significant the other way or when the effect is shown to be
smaller than the equivalence bound (two one-sided tests, TOST), and inconclusive
otherwise. A claim of no difference is reproduced only when equivalence is shown (p >= 0.05
alone is absence of evidence), contradicted when the difference is significant and not
equivalent, and inconclusive otherwise.

The equivalence bound is fixed here, before any run: `EQUIVALENCE_FRACTION` of the
pretraining effect of the same task in the same run (the difference the paper calls
large), so "no difference" means "less than half the difference the paper does call one".

Tests and equivalence come from pingouin; the 95 % intervals of mean differences from
scipy (pingouin rounds its intervals to two decimals, too coarse for AUC differences).
"""

from __future__ import annotations

import math

import numpy as np
import pingouin as pg
from scipy import optimize, stats

__all__ = ["ALPHA", "EQUIVALENCE_FRACTION", "REPRODUCED", "CONTRADICTED", "INCONCLUSIVE", "NOT_COMPARABLE",
           "VERDICTS", "effect", "no_difference", "difference", "interval_text", "partial_eta_squared"]

ALPHA = 0.05
#: The equivalence bound as a fraction of the same task's pretraining effect in the run.
EQUIVALENCE_FRACTION = 0.5

REPRODUCED, CONTRADICTED, INCONCLUSIVE = "reproduced", "contradicted", "inconclusive"
#: For rows with nothing to test (e.g. simulated observers).
NOT_COMPARABLE = "not comparable"
VERDICTS = (REPRODUCED, CONTRADICTED, INCONCLUSIVE, NOT_COMPARABLE)


def effect(p: float, estimate: float | None = None, *, sign: int | None = None, equivalent_p: float | None = None) -> str:
    """The verdict on a claimed effect.

    Parameters
    ----------
    p : the test's p value
    estimate : the effect's signed estimate (needed with `sign`)
    sign : +1 or -1 if the paper claims a direction, None for an undirected claim
    equivalent_p : the TOST p value of the effect against the equivalence bound, if tested
    """
    if sign not in (None, 1, -1):
        raise ValueError(f"sign must be +1, -1 or None, not {sign!r}")
    if p < ALPHA:
        if sign is None or np.sign(estimate) == sign:
            return REPRODUCED
        return CONTRADICTED
    if equivalent_p is not None and equivalent_p < ALPHA:
        return CONTRADICTED
    return INCONCLUSIVE


def no_difference(equivalent_p: float, p: float) -> str:
    """The verdict on a claim of no difference: reproduced only if equivalence is shown."""
    if equivalent_p < ALPHA:
        return REPRODUCED
    if p < ALPHA:
        return CONTRADICTED
    return INCONCLUSIVE


def difference(x, y, *, paired: bool, bound: float | None = None) -> dict:
    """Mean difference x - y with its 95 % interval, the t test and (with `bound`) TOST.

    Returns a dict: ``difference``, ``low``, ``high``, ``t``, ``dof``, ``p`` and
    ``equivalent_p`` (the TOST p value against +-`bound`; 1.0 when the bound is not
    positive, since nothing is equivalent within a zero-width interval; None without a bound).
    """
    x, y = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    test = stats.ttest_rel(x, y) if paired else stats.ttest_ind(x, y)
    interval = test.confidence_interval(0.95)
    out = {"difference": float(np.mean(x - y) if paired else np.mean(x) - np.mean(y)),
           "low": float(interval.low), "high": float(interval.high),
           "t": float(test.statistic), "dof": float(test.df), "p": float(test.pvalue), "equivalent_p": None}
    if bound is not None:
        out["bound"] = float(bound)
        out["equivalent_p"] = (float(pg.tost(x, y, bound=bound, paired=paired)["pval"].iloc[0])
                               if bound > 0 and np.isfinite(bound) else 1.0)
    return out


def interval_text(d: dict, name: str = "ΔAUC") -> str:
    """``ΔAUC = +0.031 [0.012, 0.050]`` from a `difference` result."""
    return f"{name} = {d['difference']:+.3f} [{d['low']:+.3f}, {d['high']:+.3f}]"


def partial_eta_squared(F: float, df1: float, df2: float, *, level: float = 0.95) -> tuple[float, float, float]:
    """Partial eta squared of an F test and its interval, from the noncentral F distribution.

    The interval inverts the noncentrality parameter lambda (Steiger 2004) and maps it by
    eta2 = lambda / (lambda + df1 + df2 + 1); for repeated measures this is the usual
    approximation. Written here because neither pingouin nor scipy gives the interval
    (scipy has the distribution, `stats.ncf`).
    """
    point = F * df1 / (F * df1 + df2)
    tail = (1 - level) / 2

    def bound(q):
        # the lambda at which F sits at quantile q; 0 if even lambda = 0 puts it below
        def gap(nc):
            return stats.ncf.cdf(F, df1, df2, nc) - q

        if gap(0.0) <= 0:
            return 0.0
        high = max(10.0, 2 * F * df1)
        while gap(high) > 0:
            high *= 2
        return optimize.brentq(gap, 0.0, high)

    n = df1 + df2 + 1
    lo, hi = bound(1 - tail), bound(tail)
    return float(point), float(lo / (lo + n)), float(hi / (hi + n)) if math.isfinite(hi) else 1.0
