"""Relevance by face part: shares, regions, the localisation metrics, the region tests."""

import numpy as np
import pytest

from facelrp.data.faces import PARTS
from facelrp.explain import parts
from facelrp.models.finetune import ModelKey

BG, SKIN, HAIR, EYES, NOSE = (PARTS.index(p) for p in ("background", "skin", "hair", "eyes", "nose"))


def _labels():
    """A 6 x 6 face: background ring, hair on top, skin, two eye pixels and a nose pixel."""
    lab = np.full((6, 6), BG)
    lab[1:5, 1:5] = SKIN
    lab[1, 1:5] = HAIR
    lab[2, 2] = lab[2, 3] = EYES
    lab[3, 2] = NOSE
    return lab[None]


def test_part_shares_of_a_hand_made_map_sum_to_one_and_match_by_hand():
    labels = _labels()
    maps = np.zeros((1, 6, 6))
    maps[0, 2, 2] = 3.0  # eye
    maps[0, 1, 1] = 1.0  # hair
    maps[0, 0, 0] = -4.0  # background, negative
    positive = parts.part_shares(maps, labels, kind="positive")[0]
    absolute = parts.part_shares(maps, labels, kind="absolute")[0]
    pixels = parts.part_shares(maps, labels, kind="pixels")[0]
    assert positive.sum() == pytest.approx(1) and absolute.sum() == pytest.approx(1) and pixels.sum() == pytest.approx(1)
    assert positive[EYES] == pytest.approx(0.75) and positive[HAIR] == pytest.approx(0.25) and positive[BG] == 0
    assert absolute[BG] == pytest.approx(0.5) and absolute[EYES] == pytest.approx(3 / 8)
    assert pixels[BG] == pytest.approx(20 / 36) and pixels[EYES] == pytest.approx(2 / 36) and pixels[NOSE] == pytest.approx(1 / 36)


def test_a_map_without_positive_relevance_has_no_positive_shares():
    shares = parts.part_shares(-np.ones((1, 6, 6)), _labels(), kind="positive")
    assert np.isnan(shares).all()
    with pytest.raises(ValueError, match="shape"):
        parts.part_shares(np.ones((1, 5, 6)), _labels())


def test_outline_is_the_band_of_head_pixels_next_to_the_background():
    outline = parts.head_outline(_labels(), width=1)[0]
    expected = np.zeros((6, 6), bool)
    expected[1:5, 1:5] = True
    expected[2:4, 2:4] = False
    assert (outline == expected).all()
    regions = parts.region_masks(_labels(), outline_width=1)
    assert not (regions["internal"] & regions["external"]).any()
    assert regions["internal"][0, 2, 2] and regions["internal"][0, 3, 2]
    assert not regions["external"][0, 2, 2]  # an eye pixel on the band stays internal


def test_mass_and_rank_accuracy_on_constructed_maps():
    mask = np.zeros((2, 4, 4), bool)
    mask[:, :2, :2] = True  # 4 pixels
    maps = np.zeros((2, 4, 4))
    maps[0, :2, :2] = 1.0  # all positive relevance inside: perfect
    maps[0, 3, 3] = -5.0  # negative relevance does not count
    maps[1, 0, 0] = 2.0
    maps[1, 3, :] = [3.0, 0.5, 0.4, 0.1]  # 2 + 4 outside
    assert parts.mass_accuracy(maps, mask) == pytest.approx([1.0, 2 / 6])
    # top 4 of image 1: 3.0 (out), 2.0 (in), 0.5 (out), 0.4 (out) -> 1 of 4
    assert parts.rank_accuracy(maps, mask) == pytest.approx([1.0, 0.25])


