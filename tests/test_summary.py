"""The paper-vs-this-run table and its three-way verdicts, on planted AUC tables whose
effects are known: each verdict kind (reproduced, contradicted, inconclusive) must come out
where it was planted, for claims of an effect and claims of no difference."""

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


def _table(effect=lambda source, destination: 0.0, noise=0.01, seed=0):
    """A sampled AUC table from auc[source, destination] = 0.5 + effect(...) + noise."""
    rng = np.random.default_rng(seed)
    auc = np.array([[0.5 + effect(s, d) for d in KEYS] for s in KEYS]) + rng.normal(0, noise, (20, 20))
    return comparisons.auc_table(auc, KEYS, comparisons.sample_sources(KEYS, n_draws=20, seed=0))


def _verdicts(table):
    return summary.masking_conclusions(table).set_index("result")["verdict"]


def _vggface_destinations(by):
    return lambda s, d: by * (d.source == "vggface")


def test_a_planted_pretraining_effect_is_reproduced_and_its_opposite_contradicted():
    for by, expected in ((0.1, verdicts.REPRODUCED), (-0.1, verdicts.CONTRADICTED)):
        found = _verdicts(_table(_vggface_destinations(by)))
        assert found[FIG5_PRE.format("identity")] == found[FIG5_PRE.format("gender")] == expected, by


def test_no_difference_is_reproduced_only_when_equivalence_is_shown():
    # a pretraining effect sets the bound; sources do not matter: equivalence shown
    found = _verdicts(_table(_vggface_destinations(0.1)))
    assert found[FIG5_INIT.format("identity")] == verdicts.REPRODUCED
    assert found["Fig. 6, vggface identity: other pretraining, same vs other task (no difference)"] == verdicts.REPRODUCED
    # the same absence of a difference without a pretraining effect: bound ~0, nothing shown either way
    found = _verdicts(_table(noise=0.05))
    assert found[FIG5_PRE.format("identity")] == verdicts.INCONCLUSIVE
    assert found[FIG5_INIT.format("identity")] == verdicts.INCONCLUSIVE
    assert found["Fig. 6, vggface gender: same init. vs same pretraining, other task (no difference)"] == verdicts.INCONCLUSIVE


def test_a_planted_difference_contradicts_a_claim_of_none():
    # a model's own masks hurt far more than another seed's (and than anything else)
    found = _verdicts(_table(lambda s, d: 0.1 * (d.source == "vggface") - 0.2 * (s == d)))
    assert found[FIG5_INIT.format("identity")] == found[FIG5_INIT.format("gender")] == verdicts.CONTRADICTED
    assert found["Fig. 6, imagenet identity: effect of mask source"] == verdicts.REPRODUCED


def test_figure6_direction_both_curves_and_the_imagenet_gender_exception():
    # masks from the other pretraining hurt less (higher AUC), whatever their task
    other = _table(lambda s, d: 0.1 * (d.source == "vggface") + 0.1 * (s.source != d.source))
    found = _verdicts(other)
    for kind in ("imagenet identity", "vggface identity", "vggface gender"):
        for task in ("same task", "other task"):
            assert found[f"Fig. 6, {kind}: masks from the other pretraining, {task}, hurt less (higher AUC)"] == \
                verdicts.REPRODUCED
    # for ImageNet-gender the paper claims no difference: a planted one contradicts it
    for task in ("same task", "other task"):
        assert found[f"Fig. 6, imagenet gender: other pretraining, {task}, vs same init. (no difference)"] == \
            verdicts.CONTRADICTED
    # the opposite direction contradicts the directed claims
    found = _verdicts(_table(lambda s, d: 0.1 * (d.source == "vggface") - 0.1 * (s.source != d.source)))
    assert found["Fig. 6, vggface identity: masks from the other pretraining, other task, hurt less (higher AUC)"] == \
        verdicts.CONTRADICTED
    assert found["Fig. 6, vggface identity: effect of mask source"] == verdicts.REPRODUCED


def test_rows_carry_intervals_bounds_and_the_within_model_tests():
    frame = summary.masking_conclusions(_table(_vggface_destinations(0.1))).set_index("result")
    assert list(frame.reset_index().columns) == summary.COLUMNS
    row = frame.loc[FIG5_PRE.format("identity")]
    assert row["this run"].startswith("F(1, 8) = ") and row["this run"].endswith("(mixed)")
    low, high = (float(v) for v in row["effect (95 % CI)"].split("[")[1].rstrip("]").split(","))
    assert low < 0.1 < high and row["equivalence bound"] == ""
    bound = float(frame.loc[FIG5_INIT.format("identity"), "equivalence bound"].lstrip("±"))
    assert bound == pytest.approx(verdicts.EQUIVALENCE_FRACTION * 0.1, abs=0.01)
    assert frame.loc["Fig. 6, imagenet gender: effect of mask source", "this run"].startswith("F(3, 12) = ")
    assert frame.loc["Fig. 6, imagenet gender: effect of mask source", "effect (95 % CI)"].startswith("partial η² = ")
    assert len(frame) == 4 + 4 * 5


