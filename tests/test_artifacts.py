"""The results layout, the provenance every record carries, and the command line's dispatch
to the stages."""

import hashlib
import json

import numpy as np
import pytest

from facelrp import artifacts, store
from facelrp.artifacts import Results
from facelrp.profiles import load_profile


@pytest.fixture
def smoke(tmp_path):
    return Results(load_profile("smoke"), tmp_path)


def test_every_artifact_lives_under_the_profiles_folder(smoke, tmp_path):
    root = tmp_path / "smoke"
    assert smoke.root == root
    assert smoke.faces == root / "data" / "faces.npz"
    assert smoke.features("vggface") == root / "features" / "vggface.npz"
    assert smoke.model("imagenet-gender-s1") == root / "models" / "imagenet-gender-s1"
    assert smoke.masking() == root / "masking" / "curves.npz"
    assert smoke.masking("road-lerf") == root / "masking" / "curves-road-lerf.npz"
    assert smoke.record(smoke.masking("blur")) == root / "masking" / "curves-blur.json"
    assert smoke.gates("aig-0.4-s1") == root / "gates" / "aig-0.4-s1.npz"
    assert smoke.page("masking") == root / "book" / "masking.ipynb"
    assert smoke.model_page("vggface-identity-s0") == root / "book" / "models" / "vggface-identity-s0.ipynb"
    # the Snakefile declares its files with wildcard patterns through the same methods
    assert str(smoke.model("{model}") / "record.json").endswith("smoke/models/{model}/record.json")
    assert str(smoke.gates("{variant}-s{seed}")).endswith("gates/{variant}-s{seed}.npz")


def test_trunk_inputs_name_the_stand_in_files_and_none_for_the_real_weights(tmp_path):
    smoke = Results(load_profile("smoke"), tmp_path)
    assert smoke.trunk_inputs("imagenet", "vggface") == {
        "trunk_imagenet": smoke.trunk("imagenet"), "trunk_vggface": smoke.trunk("vggface")}
    assert Results(load_profile("paper"), tmp_path).trunk_inputs("imagenet") == {}


def test_provenance_hashes_the_inputs_and_names_the_code_and_setting(smoke, tmp_path):
    faces = tmp_path / "faces.npz"
    faces.write_bytes(b"some bytes")
    record = artifacts.provenance(smoke.profile, "masking", settings={"finetune": {"epochs": 3}},
                                  parameters={"lerf": True}, seed=7, inputs={"faces": faces})
    assert record["inputs"]["faces"]["sha256"] == hashlib.sha256(b"some bytes").hexdigest()
    assert record["stage"] == "masking" and record["profile"] == "smoke" and record["seed"] == 7
    assert record["stand_in"] is True and "stand-ins" in record["data"]
    assert record["settings"] == {"finetune": {"epochs": 3}} and record["parameters"] == {"lerf": True}
    from facelrp import codehash

    assert record["code"] == {**artifacts.code_version(), **codehash.stage_code("masking")}
    assert record["host"]["vector_isa"] == artifacts.vector_isa() and record["command"] is None  # not run as a command
    assert len(record["code"]["sources_sha256"]) == 64 and record["libraries"]["innvestigate"] == "2.1.2"
    json.dumps(record)  # it goes into a .json record as it is


def test_paper_profile_records_say_the_papers_data(tmp_path):
    record = artifacts.provenance(load_profile("paper"), "faces")
    assert record["stand_in"] is False and "the paper's data" in record["data"]


def test_the_sources_hash_follows_every_source_file_and_ignores_caches(tmp_path):
    (tmp_path / "stages").mkdir()
    (tmp_path / "a.py").write_text("x = 1\n")
    (tmp_path / "stages" / "b.py").write_text("y = 2\n")
    before = artifacts.sources_sha256(tmp_path)
    (tmp_path / "__pycache__").mkdir()
    (tmp_path / "__pycache__" / "a.cpython-311.pyc").write_bytes(b"\0")
    (tmp_path / "notes.txt").write_text("not code")
    assert artifacts.sources_sha256(tmp_path) == before
    (tmp_path / "stages" / "b.py").write_text("y = 3\n")
    edited = artifacts.sources_sha256(tmp_path)
    assert edited != before
    (tmp_path / "stages" / "b.py").rename(tmp_path / "stages" / "c.py")  # same bytes, other file
    assert artifacts.sources_sha256(tmp_path) not in (before, edited)


