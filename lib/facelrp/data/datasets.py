"""Face data sets: one type for the synthetic stand-in and for folders of real images.

`FaceDataset` holds greyscale images with identity, gender and view labels (and, for the
synthetic set, per-pixel part labels and the identities' ground-truth parameters).
`synthetic_vpnl` renders the VPNL-style stand-in; `load_folder` reads a folder of images
described by a manifest CSV, the layout a VPNL-faces user prepares; `caffe_preprocess`
turns images into VGG-16 input.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
from PIL import Image, ImageOps, UnidentifiedImageError
from tqdm.auto import tqdm

from .. import store
from . import faces

__all__ = [
    "GENDERS",
    "MANIFEST_COLUMNS",
    "DatasetError",
    "FaceDataset",
    "synthetic_vpnl",
    "vpnl_identities",
    "pretraining_faces",
    "load_folder",
    "read_csv",
    "caffe_preprocess",
    "IMAGENET_BGR_MEAN",
]

#: Gender labels in code order: 0 female, 1 male.
GENDERS = ("female", "male")
#: Columns a folder manifest must have.
MANIFEST_COLUMNS = ("file", "identity", "gender", "view_deg")
#: The yaw a manifest may give, in degrees (0 = frontal; a profile view is +-90).
VIEW_RANGE = (-180, 180)
#: Images smaller than this on a side are refused (a 1x1 file would become a flat face) ...
MIN_SIDE = 8
#: ... and larger than this many pixels (a face image is far smaller; Pillow itself stops
#: at about 179 million with a DecompressionBombError).
MAX_PIXELS = 50_000_000
#: Per-channel means (B, G, R) subtracted by caffe-style preprocessing, 0-255 scale.
IMAGENET_BGR_MEAN = np.array([103.939, 116.779, 123.68], dtype=np.float32)

_GENDER_WORDS = {
    "female": 0, "f": 0, "woman": 0, "w": 0,
    "male": 1, "m": 1, "man": 1,
}


class DatasetError(ValueError):
    """A data set's files or manifest are not usable; the message names the fix."""


@dataclass(frozen=True, eq=False)
class FaceDataset:
    """Greyscale face images with their labels.

    Attributes
    ----------
    images : (n, h, w) uint8
    identity : (n,) int64, index into `identity_names`
    gender : (n,) int8, 0 female, 1 male (see `GENDERS`)
    view : (n,) int16, yaw in degrees, 0 = frontal
    identity_names : tuple of str, one per identity
    parts : (n, h, w) uint8 or None, indices into `faces.PARTS`
    identity_params : (n_identities, len(faces.PARAM_NAMES)) float64 or None
    provenance : dict, how the set was made (source, parameters, seed, code version)
    """

    images: np.ndarray
    identity: np.ndarray
    gender: np.ndarray
    view: np.ndarray
    identity_names: tuple
    parts: np.ndarray | None = None
    identity_params: np.ndarray | None = None
    provenance: dict = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.images)

    @property
    def image_size(self) -> tuple[int, int]:
        return tuple(self.images.shape[1:3])

    @property
    def n_identities(self) -> int:
        return len(self.identity_names)

    @property
    def is_stand_in(self) -> bool:
        """True when the images are synthetic stand-ins, not a real photo set."""
        return self.provenance.get("source") != "folder"

    def subset(self, index) -> "FaceDataset":
        """The images selected by a boolean mask or an integer index, same identities."""
        index = np.asarray(index)
        return FaceDataset(
            images=self.images[index],
            identity=self.identity[index],
            gender=self.gender[index],
            view=self.view[index],
            identity_names=self.identity_names,
            parts=None if self.parts is None else self.parts[index],
            identity_params=self.identity_params,
            provenance=self.provenance,
        )

    def frontal(self) -> "FaceDataset":
        """The yaw-0 image of every identity, ordered by identity (the analysis set)."""
        index = np.flatnonzero(self.view == 0)
        return self.subset(index[np.argsort(self.identity[index], kind="stable")])

    def identity_gender(self) -> np.ndarray:
        """(n_identities,) int8: the gender of each identity."""
        out = np.full(self.n_identities, -1, dtype=np.int8)
        out[self.identity] = self.gender
        return out

    def summary(self) -> pd.DataFrame:
        """Counts of identities and images by gender (the data-set card)."""
        per_identity = self.identity_gender()
        rows = []
        for code, name in enumerate(GENDERS):
            rows.append({
                "gender": name,
                "identities": int((per_identity == code).sum()),
                "images": int((self.gender == code).sum()),
            })
        rows.append({"gender": "all", "identities": self.n_identities, "images": len(self)})
        return pd.DataFrame(rows).set_index("gender")

    def save(self, path: str | os.PathLike) -> None:
        """Write to an ``.npz`` file atomically (a temporary file renamed into place)."""
        arrays = {
            "images": self.images,
            "identity": self.identity,
            "gender": self.gender,
            "view": self.view,
            "identity_names": np.array(self.identity_names),
            "provenance": np.array(json.dumps(self.provenance, sort_keys=True)),
        }
        if self.parts is not None:
            arrays["parts"] = self.parts
        if self.identity_params is not None:
            arrays["identity_params"] = self.identity_params
        store.save_npz(path, **arrays)

    @classmethod
    def load(cls, path: str | os.PathLike) -> "FaceDataset":
        """Read a file written by `save`."""
        path = Path(path)
        if not path.is_file():
            raise FileNotFoundError(
                f"{path}: no such data-set file; make it with "
                f"`python -m facelrp render-faces --profile <profile> --out {path}` "
                "or run the pipeline (`make book`)"
            )
        data = store.load_npz(path)
        missing = {"images", "identity", "gender", "view", "identity_names", "provenance"} - set(data)
        if missing:
            raise DatasetError(f"{path}: not a face set (it lacks {sorted(missing)}); make one with "
                               "`python -m facelrp render-faces --profile <profile>`")
        return cls(
            images=data["images"],
            identity=data["identity"],
            gender=data["gender"],
            view=data["view"],
            identity_names=tuple(str(x) for x in data["identity_names"]),
            parts=data.get("parts"),
            identity_params=data.get("identity_params"),
            provenance=json.loads(str(data["provenance"])),
        )


