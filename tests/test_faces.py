import numpy as np
import pytest
from scipy.ndimage import binary_dilation
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import cross_val_score

from facelrp.data import datasets, faces

LABEL = {name: i for i, name in enumerate(faces.PARTS)}


def test_same_seed_gives_identical_bytes_and_another_seed_differs():
    a = datasets.synthetic_vpnl(n_male=2, n_female=2, size=24, seed=5)
    b = datasets.synthetic_vpnl(n_male=2, n_female=2, size=24, seed=5)
    c = datasets.synthetic_vpnl(n_male=2, n_female=2, size=24, seed=6)
    assert a.images.tobytes() == b.images.tobytes()
    assert a.parts.tobytes() == b.parts.tobytes()
    assert np.array_equal(a.identity_params, b.identity_params)
    assert a.images.tobytes() != c.images.tobytes()


def test_vpnl_design_counts():
    # the demo design (44 male, 57 female, 15 views), rendered small to stay fast
    data = datasets.synthetic_vpnl(n_male=44, n_female=57, size=8, supersample=1, seed=0)
    assert len(data) == 1515
    assert data.n_identities == 101
    per_identity = data.identity_gender()
    assert (per_identity == 1).sum() == 44 and (per_identity == 0).sum() == 57
    assert sorted(set(data.view.tolist())) == list(range(-105, 106, 15))
    views_per_identity = np.bincount(data.identity)
    assert (views_per_identity == 15).all()
    front = data.frontal()
    assert len(front) == 101 and (front.view == 0).all()
    assert np.array_equal(front.identity, np.arange(101))


def test_image_shape_dtype_and_range(smoke_faces):
    assert smoke_faces.images.shape == (180, 32, 32)
    assert smoke_faces.images.dtype == np.uint8
    assert smoke_faces.parts.shape == smoke_faces.images.shape
    assert smoke_faces.parts.max() < len(faces.PARTS)


def test_224_px_renders(identities):
    image, labels = faces.render_face(identities[0], 0, size=224, supersample=1)
    assert image.shape == labels.shape == (224, 224)
    assert {LABEL["eyes"], LABEL["nose"], LABEL["mouth"]} <= set(np.unique(labels))


def test_frontal_face_shows_every_internal_part(identities):
    for params in identities:
        _, labels = faces.render_face(params, 0, size=64)
        present = {faces.PARTS[i] for i in np.unique(labels)}
        assert set(faces.INTERNAL_PARTS) <= present
        assert {"background", "skin", "hair"} <= present


def test_background_pixels_are_plain_grey(identities):
    image, labels = faces.render_face(identities[1], 30, size=64)
    bg = labels == 0
    # pixels whose neighbourhood is all background cannot be blended with the face
    interior = bg & ~binary_dilation(~bg, iterations=1)
    assert interior.sum() > 500
    assert np.allclose(image[interior], faces.BACKGROUND)
    assert not np.allclose(image[~bg], faces.BACKGROUND)


@pytest.mark.parametrize("part", ["hair", "eyes", "nose", "mouth", "brows", "skin"])
def test_labels_mark_exactly_the_pixels_a_part_paints(identities, part):
    # changing one part's albedo may only change pixels labelled with that part, or one
    # pixel away where antialiasing blends it with its neighbours. Labels are taken at the
    # pixel centre, so a sub-pixel sliver (hair between ear and head) can be missed: allow
    # at most 1 % of the changed pixels outside.
    params = identities[0]
    base, labels = faces.render_face(params, 15, size=48)
    changed, _ = faces.render_face(params, 15, size=48, albedo_override={part: 0.0})
    diff = np.abs(base - changed) > 1e-6
    near_part = binary_dilation(labels == LABEL[part], iterations=1)
    assert diff.sum() > 5
    assert (diff & ~near_part).sum() <= 0.01 * diff.sum()
    # and most of the labelled pixels really change
    assert diff[labels == LABEL[part]].mean() > 0.8


def test_positive_yaw_turns_the_face_to_the_viewers_right(identities):
    centres = []
    for yaw in (-45, 0, 45):
        _, labels = faces.render_face(identities[2], yaw, size=64)
        cols = np.nonzero(labels == LABEL["nose"])[1]
        centres.append(cols.mean())
    assert centres[0] < centres[1] < centres[2]


def test_profile_view_shows_an_ear_for_short_hair(identities):
    params = identities[1].copy()
    params[faces.PARAM_NAMES.index("hair_length")] = 0.0
    _, labels = faces.render_face(params, 90, size=64)
    assert (labels == LABEL["ears"]).sum() > 5


def test_faces_differ_between_identities(identities):
    a, _ = faces.render_face(identities[0], 0, size=32)
    b, _ = faces.render_face(identities[2], 0, size=32)
    assert np.abs(a - b).mean() > 0.01


def _gender_accuracy(params, genders, columns):
    index = [faces.PARAM_NAMES.index(c) for c in columns]
    model = LogisticRegression(max_iter=2000)
    return cross_val_score(model, params[:, index], genders, cv=5).mean()


def test_gender_is_not_given_away_by_hair_or_by_internal_features_alone():
    rng = np.random.default_rng(0)
    genders = rng.integers(0, 2, 3000)
    params = faces.sample_identities(genders, rng)
    hair = ["hair_length", "hair_tone", "hair_volume", "hairline", "facial_hair"]
    internal = ["eye_spacing", "eye_size", "eye_height", "brow_thickness", "brow_height", "brow_tilt",
                "nose_length", "nose_width", "nose_protrusion", "mouth_width", "lip_thickness"]
    for columns in (hair, internal):
        accuracy = _gender_accuracy(params, genders, columns)
        assert 0.65 < accuracy < 0.97, (columns, accuracy)
    # together they carry more than either alone
    assert _gender_accuracy(params, genders, hair + internal) > max(
        _gender_accuracy(params, genders, hair), _gender_accuracy(params, genders, internal)
    )


def test_pretraining_identities_are_disjoint_from_the_analysis_set(smoke_faces):
    rng = np.random.default_rng(1)
    params, genders = faces.sample_disjoint_identities(50, smoke_faces.identity_params, rng, min_distance=2.0)
    scale = faces._standardise
    dist = np.linalg.norm(scale(params)[:, None] - scale(smoke_faces.identity_params)[None], axis=-1)
    assert params.shape == (50, len(faces.PARAM_NAMES))
    assert dist.min() >= 2.0
    assert set(genders.tolist()) == {0, 1}


def test_pretraining_corpus_is_jittered(smoke_faces):
    corpus = datasets.pretraining_faces(
        smoke_faces.identity_params, n_identities=3, images_per_identity=6, size=24, seed=2
    )
    assert len(corpus) == 18 and corpus.n_identities == 3
    assert np.abs(corpus.view).max() <= 105
    assert len(set(corpus.view.tolist())) > 10  # continuous yaw, not the 15 VPNL views
    assert corpus.provenance["stand_in_for"].startswith("VGGFace")


def test_supersample_must_be_odd(identities):
    with pytest.raises(ValueError, match="supersample must be odd, got 2"):
        faces.render_face(identities[0], supersample=2)
