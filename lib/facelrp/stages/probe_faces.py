"""Stage ``probe-faces``: the attribute-probing faces, training and validation identities
disjoint (Diniz & Schwartz's protocol on synthetic faces)."""

from __future__ import annotations

import os
from pathlib import Path

from ..artifacts import Results, provenance
from ..models import vgg
from ..store import save_json
from ..studies import probing

__all__ = ["run", "summary"]


def run(profile, *, out: str | os.PathLike | None = None, progress: bool = False) -> dict:
    """Render the probing faces (``probing`` section) at the trunks' input size into `out`
    (default: `Results.probe_faces`). Returns the record."""
    out = Path(out) if out is not None else Results(profile).probe_faces
    settings = profile.probing
    size = vgg.TrunkSpec(**profile.trunks["spec"]).input_size
    data = probing.probe_faces(n_train=settings["n_train"], n_validation=settings["n_validation"],
                               images_per_identity=settings["images_per_identity"], size=size, seed=settings["seed"],
                               progress=progress)
    data.provenance["profile"] = profile.name
    data.save(out)
    record = {"n_images": len(data), "n_identities": data.n_identities, "size": size,
              "provenance": provenance(profile, "probe-faces", settings={"probing": settings}, seed=settings["seed"])}
    save_json(Results.record(out), record)
    return record


def summary(record: dict) -> str:
    """One line about what `run` made, for the command line."""
    return f"{record['n_images']} images of {record['n_identities']} identities, {record['size']} px"
