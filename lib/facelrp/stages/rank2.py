"""Stage ``rank2``: the identity models' rank-2 choices on both pretraining sides, the
trial list for observers with its face images, and the observers' choices (a file of real
ones, simulated ones, or none yet)."""

from __future__ import annotations

import os
import shutil
import tempfile
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
    `Results.rank2`). Returns the record."""
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
    out.mkdir(parents=True, exist_ok=True)
    store.save_csv(out / "sides.csv", sides["imagenet"].join(sides["vggface"], lsuffix="_imagenet", rsuffix="_vggface"),
                   index=True)
    trials = rank2.trial_list(sides["imagenet"], sides["vggface"])
    _write_trial_images(out / "trial-images", front, sorted(set(trials.to_numpy().ravel())))
    store.save_csv(out / "trials.csv", trials)
    inputs = {"faces": faces, **{f"logits_{key.name}": results.model(key.name) / "arrays.npz" for key in keys}}
    if setting["source"] == "simulated":
        simulated = rank2.simulate_observers(
            front.identity_params, trials, n_observers=setting["n"], internal_weight=setting["internal_weight"],
            weight_sd=setting["weight_sd"], noise=setting["noise"], seed=setting["seed"],
        )
        store.save_csv(out / "choices.csv", simulated)
        observers = "simulated"
    elif Path(setting["file"]).is_file():
        rank2.read_choices(setting["file"])  # fail here, naming the file and row, rather than in the book
        shutil.copyfile(setting["file"], out / "choices.csv")
        inputs["observers"] = setting["file"]
        observers = f"read from {setting['file']}"
    else:  # no observers yet: the book shows the trial list to run them on
        (out / "choices.csv").unlink(missing_ok=True)
        observers = f"none yet: no file at {setting['file']}; run the experiment on {out / 'trials.csv'}"
    record = {"profile": profile.name, "n_trials": len(trials), "observers": observers,
              "provenance": provenance(profile, "rank2", settings={"observers": setting}, seed=setting.get("seed"),
                                       inputs=inputs)}
    store.save_json(out / "record.json", record)
    return record


def summary(record: dict) -> str:
    """One line about what `run` made, for the command line."""
    return f"{record['n_trials']} trials (targets whose two sides' rank-2 choices differ); observers: {record['observers']}"


def _write_trial_images(folder: Path, front: datasets.FaceDataset, identities: list) -> None:
    """The trial faces as PNGs in `folder`, replaced as a whole: written into a scratch
    folder of this run's own, then swapped in (the old folder moved aside first, and the
    swap tried again if another run's folder landed in between), so two runs never write
    into one folder and a reader never sees a half-written one."""
    from PIL import Image

    scratch = Path(tempfile.mkdtemp(dir=folder.parent, prefix=".trial-images-"))
    try:
        for identity in identities:
            index = int(np.flatnonzero(front.identity == identity)[0])
            Image.fromarray(front.images[index]).save(scratch / f"face-{identity:03d}.png")
        for _ in range(100):
            aside = Path(tempfile.mkdtemp(dir=folder.parent, prefix=".trial-images-old-"))
            try:
                folder.rename(aside / "old")
            except FileNotFoundError:
                pass
            try:
                scratch.rename(folder)
                break
            except OSError:  # another run's folder arrived between the two renames: again
                continue
            finally:
                shutil.rmtree(aside, ignore_errors=True)
        else:
            raise StageError(f"{folder}: could not replace it (other runs keep writing it); run rank2 once at a time")
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
