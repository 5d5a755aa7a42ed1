"""Masking: exact counts, deterministic ties, AUC, bins and sampling, the trunk-sharing path."""

import numpy as np
import pytest
from scipy import stats as sps

from facelrp.evaluate import comparisons, masking, statistics
from facelrp.models import finetune, vgg
from facelrp.profiles import load_profile

KEYS = finetune.model_keys(load_profile("demo"))


def test_levels_are_log_spaced_and_hold_the_papers_half_decade_grid():
    steps = np.diff(np.log10(masking.LEVELS))
    assert np.allclose(steps, 0.25, atol=1e-3)
    for level in (0.1, 0.316, 1, 3.16, 10, 31.6, 100):
        assert np.isclose(masking.LEVELS, level, rtol=2e-3).any(), level


@pytest.mark.parametrize("size", [32, 64])
def test_masked_pixel_counts_are_exact_at_every_level(size):
    rng = np.random.default_rng(0)
    maps = rng.normal(size=(3, size, size))
    x = rng.uniform(1, 2, size=(3, size, size, 3)).astype(np.float32)  # never equal to the fill
    order = masking.pixel_order(maps)
    counts = masking.n_masked(masking.LEVELS, size * size)
    assert counts[-1] == size * size and counts[0] == round(0.001 * size * size)
    for count in counts:
        masked = masking.mask_images(x, order, count, fill=0.0)
        per_image = (masked == 0).all(axis=-1).sum(axis=(1, 2))
        assert (per_image == count).all()
        assert ((masked != 0).any(axis=-1) == (masked == x).all(axis=-1)).all()  # the rest is untouched


def test_the_most_relevant_pixels_go_first_whatever_their_sign():
    maps = np.zeros((1, 4, 4))
    maps[0, 1, 2] = -0.9
    maps[0, 3, 0] = 0.5
    maps[0, 0, 0] = 0.1
    order = masking.pixel_order(maps)[0]
    assert list(order[:3]) == [1 * 4 + 2, 3 * 4 + 0, 0]


def test_ties_are_broken_by_a_seeded_random_order():
    flat = np.ones((2, 8, 8))
    a, b, c = (masking.pixel_order(flat, seed=s) for s in (3, 3, 4))
    assert (a == b).all() and not (a == c).all()
    assert not (a[0] == np.arange(64)).all()  # not the scan order
    assert sorted(a[0]) == list(range(64))


def test_random_order_is_a_seeded_permutation():
    a = masking.random_order(5, 100, seed=1)
    assert (a == masking.random_order(5, 100, seed=1)).all()
    assert (np.sort(a, axis=1) == np.arange(100)).all()


def test_auc_of_known_curves():
    levels = masking.LEVELS
    assert masking.auc(np.ones(len(levels))) == pytest.approx(1.0)
    assert masking.auc(np.full(len(levels), 0.5)) == pytest.approx(0.5)
    x = np.linspace(0, 1, len(levels))  # linear in log10(level): from 1 down to 0
    assert masking.auc(1 - x) == pytest.approx(0.5)
    step = (np.log10(levels) < 0).astype(float)  # perfect below 1 %, then 0 (trapezoids: 3.5 of 12 steps)
    assert masking.auc(step) == pytest.approx(3.5 / 12)
    assert masking.auc(np.ones((4, 3, len(levels)))).shape == (4, 3)


def test_every_destination_has_the_bins_of_the_paper():
    sizes = {"same_model": 1, "other_seed": 4, "other_task": 5, "other_pretraining": 5, "other_both": 5}
    for j, dest in enumerate(KEYS):
        groups = comparisons.members(KEYS, j)
        assert {b: len(v) for b, v in groups.items()} == sizes
        assert groups["same_model"] == [j]
        for i in groups["other_task"]:
            assert KEYS[i].source == dest.source and KEYS[i].task != dest.task
        for i in groups["other_both"]:
            assert KEYS[i].source != dest.source and KEYS[i].task != dest.task
    for a in KEYS:
        for b in KEYS:
            assert comparisons.relation(a, b) == comparisons.relation(b, a)


def test_sources_are_drawn_from_their_bin_with_replacement_and_a_seed():
    draws = comparisons.sample_sources(KEYS, n_draws=100, seed=0)
    assert draws.shape == (20, 5, 100)
    assert (draws == comparisons.sample_sources(KEYS, n_draws=100, seed=0)).all()
    assert not (draws == comparisons.sample_sources(KEYS, n_draws=100, seed=1)).all()
    for j in range(20):
        for b, name in enumerate(comparisons.BINS):
            assert set(draws[j, b]) <= set(comparisons.members(KEYS, j)[name])
    assert len(set(draws[0, 1])) == 4  # 100 draws from 4 seeds reach all of them