def test_localisation_metrics_agree_with_quantus():
    quantus = pytest.importorskip("quantus")
    rng = np.random.default_rng(0)
    maps = rng.normal(size=(5, 8, 8))
    maps[:, 2:5, 2:5] += 1.5
    masks = np.zeros((5, 8, 8), bool)
    masks[:, 2:6, 1:5] = True
    x = rng.normal(size=(5, 1, 8, 8)).astype(np.float32)
    common = dict(model=None, x_batch=x, y_batch=np.zeros(5, int), s_batch=masks[:, None], channel_first=True)
    ours_mass = parts.mass_accuracy(maps, masks)
    mass = quantus.RelevanceMassAccuracy(disable_warnings=True, abs=False, normalise=False)
    # Quantus 0.6 sums signed relevance: it agrees with Arras et al.'s definition (positive
    # relevance) on non-negative maps only, so it gets the clipped maps
    assert np.allclose(ours_mass, mass(a_batch=np.clip(maps, 0, None)[:, None], **common))
    assert not np.allclose(ours_mass, mass(a_batch=maps[:, None], **common))
    common["a_batch"] = maps[:, None]
    ours_rank = parts.rank_accuracy(maps, masks)
    theirs_rank = quantus.RelevanceRankAccuracy(disable_warnings=True, abs=False, normalise=False)(**common)
    assert np.allclose(ours_rank, theirs_rank)


def test_region_tests_find_a_planted_source_effect_and_nothing_else():
    rng = np.random.default_rng(1)
    labels = np.repeat(_labels(), 30, axis=0)
    labels_eyes = labels == EYES
    runs = {}
    for source in ("imagenet", "vggface"):
        for task in ("gender", "identity"):
            for seed in range(5):
                maps = rng.uniform(0, 1, labels.shape)
                maps[labels_eyes] += 4.0 if source == "vggface" else 0.0  # vggface looks at the eyes
                runs[ModelKey(source, task, seed)] = maps
    table = parts.region_table(runs, labels)
    assert len(table) == 20 * 30 and table["has_positive"].all()
    tests = parts.region_tests(table)
    faces = tests["faces"].set_index("Source")
    assert faces.loc["source", "p_unc"] < 1e-6 and faces.loc["task", "p_unc"] > 0.01
    assert faces.loc["source", "ddof2"] == 29  # 30 faces as subjects
    models = tests["models"].set_index("Source")
    assert models.loc["source", "p_unc"] < 1e-6 and models.loc["Residual", "DF"] == 16


def _regions(internal, external, n_faces=30, noise=0.005, seed=0):
    """A region table: per (source, task) type five models over `n_faces` faces whose
    internal and external shares are the given means plus noise."""
    import pandas as pd

    rng = np.random.default_rng(seed)
    rows = []
    for (source, task), (i_mean, e_mean) in {k: (internal[k], external[k]) for k in internal}.items():
        for seed_ in range(5):
            for face in range(n_faces):
                rows.append({"model": f"{source}-{task}-s{seed_}", "source": source, "task": task, "seed": seed_,
                             "face": face, "internal": i_mean + rng.normal(0, noise),
                             "external": e_mean + rng.normal(0, noise)})
    table = pd.DataFrame(rows)
    table["internal_minus_external"] = table["internal"] - table["external"]
    return table


def test_the_claim_on_internal_features_is_read_on_each_measure_and_named_when_they_disagree():
    types = [(s, t) for s in ("imagenet", "vggface") for t in ("gender", "identity")]
    # the demo's pattern: the VGGFace side has the lower internal share but much less on the external parts
    internal = {(s, t): 0.07 if s == "vggface" else 0.09 for s, t in types}
    external = {(s, t): 0.44 if s == "vggface" else 0.53 for s, t in types}
    readings = parts.claim_readings(_regions(internal, external))
    column = "more internal on the VGGFace side"
    assert readings.loc["internal share", column] == "contradicted"
    assert readings.loc["internal − external", column] == "reproduced"
    text = parts.claim_reading(readings)
    assert text.startswith("On the paper's own measure, the internal share, the ImageNet-side models put more")
    assert "The claim depends on its measure: internal − external reads reproduced" in text
    # all measures agree when the VGGFace side has more internal and less external relevance; a
    # difference twice as large for gender reads as the interaction stated in advance
    internal = {(s, t): 0.09 + (0.02 if s == "vggface" else 0) * (2 if t == "gender" else 1) for s, t in types}
    external = {(s, t): 0.5 for s, t in types}
    readings = parts.claim_readings(_regions(internal, external))
    assert (readings[column] == "reproduced").all() and "The other measures agree" in parts.claim_reading(readings)
    assert readings.loc["internal share", "largest for gender"] == "reproduced"
