"""Verdicts on the paper's claims, by one rule: reproduced, contradicted, inconclusive or
not testable.

`judge` is the rule and `RULE` its statement, which the summary chapter quotes. A claim's
evidence is the interval of its difference, at the level that matches the multiplicity
correction of the p value printed beside it (`matched_level`), read against the margin: the
smallest difference in AUC that counts, a setting of the profile (``verdicts.margin``)
fixed before the run and the same for every claim. Significance alone decides nothing: a
difference counts when its whole interval lies beyond the margin, and is shown not to count
when its whole interval lies inside it; an interval across the margin leaves the claim
open. A claim about how masks carry over is judged for a destination type only where that
type's own masks pass the validity gate (`facelrp.evaluate.floor.validity`); elsewhere it is
"not testable here".

Tests and intervals come from scipy (pingouin rounds its intervals to two decimals, too
coarse for AUC differences).
"""

from __future__ import annotations

import math

import numpy as np
from scipy import optimize, stats

__all__ = ["ALPHA", "REPRODUCED", "CONTRADICTED", "INCONCLUSIVE", "NOT_TESTABLE", "NOT_COMPARABLE", "VERDICTS",
           "JUDGED", "DIFFERENCE", "NO_DIFFERENCE", "RULE", "judge", "zone", "matched_level", "difference",
           "interval_text", "partial_eta_squared"]

ALPHA = 0.05

REPRODUCED, CONTRADICTED, INCONCLUSIVE = "reproduced", "contradicted", "inconclusive"
#: A masking claim on a destination type whose own masks do not pass the validity gate.
NOT_TESTABLE = "not testable here"
#: For rows with nothing to test (e.g. simulated observers).
NOT_COMPARABLE = "not comparable"
VERDICTS = (REPRODUCED, CONTRADICTED, INCONCLUSIVE, NOT_TESTABLE, NOT_COMPARABLE)
#: The verdicts that judge a claim (the others say why none was judged).
JUDGED = (REPRODUCED, CONTRADICTED, INCONCLUSIVE)
#: The two kinds of claim.
DIFFERENCE, NO_DIFFERENCE = "difference", "no difference"

#: `judge`, in words (the summary chapter quotes it).
RULE = (
    "Each claim is read from the interval of its difference, at the confidence level that matches the "
    "multiplicity correction of the p value beside it (95 % for a single test; for Holm-corrected tests, "
    "1 − 0.05 × p / p<sub>Holm</sub>, so the interval excludes 0 exactly when the corrected p is below 0.05), "
    "against the margin, the smallest difference that counts:\n\n"
    "- the whole interval beyond the margin: a difference that counts, in the interval's direction;\n"
    "- the whole interval inside the margin: shown to be smaller than what counts;\n"
    "- otherwise (the interval crosses the margin): open.\n\n"
    "A claim of a difference is **reproduced** when the difference counts in the paper's direction, "
    "**contradicted** when it counts the other way or is shown smaller than what counts, and "
    "**inconclusive** when open. A claim of no difference is **reproduced** when the difference is shown "
    "smaller than what counts (even where it is significant: significance alone decides nothing), "
    "**contradicted** when it counts, and **inconclusive** when open. A claim with no single difference "
    "(an effect of four mask sources) counts when one of its pairwise differences does, and is shown "
    "not to count when all are smaller than what counts. A claim about how masks carry over is "
    "**not testable here** for a destination type whose own masks do not hurt more than random masks "
    "and than the randomised models' masks by a difference that counts (the validity gate): there the "
    "masking test cannot tell relevance from noise."
)


def zone(low: float, high: float, margin: float) -> int:
    """Where an interval lies against the margin: +1 or -1, wholly beyond it (in that
    direction); 0, wholly inside it; None, across it."""
    if not (math.isfinite(low) and math.isfinite(high)) or low > high:
        raise ValueError(f"interval [{low}, {high}] is not an interval")
    if margin < 0:
        raise ValueError(f"margin {margin} must not be negative")
    if low >= margin:
        return +1
    if high <= -margin:
        return -1
    if -margin < low and high < margin:
        return 0
    return None


