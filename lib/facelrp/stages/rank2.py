"""Stage ``rank2``: the identity models' rank-2 choices on both pretraining sides, the
trial list for observers with its face images, and the observers' choices (a file of real
ones, simulated ones, or none yet)."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import numpy as np

from .. import store
from ..artifacts import Results, provenance
from ..data import datasets
from ..evaluate import rank2
from ..models import finetune
from ..profiles import TRUNK_SOURCES
from . import StageError, load_faces

__all__ = ["run", "summary"]


def run(profile, *, faces: str | os.PathLike | None = None, out: str | os.PathLike | None = None) -> dict:
    """Write ``sides.csv``, ``trials.csv``, ``trial-images/face-<identity>.png``,
    ``choices.csv`` (when there are observers) and ``record.json`` into `out` (default:
    `Results.rank2`). Returns the record.

    Every input is read and checked first (an observers file against this run's trial
    list as well), then the folder is written as one (`facelrp.store.replaced_folder`):
    a failure leaves the old folder whole, never old and new files side by side.
    """
    results = Results(profile)
    faces = Path(faces) if faces is not None else results.faces
    out = Path(out) if out is not None else results.rank2
    front = load_faces(faces, profile).frontal()
    targets = front.identity
    keys = [key for key in finetune.model_keys(profile) if key.task == "identity"]
    sides = {}
    for source in TRUNK_SOURCES:
        logits = np.stack([finetune.load_run(results.model(key.name))[0]["logits"] for key in keys if key.source == source])
        sides[source] = rank2.side_choices(logits, targets)
    setting = profile.observers
    if setting["source"] == "simulated" and front.identity_params is None:
        raise StageError(f"{faces}: simulated observers need the faces' parameters (a synthetic set); "
                         "set the profile's observers to 'source: file'")
    trials = rank2.trial_list(sides["imagenet"], sides["vggface"])
    inputs = {"faces": faces, **{f"logits_{key.name}": results.model(key.name) / "arrays.npz" for key in keys}}
    choices = None
    if setting["source"] == "simulated":
        choices = rank2.simulate_observers(
            front.identity_params, trials, n_observers=setting["n"], internal_weight=setting["internal_weight"],
            weight_sd=setting["weight_sd"], noise=setting["noise"], seed=setting["seed"],
        )
        observers = "simulated"
    elif Path(setting["file"]).is_file():
        # fail here, naming the file and row, rather than in the book
        rank2.score_choices(rank2.read_choices(setting["file"]), trials, path=setting["file"])
        inputs["observers"] = setting["file"]
        observers = f"read from {setting['file']}"
    else:  # no observers yet: the book shows the trial list to run them on
        observers = f"none yet: no file at {setting['file']}; run the experiment on {out / 'trials.csv'}"
    record = {"profile": profile.name, "n_trials": len(trials), "observers": observers,
              "provenance": provenance(profile, "rank2", settings={"observers": setting}, seed=setting.get("seed"),
                                       inputs=inputs)}
    with store.replaced_folder(out) as scratch:
        store.save_csv(scratch / "sides.csv",
                       sides["imagenet"].join(sides["vggface"], lsuffix="_imagenet", rsuffix="_vggface"), index=True)
        _write_trial_images(scratch / "trial-images", front, sorted(set(trials.to_numpy().ravel())))
        store.save_csv(scratch / "trials.csv", trials)
        if choices is not None:
            store.save_csv(scratch / "choices.csv", choices)
        elif "observers" in inputs:
            shutil.copyfile(setting["file"], scratch / "choices.csv")
        store.save_json(scratch / "record.json", record)
    return record


def summary(record: dict) -> str:
    """One line about what `run` made, for the command line."""
    return f"{record['n_trials']} trials (targets whose two sides' rank-2 choices differ); observers: {record['observers']}"


def _write_trial_images(folder: Path, front: datasets.FaceDataset, identities: list) -> None:
    """The trial faces as PNGs in `folder` (a new folder of `run`'s scratch folder)."""
    from PIL import Image

    folder.mkdir()
    for identity in identities:
        index = int(np.flatnonzero(front.identity == identity)[0])
        Image.fromarray(front.images[index]).save(folder / f"face-{identity:03d}.png")
