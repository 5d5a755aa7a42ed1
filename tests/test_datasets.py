import numpy as np
import pandas as pd
import pytest
from PIL import Image

from facelrp.data import datasets
from facelrp.data.datasets import DatasetError, FaceDataset


def _write_folder(folder, rows, size=(20, 20), skip_images=()):
    """A VPNL-style folder: one PNG per row and manifest.csv."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    for file, *_ in rows:
        if file in skip_images:
            continue
        Image.fromarray(rng.integers(0, 256, size[::-1], dtype=np.uint8)).save(folder / file)
    pd.DataFrame(rows, columns=list(datasets.MANIFEST_COLUMNS)).to_csv(folder / "manifest.csv", index=False)
    return folder


GOOD = [
    ("a_front.png", "anna", "female", 0),
    ("a_left.png", "anna", "female", -15),
    ("b_front.png", "ben", "male", 0),
    ("b_right.png", "ben", "M", 15),
]


def test_folder_loads_into_the_same_type(tmp_path):
    folder = _write_folder(tmp_path / "faces", GOOD)
    data = datasets.load_folder(folder)
    assert isinstance(data, FaceDataset)
    assert data.images.shape == (4, 20, 20) and data.images.dtype == np.uint8
    assert data.identity_names == ("anna", "ben")
    assert data.gender.tolist() == [0, 0, 1, 1]
    assert data.view.tolist() == [0, -15, 0, 15]
    assert not data.is_stand_in
    assert data.parts is None
    front = data.frontal()
    assert front.view.tolist() == [0, 0] and front.identity.tolist() == [0, 1]
    # pixels are the file's grey levels
    assert np.array_equal(data.images[2], np.asarray(Image.open(folder / "b_front.png")))


def test_colour_images_are_read_as_grey_and_size_resizes(tmp_path):
    folder = _write_folder(tmp_path / "faces", GOOD, size=(30, 40))
    Image.new("RGB", (30, 40), (255, 0, 0)).save(folder / "a_front.png")
    data = datasets.load_folder(folder, size=16)
    assert data.images.shape == (4, 16, 16)
    assert data.images[0].std() == 0  # a flat red image is a flat grey one


def test_gender_map_adds_labels(tmp_path):
    rows = [(f, i, {"female": "2", "male": "1", "M": "1"}[g], v) for f, i, g, v in GOOD]
    folder = _write_folder(tmp_path / "faces", rows)
    data = datasets.load_folder(folder, gender_map={"1": "male", "2": "female"})
    assert data.gender.tolist() == [0, 0, 1, 1]


def test_missing_manifest(tmp_path):
    (tmp_path / "faces").mkdir()
    with pytest.raises(FileNotFoundError, match=r"manifest.csv: manifest not found; write a CSV with the columns file, identity, gender, view_deg"):
        datasets.load_folder(tmp_path / "faces")


def test_missing_folder(tmp_path):
    with pytest.raises(FileNotFoundError, match="no such folder"):
        datasets.load_folder(tmp_path / "nowhere")


def test_missing_column(tmp_path):
    folder = tmp_path / "faces"
    folder.mkdir()
    pd.DataFrame({"file": ["x.png"], "identity": ["a"], "gender": ["male"]}).to_csv(folder / "manifest.csv", index=False)
    with pytest.raises(DatasetError, match="missing column\\(s\\) view_deg"):
        datasets.load_folder(folder)


def test_missing_image(tmp_path):
    folder = _write_folder(tmp_path / "faces", GOOD, skip_images={"b_front.png"})
    with pytest.raises(FileNotFoundError, match=r"manifest.csv row 4: image .*b_front.png not found; fix the file column or add the image"):
        datasets.load_folder(folder)


def test_unreadable_image(tmp_path):
    folder = _write_folder(tmp_path / "faces", GOOD)
    (folder / "a_left.png").write_bytes(b"this is not a png")
    with pytest.raises(DatasetError, match=r"row 3: image .*a_left.png cannot be read .*replace it with a PNG or JPEG"):
        datasets.load_folder(folder)


def test_unknown_gender(tmp_path):
    rows = GOOD[:3] + [("b_right.png", "ben", "x", 15)]
    folder = _write_folder(tmp_path / "faces", rows)
    with pytest.raises(DatasetError, match=r"manifest.csv row 5: gender 'x' is not one of .*fix the row or pass gender_map="):
        datasets.load_folder(folder)


def test_duplicate_file_row(tmp_path):
    folder = _write_folder(tmp_path / "faces", GOOD + [GOOD[1]])
    with pytest.raises(DatasetError, match=r"row 6: file 'a_left.png' already listed in row 3; remove the duplicate row"):
        datasets.load_folder(folder)


def test_duplicate_identity_and_view(tmp_path):
    folder = _write_folder(tmp_path / "faces", GOOD + [("a_again.png", "anna", "female", -15)])
    with pytest.raises(DatasetError, match=r"row 6: identity 'anna' at view -15 already listed in row 3"):
        datasets.load_folder(folder)


def test_images_of_different_sizes(tmp_path):
    folder = _write_folder(tmp_path / "faces", GOOD)
    Image.fromarray(np.zeros((25, 20), np.uint8)).save(folder / "b_front.png")
    with pytest.raises(DatasetError, match=r"row 4: image b_front.png is 20x25 but row 2's is 20x20; crop the images to one size or pass size="):
        datasets.load_folder(folder)
    assert datasets.load_folder(folder, size=20).images.shape == (4, 20, 20)


def test_identity_without_frontal_view(tmp_path):
    rows = GOOD[:2] + [("b_left.png", "ben", "male", -15), ("b_right.png", "ben", "male", 15)]
    folder = _write_folder(tmp_path / "faces", rows)
    with pytest.raises(DatasetError, match="identity 'ben' has no frontal view \\(view_deg 0\\)"):
        datasets.load_folder(folder)


def test_bad_view_value(tmp_path):
    folder = _write_folder(tmp_path / "faces", GOOD[:3] + [("b_right.png", "ben", "male", "left")])
    with pytest.raises(DatasetError, match="row 5: view_deg 'left' is not a finite number of degrees"):
        datasets.load_folder(folder)


def test_save_load_roundtrip(tmp_path, smoke_faces):
    path = tmp_path / "sub" / "faces.npz"
    smoke_faces.save(path)
    back = FaceDataset.load(path)
    for name in ("images", "identity", "gender", "view", "parts", "identity_params"):
        assert np.array_equal(getattr(back, name), getattr(smoke_faces, name)), name
    assert back.identity_names == smoke_faces.identity_names
    assert back.provenance == smoke_faces.provenance
    assert list(path.parent.iterdir()) == [path]  # no temporary file left


def test_interrupted_save_leaves_nothing(tmp_path, smoke_faces, monkeypatch):
    def explode(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(np, "savez_compressed", explode)
    with pytest.raises(KeyboardInterrupt):
        smoke_faces.save(tmp_path / "faces.npz")
    assert list(tmp_path.iterdir()) == []


def test_load_missing_file_names_the_fix(tmp_path):
    with pytest.raises(FileNotFoundError, match="python -m facelrp render-faces --profile"):
        FaceDataset.load(tmp_path / "faces.npz")


def test_summary_is_the_dataset_card(smoke_faces):
    card = smoke_faces.summary()
    assert card.loc["female", "identities"] == 6 and card.loc["male", "identities"] == 6
    assert card.loc["all", "images"] == 180
    assert card.loc["male", "images"] + card.loc["female", "images"] == 180


def test_caffe_preprocess():
    grey = np.array([[[0, 255]]], dtype=np.uint8)
    out = datasets.caffe_preprocess(grey)
    assert out.shape == (1, 1, 2, 3) and out.dtype == np.float32
    assert np.allclose(out[0, 0, 0], -datasets.IMAGENET_BGR_MEAN)
    assert np.allclose(out[0, 0, 1], 255 - datasets.IMAGENET_BGR_MEAN)
