"""Stage ``render-faces``: the profile's face set, rendered (synthetic) or loaded (folder)."""

from __future__ import annotations

import os
from pathlib import Path

from ..artifacts import Results, provenance
from ..data import datasets
from ..store import save_json

__all__ = ["run", "summary"]


def run(profile, *, out: str | os.PathLike | None = None, progress: bool = False) -> dict:
    """Make the face set of `profile` (``faces`` section) and write it to `out` (default:
    `Results.faces`) with its record beside it. Returns the record."""
    out = Path(out) if out is not None else Results(profile).faces
    spec = profile.faces
    if spec["source"] == "synthetic":
        data = datasets.synthetic_vpnl(n_male=spec["n_male"], n_female=spec["n_female"], size=spec["size"],
                                       seed=spec["seed"], progress=progress)
    else:
        data = datasets.load_folder(spec["folder"], manifest=spec.get("manifest", "manifest.csv"), size=spec.get("size"))
    data.provenance["profile"] = profile.name
    data.save(out)
    record = {"n_images": len(data), "n_identities": data.n_identities, "size": data.image_size[0],
              "provenance": provenance(profile, "render-faces", settings={"faces": spec}, seed=spec.get("seed"))}
    save_json(Results.record(out), record)
    return record


def summary(record: dict) -> str:
    """One line about what `run` made, for the command line."""
    return f"{record['n_images']} images of {record['n_identities']} identities, {record['size']} px"
