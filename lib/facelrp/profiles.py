"""The three settings of the book (smoke, demo, paper), read from ``profiles.yml``."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import yaml

__all__ = ["FROZEN", "SCHEDULES", "PROFILE_NAMES", "TRUNK_SOURCES", "Profile", "load_profile", "profiles_file"]

_FILE = Path(__file__).with_name("profiles.yml")
#: The profiles the package ships (a settings file may add others).
PROFILE_NAMES = ("smoke", "demo", "paper")
_FACE_SOURCES = ("synthetic", "folder")
_TRUNK_SOURCES = ("pretrain", "shipped", "real")
# finetune.frozen -> the last frozen layer of the trunk, whose output the fine-tuning reads:
# "convolutions" trains fc1, fc2 and a new readout (paper section 2.2), "trunk" the readout alone
FROZEN = {"convolutions": "flatten", "trunk": "fc2"}
# finetune.schedule: Adam's rate over a fine-tuning run (see facelrp.models.finetune.train_readout)
SCHEDULES = ("constant", "cosine")
# two classes told apart by the brows only (shape and tone), as "gender carried only by the
# brows": with frozen trunks at 64 px, finer plants (8 classes by nose and mouth) were not
# learnable from a few hundred images (readouts at chance)
_PLANTED = {"n_classes": 2, "images_per_class": 200, "parts": ["brows"], "seed": 0}
# attribute probing (`facelrp.studies.probing`): identities of each split, images per identity
# (half frontal, half profile), PLS components, top-k neurons/filters, and the widest layer
# (values per image) probed without spatial pooling; None never pools
_PROBING = {"n_train": 512, "n_validation": 1536, "images_per_identity": 4, "components": 8, "top": 8,
            "max_features": None, "single_samples": 50, "seed": 0}
# gated networks (`facelrp.studies.gates`): identities and images per identity of the
# identification faces (synthetic in every profile: the gate analyses need attributes the
# photographs do not carry), the gated ResNet's shape, training, variants and seeds
_GATES = {"n_identities": 60, "images_per_identity": 30, "size": 64, "stem": 8, "stages": [[8, 2, 1], [16, 2, 2], [32, 2, 2], [64, 2, 2]],
          "gate_hidden": 16, "epochs": 20, "batch_size": 64, "learning_rate": 0.002, "seeds": [0, 1],
          "variants": ["resnet", "aig-0.4", "aig-0.5", "aig-0.7", "iig-gender", "iig-gender-hair_length"], "seed": 0}
# The verdicts' margin (`facelrp.evaluate.verdicts`): the smallest difference in masking AUC
# that counts, the same for every claim, derived by a stated rule from the smoke pilot (a
# different, smaller design), not from the demo's effects (the demo run existed when it was
# set, so the summary shows the verdicts at half and twice it): the seed-to-seed standard deviation of a model's
# own-mask AUC there, pooled over its four destination types (0.025; tests/test_profiles.py
# recomputes it from the shipped smoke cache). A difference smaller than what retraining the
# readout from another seed moves one model's AUC by does not count.
_VERDICTS = {"margin": 0.025,
             "reason": "the seed-to-seed standard deviation of a model's own-mask AUC in the smoke pilot, pooled over "
                       "its four destination types (0.025): a difference smaller than what retraining the readout from "
                       "another seed moves one model's AUC by does not count"}
_SIMULATED_OBSERVERS = {"source": "simulated", "n": 46, "internal_weight": 0.5, "weight_sd": 0.15, "noise": 0.3, "seed": 0}
#: The two pretraining sources of the paper, in book order.
TRUNK_SOURCES = ("imagenet", "vggface")

# The settings each section accepts (a misspelt key is refused, not ignored) and those it needs.
_TOP = {"description", "stand_in", "faces", "trunks", "finetune", "observers", "planted", "probing", "gates", "verdicts"}
_FACES = {"synthetic": ({"source", "n_male", "n_female", "size", "seed"}, {"n_male", "n_female", "size", "seed"}),
          "folder": ({"source", "folder", "manifest", "size"}, {"folder"})}
_TRUNKS = {"spec", "source", "folder", "pretrain", "imagenet_sha256", "vggface_sha256"}
_PRETRAIN = {"classes", "images_per_class", "epochs", "batch_size", "learning_rate", "seed", "siblings"}
_FINETUNE = ({"frozen", "epochs", "batch_size", "learning_rate", "schedule", "seeds", "split_seed"},
             {"epochs", "batch_size", "learning_rate", "seeds", "split_seed"})


@dataclass(frozen=True)
class Profile:
    """One setting: its name, whether it runs on stand-ins, and per-stage parameters."""

    name: str
    description: str
    stand_in: bool
    faces: dict
    trunks: dict
    finetune: dict
    #: Observers of the rank-2 experiment: ``{source: simulated, n, internal_weight,
    #: weight_sd, noise, seed}`` or ``{source: file, file: <choices .csv>}``.
    observers: dict = field(default_factory=lambda: dict(_SIMULATED_OBSERVERS))
    #: The planted-ground-truth control set (`facelrp.explain.planted`): classes, images per
    #: class, the parts that carry the label, seed.
    planted: dict = field(default_factory=lambda: dict(_PLANTED))
    #: Layer-wise attribute probing (`facelrp.studies.probing`): identities per split, images per
    #: identity, PLS components, top-k, widest unpooled layer, seed.
    probing: dict = field(default_factory=lambda: dict(_PROBING))
    #: Gated ResNets (`facelrp.studies.gates`): data, shape, training, variants, seeds.
    gates: dict = field(default_factory=lambda: dict(_GATES))
    #: How the summary judges the claims (`facelrp.evaluate.verdicts`): ``margin``, the
    #: smallest difference in masking AUC that counts, and the ``reason`` for its value.
    verdicts: dict = field(default_factory=lambda: dict(_VERDICTS))

    @property
    def setting(self) -> str:
        """A phrase for figure captions: which data and weights made the result."""
        if self.stand_in:
            return f"{self.name} profile: synthetic stand-ins, not the paper's data"
        return f"{self.name} profile: the paper's data and weights"

    @property
    def probing_setting(self) -> str:
        """The caption phrase of the attribute-probing chapter: its faces are synthetic in
        every profile (photographs carry no attribute labels), its trunks the profile's."""
        trunks = "stand-in trunks pretrained here" if self.stand_in else "the published ImageNet and VGGFace weights"
        return f"{self.name} profile: synthetic faces (in every profile) on {trunks}"

    @property
    def gates_setting(self) -> str:
        """The caption phrase of the gated-networks chapter: synthetic faces and networks
        trained here in every profile."""
        return f"{self.name} profile: synthetic faces and networks trained here (in every profile), not Garg et al.'s data"

    def trunk_label(self, source: str) -> str:
        """How the book names a trunk: ``ImageNet stand-in`` or ``ImageNet`` (published weights)."""
        name = {"imagenet": "ImageNet", "vggface": "VGGFace"}[source]
        return f"{name} stand-in" if self.stand_in else name

    def trunk_path(self, source: str) -> Path:
        """Where this profile's stand-in trunk for `source` (imagenet/vggface) lives."""
        if source not in TRUNK_SOURCES:
            raise ValueError(f"source {source!r} is not one of {list(TRUNK_SOURCES)}")
        return Path(self.trunks["folder"]) / f"{self.name}-{source}.h5"

    def pretrain_settings(self, source: str) -> dict:
        """The stand-in pretraining settings for `source`: ``trunks.pretrain`` with the
        source's own overrides (a sub-entry named after it) applied."""
        if source not in TRUNK_SOURCES:
            raise ValueError(f"source {source!r} is not one of {list(TRUNK_SOURCES)}")
        if "pretrain" not in self.trunks:
            raise ValueError(f"profile {self.name!r} has no stand-in pretraining (trunks.source is {self.trunks['source']!r})")
        base = {k: v for k, v in self.trunks["pretrain"].items() if k not in TRUNK_SOURCES}
        return {**base, **self.trunks["pretrain"].get(source, {})}

    def results_dir(self, root: str | os.PathLike | None = None) -> Path:
        """Where this profile's artifacts live: ``<root>/<name>``.

        Without `root`: ``$FACELRP_RESULTS`` if set, else ``results/`` in the project
        folder found above the working directory (so a notebook opened from
        ``notebooks/`` finds the same files as the pipeline).
        """
        if root is None:
            root = os.environ.get("FACELRP_RESULTS") or _project_root() / "results"
        return Path(root) / self.name