def test_an_artifact_and_its_record_load_together(smoke):
    path = smoke.masking("road")
    store.save_artifact(path, {"accuracy": np.arange(6.0).reshape(2, 3)}, {"seconds": 1.5})
    arrays, record = smoke.load(path)
    assert arrays["accuracy"].shape == (2, 3) and record == {"seconds": 1.5}
    assert sorted(p.name for p in path.parent.iterdir()) == ["curves-road.json", "curves-road.npz"]


def test_a_missing_record_names_the_file_and_the_fix(smoke):
    with pytest.raises(FileNotFoundError, match=r"curves\.json: no record of curves\.npz; run the pipeline \(`make book`\)"):
        smoke.read_record(smoke.masking())


def test_the_command_line_hands_its_options_to_the_stage(monkeypatch, capsys):
    from facelrp.__main__ import main
    from facelrp.stages import masking

    seen = {}

    def fake_run(profile, **options):
        seen.update(profile=profile.name, **options)
        return {"trunk_images": 12, "seconds": 0.5, "order": "least relevant first", "imputation": options["imputation"]}

    monkeypatch.setattr(masking, "run", fake_run)
    assert main(["masking", "--profile", "smoke", "--imputation", "road", "--lerf", "--seed", "3", "--out", "x.npz"]) == 0
    assert seen == {"profile": "smoke", "faces": None, "out": "x.npz", "fill": 0.0, "imputation": "road", "lerf": True,
                    "maps": None, "randomised": False, "seed": 3}
    assert capsys.readouterr().out == "masking: 12 trunk images in 0.5 s (least relevant first, road) -> x.npz\n"
    assert main(["masking", "--profile", "smoke", "--randomised"]) == 0 and seen["randomised"] is True


def test_a_stage_error_is_one_line_and_exit_status_2(monkeypatch, capsys):
    from facelrp.__main__ import main
    from facelrp.stages import StageError, rank2

    def refuse(profile, **options):
        raise StageError("faces.npz: simulated observers need the faces' parameters; set observers to 'source: file'")

    monkeypatch.setattr(rank2, "run", refuse)
    with pytest.raises(SystemExit) as exit_:
        main(["rank2", "--profile", "smoke"])
    assert exit_.value.code == 2
    assert capsys.readouterr().err == ("python -m facelrp rank2: faces.npz: simulated observers need the faces' "
                                       "parameters; set observers to 'source: file'\n")


def test_book_toc_points_the_pages_at_the_profiles_folder(tmp_path):
    from facelrp.book.pages import write_toc

    (tmp_path / "_toc.yml").write_text("root: results/demo/book/intro\nchapters:\n- file: results/demo/book/masking\n")
    out = write_toc("smoke", tmp_path / "results" / "smoke" / "_toc.yml", root=tmp_path)
    assert out.read_text() == "root: results/smoke/book/intro\nchapters:\n- file: results/smoke/book/masking\n"


def test_every_stage_command_has_a_stage_module_with_run_and_summary():
    import importlib
    import inspect

    from facelrp import __main__ as cli
    from facelrp import stages

    commands = [name for name, (function, _, _) in cli._COMMANDS.items() if function is cli._stage]
    modules = {name.replace("-", "_").replace("render_", "") for name in commands}
    # every stage module is a command, except the model's, which its notebook calls
    assert modules == set(stages.__all__) - {"StageError", "load_faces", "model"}
    for name in commands:
        module = importlib.import_module(f"facelrp.stages.{name.replace('-', '_').replace('render_', '')}")
        assert "profile" in inspect.signature(module.run).parameters, name
        assert callable(module.summary), name
