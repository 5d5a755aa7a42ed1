"""Layer-wise PLS + VIP attribute probing (facelrp.studies.probing)."""

import tracemalloc

import numpy as np
import pytest
from sklearn.cross_decomposition import PLSRegression

from facelrp.data import faces
from facelrp.studies import probing


def _nipals_vip(x, y, k):
    """PLS1 NIPALS and VIP written out from the definitions (Diniz & Schwartz, Algorithm 1
    and equation 3), on X and y standardised as scikit-learn's PLS does."""
    e = (x - x.mean(0)) / x.std(0, ddof=1)
    f = (y - y.mean()) / y.std(ddof=1)
    ws, ts, qs = [], [], []
    for _ in range(k):
        w = e.T @ f
        w /= np.linalg.norm(w)
        t = e @ w
        p = e.T @ t / (t @ t)
        q = f @ t / (t @ t)
        e = e - np.outer(t, p)
        f = f - q * t
        ws.append(w), ts.append(t), qs.append(q)
    w, t, q = np.array(ws).T, np.array(ts).T, np.array(qs)
    ss = q**2 * (t**2).sum(0)
    return np.sqrt(x.shape[1] * ((w / np.linalg.norm(w, axis=0)) ** 2 @ ss) / ss.sum())


def _fit(x, y, k):
    """`probing.nipals` on one problem that uses every face and column."""
    return probing.nipals(x, y[:, None], np.ones((len(x), 1), bool), None, k)


def test_vip_matches_a_hand_computation_and_averages_to_one():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(60, 9))
    y = (x[:, 0] - 0.5 * x[:, 4] + rng.normal(0, 0.5, 60) > 0).astype(float)
    for k in (1, 3):
        vip = probing.vip_scores(_fit(x, y, k))[0]
        np.testing.assert_allclose(vip, _nipals_vip(x, y, k), rtol=1e-6)
        assert np.mean(vip**2) == pytest.approx(1.0)
    # one component: VIP_j = sqrt(m) |X_j' y| / |X' y| on standardised X
    z = (x - x.mean(0)) / x.std(0, ddof=1)
    w = np.abs(z.T @ (y - y.mean()))
    np.testing.assert_allclose(probing.vip_scores(_fit(x, y, 1))[0], np.sqrt(9) * w / np.linalg.norm(w), rtol=1e-6)


def test_batched_nipals_equals_scikit_learn_on_each_problems_faces_and_columns():
    rng = np.random.default_rng(6)
    n, m = 80, 14
    x = rng.gamma(1.0, size=(n, m)).astype(np.float32)
    x[:, 3] = 0.0  # a dead unit: constant, kept at scale 1 as scikit-learn does
    y = rng.integers(0, 2, (n, 3)).astype(float)
    rows = rng.random((n, 3)) < 0.7
    cols = np.ones((m, 3), bool)
    cols[:5, 1] = False  # problem 1 sees the last 9 columns only
    cols[::2, 2] = False
    fit = probing.nipals(x, y, rows, cols, 4)
    new = rng.gamma(1.0, size=(20, m)).astype(np.float32)
    vip = probing.vip_scores(fit)
    for a in range(3):
        used = np.flatnonzero(cols[:, a])
        ref = PLSRegression(n_components=4, scale=True).fit(x[rows[:, a]][:, used].astype(np.float64), y[rows[:, a], a])
        np.testing.assert_allclose(fit.weights[a][used], ref.x_weights_, atol=1e-8)
        np.testing.assert_allclose(fit.scores[a][rows[:, a]], ref.x_scores_, atol=1e-8)
        np.testing.assert_allclose(fit.y_loadings[a], ref.y_loadings_[0], atol=1e-8)
        np.testing.assert_allclose(fit.transform(new)[a], ref.transform(new[:, used].astype(np.float64)), atol=1e-8)
        assert np.all(fit.scores[a][~rows[:, a]] == 0) and np.all(vip[a][~cols[:, a]] == 0)
        assert np.mean(vip[a][used] ** 2) == pytest.approx(1.0)