def _table(effect_vggface=0.0, effect_source=0.0, seed=0):
    rng = np.random.default_rng(seed)
    auc = rng.normal(0.5, 0.02, (20, 20))
    for j, dest in enumerate(KEYS):
        auc[:, j] += effect_vggface * (dest.source == "vggface")
        auc[j, j] -= effect_source
    return comparisons.auc_table(auc, KEYS, comparisons.sample_sources(KEYS, n_draws=20, seed=seed))


def test_figure5_statistics_match_independent_computations():
    table = _table(effect_vggface=0.05, effect_source=0.03)
    tests = statistics.figure5_tests(table).set_index(["task", "design", "effect"])
    means = statistics.bin_means(table, statistics.FIGURE5_SOURCES)
    for task in ("gender", "identity"):
        data = means[means.task == task]
        # mixed design, between factor: one-way ANOVA on each destination's mean over sources
        per_model = data.groupby(["destination", "pretraining"])["auc"].mean().reset_index()
        f, p = sps.f_oneway(*[g.auc for _, g in per_model.groupby("pretraining")])
        assert tests.loc[(task, "mixed", "pretraining"), "F"] == pytest.approx(f)
        # the two-level within factor: F is the square of the paired t of the differences
        # after removing the pretraining groups' means (equivalently, the mixed design's F)
        row = tests.loc[(task, "between", "pretraining")]
        assert (row.df1, row.df2) == (1, 16)
        assert tests.loc[(task, "mixed", "mask source"), "df2"] == 8
        assert tests.loc[(task, "between", "pretraining"), "p"] < 1e-3  # the planted effect is found


def test_figure6_statistics_match_independent_computations():
    table = _table(effect_source=0.04)
    anova, pairs = statistics.figure6_tests(table)
    means = statistics.bin_means(table, statistics.FIGURE6_SOURCES)
    data = means[(means.pretraining == "vggface") & (means.task == "gender")]
    f, p = sps.f_oneway(*[g.auc for _, g in data.groupby("mask source")])
    row = anova.set_index(["pretraining", "task", "design"]).loc[("vggface", "gender", "between")]
    assert (row.df1, row.df2) == (3, 16) and row.F == pytest.approx(f) and row.p == pytest.approx(p)
    rep = anova.set_index(["pretraining", "task", "design"]).loc[("vggface", "gender", "repeated")]
    assert (rep.df1, rep.df2) == (3, 12) and rep.p < 0.01  # same init. is planted lower
    wide = data.pivot(index="destination", columns="mask source", values="auc")
    t, _ = sps.ttest_rel(wide["other pretraining, same task"], wide["same init."])
    pick = pairs[(pairs.pretraining == "vggface") & (pairs.task == "gender")]
    match = pick[((pick.A == "other pretraining, same task") & (pick.B == "same init."))
                 | ((pick.B == "other pretraining, same task") & (pick.A == "same init."))]
    assert len(match) == 1 and abs(match["T"].iloc[0]) == pytest.approx(abs(t))
    assert (pick["p_corr"] >= pick["p_unc"] - 1e-12).all()  # Holm never lowers a p


def test_trunk_sharing_path_equals_the_naive_path_with_fewer_trunk_passes():
    from tensorflow import keras

    spec = vgg.TrunkSpec(width=0.0625, input_size=32, fc_width=32)
    rng = np.random.default_rng(0)
    trunks = {}
    for t, name in enumerate(("imagenet", "vggface")):
        keras.utils.set_random_seed(t)
        trunks[name] = vgg.trunk_of(vgg.build_vgg16(spec, n_classes=3, name=name))
    x = rng.normal(0, 40, (6, 32, 32, 3)).astype(np.float32)
    readouts, models = [], []
    for j, (name, n_classes) in enumerate([("imagenet", 2), ("imagenet", 3), ("vggface", 2)]):
        kernel = rng.normal(size=(32, n_classes)).astype(np.float32)
        bias = rng.normal(size=n_classes).astype(np.float32)
        labels = rng.integers(0, n_classes, len(x))
        readouts.append(masking.Readout(f"m{j}", name, kernel, bias, labels))
        models.append(finetune.assemble(trunks[name], [kernel, bias], name=f"m{j}"))
    orders = {"a": masking.pixel_order(rng.normal(size=(6, 32, 32))), "random": masking.random_order(6, 1024)}
    levels = masking.LEVELS[::3]
    shared, shared_images = masking.masking_curves(x, orders, trunks, readouts, levels=levels, progress=False)
    naive, naive_images = masking.naive_curves(
        x, orders, models, [r.labels for r in readouts], levels=levels, progress=False
    )
    assert shared.shape == (2, 3, len(levels)) and not np.isnan(shared).any()
    assert (shared == naive).all()
    assert shared_images == 2 * 2 * len(levels) * 6  # trunks x masks x levels x images
    assert naive_images == 2 * 3 * len(levels) * 6  # masks x models x levels x images


