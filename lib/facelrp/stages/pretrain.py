"""Stage ``pretrain``: a stand-in trunk. Render its corpus (procedural objects for the
ImageNet stand-in, faces of identities disjoint from the analysis set for the VGGFace
one), train, fold BatchNorm, save ``.h5`` with its record."""

from __future__ import annotations

import os
import shlex
import shutil
import sys
from pathlib import Path

from ..artifacts import provenance
from ..data import datasets, objects
from ..models import vgg
from ..models import pretrain as training

__all__ = ["run", "summary", "corpus"]


def corpus(profile, source: str, *, progress: bool = False) -> tuple:
    """The pretraining corpus of `source`: ``(images, labels, description)``, the
    description a dict for the trunk's record."""
    settings = profile.pretrain_settings(source)
    size = vgg.TrunkSpec(**profile.trunks["spec"]).input_size
    if source == "imagenet":
        images, labels = objects.object_corpus(
            settings["classes"], settings["images_per_class"], size=size, seed=settings["seed"],
            siblings=settings.get("siblings", 1), progress=progress,
        )
        return images, labels, {
            "name": "procedural objects (stand-in for ImageNet)",
            "generator": "facelrp.data.objects.object_corpus",
            "classes": settings["classes"],
            "images_per_class": settings["images_per_class"],
            "siblings": settings.get("siblings", 1),
            "seed": settings["seed"],
        }
    _, analysis = datasets.vpnl_identities(
        n_male=profile.faces.get("n_male", 44), n_female=profile.faces.get("n_female", 57),
        seed=profile.faces.get("seed", 0),
    )
    faces = datasets.pretraining_faces(
        analysis, n_identities=settings["classes"], images_per_identity=settings["images_per_class"],
        size=size, seed=settings["seed"] + 1, progress=progress,
    )
    return faces.images, faces.identity, {
        "name": "synthetic face identities disjoint from the analysis set (stand-in for VGGFace)",
        "generator": "facelrp.data.datasets.pretraining_faces",
        "classes": settings["classes"],
        "images_per_class": settings["images_per_class"],
        "seed": settings["seed"] + 1,
        "disjoint_from": f"the {profile.name} profile's {len(analysis)} analysis identities (min_distance 2.0)",
    }


def run(profile, source: str, *, out: str | os.PathLike | None = None, threads: int = 0,
        progress: bool = False) -> dict:
    """Pretrain `profile`'s stand-in trunk for `source` and save it to `out` (default: the
    profile's trunk path) with its record. After every epoch the training state is
    checkpointed into ``<trunk>.partial/``: an interrupted run started again goes on from
    there and makes the same trunk (see `facelrp.models.pretrain.pretrain_trunk`). Returns the
    trunk's record. `threads` > 0 sets TensorFlow's thread pools (0: its default); it must
    come before TensorFlow runs anything in the process."""
    if threads:
        import tensorflow as tf

        tf.config.threading.set_intra_op_parallelism_threads(threads)
        tf.config.threading.set_inter_op_parallelism_threads(threads)
    spec = vgg.TrunkSpec(**profile.trunks["spec"])
    settings = profile.pretrain_settings(source)
    images, labels, description = corpus(profile, source, progress=progress)
    out = Path(out) if out is not None else profile.trunk_path(source)
    checkpoint = out.with_name(out.stem + ".partial")
    if (checkpoint / "state.json").is_file():
        print(f"resuming from {checkpoint}", file=sys.stderr)
    trunk, record = training.pretrain_trunk(
        images, labels, spec, epochs=settings["epochs"], batch_size=settings["batch_size"],
        learning_rate=settings["learning_rate"], seed=settings["seed"], checkpoint=checkpoint,
    )
    record.update({
        "source": source,
        "profile": profile.name,
        "corpus": description,
        "command": shlex.join(["python", "-m", "facelrp", "pretrain", "--profile", profile.name,
                               "--source", source, "--threads", str(threads)]),
        "provenance": provenance(profile, "pretrain", settings={"trunks": profile.trunks},
                                 parameters={"source": source, "threads": threads}, seed=settings["seed"]),
    })
    sha256 = vgg.save_trunk(trunk, out, record)
    shutil.rmtree(checkpoint)
    return {**record, "file": out.name, "sha256": sha256}


def summary(record: dict) -> str:
    """One line about what `run` made, for the command line."""
    return f"{record['file']} (sha256 {record['sha256'][:12]}...): held-out accuracy {record['holdout_accuracy']:.3f}"