def _project_root() -> Path:
    here = Path.cwd().resolve()
    for folder in (here, *here.parents):
        if (folder / "workflow" / "Snakefile").is_file():
            return folder
    return here


def _check_keys(where: str, found, known, required=()) -> None:
    """Refuse unknown keys (naming the closest known one) and missing required ones."""
    import difflib

    unknown = sorted(set(found) - set(known))
    if unknown:
        hints = [f"{key!r} (did you mean {close[0]!r}?)" if (close := difflib.get_close_matches(key, known, n=1)) else repr(key)
                 for key in unknown]
        raise ValueError(f"{where} has unknown settings {', '.join(hints)}; known: {sorted(known)}")
    missing = sorted(set(required) - set(found))
    if missing:
        raise ValueError(f"{where} lacks {missing}; add them (see the smoke and demo profiles in the package's profiles.yml)")


def _check_trunks(where: str, trunks: dict) -> None:
    from dataclasses import fields

    from .models.vgg import TrunkSpec

    _check_keys(where, trunks, _TRUNKS)
    if "spec" in trunks:
        _check_keys(f"{where}.spec", trunks["spec"], {f.name for f in fields(TrunkSpec)})
    pretrain = trunks.get("pretrain", {})
    _check_keys(f"{where}.pretrain", pretrain, _PRETRAIN | set(TRUNK_SOURCES))
    for source in TRUNK_SOURCES:
        _check_keys(f"{where}.pretrain.{source}", pretrain.get(source, {}), _PRETRAIN)


