"""The confound the stand-ins carry, measured: how much hair alone tells a face's gender.

The generator (`faces`) draws hair length from distributions whose female and male means
lie about 1.8 standard deviations apart, and the VGGFace stand-in trunk is pretrained on
faces of the same generator while the ImageNet stand-in sees procedural objects. So a
pretraining effect on these faces may come from the VGGFace stand-in having learnt the
generator's hair (or any other of its regularities), not from what face pretraining
teaches in general. This module puts numbers on the hair part of that.
"""

from __future__ import annotations

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GroupKFold, cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from . import faces
from .datasets import FaceDataset

__all__ = ["hair_gender", "confound_text", "note"]


def hair_gender(data: FaceDataset, *, folds: int = 5) -> dict | None:
    """Gender from hair alone, cross-validated with whole identities held out.

    Returns None for a set without part labels (photographs). Otherwise a dict:
    ``sd_difference`` (female minus male mean hair length of the identities over their
    pooled standard deviation), ``area_accuracy`` (logistic regression on the share of the
    image covered by hair), ``pixel_accuracy`` (logistic regression on the image with every
    pixel but the hair's set to 0), ``chance`` (the larger gender's share) and ``n_images``.
    """
    if data.parts is None:
        return None
    hair = data.parts == faces.PARTS.index("hair")
    y = np.asarray(data.gender)
    groups = np.asarray(data.identity)
    split = GroupKFold(n_splits=min(folds, len(np.unique(groups))))

    def accuracy(x):
        model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000))
        return float(cross_val_score(model, x, y, groups=groups, cv=split).mean())

    out = {"area_accuracy": accuracy(hair.reshape(len(y), -1).mean(axis=1, keepdims=True)),
           "pixel_accuracy": accuracy((data.images * hair).reshape(len(y), -1).astype(np.float32)),
           "chance": float(max(np.mean(y), 1 - np.mean(y))), "n_images": int(len(y)), "sd_difference": None}
    if data.identity_params is not None:
        length = data.identity_params[:, faces.PARAM_NAMES.index("hair_length")]
        by_identity = np.array([y[groups == i][0] for i in range(len(data.identity_names))])
        female, male = length[by_identity == 0], length[by_identity == 1]
        pooled = np.sqrt((female.var(ddof=1) * (len(female) - 1) + male.var(ddof=1) * (len(male) - 1))
                         / (len(female) + len(male) - 2))
        out["sd_difference"] = float((female.mean() - male.mean()) / pooled)
    return out


def confound_text(profile, found: dict | None) -> str:
    """The sentence a page prints where it draws a pretraining conclusion: the stand-ins'
    confound with the measured numbers, or what applies to photographs and real weights."""
    if not profile.stand_in or found is None:
        return ("With photographs and the real trunks the stand-ins' confound below does not apply; whether a "
                "pretraining effect comes from face pretraining or from a regularity of the faces is not tested here.")
    length = (f"the test faces' hair length differs by {found['sd_difference']:.1f} SD between the genders, and "
              if found["sd_difference"] is not None else "")
    return (f"A confound of the stand-ins: the VGGFace stand-in is pretrained on faces from the same generator as "
            f"the test faces, the ImageNet stand-in on procedural objects; {length}hair alone tells the gender of "
            f"held-out identities with {100 * found['pixel_accuracy']:.0f} % accuracy (hair pixels; "
            f"{100 * found['area_accuracy']:.0f} % from the hair's area alone; chance {100 * found['chance']:.0f} %). "
            f"A pretraining effect here may come from the VGGFace stand-in knowing the generator, not from face "
            f"pretraining as such.")


def note(profile, faces_file) -> str:
    """`confound_text` of the profile's face set at `faces_file`, what the pages glue where
    they draw a pretraining conclusion."""
    return confound_text(profile, hair_gender(FaceDataset.load(faces_file)))
