"""Stage ``masking``: the accuracy of every destination model under every source model's
masks (and random ones) at every level, the paper's Figures 2, 3, 5 and 6 in one array."""

from __future__ import annotations

import os
import time
from pathlib import Path

import numpy as np

from .. import store
from ..artifacts import Results, provenance
from ..data import datasets
from ..evaluate import masking
from ..evaluate.fills import ImageFill
from ..models import finetune, vgg
from . import StageError, load_faces

__all__ = ["IMPUTATIONS", "run", "summary"]

#: How masked pixels are filled: ``constant`` (the paper: `fill` everywhere), ``road``
#: (ROAD's noisy linear imputation), ``blur`` (a Gaussian blur of the face).
IMPUTATIONS = ("constant", "road", "blur")


def run(
    profile,
    *,
    faces: str | os.PathLike | None = None,
    out: str | os.PathLike | None = None,
    fill: float = 0.0,
    imputation: str = "constant",
    lerf: bool = False,
    maps: str | os.PathLike | None = None,
    randomised: bool = False,
    seed: int = 0,
) -> dict:
    """Masking curves of `profile`'s models, written to `out` (default: `Results.masking`)
    as ``accuracy`` (masks, destinations, levels) in [0, 1], ``unmasked`` (destinations,),
    ``levels`` (percent), ``masks`` and ``destinations`` (names). Returns the record.

    Parameters
    ----------
    fill : value of masked pixels after mean subtraction (0: the mean colour)
    imputation : one of `IMPUTATIONS`
    lerf : remove the least relevant pixels first (default: the most relevant)
    maps : order the pixels by these maps (a ``method_maps`` output) instead of the
        models' own composite maps
    randomised : add the masks of the models that learnt nothing: the composite maps of
        the fully re-initialised models of the sanity stage (`finetune.first_seed_keys`), as sources
        ``randomised <model>`` after ``random``
    seed : seed of the tie-breaking and of the random masks' order
    """
    if imputation not in IMPUTATIONS:
        raise ValueError(f"imputation {imputation!r} is not one of {list(IMPUTATIONS)}")
    results = Results(profile)
    faces = Path(faces) if faces is not None else results.faces
    out = Path(out) if out is not None else results.masking()
    front = load_faces(faces, profile).frontal()
    x = datasets.caffe_preprocess(front.images)
    floor = {}  # the floor of generalisation: maps of models that learnt nothing, checked first
    for key in finetune.first_seed_keys(profile) if randomised else ():
        path = results.sanity(key.name)
        found = store.load_npz(path)
        if "randomised" not in found or found["randomised"].shape != front.images.shape:
            raise StageError(f"{path}: it holds no randomised-model maps of this profile's frontal faces; remake it "
                             f"with `python -m facelrp sanity --profile {profile.name} --model {key.name}`")
        floor[f"randomised {key.name}"] = found["randomised"]
    try:
        readouts, orders, records = masking.load_readouts(profile, front, seed=seed)
    except ValueError as error:  # maps of another face size: the message names the file
        raise StageError(str(error)) from None
    orders["random"] = masking.random_order(len(x), x.shape[1] * x.shape[2], seed=seed)
    if maps is not None:  # another method's maps of the same models (rule sensitivity)
        other = store.load_npz(maps)
        if list(other["models"]) != list(orders)[: len(other["models"])] or other["maps"].shape[1:] != front.images.shape:
            raise StageError(f"{maps}: its maps are not of this profile's models and frontal faces; "
                             f"remake it with `python -m facelrp method-maps --profile {profile.name} ...`")
        for name, method_maps in zip(other["models"], other["maps"]):
            orders[str(name)] = masking.pixel_order(method_maps, seed=seed)
    orders.update({name: masking.pixel_order(floor_maps, seed=seed) for name, floor_maps in floor.items()})
    if lerf:
        orders = {name: masking.least_relevant_first(order) for name, order in orders.items()}
    filler = fill if imputation == "constant" else ImageFill(imputation, front.images, seed=seed)
    trunks = {}
    for source in sorted({r.trunk for r in readouts}):
        trunk, trunk_record = vgg.profile_trunk(profile, source)
        trunks[source] = finetune.feature_extractor(trunk, finetune.feature_layer(profile.finetune))
        used = {rec.get("trunk_sha256") for rec, r in zip(records, readouts) if r.trunk == source}
        if trunk_record.get("sha256") is not None and used != {trunk_record["sha256"]}:
            raise StageError(f"the {source} models were fine-tuned on another trunk than "
                             f"{trunk_record.get('file')}; rerun the pipeline for profile {profile.name}")
    start = time.perf_counter()
    accuracy, images = masking.masking_curves(x, orders, trunks, readouts, fill=filler)
    seconds = time.perf_counter() - start
    unmasked = np.array([r.accuracy(trunks[r.trunk].predict(x, verbose=0)) for r in readouts])
    inputs = {"faces": faces, **results.trunk_inputs(*sorted(trunks))}
    for key in finetune.model_keys(profile):
        inputs[f"model_{key.name}"] = results.model(key.name) / "model.h5"
        inputs[f"maps_{key.name}"] = results.model(key.name) / "arrays.npz"
    if maps is not None:
        inputs["method_maps"] = maps
    if randomised:
        inputs.update({f"sanity_{key.name}": results.sanity(key.name) for key in finetune.first_seed_keys(profile)})
    parameters = {"fill": fill, "imputation": imputation, "lerf": lerf, "maps": str(maps) if maps else None,
                  "randomised": randomised, "seed": seed}
    record = {
        "profile": profile.name, "fill": fill, "imputation": imputation,
        "order": "least relevant first" if lerf else "most relevant first",
        "tie_seed": seed, "random_mask_seed": seed, "maps": str(maps) if maps else "the models' own (composite)",
        "levels_percent": masking.LEVELS.tolist(), "n_faces": len(x), "trunk_images": images,
        "seconds": round(seconds, 1), "images_per_second": round(images / seconds, 1),
        "provenance": provenance(profile, "masking", settings={"finetune": profile.finetune}, parameters=parameters,
                                 seed=seed, inputs=inputs),
    }
    store.save_artifact(out, {"accuracy": accuracy, "unmasked": unmasked, "levels": masking.LEVELS,
                              "masks": np.array(list(orders)), "destinations": np.array([r.name for r in readouts])},
                        record)
    return record


def summary(record: dict) -> str:
    """One line about what `run` made, for the command line."""
    return f"{record['trunk_images']} trunk images in {record['seconds']:.1f} s ({record['order']}, {record['imputation']})"
