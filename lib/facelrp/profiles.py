"""The three settings of the book (smoke, demo, paper), read from ``profiles.yml``."""

from __future__ import annotations

import json
import os
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path

import yaml

from . import settings

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
# The sections a profile fills in where it leaves them out, from their one declaration
# (`facelrp.settings`, with the reasons for their values).
_PLANTED = settings.defaults("planted")
_PROBING = settings.defaults("probing")
_GATES = settings.defaults("gates")
_VERDICTS = settings.defaults("verdicts")
_SIMULATED_OBSERVERS = settings.defaults("observers/simulated")
#: The two pretraining sources of the paper, in book order.
TRUNK_SOURCES = ("imagenet", "vggface")

_TOP = {"description", "stand_in", "faces", "trunks", "finetune", "observers", "planted", "probing", "gates", "verdicts"}


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

    def trunk_location(self, source: str) -> Path:
        """Where this profile's stand-in trunk for `source` (imagenet/vggface) lives or will
        be written (the pipeline's graph and pretraining ask here; readers, `trunk_path`)."""
        if source not in TRUNK_SOURCES:
            raise ValueError(f"source {source!r} is not one of {list(TRUNK_SOURCES)}")
        return Path(self.trunks["folder"]) / f"{self.name}-{source}.h5"

    def trunk_path(self, source: str) -> Path:
        """This profile's stand-in trunk for `source`, to read: its record (beside it) must
        say it was pretrained with this profile's ``trunks.spec``.

        The check lives here, among the bookkeeping the cache's keys leave out
        (`facelrp.codehash`), because it refuses a file and changes no number: adding it
        re-keys no stage.

        Raises
        ------
        ValueError (settings.ProfileError)
            The record names another spec; the message says how to pretrain this one.
        """
        path = self.trunk_location(source)
        record_path = path.with_suffix(".json")
        if "spec" in self.trunks and path.is_file() and record_path.is_file():
            from .models.vgg import TrunkSpec

            try:
                recorded = json.loads(record_path.read_text()).get("spec")
            except (json.JSONDecodeError, UnicodeDecodeError) as error:
                raise settings.ProfileError(f"{record_path}: not a trunk record ({error}); restore it "
                                            f"(for the shipped trunks: git checkout {record_path})") from None
            made, asked = (asdict(TrunkSpec(**spec)) for spec in (recorded or self.trunks["spec"], self.trunks["spec"]))
            differ = [name for name in asked if made[name] != asked[name]]
            if differ:
                raise settings.ProfileError(
                    f"{path}: pretrained with trunks.spec {_compact({k: made[k] for k in differ})} (its record "
                    f"{record_path.name}), but the {self.name} profile asks for {_compact({k: asked[k] for k in differ})}; "
                    f"pretrain it with this profile (python -m facelrp pretrain --profile {self.name} --source {source}) "
                    "or set trunks.spec back")
        return path

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


def _compact(spec: dict) -> str:
    """Spec fields as one line of a message: ``{width: 0.25, fc_width: 64}``."""
    return "{" + ", ".join(f"{k}: {v}" for k, v in spec.items()) + "}"


def _check_trunks(where: str, trunks: dict) -> None:
    from .models.vgg import TrunkSpec

    settings.check(where, "trunks", trunks)
    if "spec" in trunks:
        settings.check(where, "trunks.spec", trunks["spec"])
        try:
            TrunkSpec(**trunks["spec"])
        except ValueError as error:
            raise settings.ProfileError(f"{where} trunks.spec: {error}") from None
    pretrain = trunks.get("pretrain", {})
    overrides = {source: pretrain[source] for source in TRUNK_SOURCES if source in pretrain}
    settings.check(where, "trunks.pretrain", {k: v for k, v in pretrain.items() if k not in overrides})
    for source, values in overrides.items():
        settings.check(where, "trunks.pretrain", values, label=f"trunks.pretrain.{source}")


# a gated-network variant as `facelrp.studies.gates.variant_settings` parses it
_GATE_VARIANT = re.compile(r"resnet|aig-(0(\.\d+)?|1(\.0+)?)|iig-gender(-[a-z_]+)?")


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
    unknown = sorted(set(entry) - _TOP)
    if unknown:
        import difflib

        hints = [f"{key!r} (did you mean {close[0]!r}?)" if (close := difflib.get_close_matches(key, _TOP, n=1))
                 else repr(key) for key in unknown]
        raise settings.ProfileError(f"{where} has unknown settings {', '.join(hints)}; known: {sorted(_TOP)}")
    source = entry["faces"].get("source") if isinstance(entry["faces"], dict) else None
    if source not in _FACE_SOURCES:
        raise settings.ProfileError(f"{where} faces.source {source!r} is not one of {list(_FACE_SOURCES)}")
    settings.check(where, f"faces/{source}", entry["faces"])
    _check_trunks(where, entry["trunks"])
    settings.check(where, "finetune", entry["finetune"])
    if entry["trunks"].get("source") is None:
        raise settings.ProfileError(f"{where} trunks.source is not set; one of {list(_TRUNK_SOURCES)}")
    given = entry.get("observers", {}) or {}
    kind = given.get("source", "simulated") if isinstance(given, dict) else None
    if kind not in ("simulated", "file"):
        raise settings.ProfileError(f"{where} observers must be 'source: simulated' or 'source: file' with 'file: <csv>'")
    settings.check(where, f"observers/{kind}", given)
    observers = {"source": "file", "file": given["file"]} if kind == "file" else {**_SIMULATED_OBSERVERS, **given}
    sections = {}
    for section, default in (("planted", _PLANTED), ("probing", _PROBING), ("gates", _GATES), ("verdicts", _VERDICTS)):
        given = entry.get(section, {}) or {}
        settings.check(where, section, given)
        sections[section] = {**default, **given}
    planted, probing, gates, judged = (sections[k] for k in ("planted", "probing", "gates", "verdicts"))
    from .data.faces import PARTS

    bad = [part for part in planted["parts"] if part not in PARTS]
    if bad:
        raise settings.ProfileError(f"{where} planted.parts: {bad[0]!r} is not a face part; one of {list(PARTS)}")
    bad = [v for v in gates["variants"] if not _GATE_VARIANT.fullmatch(v)]
    if bad:
        raise settings.ProfileError(f"{where} gates.variants: {bad[0]!r} is not a variant: resnet, aig-<rate in (0, 1]>, "
                                    "iig-gender or iig-gender-<attribute>")
    if "margin" in entry.get("verdicts", {}) and "reason" not in entry["verdicts"]:
        raise settings.ProfileError(f"{where} verdicts.margin is set without verdicts.reason: write beside it why that "
                                    "value (the summary chapter prints it)")
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
