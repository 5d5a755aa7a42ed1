"""The paper-vs-this-run table and the one verdict rule (`verdicts.judge`), on planted AUC
tables whose effects are known: each verdict must come out where it was planted, for claims
of an effect and claims of no difference, and every edge of the rule is held."""

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from facelrp.evaluate import comparisons, summary, verdicts
from facelrp.models import finetune
from facelrp.profiles import load_profile

KEYS = finetune.model_keys(load_profile("demo"))
FIG5_PRE = "Fig. 5, {}: VGGFace-pretrained models more tolerant (higher AUC)"
FIG5_INIT = "Fig. 5, {}: same vs different init. (no difference)"
MARGIN = 0.025
R, C, I, N = verdicts.REPRODUCED, verdicts.CONTRADICTED, verdicts.INCONCLUSIVE, verdicts.NOT_TESTABLE
D, ND = verdicts.DIFFERENCE, verdicts.NO_DIFFERENCE


def _table(effect=lambda source, destination: 0.0, noise=0.01, seed=0):
    """A sampled AUC table from auc[source, destination] = 0.5 + effect(...) + noise."""
    rng = np.random.default_rng(seed)
    auc = np.array([[0.5 + effect(s, d) for d in KEYS] for s in KEYS]) + rng.normal(0, noise, (20, 20))
    return comparisons.auc_table(auc, KEYS, comparisons.sample_sources(KEYS, n_draws=20, seed=0))


def _verdicts(table, margin=MARGIN, gate=None):
    return summary.masking_conclusions(table, margin=margin, gate=gate).set_index("result")["verdict"]


def _vggface_destinations(by):
    return lambda s, d: by * (d.source == "vggface")


@pytest.mark.parametrize("claim, low, high, sign, expected", [
    # a claim of a difference
    (D, 0.03, 0.05, +1, R),   # wholly beyond the margin, the paper's direction
    (D, -0.05, -0.03, +1, C),  # wholly beyond, the other direction
    (D, -0.05, -0.03, -1, R),
    (D, -0.05, -0.03, None, R),  # undirected: either way counts
    (D, 0.01, 0.02, +1, C),   # significant, but wholly inside the margin: smaller than what counts
    (D, -0.01, 0.02, +1, C),  # not significant, inside: shown smaller than what counts
    (D, 0.01, 0.04, +1, I),   # significant, across the margin: open (significance alone decides nothing)
    (D, -0.01, 0.04, +1, I),  # across 0 and the margin
    (D, 0.025, 0.04, +1, R),  # the margin itself counts
    # a claim of no difference
    (ND, -0.02, 0.02, None, R),
    (ND, 0.005, 0.02, None, R),  # significant and inside the margin: the margin wins
    (ND, 0.03, 0.05, None, C),
    (ND, -0.05, -0.03, None, C),
    (ND, 0.01, 0.04, None, I),   # across the margin: inconclusive, whatever the point estimate
    (ND, -0.04, 0.04, None, I),
    (ND, -0.02, 0.025, None, I),  # touching the margin is not inside it
])
def test_the_rule_at_every_edge(claim, low, high, sign, expected):
    assert verdicts.judge(claim, low, high, margin=MARGIN, sign=sign) == expected


def test_the_rule_on_a_claim_of_several_differences_and_its_refusals():
    assert verdicts.judge(D, margin=MARGIN, pairs=[(0.0, 0.01), (0.03, 0.05)]) == R  # one counts
    assert verdicts.judge(D, margin=MARGIN, pairs=[(0.0, 0.01), (-0.02, 0.02)]) == C  # all smaller than what counts
    assert verdicts.judge(D, margin=MARGIN, pairs=[(0.0, 0.01), (0.01, 0.04)]) == I
    with pytest.raises(ValueError, match="sign must be"):
        verdicts.judge(D, 0.0, 1.0, margin=MARGIN, sign=2)
    with pytest.raises(ValueError, match="claim must be"):
        verdicts.judge("effect", 0.0, 1.0, margin=MARGIN)
    with pytest.raises(ValueError, match="is not an interval"):
        verdicts.judge(D, 0.2, 0.1, margin=MARGIN)
    with pytest.raises(ValueError, match="must not be negative"):
        verdicts.judge(D, 0.0, 0.1, margin=-0.1)


def test_the_interval_level_matches_the_holm_correction_beside_it():
    rng = np.random.default_rng(3)
    x = rng.normal(0.0, 1.0, (4, 6)) + np.array([0.3, 0.9, 1.2, 0.1])[:, None]
    raw = [stats.ttest_1samp(row, 0.0).pvalue for row in x]
    import pingouin as pg

    holm = pg.multicomp(raw, method="holm")[1]
    for row, p, p_holm in zip(x, raw, holm):
        d = verdicts.difference(row, np.zeros_like(row), paired=True, level=verdicts.matched_level(p, p_holm))
        assert (d["low"] > 0 or d["high"] < 0) == (p_holm < 0.05)  # the interval excludes 0 iff the corrected p < 0.05
        assert d["level"] == pytest.approx(1 - 0.05 * p / p_holm)
    with pytest.raises(ValueError, match="must be at least the raw p"):
        verdicts.matched_level(0.2, 0.1)


