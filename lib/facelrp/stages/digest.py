"""Stage ``digest``: what the book's pages read of the expensive stages' big outputs, made
small, so that the results cache (`facelrp.cache`) ships it instead of the outputs.

The pages compute their numbers from these digests in every build, the cached one and the
one from nothing (`make reproduce`), so both show the same numbers: a digest holds the
values and tables the pages show, computed here from the full outputs by the same
functions, and the few maps and images their figures draw.

===============  ==========================================  =========================
kind             made from                                   read by
===============  ==========================================  =========================
``maps``         the 20 models' maps (``arrays.npz``) and    relevance, where, masking,
                 the other methods' maps                     robust
``sanity``       the sanity checks of the four first seeds   where
``planted``      the planted-ground-truth control            where
``attributes``   the probing faces and both trunks' probes   attributes
``rank2``        rank-2's trials and two models' maps        rank2
===============  ==========================================  =========================
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import numpy as np

from ..artifacts import Results, provenance
from ..pipeline import DIGEST_TABLES, DIGESTS, METHOD_VARIANTS
from ..store import load_npz, save_artifact, save_csv

__all__ = ["KINDS", "run", "summary", "load", "load_table", "sanity_checks", "probes", "maps_shown", "shown_maps",
           "first_seed_maps", "figure4a_faces", "sanity_example", "mean_faces", "MEAN_FACES_N", "EXAMPLE_FACE",
           "example_maps", "rank2_examples", "rank2_example_maps", "rank2_models", "method_maps"]

#: The digests, in pipeline order (their tables: `facelrp.pipeline.DIGEST_TABLES`).
KINDS = DIGESTS
#: How many faces each average face of the attributes chapter's Figure A3 averages.
MEAN_FACES_N = 100
#: The frontal face whose masking Figures 2, 3 and R1 show.
EXAMPLE_FACE = 0
#: How many targets Figure 7ab shows.
RANK2_EXAMPLES = 2
# what the where chapter reads of each sanity check (and the examples of one model)
_SANITY_KEPT = ("similarity", "steps", "metrics", "methods")
# the planted examples Figure W5 shows
_PLANTED_EXAMPLES = 6


def load(results: Results, kind: str) -> tuple[dict, dict]:
    """The arrays and record of a digest (`Results.digest`)."""
    return results.load(results.digest(kind))


def load_table(results: Results, kind: str, table: str):
    """A digest's table as a DataFrame, every float as it was written (``round_trip``)."""
    import pandas as pd

    path = results.digest(kind, table)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: not found; run the pipeline (`make book`) to make it")
    return pd.read_csv(path, float_precision="round_trip")


def sanity_checks(results: Results, keys) -> dict:
    """The sanity checks of the models `keys` as the sanity stage wrote them, from the
    digest: key -> (arrays: ``similarity``, ``steps``, ``metrics``, ``methods``, and
    ``examples`` for `sanity_example`; record: ``seconds``)."""
    arrays, record = load(results, "sanity")
    example = str(arrays["example"])
    checks = {}
    for key in keys:
        found = {name: arrays[f"{key.name}/{name}"] for name in _SANITY_KEPT}
        if key.name == example:
            found["examples"] = arrays["example/examples"]
        checks[key] = (found, {"seconds": record["sanity_seconds"][key.name]})
    return checks


def probes(results: Results) -> tuple[dict, dict]:
    """Both trunks' probing results from the digest (source -> the probe stage's arrays but
    ``top_activations``, plus ``mean_faces`` and ``mean_faces_layer``), and the digest's
    record (``probe_faces``: the probing faces' numbers; ``mean_faces_n``)."""
    from ..profiles import TRUNK_SOURCES

    arrays, record = load(results, "attributes")
    return {source: {name.partition("/")[2]: value for name, value in arrays.items() if name.startswith(source + "/")}
            for source in TRUNK_SOURCES}, record


