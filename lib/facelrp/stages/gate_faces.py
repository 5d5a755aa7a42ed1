"""Stage ``gate-faces``: the gated networks' identification faces with their attributes
(synthetic in every profile: the gate analyses need attributes photographs do not carry)."""

from __future__ import annotations

import os
from pathlib import Path

from .. import store
from ..artifacts import Results, provenance
from ..studies import gates

__all__ = ["run", "summary"]


def run(profile, *, out: str | os.PathLike | None = None, progress: bool = False) -> dict:
    """Render the faces (``gates`` section), split each identity's images into training and
    test, and write ``images``, ``identity``, ``train``, ``test`` and ``attribute_<name>``
    to `out` (default: `Results.gate_faces`). Returns the record."""
    out = Path(out) if out is not None else Results(profile).gate_faces
    settings = profile.gates
    data, attributes = gates.gate_faces(n_identities=settings["n_identities"],
                                        images_per_identity=settings["images_per_identity"], size=settings["size"],
                                        seed=settings["seed"], progress=progress)
    train, test = gates.split_within_identity(data.identity, seed=settings["seed"])
    record = {"n_images": len(data), "n_identities": data.n_identities, "n_train": int(len(train)),
              "n_test": int(len(test)), "size": settings["size"],
              "provenance": provenance(profile, "gate-faces", settings={"gates": settings}, seed=settings["seed"])}
    store.save_artifact(out, {"images": data.images, "identity": data.identity, "train": train, "test": test,
                              **{f"attribute_{name}": values for name, values in attributes.items()}}, record)
    return record


def summary(record: dict) -> str:
    """One line about what `run` made, for the command line."""
    return f"{record['n_images']} images of {record['n_identities']} identities ({record['n_train']} train), {record['size']} px"