def test_a_planted_pretraining_effect_is_reproduced_and_its_opposite_contradicted():
    for by, expected in ((0.1, R), (-0.1, C)):
        found = _verdicts(_table(_vggface_destinations(by)))
        assert found[FIG5_PRE.format("identity")] == found[FIG5_PRE.format("gender")] == expected, by


def test_no_difference_is_reproduced_only_inside_the_margin():
    found = _verdicts(_table(_vggface_destinations(0.1), noise=0.005))
    assert found[FIG5_INIT.format("identity")] == R
    assert found["Fig. 6, vggface identity: other pretraining, same vs other task (no difference)"] == R
    # the same absence of a difference measured too noisily to show it: open
    found = _verdicts(_table(noise=0.2))
    assert found[FIG5_INIT.format("identity")] == I
    assert found["Fig. 6, vggface gender: same init. vs same pretraining, other task (no difference)"] == I
    # and a planted pretraining effect smaller than the margin does not count
    assert _verdicts(_table(_vggface_destinations(0.01), noise=0.002))[FIG5_PRE.format("identity")] == C


def test_the_verdicts_follow_the_margin_not_a_bound_taken_from_the_run():
    table = _table(lambda s, d: 0.1 * (d.source == "vggface") + 0.03 * (s.source != d.source), noise=0.003)
    row = "Fig. 6, vggface identity: masks from the other pretraining, same task, hurt less (higher AUC)"
    assert _verdicts(table, margin=0.01)[row] == R and _verdicts(table, margin=0.1)[row] == C


def test_a_planted_difference_contradicts_a_claim_of_none():
    found = _verdicts(_table(lambda s, d: 0.1 * (d.source == "vggface") - 0.2 * (s == d)))
    assert found[FIG5_INIT.format("identity")] == found[FIG5_INIT.format("gender")] == C
    assert found["Fig. 6, imagenet identity: effect of mask source"] == R


def test_figure6_direction_both_curves_and_the_imagenet_gender_exception():
    other = _table(lambda s, d: 0.1 * (d.source == "vggface") + 0.1 * (s.source != d.source))
    found = _verdicts(other)
    for kind in ("imagenet identity", "vggface identity", "vggface gender"):
        for task in ("same task", "other task"):
            assert found[f"Fig. 6, {kind}: masks from the other pretraining, {task}, hurt less (higher AUC)"] == R
    for task in ("same task", "other task"):
        assert found[f"Fig. 6, imagenet gender: other pretraining, {task}, vs same init. (no difference)"] == C
    found = _verdicts(_table(lambda s, d: 0.1 * (d.source == "vggface") - 0.1 * (s.source != d.source)))
    assert found["Fig. 6, vggface identity: masks from the other pretraining, other task, hurt less (higher AUC)"] == C
    assert found["Fig. 6, vggface identity: effect of mask source"] == R


def test_a_destination_type_that_fails_the_gate_is_not_testable_and_only_its_claims():
    table = _table(lambda s, d: 0.1 * (d.source == "vggface") + 0.1 * (s.source != d.source))
    index = pd.MultiIndex.from_tuples([(s, t) for s in ("imagenet", "vggface") for t in ("gender", "identity")],
                                      names=["pretraining", "task"])
    gate = pd.DataFrame({"valid": [True, False, True, True]}, index=index)  # imagenet identity fails
    found = _verdicts(table, gate=gate)
    ungated = _verdicts(table)
    on_it = [r for r in found.index if "imagenet identity" in r or r.startswith("Fig. 5, identity")]
    assert on_it and (found[on_it] == N).all()  # Fig. 5 identity pools both identity types
    rest = found.index.difference(on_it)
    assert (found[rest] == ungated[rest]).all() and not (found[rest] == N).any()


def test_rows_carry_intervals_and_the_within_model_tests():
    frame = summary.masking_conclusions(_table(_vggface_destinations(0.1)), margin=MARGIN).set_index("result")
    assert list(frame.reset_index().columns) == summary.COLUMNS
    row = frame.loc[FIG5_PRE.format("identity")]
    assert row["this run"].startswith("F(1, 8) = ") and row["this run"].endswith("(mixed)")
    low, high = (float(v) for v in row[summary.EFFECT].split("[")[1].split("]")[0].split(","))
    assert low < 0.1 < high
    assert "paired t(9) = " in frame.loc[FIG5_INIT.format("identity"), "this run"]
    pair = frame.loc["Fig. 6, vggface identity: other pretraining, same vs other task (no difference)"]
    assert pair["this run"].endswith("(Holm)") and pair[summary.EFFECT].endswith("%)")  # its matched level
    assert frame.loc["Fig. 6, imagenet gender: effect of mask source", "this run"].startswith("F(3, 12) = ")
    assert frame.loc["Fig. 6, imagenet gender: effect of mask source", summary.EFFECT].startswith("partial η² = ")
    assert len(frame) == 4 + 4 * 5