def profiles_file() -> Path:
    """The settings file in use: ``$FACELRP_PROFILES`` if set (your own copy, with edited or
    added profiles), else the package's ``profiles.yml``."""
    return Path(os.environ.get("FACELRP_PROFILES") or _FILE)


def load_profile(name: str, path: str | os.PathLike | None = None) -> Profile:
    """The profile called `name`, from `path` (default: `profiles_file`).

    Raises
    ------
    ValueError
        `name` is not a profile in the file, or the entry is malformed.
    """
    path = Path(path) if path is not None else profiles_file()
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no settings file there; point FACELRP_PROFILES at a copy of the package's "
                                f"profiles.yml ({_FILE})")
    with open(path) as handle:
        entries = yaml.safe_load(handle)
    if name not in entries:
        raise ValueError(f"profile {name!r} is not one of {sorted(entries)} (defined in {path})")
    entry = entries[name]
    missing = {"description", "stand_in", "faces", "trunks", "finetune"} - set(entry)
    if missing:
        raise ValueError(f"{path}: profile {name!r} lacks {sorted(missing)}")
    where = f"{path}: profile {name!r}"
    _check_keys(where, entry, _TOP)
    source = entry["faces"].get("source")
    if source not in _FACE_SOURCES:
        raise ValueError(f"{path}: profile {name!r} faces.source {source!r} is not one of {list(_FACE_SOURCES)}")
    _check_keys(f"{where} faces", entry["faces"], *_FACES[source])
    _check_trunks(f"{where} trunks", entry["trunks"])
    _check_keys(f"{where} finetune", entry["finetune"], *_FINETUNE)
    trunk_source = entry["trunks"].get("source")
    if trunk_source not in _TRUNK_SOURCES:
        raise ValueError(
            f"{path}: profile {name!r} trunks.source {trunk_source!r} is not one of {list(_TRUNK_SOURCES)}"
        )
    frozen = entry["finetune"].get("frozen", "trunk")
    if frozen not in FROZEN:
        raise ValueError(f"{path}: profile {name!r} finetune.frozen {frozen!r} is not one of {list(FROZEN)} "
                         "(convolutions: fc1, fc2 and the readout are trained; trunk: the readout alone)")
    schedule = entry["finetune"].get("schedule", "constant")
    if schedule not in SCHEDULES:
        raise ValueError(f"{path}: profile {name!r} finetune.schedule {schedule!r} is not one of {list(SCHEDULES)} "
                         "(constant: Adam's rate throughout; cosine: decayed to 0 over the run)")
    observers = {**_SIMULATED_OBSERVERS, **entry.get("observers", {})}
    if observers["source"] not in ("simulated", "file") or (observers["source"] == "file" and "file" not in observers):
        raise ValueError(f"{path}: profile {name!r} observers must be 'source: simulated' or 'source: file' with 'file: <csv>'")
    if observers["source"] == "file":
        _check_keys(f"{where} observers", entry["observers"], {"source", "file"})
        observers = {"source": "file", "file": observers["file"]}
    else:
        _check_keys(f"{where} observers", entry.get("observers", {}), _SIMULATED_OBSERVERS)
    _check_keys(f"{where} planted", entry.get("planted", {}), _PLANTED)
    planted = {**_PLANTED, **entry.get("planted", {})}
    _check_keys(f"{where} probing", entry.get("probing", {}), _PROBING)
    probing = {**_PROBING, **entry.get("probing", {})}
    _check_keys(f"{where} gates", entry.get("gates", {}), _GATES)
    gates = {**_GATES, **entry.get("gates", {})}
    _check_keys(f"{where} verdicts", entry.get("verdicts", {}), _VERDICTS)
    judged = {**_VERDICTS, **entry.get("verdicts", {})}
    margin = judged["margin"]
    if isinstance(margin, bool) or not isinstance(margin, (int, float)) or not 0 <= margin < 1:
        raise ValueError(f"{where} verdicts.margin: {margin!r} is not a number in [0, 1) (the smallest difference in "
                         "masking AUC that counts; the package's default is 0.025)")
    if "margin" in entry.get("verdicts", {}) and "reason" not in entry["verdicts"]:
        raise ValueError(f"{where} verdicts.margin is set without verdicts.reason: write beside it why that value "
                         "(the summary chapter prints it)")
    return Profile(
        gates=gates,
        verdicts=judged,
        probing=probing,
        name=name,
        observers=observers,
        planted=planted,
        description=entry["description"],
        stand_in=bool(entry["stand_in"]),
        faces=dict(entry["faces"]),
        trunks=dict(entry["trunks"]),
        finetune=dict(entry["finetune"]),
    )
