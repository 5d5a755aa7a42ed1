"""ROAD's noisy linear imputation and the other fills, and the LeRF order."""

import numpy as np
import pytest

from facelrp.evaluate import fills, masking


def _neighbour_mean(image, y, x):
    h, w = image.shape
    total = weights = 0.0
    for dy, dx, weight in fills.NEIGHBOURS:
        if 0 <= y + dy < h and 0 <= x + dx < w:
            total += weight * image[y + dy, x + dx]
            weights += weight
    return total / weights


def test_weights_are_roads_one_sixth_and_one_twelfth():
    weights = sorted(w for _, _, w in fills.NEIGHBOURS)
    assert weights == pytest.approx([1 / 12] * 4 + [1 / 6] * 4) and sum(weights) == pytest.approx(1)


def test_a_one_pixel_hole_takes_the_weighted_mean_of_its_neighbours():
    image = np.arange(25, dtype=float).reshape(5, 5) / 25
    image[1, 1] = 0.9  # a direct neighbour that stands out
    mask = np.zeros((5, 5), bool)
    mask[2, 2] = True
    out = fills.road_impute(image, mask, noise=0)
    direct = image[1, 2] + image[3, 2] + image[2, 1] + image[2, 3]
    diagonal = image[1, 1] + image[1, 3] + image[3, 1] + image[3, 3]
    assert out[2, 2] == pytest.approx(direct / 6 + diagonal / 12)
    assert np.array_equal(out[~mask], image[~mask])  # unmasked pixels untouched


def test_a_large_hole_solves_the_stated_linear_system_including_at_the_border():
    rng = np.random.default_rng(0)
    image = rng.uniform(size=(12, 12))
    mask = np.zeros((12, 12), bool)
    mask[0:5, 0:6] = True  # touches two borders
    mask[7:10, 6:11] = True
    out = fills.road_impute(image, mask, noise=0)
    for y, x in zip(*np.nonzero(mask)):
        assert out[y, x] == pytest.approx(_neighbour_mean(out, y, x), abs=1e-10)
    assert np.array_equal(out[~mask], image[~mask])


def test_noise_is_added_to_the_imputed_pixels_only_with_the_stated_sd():
    image = np.full((64, 64), 0.5)
    mask = np.zeros((64, 64), bool)
    mask[8:56, 8:56] = True
    out = fills.road_impute(image, mask, noise=0.01, rng=np.random.default_rng(1))
    assert np.std(out[mask] - 0.5) == pytest.approx(0.01, rel=0.05)
    assert np.array_equal(out[~mask], image[~mask])


def test_a_fully_removed_image_becomes_its_mean_and_bad_shapes_are_named():
    image = np.random.default_rng(2).uniform(size=(4, 4))
    out = fills.road_impute(image, np.ones((4, 4), bool), noise=0)
    assert np.allclose(out, image.mean())
    with pytest.raises(ValueError, match="same 2-D shape"):
        fills.road_impute(image, np.ones((4, 5), bool))


def test_lerf_is_the_exact_reverse_of_morf_on_a_ties_free_map():
    maps = np.random.default_rng(3).normal(size=(3, 6, 6))
    morf = masking.pixel_order(maps)
    lerf = masking.least_relevant_first(morf)
    assert np.array_equal(lerf, morf[:, ::-1])
    assert np.all(np.abs(maps.reshape(3, -1))[np.arange(3)[:, None], lerf].argsort(axis=1) == np.arange(36))


def test_image_fill_levels_match_the_fill_of_each_face_and_level():
    rng = np.random.default_rng(4)
    faces = rng.integers(0, 256, (2, 8, 8)).astype(np.uint8)
    order = masking.pixel_order(rng.normal(size=(2, 8, 8)))
    counts = np.array([0, 5, 64])
    road = fills.ImageFill("road", faces, noise=0.0)
    filled = road.levels(order, counts)
    assert filled.shape == (6, 8, 8, 3)
    from facelrp.data.datasets import caffe_preprocess

    assert np.allclose(filled[:2], caffe_preprocess(faces), atol=1e-4)  # level 0: nothing removed
    mask = np.zeros(64, bool)
    mask[order[1, :5]] = True
    expected = fills.road_impute(faces[1] / 255.0, mask.reshape(8, 8), noise=0) * 255
    assert np.allclose(filled[3], caffe_preprocess(expected[None])[0], atol=1e-3)  # level 5 px, face 1
    for i in (4, 5):  # all removed: each face a flat grey at its own mean
        assert np.allclose(filled[i], caffe_preprocess(np.full((1, 8, 8), faces[i - 4].mean()))[0], atol=1e-3)
    with pytest.raises(ValueError, match="median"):
        fills.ImageFill("median", faces)