def test_difference_interval():
    rng = np.random.default_rng(1)
    x, y = rng.normal(0.3, 0.05, 12), rng.normal(0.2, 0.05, 12)
    d = verdicts.difference(x, y, paired=True)
    half = stats.t.ppf(0.975, 11) * np.std(x - y, ddof=1) / np.sqrt(12)
    assert d["low"] == pytest.approx(np.mean(x - y) - half) and d["high"] == pytest.approx(np.mean(x - y) + half)
    wider = verdicts.difference(x, y, paired=True, level=0.99)
    assert wider["low"] < d["low"] and wider["high"] > d["high"]
    assert verdicts.interval_text({"difference": 0.031, "low": 0.012, "high": 0.05}) == "ΔAUC = +0.031 [+0.012, +0.050]"
    assert verdicts.interval_text(dict(wider, difference=0.1, low=0.0, high=0.2)).endswith("(99.0 %)")


def test_partial_eta_squared_interval_inverts_the_noncentral_f_and_holds_its_estimate():
    eta, low, high = verdicts.partial_eta_squared(5.0, 3, 12)
    assert eta == pytest.approx(15 / 27) and 0 < low < eta < high < 1
    n = 3 + 12 + 1
    for value, quantile in ((low, 0.95), (high, 0.05)):  # 90 %: Steiger's level for an F test at 0.05
        nc = value * n / (1 - value)
        assert stats.ncf.cdf(5.0, 3, 12, nc) == pytest.approx(quantile, abs=1e-6)
    assert verdicts.partial_eta_squared(0.2, 3, 12)[1] == 0.0  # F below its null median: the interval starts at 0
    for F in (0.05, 0.2, 0.5, 1.0, 3.0, 40.0):  # the old "0.02 [0.00, 0.00]": never an interval without its estimate
        eta, low, high = verdicts.partial_eta_squared(F, 3, 12)
        assert low <= eta <= high, F
    p = stats.f.sf(3.49, 3, 12)  # the lower bound leaves 0 where p crosses 0.05
    assert (verdicts.partial_eta_squared(3.49, 3, 12)[1] > 0) == (p < 0.05)


def _inputs(vggface_effect, low_model=None):
    table = _table(_vggface_destinations(vggface_effect))
    accuracy = pd.DataFrame({"pretraining": [k.source for k in KEYS], "task": [k.task for k in KEYS],
                             "validation": [0.99] * 20})
    if low_model is not None:
        accuracy.loc[low_model, "validation"] = 0.95
    return accuracy, table


def _verdict(frame, result):
    return frame.set_index("result").loc[result, "verdict"]


def test_paper_vs_run_adds_the_accuracy_bar_and_the_observers():
    accuracy, table = _inputs(vggface_effect=0.1, low_model=0)
    observers = {"mean": 53.0, "sem": 0.5, "t": 6.0, "dof": 45.0, "p": 1e-6}
    frame = summary.paper_vs_run(accuracy, table, observers, simulated=True, margin=MARGIN)
    assert _verdict(frame, f"fine-tuning accuracy, {KEYS[0].source} {KEYS[0].task} (lowest of 5)") == "contradicted"
    assert _verdict(frame, "fine-tuning accuracy, vggface identity (lowest of 5)") == "reproduced"
    assert _verdict(frame, "observers choosing the VGGFace-side face (simulated here)") == "not comparable"
    interval = frame.set_index("result").loc["observers choosing the VGGFace-side face (simulated here)", summary.EFFECT]
    assert interval == f"53.0 % [{53 - stats.t.ppf(0.975, 45) * 0.5:.1f}, {53 + stats.t.ppf(0.975, 45) * 0.5:.1f}]"

    frame = summary.paper_vs_run(accuracy, table, observers, simulated=False, margin=MARGIN)
    assert _verdict(frame, "observers choosing the VGGFace-side face") == "reproduced"
    fewer = dict(observers, mean=47.0, t=-6.0)
    frame = summary.paper_vs_run(accuracy, table, fewer, simulated=False, margin=MARGIN)
    assert _verdict(frame, "observers choosing the VGGFace-side face") == "contradicted"
    assert len(frame) == 4 + 4 + 4 * 5 + 1