def maps_shown(profile) -> list[str]:
    """The models whose maps Figure 4a shows: the first seed of each pretraining x task,
    and a second seed of the VGGFace identity model."""
    from ..models import finetune

    seeds = profile.finetune["seeds"]
    return [k.name for k in finetune.model_keys(profile) if k.seed == seeds[0]] + [
        finetune.ModelKey("vggface", "identity", seeds[1]).name]


def shown_maps(maps: dict, faces: list[int]) -> dict[str, np.ndarray]:
    """Model name -> its normalised maps of the frontal faces `faces` (face_maps, h, w), for
    the models the digest holds maps of (`maps_shown`), from the maps digest's arrays `maps`."""
    held = [int(i) for i in maps["faces"]]
    rows = [held.index(face) for face in faces]
    return {str(name): maps["face_maps"][m][rows] for m, name in enumerate(maps["shown"])}


def first_seed_maps(profile, maps: dict, *, face: int) -> dict[str, np.ndarray]:
    """The normalised map of frontal face `face` from the first-seed model of each type, by
    ``"<source> <task>"``, from the maps digest's arrays `maps`."""
    from ..models import finetune

    shown = shown_maps(maps, [face])
    return {f"{k.source} {k.task}": shown[k.name][0]
            for k in finetune.model_keys(profile) if k.seed == profile.finetune["seeds"][0]}


def example_maps(maps: dict) -> dict[str, np.ndarray]:
    """Model name -> its map of frontal face `EXAMPLE_FACE` as the model stage wrote it (not
    normalised: the masking figures order its pixels as the masking stage does), from the
    maps digest's arrays `maps`."""
    return {str(name): maps["example_maps"][m] for m, name in enumerate(maps["names"])}


def rank2_models(profile) -> dict[str, str]:
    """Trunk source -> the model whose maps Figure 7ab draws: the first-seed identity model."""
    from ..models import finetune

    return {key.source: key.name for key in finetune.first_seed_keys(profile) if key.task == "identity"}


def rank2_examples(trials, sides, n: int = RANK2_EXAMPLES):
    """The `n` trials Figure 7ab shows: those whose two sides' seeds agree most (summed
    agreement; ties by target), from rank-2's ``trials.csv`` and ``sides.csv`` tables."""
    ranked = trials.assign(agreement=[sides.agreement_imagenet[t] + sides.agreement_vggface[t] for t in trials.target])
    return ranked.sort_values(["agreement", "target"], ascending=[False, True]).head(n)


def rank2_example_maps(maps: dict) -> dict[str, dict[int, np.ndarray]]:
    """Pretraining source -> target identity -> the normalised map of that target's frontal
    face by the source's first-seed identity model, for the targets of `rank2_examples`,
    from the rank2 digest's arrays `maps`."""
    from ..profiles import TRUNK_SOURCES

    targets = [int(t) for t in maps["rank2_targets"]]
    return {source: {t: maps["rank2_maps"][s, i] for i, t in enumerate(targets)} for s, source in enumerate(TRUNK_SOURCES)}


def method_maps(maps: dict) -> dict[str, dict[str, np.ndarray]]:
    """Attribution method (``composite`` and `facelrp.pipeline.METHOD_VARIANTS`) ->
    ``similarity``: the 20 x 20 similarity of its maps across models (Figure 4b's measure on
    the maps as the stages wrote them), ``agreement``: each model's mean r with its own
    composite maps (`facelrp.evaluate.robustness.model_agreement`), from the maps digest's
    arrays `maps`."""
    return {method: {part: maps[f"method/{method}/{part}"] for part in ("similarity", "agreement")}
            for method in ("composite", *METHOD_VARIANTS)}


def figure4a_faces(n_faces: int) -> list[int]:
    """The two frontal faces Figure 4a shows, drawn once with seed 0."""
    return [int(i) for i in np.random.default_rng(0).choice(n_faces, size=2, replace=False)]


def sanity_example(keys) -> object:
    """The model whose randomised maps the where chapter draws (VGGFace identity)."""
    return next(k for k in keys if k.source == "vggface" and k.task == "identity")