def test_verdict_rules():
    assert verdicts.effect(0.01, 0.2, sign=+1) == verdicts.REPRODUCED
    assert verdicts.effect(0.01, -0.2, sign=+1) == verdicts.CONTRADICTED
    assert verdicts.effect(0.01, -0.2) == verdicts.REPRODUCED  # undirected
    assert verdicts.effect(0.3, 0.01, sign=+1, equivalent_p=0.01) == verdicts.CONTRADICTED
    assert verdicts.effect(0.3, 0.01, sign=+1, equivalent_p=0.2) == verdicts.INCONCLUSIVE
    assert verdicts.no_difference(0.01, 0.01) == verdicts.REPRODUCED  # significant but within the bound
    assert verdicts.no_difference(0.2, 0.01) == verdicts.CONTRADICTED
    assert verdicts.no_difference(0.2, 0.5) == verdicts.INCONCLUSIVE
    with pytest.raises(ValueError, match="sign must be"):
        verdicts.effect(0.01, 1.0, sign=2)


def test_difference_interval_and_equivalence():
    rng = np.random.default_rng(1)
    x, y = rng.normal(0.3, 0.05, 12), rng.normal(0.2, 0.05, 12)
    d = verdicts.difference(x, y, paired=True, bound=0.5)
    half = stats.t.ppf(0.975, 11) * np.std(x - y, ddof=1) / np.sqrt(12)
    assert d["low"] == pytest.approx(np.mean(x - y) - half) and d["high"] == pytest.approx(np.mean(x - y) + half)
    assert d["equivalent_p"] < 0.05  # +-0.5 holds a difference of ~0.1
    assert verdicts.difference(x, y, paired=True, bound=0.01)["equivalent_p"] > 0.05
    assert verdicts.difference(x, y, paired=True, bound=0.0)["equivalent_p"] == 1.0
    assert verdicts.difference(x, y, paired=False)["equivalent_p"] is None
    assert verdicts.interval_text({"difference": 0.031, "low": 0.012, "high": 0.05}) == "ΔAUC = +0.031 [+0.012, +0.050]"


def test_partial_eta_squared_interval_inverts_the_noncentral_f():
    eta, low, high = verdicts.partial_eta_squared(5.0, 3, 12)
    assert eta == pytest.approx(15 / 27) and 0 < low < eta < high < 1
    n = 3 + 12 + 1
    for value, quantile in ((low, 0.975), (high, 0.025)):
        nc = value * n / (1 - value)
        assert stats.ncf.cdf(5.0, 3, 12, nc) == pytest.approx(quantile, abs=1e-6)
    assert verdicts.partial_eta_squared(0.2, 3, 12)[1] == 0.0  # F below its null median: the interval starts at 0


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
    frame = summary.paper_vs_run(accuracy, table, observers, simulated=True)
    assert _verdict(frame, f"fine-tuning accuracy, {KEYS[0].source} {KEYS[0].task} (lowest of 5)") == "contradicted"
    assert _verdict(frame, "fine-tuning accuracy, vggface identity (lowest of 5)") == "reproduced"
    assert _verdict(frame, "observers choosing the VGGFace-side face (simulated here)") == "not comparable"
    interval = frame.set_index("result").loc["observers choosing the VGGFace-side face (simulated here)",
                                             "effect (95 % CI)"]
    assert interval == f"53.0 % [{53 - stats.t.ppf(0.975, 45) * 0.5:.1f}, {53 + stats.t.ppf(0.975, 45) * 0.5:.1f}]"

    frame = summary.paper_vs_run(accuracy, table, observers, simulated=False)
    assert _verdict(frame, "observers choosing the VGGFace-side face") == "reproduced"
    fewer = dict(observers, mean=47.0, t=-6.0)
    frame = summary.paper_vs_run(accuracy, table, fewer, simulated=False)
    assert _verdict(frame, "observers choosing the VGGFace-side face") == "contradicted"
    assert len(frame) == 4 + 4 + 4 * 5 + 1
