"""The masking test's floor: masks from randomised models and random pixels, on planted AUCs."""

import numpy as np
import pytest

from facelrp.evaluate import comparisons, floor
from facelrp.models import finetune
from facelrp.profiles import load_profile

SETUP = load_profile("demo")
KEYS = finetune.model_keys(SETUP)
SAME = comparisons.BIN_LABELS["same_model"]
MASKS = [k.name for k in KEYS] + ["random"] + [f"randomised {k.name}" for k in finetune.first_seed_keys(SETUP)]


def _auc(noise=0.0, seed=0):
    """Own masks 0.3, same pretraining 0.4, other pretraining 0.5; randomised models 0.45,
    random pixels 0.6 (lower: the masks hurt more)."""
    rng = np.random.default_rng(seed)
    auc = np.empty((len(MASKS), len(KEYS)))
    for j, d in enumerate(KEYS):
        for i, s in enumerate(KEYS):
            auc[i, j] = 0.3 if s == d else (0.4 if s.source == d.source else 0.5)
    auc[len(KEYS)] = 0.6
    auc[len(KEYS) + 1:] = 0.45
    return auc + rng.normal(0, noise, auc.shape)


def _destinations(auc):
    table = comparisons.auc_table(auc[: len(KEYS)], KEYS, comparisons.sample_sources(KEYS, n_draws=10, seed=0))
    return floor.per_destination(auc, MASKS, KEYS, table)


def test_per_destination_reads_the_bins_the_randomised_models_and_the_random_pixels():
    wide = _destinations(_auc())
    assert list(wide.index) == [k.name for k in KEYS]
    np.testing.assert_allclose(wide[SAME], 0.3)
    np.testing.assert_allclose(wide[comparisons.BIN_LABELS["other_task"]], 0.4)
    np.testing.assert_allclose(wide[comparisons.BIN_LABELS["other_both"]], 0.5)
    np.testing.assert_allclose(wide[floor.FLOOR], 0.45)
    np.testing.assert_allclose(wide[floor.PIXELS], 0.6)
    assert (wide["pretraining"] == [k.source for k in KEYS]).all()


def test_beyond_the_floor_is_the_share_of_the_own_masks_advantage():
    means, against = floor.floor_tables(_destinations(_auc(noise=0.005)))
    assert means.shape == (4, len(comparisons.BINS) + 2)
    beyond = against["beyond the floor"].unstack("mask source")
    np.testing.assert_allclose(beyond[SAME], 1.0)
    # same pretraining: (0.45 - 0.4) / (0.45 - 0.3); other pretraining: (0.45 - 0.5) / 0.15
    np.testing.assert_allclose(beyond[comparisons.BIN_LABELS["other_task"]], 1 / 3, atol=0.1)
    np.testing.assert_allclose(beyond[comparisons.BIN_LABELS["other_pretraining"]], -1 / 3, atol=0.1)
    assert (against.xs(SAME, level="mask source")["p"] < 0.05).all()
    assert against.loc[("vggface", "gender", SAME), "ΔAUC vs floor (95 % CI)"].startswith("ΔAUC = -0.15")


def test_own_against_random_counts_and_tests_over_the_models():
    per_model, tests = floor.own_against_random(_destinations(_auc(noise=0.01)))
    assert (per_model["own - random"] < 0).all() and len(per_model) == 20
    assert tests.loc["all models", "own below random"] == 20 and tests.loc["all models", "n"] == 20
    assert tests.loc["all models", "p"] < 0.001 and tests.loc["imagenet", "n"] == 10
    # own masks no better than random: nothing below, no effect
    auc = _auc(noise=0.01)
    auc[len(KEYS)] = np.diag(auc[: len(KEYS)]) + np.random.default_rng(1).normal(0, 0.01, len(KEYS))
    _, tests = floor.own_against_random(_destinations(auc))
    assert tests.loc["all models", "p"] > 0.05


def test_a_run_without_randomised_masks_is_refused():
    auc = _auc()[: len(KEYS) + 1]
    table = comparisons.auc_table(auc[: len(KEYS)], KEYS, comparisons.sample_sources(KEYS, n_draws=5, seed=0))
    with pytest.raises(ValueError, match="no masks of randomised models; run the masking stage with --randomised"):
        floor.per_destination(auc, MASKS[: len(KEYS) + 1], KEYS, table)


def test_the_floor_reading_follows_which_types_beat_the_floor():
    means, against = floor.floor_tables(_destinations(_auc(noise=0.005)))
    text = floor.floor_reading(means, against)
    assert text.startswith("The own masks hurt more than the floor for all 4 destination types.")
    assert "other task keep 0.3" in text and "same task -0.3" in text
    auc = _auc(noise=0.005)
    auc[len(KEYS) + 1:] = 0.2  # the randomised models' masks hurt more than anything
    means, against = floor.floor_tables(_destinations(auc))
    assert floor.floor_reading(means, against).startswith("For none of the 4 destination types")
    assert against["beyond the floor"].isna().all()
    auc = _auc(noise=0.005)
    auc[len(KEYS) + 1:, [j for j, k in enumerate(KEYS) if k.source == "vggface"]] = 0.2
    means, against = floor.floor_tables(_destinations(auc))
    text = floor.floor_reading(means, against)
    assert text.startswith("The own masks hurt more than the floor for 2 of the 4 destination types "
                           "(imagenet gender, imagenet identity)")


def test_the_gate_passes_own_masks_that_beat_random_masks_and_the_floor_by_the_margin():
    auc = _auc(noise=0.005)
    gate = floor.validity(auc, MASKS, KEYS, margin=0.025)
    assert list(gate.columns) == floor.GATE_COLUMNS and gate["valid"].all() and (gate["n"] == 5).all()
    np.testing.assert_allclose(gate["own masks"], 0.3, atol=0.01)
    # a type whose own masks hurt no more than the randomised models' masks fails, the rest pass
    bad = [j for j, k in enumerate(KEYS) if (k.source, k.task) == ("imagenet", "identity")]
    auc[len(KEYS) + 1:, bad] = 0.3
    for j in bad:
        auc[j, j] = 0.31
    gate = floor.validity(auc, MASKS, KEYS, margin=0.025)
    assert not gate.loc[("imagenet", "identity"), "valid"] and gate["valid"].sum() == 3


def test_a_difference_that_does_not_count_fails_the_gate():
    auc = _auc(noise=0.002)
    auc[len(KEYS)] = 0.31  # random pixels only just above the own masks (0.30): significant, not a difference that counts
    gate = floor.validity(auc, MASKS, KEYS, margin=0.025)
    assert not gate["valid"].any()
    assert floor.validity(auc, MASKS, KEYS, margin=0.005)["valid"].all()


def test_a_run_without_the_randomised_models_is_gated_on_random_pixels_and_says_so():
    auc = _auc(noise=0.005)[: len(KEYS) + 1]
    gate = floor.validity(auc, MASKS[: len(KEYS) + 1], KEYS, margin=0.025)
    assert gate["valid"].all() and gate[floor.FLOOR].isna().all()
    assert (gate["own − randomised models"] == "not measured in this run").all()