def mean_faces(images: np.ndarray, activations: np.ndarray, n: int = MEAN_FACES_N) -> np.ndarray:
    """Diniz & Schwartz's average faces: for each neuron, the mean of the `n` faces that
    activate it most and of the `n` that activate it least.

    images : (n_faces, h, w) uint8; activations : (n_neurons, n_faces)
    Returns (2, n_neurons, h, w) float32: top, bottom.
    """
    out = np.empty((2, len(activations), *images.shape[1:]), np.float32)
    for j, act in enumerate(activations):
        order = np.argsort(act, kind="stable")
        out[0, j] = images[order[::-1][:n]].astype(np.float32).mean(axis=0)
        out[1, j] = images[order[:n]].astype(np.float32).mean(axis=0)
    return out


# ------------------------------------------------------------------------------ the kinds


def _maps(profile, results: Results) -> tuple[dict, dict, dict, dict]:
    from ..evaluate import robustness
    from ..explain import parts, relevance
    from ..models import finetune
    from . import load_faces

    keys = finetune.model_keys(profile)
    front = load_faces(results.faces, profile).frontal()
    maps = {key: load_npz(results.model(key.name) / "arrays.npz")["maps"] for key in keys}
    normalised = {key: relevance.normalise(m) for key, m in maps.items()}
    similarity = relevance.similarity_matrix(np.stack([normalised[k] for k in keys]))
    shown = maps_shown(profile)
    # Figure 4a's two faces and Figure W1's first face
    faces = sorted({0, *figure4a_faces(len(front))})
    by_name = {k.name: k for k in keys}
    arrays = {
        "names": np.array([k.name for k in keys]),
        "similarity": similarity,
        "shown": np.array(shown),
        "faces": np.array(faces),
        "face_maps": np.stack([normalised[by_name[name]][faces] for name in shown]).astype(np.float32),
    }
    # the masking figures' face, every model's map of it (Figures 2, 3 and R1)
    arrays["example_maps"] = np.stack([maps[k][EXAMPLE_FACE] for k in keys])
    # the other attribution methods' maps (the robustness chapter): their similarity across
    # models and their agreement with the composite's maps of the same model
    composite = np.stack([maps[k] for k in keys])
    inputs = {"faces": results.faces, **{f"maps_{k.name}": results.model(k.name) / "arrays.npz" for k in keys}}
    for method in ("composite", *METHOD_VARIANTS):
        other = composite if method == "composite" else load_npz(results.method_maps(method))["maps"]
        arrays[f"method/{method}/similarity"] = relevance.similarity_matrix(other)
        arrays[f"method/{method}/agreement"] = robustness.model_agreement(composite, other)
        if method != "composite":
            inputs[f"method_{method}"] = results.method_maps(method)
    tables = {"shares": parts.share_table(maps, front.parts), "regions": parts.region_table(maps, front.parts)}
    return arrays, tables, inputs, {"n_models": len(keys), "n_faces": len(front)}


def _sanity(profile, results: Results) -> tuple[dict, dict, dict, dict]:
    import json

    from ..models import finetune

    keys = finetune.first_seed_keys(profile)
    example = sanity_example(keys)
    arrays, seconds, inputs = {}, {}, {}
    for key in keys:
        path = results.sanity(key.name)
        found = load_npz(path)
        for name in _SANITY_KEPT:
            arrays[f"{key.name}/{name}"] = found[name]
        if key == example:
            arrays["example"] = np.array(key.name)
            arrays["example/examples"] = found["examples"]
        seconds[key.name] = json.loads(results.record(path).read_text())["seconds"]
        inputs[f"sanity_{key.name}"] = path
    return arrays, {}, inputs, {"sanity_seconds": seconds}


def _planted(profile, results: Results) -> tuple[dict, dict, dict, dict]:
    from ..profiles import TRUNK_SOURCES

    found = load_npz(results.planted)
    val = found["vggface_val"][:_PLANTED_EXAMPLES]
    big = {"images", "part_labels", "params", *(f"{s}_maps" for s in TRUNK_SOURCES)}
    arrays = {name: value for name, value in found.items() if name not in big}
    arrays.update({"example_images": found["images"][val], "example_part_labels": found["part_labels"][val],
                   **{f"{s}_example_maps": found[f"{s}_maps"][:_PLANTED_EXAMPLES] for s in TRUNK_SOURCES}})
    return arrays, {}, {"planted": results.planted}, {}