def _to_uint8(images: np.ndarray) -> np.ndarray:
    return np.round(np.clip(images, 0.0, 1.0) * 255).astype(np.uint8)


def vpnl_identities(*, n_male: int = 44, n_female: int = 57, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """The identities of `synthetic_vpnl` without rendering: (genders (n,), params (n, p))."""
    rng = np.random.default_rng(seed)
    genders = rng.permutation(np.r_[np.zeros(n_female, int), np.ones(n_male, int)])
    return genders, faces.sample_identities(genders, rng)


def synthetic_vpnl(
    *,
    n_male: int = 44,
    n_female: int = 57,
    views=faces.VPNL_VIEWS,
    size: int = 64,
    seed: int = 0,
    supersample: int = 3,
    progress: bool = False,
) -> FaceDataset:
    """Render the VPNL-style stand-in: every identity at every view, standard light.

    Genders are assigned to identities in a seeded random order; identity parameters
    come from `faces.sample_identities`. The same arguments give identical bytes.

    Returns
    -------
    FaceDataset with ``n_identities * len(views)`` images, ordered by identity then view.
    """
    genders, params = vpnl_identities(n_male=n_male, n_female=n_female, seed=seed)
    images, parts = [], []
    for p in tqdm(params, desc="rendering faces", unit="identity", disable=not progress):
        img, lab = faces.render_views(p, views, size=size, supersample=supersample)
        images.append(_to_uint8(img))
        parts.append(lab)
    n_views = len(views)
    n_ids = len(params)
    provenance = {
        "source": "synthetic",
        "generator": "facelrp.data.datasets.synthetic_vpnl",
        "stand_in_for": "VPNL-faces",
        "n_male": n_male,
        "n_female": n_female,
        "views": list(map(int, views)),
        "size": size,
        "seed": seed,
        "supersample": supersample,
        "code_version": _code_version(),
    }
    return FaceDataset(
        images=np.concatenate(images),
        identity=np.repeat(np.arange(n_ids), n_views),
        gender=np.repeat(genders, n_views).astype(np.int8),
        view=np.tile(np.asarray(views, dtype=np.int16), n_ids),
        identity_names=tuple(f"id{i:03d}" for i in range(n_ids)),
        parts=np.concatenate(parts),
        identity_params=params,
        provenance=provenance,
    )


def pretraining_faces(
    exclude: np.ndarray,
    *,
    n_identities: int,
    images_per_identity: int,
    size: int = 64,
    seed: int = 1,
    min_distance: float = 2.0,
    supersample: int = 3,
    progress: bool = False,
) -> FaceDataset:
    """Render the pretraining corpus of the "VGGFace" stand-in.

    Identities are disjoint from `exclude` (the analysis identities' parameters): each is
    at least `min_distance` away from all of them in standardised parameter space (see
    `faces.sample_disjoint_identities`). Each image has a random continuous yaw, small
    pitch, light, scale, shift and expression (`faces.render_jittered`); ``view`` holds
    the yaw rounded to whole degrees.
    """
    rng = np.random.default_rng(seed)
    params, genders = faces.sample_disjoint_identities(
        n_identities, exclude, rng, min_distance=min_distance
    )
    images, parts, views = [], [], []
    for p in tqdm(params, desc="rendering pretraining faces", unit="identity", disable=not progress):
        for _ in range(images_per_identity):
            img, lab, setting = faces.render_jittered(p, rng, size=size, supersample=supersample)
            images.append(_to_uint8(img))
            parts.append(lab)
            views.append(round(setting["yaw"]))
    provenance = {
        "source": "synthetic",
        "generator": "facelrp.data.datasets.pretraining_faces",
        "stand_in_for": "VGGFace (pretraining corpus)",
        "n_identities": n_identities,
        "images_per_identity": images_per_identity,
        "size": size,
        "seed": seed,
        "min_distance": min_distance,
        "code_version": _code_version(),
    }
    return FaceDataset(
        images=np.stack(images),
        identity=np.repeat(np.arange(n_identities), images_per_identity),
        gender=np.repeat(genders, images_per_identity).astype(np.int8),
        view=np.asarray(views, dtype=np.int16),
        identity_names=tuple(f"pre{i:04d}" for i in range(n_identities)),
        parts=np.stack(parts),
        identity_params=params,
        provenance=provenance,
    )


# --------------------------------------------------------------------------- folders


def load_folder(
    folder: str | os.PathLike,
    *,
    manifest: str = "manifest.csv",
    gender_map: dict | None = None,
    size: int | None = None,
) -> FaceDataset:
    """Read a folder of face images described by a manifest CSV.

    The manifest has one row per image with the columns ``file`` (path relative to the
    folder), ``identity`` (any label), ``gender`` (female/male, f/m, or as `gender_map`
    says) and ``view_deg`` (yaw in degrees, 0 = frontal). Images are read as greyscale.

    Parameters
    ----------
    folder : path
    manifest : str
        File name of the manifest inside `folder`.
    gender_map : dict, optional
        Extra gender labels, e.g. ``{"1": "male", "2": "female"}``.
    size : int, optional
        Resize every image to ``size x size`` (bilinear). Without it, all images must
        have the same size.

    Raises
    ------
    FileNotFoundError
        The folder, the manifest or an image is missing.
    DatasetError
        A row is malformed, duplicated, has an unknown gender, an image is unreadable or
        of another size, or an identity has no frontal view.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise FileNotFoundError(f"{folder}: no such folder; pass the folder that holds the images and {manifest}")
    manifest_path = folder / manifest
    if not manifest_path.is_file():
        raise FileNotFoundError(
            f"{manifest_path}: manifest not found; write a CSV with the columns "
            f"{', '.join(MANIFEST_COLUMNS)} (one row per image) and save it there"
        )
    table = read_csv(manifest_path, dtype=str, keep_default_na=False)
    missing = [c for c in MANIFEST_COLUMNS if c not in table.columns]
    if missing:
        raise DatasetError(
            f"{manifest_path}: missing column(s) {', '.join(missing)}; "
            f"the manifest needs {', '.join(MANIFEST_COLUMNS)}"
        )
    if table.empty:
        raise DatasetError(f"{manifest_path}: the manifest has no rows")

    words = dict(_GENDER_WORDS)
    for key, value in (gender_map or {}).items():
        if str(value).lower() not in ("female", "male"):
            raise ValueError(f"gender_map[{key!r}] = {value!r} is not 'female' or 'male'")
        words[str(key).strip().lower()] = GENDERS.index(str(value).lower())

    genders, views = [], []
    for row_number, row in enumerate(table.itertuples(index=False), start=2):  # 1 = header
        where = f"{manifest_path} row {row_number}"
        label = row.gender.strip().lower()
        if label not in words:
            raise DatasetError(
                f"{where}: gender {row.gender!r} is not one of {sorted(set(_GENDER_WORDS))}; "
                "fix the row or pass gender_map="
            )
        genders.append(words[label])
        try:
            views.append(int(round(float(row.view_deg))))
        except (ValueError, OverflowError):  # OverflowError: inf
            raise DatasetError(f"{where}: view_deg {row.view_deg!r} is not a finite number of degrees") from None
        if not VIEW_RANGE[0] <= views[-1] <= VIEW_RANGE[1]:  # checked before int16 could wrap it around
            raise DatasetError(f"{where}: view_deg {row.view_deg!r} is out of range: a yaw in degrees from "
                               f"{VIEW_RANGE[0]} to {VIEW_RANGE[1]} (0 = frontal, 90 = profile)")
        if not row.file.strip() or not row.identity.strip():
            raise DatasetError(f"{where}: empty file or identity")

    _check_duplicates(table, views, manifest_path)

    identity_names = tuple(dict.fromkeys(table["identity"].str.strip()))
    identity_index = {name: i for i, name in enumerate(identity_names)}
    identity = np.array([identity_index[x.strip()] for x in table["identity"]], dtype=np.int64)
    genders = np.asarray(genders, dtype=np.int8)
    views = np.asarray(views, dtype=np.int16)

    for i, name in enumerate(identity_names):
        mine = identity == i
        if len(set(genders[mine])) > 1:
            raise DatasetError(f"{manifest_path}: identity {name!r} has rows with different genders")
        if not (views[mine] == 0).any():
            raise DatasetError(
                f"{manifest_path}: identity {name!r} has no frontal view (view_deg 0); "
                "the analysis set is one frontal image per identity: add one or drop the identity"
            )

    images = [_read_image(folder, f.strip(), size, manifest_path, r) for r, f in enumerate(table["file"], start=2)]
    shapes = {img.shape for img in images}
    if len(shapes) > 1:
        first = images[0].shape
        odd = next(r for r, img in enumerate(images, start=2) if img.shape != first)
        raise DatasetError(
            f"{manifest_path} row {odd}: image {table['file'].iloc[odd - 2]} is "
            f"{images[odd - 2].shape[1]}x{images[odd - 2].shape[0]} but row 2's is {first[1]}x{first[0]}; "
            "crop the images to one size or pass size= to resize them"
        )
    return FaceDataset(
        images=np.stack(images),
        identity=identity,
        gender=genders,
        view=views,
        identity_names=identity_names,
        provenance={
            "source": "folder",
            "folder": str(folder.resolve()),
            "manifest_sha256": hashlib.sha256(manifest_path.read_bytes()).hexdigest(),
            "size": size,
            "code_version": _code_version(),
        },
    )


def _check_duplicates(table: pd.DataFrame, views: list, manifest_path: Path) -> None:
    seen_files: dict[str, int] = {}
    seen_views: dict[tuple, int] = {}
    for row_number, (file, identity, view) in enumerate(
        zip(table["file"].str.strip(), table["identity"].str.strip(), views), start=2
    ):
        if file in seen_files:
            raise DatasetError(
                f"{manifest_path} row {row_number}: file {file!r} already listed in row "
                f"{seen_files[file]}; remove the duplicate row"
            )
        if (identity, view) in seen_views:
            raise DatasetError(
                f"{manifest_path} row {row_number}: identity {identity!r} at view {view} already "
                f"listed in row {seen_views[(identity, view)]}; keep one image per identity and view"
            )
        seen_files[file] = row_number
        seen_views[(identity, view)] = row_number


def _read_image(folder: Path, name: str, size: int | None, manifest_path: Path, row: int) -> np.ndarray:
    path = folder / name
    where = f"{manifest_path} row {row}: image {path}"
    if not path.is_file():
        raise FileNotFoundError(f"{where} not found; fix the file column or add the image")
    try:
        with Image.open(path) as img:
            width, height = img.size  # read from the header: nothing decoded yet
            if width * height > MAX_PIXELS or min(width, height) < MIN_SIDE:
                raise DatasetError(f"{where} is {width}x{height} pixels; face images from {MIN_SIDE}x{MIN_SIDE} to "
                                   f"{MAX_PIXELS // 1_000_000} megapixels are read: crop or scale it first")
            img = ImageOps.exif_transpose(img)  # as the file says it is to be shown
            img = _to_grey8(img, where)
            if size is not None:
                img = img.resize((size, size), Image.BILINEAR)
            return np.asarray(img, dtype=np.uint8)
    except (UnidentifiedImageError, OSError, Image.DecompressionBombError) as err:
        raise DatasetError(f"{where} cannot be read ({err}); replace it with a PNG or JPEG file") from None


def _to_grey8(img: Image.Image, where: str) -> Image.Image:
    """An image as 8-bit greyscale, its values as a person reads them; PIL's own conversion
    would clip 16-bit values above 255 to white, turn 0-1 floats black and drop alpha.

    - 16-bit greyscale (modes ``I;16*``, and ``I`` holding 16-bit values): scaled by 255/65535.
    - 32-bit float (mode ``F``): values in 0-1 scaled by 255, in 0-255 kept; others refused.
    - With an alpha channel (or a palette's transparency): used when every pixel is opaque,
      refused otherwise (a transparent background has no grey level of its own).
    """
    if img.mode.startswith("I;16") or img.mode == "I":
        values = np.asarray(img, dtype=np.float64)
        if values.min() < 0 or values.max() > 65535:
            raise DatasetError(f"{where}: mode {img.mode} with values outside 0-65535; save it as 8- or 16-bit")
        return Image.fromarray(np.round(values * (255 / 65535)).astype(np.uint8), mode="L")
    if img.mode == "F":
        values = np.asarray(img, dtype=np.float64)
        if not np.isfinite(values).all() or values.min() < 0 or values.max() > 255:
            raise DatasetError(f"{where}: 32-bit float values from {np.nanmin(values):g} to {np.nanmax(values):g}; "
                               "floats are read in 0-1 or 0-255 (and finite): rescale it, or save it as 8-bit")
        scale = 255 if values.max() <= 1 else 1
        return Image.fromarray(np.round(values * scale).astype(np.uint8), mode="L")
    if img.mode in ("RGBA", "LA", "PA", "La", "RGBa") or (img.mode == "P" and "transparency" in img.info):
        alpha = np.asarray(img.convert("RGBA"))[..., 3]
        if (alpha < 255).any():
            raise DatasetError(f"{where}: {np.mean(alpha < 255):.0%} of its pixels are transparent; flatten it onto "
                               "the background you mean (for example white) and save it without alpha")
    return img.convert("L")


def read_csv(path: str | os.PathLike, **options) -> pd.DataFrame:
    """`pandas.read_csv` of a user's file, its failures as one `DatasetError` naming the file
    (and the row, as a spreadsheet numbers it: header = row 1) and the fix."""
    import re

    path = Path(path)
    try:
        return pd.read_csv(path, encoding="utf-8", **options)
    except pd.errors.EmptyDataError:
        raise DatasetError(f"{path}: the file is empty; it needs a header row and one row per entry") from None
    except pd.errors.ParserError as error:
        found = re.search(r"Expected (\d+) fields in line (\d+), saw (\d+)", str(error))
        where = (f"{path}, row {found.group(2)}: {found.group(3)} values where the header has {found.group(1)}"
                 if found else f"{path}: not a readable CSV file ({str(error).strip()})")
        raise DatasetError(f"{where}; quote values that contain commas, or remove the extra ones") from None
    except UnicodeDecodeError:
        for row, line in enumerate(path.read_bytes().split(b"\n"), start=1):
            try:
                line.decode("utf-8")
            except UnicodeDecodeError as error:
                raise DatasetError(f"{path}, row {row}: byte {line[error.start:error.start + 1]!r} is not UTF-8 text; "
                                   "save the file as UTF-8 (CSV UTF-8 in a spreadsheet's Save As)") from None
        raise


# --------------------------------------------------------------------------- network input


def caffe_preprocess(images: np.ndarray) -> np.ndarray:
    """Greyscale images to VGG-16 input as the paper did (Keras' caffe mode).

    Parameters
    ----------
    images : (n, h, w) uint8 in 0-255 (or float on the same scale)

    Returns
    -------
    (n, h, w, 3) float32: the grey level copied to the B, G, R channels, minus the
    ImageNet channel means (`IMAGENET_BGR_MEAN`).
    """
    grey = np.asarray(images, dtype=np.float32)
    return grey[..., None] - IMAGENET_BGR_MEAN


def _code_version() -> str:
    from .. import __version__

    return __version__
