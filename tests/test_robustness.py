"""The robustness chapter's tables: conclusions per variant, own vs random masks, agreement."""

import numpy as np
import pandas as pd
import pytest

from facelrp.evaluate import comparisons, masking, robustness, summary
from facelrp.explain import relevance
from facelrp.models import finetune
from facelrp.profiles import load_profile

KEYS = finetune.model_keys(load_profile("demo"))
NAMES = [k.name for k in KEYS]


def _run(own_level: float, random_level: float, seed: int = 0) -> dict:
    """A masking run whose every curve is flat: a model's own masks at `own_level`, other
    models' at 0.5 plus noise, the random masks at `random_level`."""
    rng = np.random.default_rng(seed)
    n = len(KEYS)
    accuracy = np.clip(0.5 + rng.normal(0, 0.02, (n + 1, n, len(masking.LEVELS))), 0, 1)
    accuracy[np.arange(n), np.arange(n)] = own_level
    accuracy[n] = random_level
    return {"accuracy": accuracy, "masks": np.array(NAMES + ["random"]), "destinations": np.array(NAMES)}


def test_own_and_random_auc_read_the_diagonal_and_the_random_row():
    run = _run(own_level=0.2, random_level=0.6)
    own, random_auc = robustness.own_and_random_auc(run)
    assert own.shape == random_auc.shape == (20,)
    np.testing.assert_allclose(own, masking.auc(np.full((1, 1, len(masking.LEVELS)), 0.2))[0, 0])
    np.testing.assert_allclose(random_auc, masking.auc(np.full((1, 1, len(masking.LEVELS)), 0.6))[0, 0])
    # the masks' order is read from the run, not assumed
    shuffled = dict(run, masks=run["masks"][::-1], accuracy=run["accuracy"][::-1])
    np.testing.assert_allclose(robustness.own_and_random_auc(shuffled)[0], own)


def test_conclusions_are_the_summarys_per_variant_each_gated_by_its_own_run():
    draws = comparisons.sample_sources(KEYS, n_draws=10, seed=0)
    # own masks far below random ones (the gate passes) and own masks as random as the rest (it fails)
    runs = {"mean colour": _run(0.2, 0.6), "other": _run(0.5, 0.5, seed=1)}
    table = robustness.conclusions(runs, KEYS, draws, margin=0.025)
    assert list(table.columns) == ["paper", "mean colour", "other"]
    direct = summary.masking_conclusions(
        comparisons.auc_table(masking.auc(runs["other"]["accuracy"][:20]), KEYS, draws), margin=0.025).set_index("result")
    verdicts = robustness.verdict_table(table)
    assert list(verdicts.columns) == ["mean colour", "other"]
    assert (verdicts["other"] == "not testable here").all()
    assert "not testable here" not in set(verdicts["mean colour"])
    assert (table["other"].str.rsplit(" — ", n=1).str[0] == direct["this run"]).all()
    # without the gate, the rule's own verdicts
    ungated = robustness.verdict_table(robustness.conclusions(runs, KEYS, draws, margin=0.025, ungated=("other",)))
    assert (ungated["other"] == direct["verdict"]).all()
    assert set(ungated.stack()) <= {"reproduced", "contradicted", "inconclusive"}

    with pytest.raises(ValueError, match="the label 'paper' is taken by the paper's column"):
        robustness.conclusions({"paper": runs["other"]}, KEYS, draws, margin=0.025)


def test_order_table_and_own_vs_random_count_the_models_below_the_floor():
    morf, lerf = _run(0.2, 0.6), _run(0.8, 0.6)
    table = robustness.order_table({"mean colour": (morf, lerf)}, KEYS)
    assert len(table) == 20 and table["MoRF below random"].all()
    np.testing.assert_allclose(table["LeRF − MoRF"], table["LeRF"] - table["MoRF"])
    assert (table["LeRF − MoRF"] > 0).all()
    counts = robustness.own_vs_random({"good": morf, "bad": lerf}).set_index("method")
    assert counts.loc["good", "models with own AUC below random"] == 20
    assert counts.loc["bad", "models with own AUC below random"] == 0


def test_agreement_is_one_for_the_same_maps_and_falls_with_noise():
    rng = np.random.default_rng(0)
    maps = rng.normal(size=(20, 3, 8, 8)).astype(np.float32)
    noisy = maps + rng.normal(scale=3.0, size=maps.shape).astype(np.float32)
    table = robustness.agreement({label: robustness.model_agreement(maps, other)
                                  for label, other in {"same": maps.copy(), "noisy": noisy}.items()}, KEYS)
    assert table.shape == (2, 4)
    np.testing.assert_allclose(table.loc["same"], 1.0, rtol=1e-5)
    assert (table.loc["noisy"] < 0.6).all()
    expected = np.mean([np.nanmean(relevance.similarity(maps[j], noisy[j])) for j, k in enumerate(KEYS)
                        if (k.source, k.task) == ("vggface", "identity")])
    assert table.loc["noisy", "vggface identity"] == pytest.approx(expected)
