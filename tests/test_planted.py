"""The planted-ground-truth control set carries its label in the planted parts only."""

import numpy as np
import pytest
from scipy import stats
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import cross_val_predict

from facelrp.data import faces
from facelrp.explain import planted


@pytest.fixture(scope="module")
def control():
    return planted.planted_faces(n_classes=4, images_per_class=30, parts=("brows",), size=32, seed=0, supersample=1)


def test_classes_fix_the_planted_parameters_and_differ_along_each(control):
    data, params = control
    columns = planted.planted_columns(("brows",))
    assert [faces.PARAM_NAMES[c] for c in columns] == ["brow_thickness", "brow_height", "brow_tilt"]
    for c in range(4):
        rows = params[data.identity == c][:, columns]
        assert np.all(rows == rows[0])  # one value per class and parameter
    per_class = np.array([params[data.identity == c][0, columns] for c in range(4)])
    assert all(len(np.unique(per_class[:, j])) == 4 for j in range(len(columns)))
    assert data.images.shape == (120, 32, 32) and data.parts.shape == (120, 32, 32)


def test_a_classifier_on_the_other_parts_is_at_chance_and_one_on_the_planted_parts_is_not(control):
    data, params = control
    z = params / faces.param_scale()
    columns = planted.planted_columns(("brows",))
    other = [c for c in range(z.shape[1]) if c not in columns]

    def accuracy(features):
        predicted = cross_val_predict(LogisticRegression(max_iter=5000), features, data.identity, cv=5)
        return (predicted == data.identity).sum()

    hits_other, hits_planted = accuracy(z[:, other]), accuracy(z[:, columns])
    n = len(data.identity)
    assert stats.binomtest(hits_other, n, 1 / 4, alternative="greater").pvalue > 0.05
    assert hits_planted == n


def test_the_planted_tone_changes_only_the_planted_parts_pixels(control):
    data, params = control
    image, labels = faces.render_face(params[0], 0.0, size=32, supersample=1)
    toned, same_labels = faces.render_face(params[0], 0.0, size=32, supersample=1, albedo_override={"brows": 0.85})
    assert np.array_equal(labels, same_labels)
    changed = ~np.isclose(image, toned)
    assert changed.any() and np.all(labels[changed] == faces.PARTS.index("brows"))


def test_unknown_parts_are_named():
    with pytest.raises(ValueError, match="hair"):
        planted.planted_columns(("nose", "hair"))