def test_vip_ranks_first_the_feature_that_alone_carries_the_label():
    rng = np.random.default_rng(1)
    y = rng.integers(0, 2, 300)
    x = rng.normal(size=(300, 40))
    x[:, 17] += 2.0 * y
    vip = probing.vip_scores(_fit(x, y, 8))[0]
    assert np.argmax(vip) == 17 and vip[17] > 3 * np.median(vip)


def test_pls_qda_separates_separable_classes_and_stays_at_chance_on_shuffled_labels():
    rng = np.random.default_rng(2)
    n, m = 400, 200
    direction = rng.normal(size=m)
    y = rng.integers(0, 2, 2 * n)
    x = rng.normal(size=(2 * n, m)) + np.outer(y - 0.5, direction) * 0.6
    train, val = slice(0, n), slice(n, 2 * n)
    for labels, check in ((y[train], lambda acc: acc > 0.97), (rng.permutation(y[train]), lambda acc: abs(acc - 0.5) < 0.08)):
        fit = _fit(x[train], labels, 8)
        correct = probing.qda_correct(fit.scores[0], labels, fit.transform(x[val])[0], y[val])
        assert check(correct.mean()), correct.mean()


def test_probe_layer_finds_the_filter_that_carries_the_label():
    rng = np.random.default_rng(3)
    n = 240
    y = np.r_[np.zeros(n // 2, int), np.ones(n // 2, int)]
    acts = rng.random((2 * n, 4, 4, 10)).astype(np.float32)
    labels = np.r_[y, y]
    acts[:, :, :, 6] += 0.8 * labels[:, None, None]  # channel 6 carries the label everywhere
    idx = np.arange(n)
    sets = {"a": probing.ProbeSet("a", idx, y, idx, y, selection=idx % 2 == 0)}
    out = probing.probe_layer(acts[:n], acts[n:], sets, top=4, sampled=("a", 12))
    assert out["layer"].shape == (1, 3) and out["layer"][0, 0] > 0.97
    assert out["top_filters"][0, 0] == 6
    assert np.all(out["top_neurons"][0] % 10 == 6)  # neurons index (y, x, channel) flattened
    assert out["single_filter"].shape == (1, 4, 3) and out["single_filter"][0, 0, 0] > 0.97
    assert out["top_activations"].shape == (1, 4, n)
    np.testing.assert_allclose(out["vip_hist"].sum(), 1.0)
    sampled = out["sampled"][~np.isnan(out["sampled"][:, 0])]
    high, low = sampled[sampled[:, 0] > 2], sampled[sampled[:, 0] < 0.5]
    assert high[:, 1].min() > low[:, 1].max()  # high-VIP single neurons beat low-VIP ones


@pytest.fixture(scope="module")
def probe_data():
    return probing.probe_faces(n_train=24, n_validation=24, images_per_identity=4, size=32, seed=0)


def test_probe_faces_balance_every_attribute_in_disjoint_identity_splits(probe_data):
    data = probe_data
    assert len(data) == 48 * 4 and data.images.shape[1:] == (32, 32)
    is_train, sets = probing.probe_sets(data)
    assert set(data.identity[is_train]).isdisjoint(data.identity[~is_train])
    assert (data.gender[is_train] == 1).mean() == 0.5 and (data.gender[~is_train] == 1).mean() == 0.5
    frontal = np.abs(data.view) <= probing.FRONTAL_YAW
    profile = (np.abs(data.view) >= 60) & (np.abs(data.view) <= 105)
    assert np.all(frontal | profile) and frontal.mean() == 0.5
    labels = probing.attribute_labels(data)
    assert set(labels.columns) == set(probing.ATTRIBUTES)
    assert np.all(labels["facial_hair"][data.gender == 0] == -1)
    assert np.array_equal(labels["view"], profile.astype(int))
    j = faces.PARAM_NAMES.index("head_width")
    median = np.median(data.identity_params[:24, j])
    assert np.array_equal(labels["face_width"], (data.identity_params[data.identity, j] > median).astype(int))
    for s in sets.values():
        assert s.y_train.mean() == 0.5 and s.y_val.mean() == 0.5
        assert len(s.train) == len(np.unique(s.train)) and s.selection.any() and not s.selection.all()


def test_probe_faces_reject_odd_sizes():
    with pytest.raises(ValueError, match="images_per_identity must be even"):
        probing.probe_faces(n_train=8, n_validation=8, images_per_identity=3)
    with pytest.raises(ValueError, match="n_validation must be even"):
        probing.probe_faces(n_train=8, n_validation=7)


@pytest.fixture(scope="module")
def tiny_trunk():
    from facelrp.models import vgg

    return vgg.build_vgg16(vgg.TrunkSpec(width=0.0625, input_size=32, fc_width=64))


def test_layer_activations_come_one_layer_at_a_time_with_the_layer_shapes(tiny_trunk):
    rng = np.random.default_rng(4)
    images = rng.integers(0, 256, (400, 32, 32), dtype=np.uint8)
    expected = {"block1_conv1": (32, 32, 4), "block2_conv2": (16, 16, 8), "block3_conv3": (8, 8, 16),
                "block5_conv1": (2, 2, 32), "fc1": (64,), "fc2": (64,)}
    list(probing.layer_activations(tiny_trunk, images[:2]))  # build TensorFlow's functions outside the measurement
    tracemalloc.start()
    shapes, sizes = {}, []
    for name, acts, pool in probing.layer_activations(tiny_trunk, images, batch_size=100):
        assert acts.dtype == np.float32 and pool == 1 and acts.min() >= 0  # after the ReLU
        shapes[name] = acts.shape[1:]
        sizes.append(acts.nbytes)
        del acts
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert list(shapes) == list(probing.PROBE_LAYERS)
    assert all(shapes[k] == v for k, v in expected.items())
    input_bytes = images.size * 3 * 4  # the preprocessed input, held throughout
    bound = input_bytes + 1.5 * max(sizes) + 4 * 2**20
    assert bound < sum(sizes)  # the check can fail: holding every layer would exceed it
    assert peak < bound, (peak, bound, sum(sizes))


def test_wide_layers_are_average_pooled_and_say_so(tiny_trunk):
    images = np.random.default_rng(5).integers(0, 256, (6, 32, 32), dtype=np.uint8)
    full = dict((n, a) for n, a, _ in probing.layer_activations(tiny_trunk, images, ["block1_conv1", "fc2"]))
    pooled = {n: (a, p) for n, a, p in probing.layer_activations(tiny_trunk, images, ["block1_conv1", "fc2"],
                                                                   max_features=1024)}
    acts, pool = pooled["block1_conv1"]
    assert pool == 2 and acts.shape == (6, 16, 16, 4)
    np.testing.assert_allclose(acts, full["block1_conv1"].reshape(6, 16, 2, 16, 2, 4).mean(axis=(2, 4)), rtol=1e-5, atol=1e-5)
    assert pooled["fc2"][1] == 1  # dense layers are never pooled


def test_probe_trunk_tables_cover_every_layer_and_attribute(tiny_trunk, probe_data):
    arrays, record = probing.probe_trunk(tiny_trunk, probe_data, sampled=("gender", 6))
    n_layers, n_attrs = len(probing.PROBE_LAYERS), len(probing.ATTRIBUTES)
    assert arrays["layer"].shape == (n_layers, n_attrs, 3) and arrays["baseline"].shape == (n_attrs, 3)
    assert np.all((arrays["layer"] >= 0) & (arrays["layer"] <= 1))
    # block1 of the tiny trunk has 4 channels: the top-8 filter slots beyond them are empty
    assert np.all(arrays["top_filters"][0, :, 4:] == -1) and np.isnan(arrays["single_filter"][0, :, 4:]).all()
    assert record["layers"]["block1_conv1"]["shape"] == [32, 32, 4] and record["peak_rss_gib"] > 0
    results = {"imagenet": arrays, "vggface": arrays}
    table = probing.table_one(results)
    assert len(table) == 2 * n_attrs and table["best_layer"].isin(probing.PROBE_LAYERS).all()
    depth = probing.depth_table(results)
    assert len(depth) == 2 * n_layers * n_attrs * 3
    diff = probing.trunk_differences(results)
    assert np.allclose(diff["difference"], 0.0) and len(diff) == n_attrs