def judge(claim: str, low: float | None = None, high: float | None = None, *, margin: float, sign: int | None = None,
          pairs: list[tuple[float, float]] | None = None) -> str:
    """The verdict on one claim (see `RULE`).

    Parameters
    ----------
    claim : `DIFFERENCE` or `NO_DIFFERENCE`
    low, high : the interval of the difference (at `matched_level`)
    margin : the smallest difference that counts (>= 0)
    sign : +1 or -1 where the paper claims a direction, None for an undirected difference
    pairs : instead of one interval, the intervals of every pairwise difference of a claim
        with several (an undirected effect of more than two sources)
    """
    if claim not in (DIFFERENCE, NO_DIFFERENCE):
        raise ValueError(f"claim must be {DIFFERENCE!r} or {NO_DIFFERENCE!r}, not {claim!r}")
    if sign not in (None, 1, -1):
        raise ValueError(f"sign must be +1, -1 or None, not {sign!r}")
    if pairs is not None:
        if sign is not None or low is not None:
            raise ValueError("a claim of several differences takes their intervals (pairs) and no direction")
        zones = [zone(lo, hi, margin) for lo, hi in pairs]
        found = +1 if any(z in (1, -1) for z in zones) else 0 if all(z == 0 for z in zones) else None
    else:
        found = zone(low, high, margin)
        if found in (1, -1) and sign is None:
            found = +1
    if claim == NO_DIFFERENCE:
        return {0: REPRODUCED, 1: CONTRADICTED, -1: CONTRADICTED, None: INCONCLUSIVE}[found]
    expected = sign or 1
    if found is None:
        return INCONCLUSIVE
    return REPRODUCED if found == expected else CONTRADICTED


def matched_level(p: float, p_corrected: float) -> float:
    """The confidence level whose two-sided interval excludes 0 exactly when the corrected
    p value is below `ALPHA`: 1 - ALPHA * p / p_corrected (for a test of the t family, whose
    interval at level 1 - a excludes 0 iff its raw p < a). Written here because no library
    gives intervals matched to Holm's step-down correction."""
    if p_corrected == 0:  # a difference known exactly (`difference` without spread)
        return 1 - ALPHA
    if not 0 <= p <= p_corrected <= 1:
        raise ValueError(f"corrected p {p_corrected} must be at least the raw p {p} and in (0, 1]")
    return 1 - ALPHA * p / p_corrected


def difference(x, y, *, paired: bool, level: float = 1 - ALPHA) -> dict:
    """Mean difference x - y with its interval at `level` and the t test.

    Returns a dict: ``difference``, ``low``, ``high``, ``level``, ``t``, ``dof``, ``p``.
    """
    x, y = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    mean = float(np.mean(x - y) if paired else np.mean(x) - np.mean(y))
    spread = np.std(x - y) if paired else np.std(x) + np.std(y)
    if spread == 0:  # no spread at all (scipy gives NaN): the difference is known exactly
        dof = len(x) - 1 if paired else len(x) + len(y) - 2
        return {"difference": mean, "low": mean, "high": mean, "level": float(level),
                "t": math.copysign(math.inf, mean) if mean else 0.0, "dof": float(dof), "p": 0.0 if mean else 1.0}
    test = stats.ttest_rel(x, y) if paired else stats.ttest_ind(x, y)
    interval = test.confidence_interval(level)
    return {"difference": mean, "low": float(interval.low), "high": float(interval.high), "level": float(level),
            "t": float(test.statistic), "dof": float(test.df), "p": float(test.pvalue)}


def interval_text(d: dict, name: str = "ΔAUC") -> str:
    """``ΔAUC = +0.031 [0.012, 0.050]`` from a `difference` result (its level, where not
    95 %, after the interval: ``[...] (98.3 %)``)."""
    level = d.get("level", 1 - ALPHA)
    shown = "" if abs(level - (1 - ALPHA)) < 1e-9 else f" ({100 * level:.1f} %)"
    return f"{name} = {d['difference']:+.3f} [{d['low']:+.3f}, {d['high']:+.3f}]{shown}"


def partial_eta_squared(F: float, df1: float, df2: float, *, level: float = 0.90) -> tuple[float, float, float]:
    """Partial eta squared of an F test and its interval, from the noncentral F distribution.

    The interval inverts the noncentrality parameter lambda (Steiger 2004) and maps it by
    eta2 = lambda / (lambda + df1 + df2 + 1); for repeated measures this is the usual
    approximation. The level is 90 % by default, as Steiger recommends for an F test at
    0.05: its lower bound is above 0 exactly when p < 0.05. When F is below what chance
    gives at that level (the central F's lower quantile), the interval is empty on the
    noncentrality scale; then the upper bound is the estimate itself, the least that still
    holds it. Written here because neither pingouin nor scipy gives the interval (scipy has
    the distribution, `stats.ncf`).
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
    upper = hi / (hi + n) if math.isfinite(hi) else 1.0
    return float(point), float(lo / (lo + n)), float(max(upper, point) if hi == 0.0 else upper)