def test_masking_curves_names_a_missing_trunk():
    r = masking.Readout("m", "vggface", np.zeros((4, 2)), np.zeros(2), np.zeros(3, int))
    with pytest.raises(ValueError, match="vggface"):
        masking.masking_curves(np.zeros((3, 4, 4, 3)), {"a": np.zeros((3, 16), int)}, {}, [r], progress=False)


@pytest.mark.parametrize("kind", ["road", "blur"])
def test_image_fills_give_the_same_curves_on_both_paths(kind):
    from tensorflow import keras

    from facelrp.data.datasets import caffe_preprocess
    from facelrp.evaluate import fills

    spec = vgg.TrunkSpec(width=0.0625, input_size=32, fc_width=16)
    keras.utils.set_random_seed(0)
    trunk = vgg.trunk_of(vgg.build_vgg16(spec, n_classes=2, name="t"))
    rng = np.random.default_rng(5)
    faces = rng.integers(0, 256, (4, 32, 32)).astype(np.uint8)
    x = caffe_preprocess(faces)
    kernel, bias = rng.normal(size=(16, 2)).astype(np.float32), np.zeros(2, np.float32)
    labels = rng.integers(0, 2, 4)
    readout = masking.Readout("m", "t", kernel, bias, labels)
    model = finetune.assemble(trunk, [kernel, bias], name="m")
    orders = {"a": masking.pixel_order(rng.normal(size=(4, 32, 32)))}
    orders["a lerf"] = masking.least_relevant_first(orders["a"])
    fill = fills.ImageFill(kind, faces, seed=1)
    levels = masking.LEVELS[::4]
    shared, _ = masking.masking_curves(x, orders, {"t": trunk}, [readout], levels=levels, fill=fill, progress=False)
    naive, _ = masking.naive_curves(x, orders, [model], [labels], levels=levels, fill=fill, progress=False)
    assert (shared == naive).all() and not np.isnan(shared).any()


def test_random_map_floor_gives_the_random_baseline_within_sampling_error():
    from tensorflow import keras

    from facelrp.explain import relevance

    spec = vgg.TrunkSpec(width=0.0625, input_size=32, fc_width=16)
    keras.utils.set_random_seed(3)
    trunk = vgg.trunk_of(vgg.build_vgg16(spec, n_classes=2, name="t"))
    rng = np.random.default_rng(7)
    x = rng.normal(0, 40, (48, 32, 32, 3)).astype(np.float32)
    kernel, bias = rng.normal(size=(16, 3)).astype(np.float32), np.zeros(3, np.float32)
    labels = (trunk.predict(x, verbose=0) @ kernel + bias).argmax(axis=1)  # accuracy 1 before masking
    readout = masking.Readout("m", "t", kernel, bias, labels)
    n = 24
    maps = relevance.random_maps(n, (48, 32, 32), seed=1)
    orders = {f"map{i}": masking.pixel_order(maps[i], seed=i) for i in range(n)}
    orders.update({f"random{i}": masking.random_order(48, 1024, seed=100 + i) for i in range(n)})
    curves, _ = masking.masking_curves(x, orders, {"t": trunk}, [readout], progress=False)
    auc = masking.auc(curves)[:, 0]
    floor, baseline = auc[:n], auc[n:]
    assert curves[:, 0, 0].mean() > curves[:, 0, -1].mean() and floor.std() > 0  # the masks change the predictions
    error = np.sqrt(floor.var(ddof=1) / n + baseline.var(ddof=1) / n)
    assert abs(floor.mean() - baseline.mean()) < 3 * error, (floor.mean(), baseline.mean(), error)


def test_the_first_faces_pixel_order_is_the_same_alone_or_in_a_batch():
    """The masking figures order one face's pixels alone; the masking stage orders all faces
    at once. Ties are broken by one seeded draw filled row by row, so the first face's order
    is the same either way (the figures show face 0 for that reason)."""
    maps = np.round(np.random.default_rng(1).normal(size=(5, 6, 6)), 1)  # rounded: many ties
    together = masking.pixel_order(maps, seed=3)
    assert np.array_equal(masking.pixel_order(maps[:1], seed=3), together[:1])
    assert not np.array_equal(masking.pixel_order(maps[1:2], seed=3), together[1:2])