def _rank2(profile, results: Results) -> tuple[dict, dict, dict, dict]:
    import pandas as pd

    from ..explain import relevance
    from . import load_faces

    # Figure 7ab: its targets' maps by the first-seed identity model of each side
    front = load_faces(results.faces, profile).frontal()
    trials, sides = pd.read_csv(results.rank2 / "trials.csv"), pd.read_csv(results.rank2 / "sides.csv", index_col="target")
    targets = [int(t) for t in rank2_examples(trials, sides).target]
    row_of = {int(identity): i for i, identity in enumerate(front.identity)}
    rows = [row_of[t] for t in targets]
    models = list(rank2_models(profile).values())
    maps = [relevance.normalise(load_npz(results.model(name) / "arrays.npz")["maps"])[rows] for name in models]
    arrays = {"rank2_targets": np.array(targets, dtype=np.int64), "rank2_maps": np.stack(maps)}
    inputs = {"faces": results.faces, "trials": results.rank2 / "trials.csv", "sides": results.rank2 / "sides.csv",
              **{f"maps_{name}": results.model(name) / "arrays.npz" for name in models}}
    return arrays, {}, inputs, {}


def _attributes(profile, results: Results) -> tuple[dict, dict, dict, dict]:
    from ..data import datasets
    from ..profiles import TRUNK_SOURCES

    data = datasets.FaceDataset.load(results.probe_faces)
    arrays, inputs = {}, {"faces": results.probe_faces}
    for source in TRUNK_SOURCES:
        found = load_npz(results.probe(source))
        gender = [str(a) for a in found["attributes"]].index("gender")
        # the layer whose top-8 neurons read gender best, and what those neurons respond to
        layer = int(np.argmax(found["neurons"][:, gender, 0]))
        images = data.images[found["val_index"]]
        arrays.update({f"{source}/{name}": value for name, value in found.items() if name != "top_activations"})
        arrays[f"{source}/mean_faces_layer"] = np.array(layer)
        arrays[f"{source}/mean_faces"] = mean_faces(images, found["top_activations"][layer, gender])
        inputs[f"probe_{source}"] = results.probe(source)
    faces = {name: data.provenance[name] for name in ("n_train_identities", "n_validation_identities",
                                                      "images_per_identity")}
    return arrays, {}, inputs, {"probe_faces": {**faces, "size": int(data.image_size[0])}, "mean_faces_n": MEAN_FACES_N}


_MAKERS = {"maps": _maps, "sanity": _sanity, "planted": _planted, "attributes": _attributes, "rank2": _rank2}


def run(profile, *, kind: str, out: str | os.PathLike | None = None) -> dict:
    """Make the digest `kind` (`KINDS`) of `profile`'s results into `out` (default:
    `Results.digest`), its tables beside it (``<kind>-<table>.csv``). Returns the record."""
    if kind not in _MAKERS:
        raise ValueError(f"digest kind {kind!r}: expected one of {', '.join(KINDS)}")
    results = Results(profile)
    out = Path(out) if out is not None else results.digest(kind)
    start = time.perf_counter()
    arrays, tables, inputs, extra = _MAKERS[kind](profile, results)
    assert tuple(tables) == DIGEST_TABLES.get(kind, ()), "facelrp.pipeline.DIGEST_TABLES lists a digest's tables"
    for name, table in tables.items():
        save_csv(out.with_name(f"{out.stem}-{name}.csv"), table)
    record = {"kind": kind, **extra, "tables": sorted(tables), "seconds": round(time.perf_counter() - start, 1),
              "provenance": provenance(profile, "digest", parameters={"kind": kind}, inputs=inputs)}
    save_artifact(out, arrays, record)  # the record last: its presence means the digest is whole
    return record


def summary(record: dict) -> str:
    """One line about what `run` made, for the command line."""
    return f"digest {record['kind']} in {record['seconds']:.1f} s"
