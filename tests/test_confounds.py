"""The stand-ins' hair confound: gender from hair alone, on planted sets and the smoke faces."""

import dataclasses

import numpy as np
import pytest

from facelrp.data import confounds, datasets, faces
from facelrp.profiles import load_profile

HAIR = faces.PARTS.index("hair")


def _planted(hair_follows_gender: bool, n_identities=20, views=4, size=16, seed=0):
    """Identities alternating female/male; the hair covers the top rows of the image, 10
    rows for women and 4 for men (or a random number for both when it does not follow)."""
    rng = np.random.default_rng(seed)
    gender = np.arange(n_identities) % 2
    rows = np.where(gender == 0, 10, 4) if hair_follows_gender else rng.integers(3, 11, n_identities)
    identity = np.repeat(np.arange(n_identities), views)
    parts = np.zeros((len(identity), size, size), dtype=np.uint8)
    for i, who in enumerate(identity):
        parts[i, : rows[who] + rng.integers(0, 2)] = HAIR
    images = rng.integers(0, 255, parts.shape).astype(np.uint8)
    return datasets.FaceDataset(images=images, identity=identity, gender=gender[identity].astype(np.int8),
                                view=np.zeros(len(identity), dtype=np.int16),
                                identity_names=tuple(f"id{i}" for i in range(n_identities)), parts=parts)


def test_hair_that_follows_gender_tells_it_and_hair_that_does_not_does_not():
    found = confounds.hair_gender(_planted(True))
    assert found["area_accuracy"] == 1.0 and found["pixel_accuracy"] > 0.9 and found["chance"] == 0.5
    assert found["sd_difference"] is None and found["n_images"] == 80
    found = confounds.hair_gender(_planted(False))
    assert found["area_accuracy"] < 0.75


def test_the_generator_s_hair_length_gap_is_measured(smoke_faces):
    found = confounds.hair_gender(smoke_faces)
    length = smoke_faces.identity_params[:, faces.PARAM_NAMES.index("hair_length")]
    gender = np.array([smoke_faces.gender[smoke_faces.identity == i][0] for i in range(smoke_faces.n_identities)])
    female, male = length[gender == 0], length[gender == 1]  # equal groups: the pooled SD is the mean variance
    expected = (female.mean() - male.mean()) / np.sqrt((female.var(ddof=1) + male.var(ddof=1)) / 2)
    assert found["sd_difference"] == pytest.approx(expected)
    assert found["sd_difference"] > 0  # women's hair longer, as the generator draws it


def test_the_sentence_names_the_numbers_or_what_applies_to_photographs(tmp_path, smoke_faces):
    found = {"sd_difference": 1.8, "pixel_accuracy": 0.91, "area_accuracy": 0.7, "chance": 0.56}
    text = confounds.confound_text(load_profile("demo"), found)
    assert "1.8 SD" in text and "91 %" in text and "70 %" in text and "chance 56 %" in text
    assert "not from face pretraining as such" in text
    assert confounds.confound_text(load_profile("paper"), None).startswith("With photographs and the real trunks")
    assert confounds.hair_gender(dataclasses.replace(_planted(True), parts=None)) is None
    smoke_faces.save(tmp_path / "faces.npz")
    assert confounds.note(load_profile("smoke"), tmp_path / "faces.npz") == confounds.confound_text(
        load_profile("smoke"), confounds.hair_gender(smoke_faces))
