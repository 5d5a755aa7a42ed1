"""Faults a run meets: a SIGTERM mid-write, a killed writer's leftovers, two runs writing at
once, a checkout path with a space in it."""

import os
import shlex
import shutil
import signal
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pytest

from facelrp import store
from facelrp.data import datasets

ROOT = Path(__file__).resolve().parents[1]

SLOW_WRITER = """
import signal, sys, time
from facelrp import store
from facelrp.__main__ import _exit_on_sigterm

signal.signal(signal.SIGTERM, _exit_on_sigterm)  # as python -m facelrp does


def slow(handle):
    handle.write(b"half a file")
    handle.flush()
    print("writing", flush=True)
    time.sleep(60)


store.atomic_write(sys.argv[1], slow)
"""


def test_sigterm_mid_write_leaves_neither_the_file_nor_its_temporary(tmp_path):
    target = tmp_path / "curves.npz"
    writer = subprocess.Popen([sys.executable, "-c", SLOW_WRITER, str(target)], stdout=subprocess.PIPE, text=True)
    assert writer.stdout.readline().strip() == "writing"
    assert len(list(tmp_path.glob(".curves.npz.*.tmp"))) == 1  # the half file exists now
    writer.send_signal(signal.SIGTERM)
    assert writer.wait(timeout=30) == 128 + signal.SIGTERM
    assert list(tmp_path.iterdir()) == []


def test_the_command_line_turns_sigterm_into_an_exit(monkeypatch):
    from facelrp import __main__ as cli
    from facelrp.stages import faces

    seen = {}

    def fake_run(profile, **options):
        seen["handler"] = signal.getsignal(signal.SIGTERM)
        return {"n_images": 1, "n_identities": 1, "size": 32}

    monkeypatch.setattr(faces, "run", fake_run)
    previous = signal.getsignal(signal.SIGTERM)
    try:
        cli.main(["render-faces", "--profile", "smoke", "--out", "x.npz"])
    finally:
        signal.signal(signal.SIGTERM, previous)
    assert seen["handler"] is cli._exit_on_sigterm


def test_a_killed_writers_temporary_is_swept_and_a_live_ones_is_kept(tmp_path):
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    stale = tmp_path / f".faces.npz.{dead.pid}.abc123.tmp"
    live = tmp_path / f".faces.npz.{os.getpid()}.def456.tmp"
    for leftover in (stale, live):
        leftover.write_bytes(b"half")
    store.save_npz(tmp_path / "faces.npz", x=np.arange(3))
    assert not stale.exists() and live.exists()
    assert store.load_npz(tmp_path / "faces.npz")["x"].tolist() == [0, 1, 2]


def test_outputs_get_the_permissions_of_a_new_file(tmp_path):
    old = os.umask(0o022)
    try:
        path = store.save_json(tmp_path / "record.json", {"a": 1})
    finally:
        os.umask(old)
    assert path.stat().st_mode & 0o777 == 0o644


def test_two_processes_writing_one_file_leave_one_whole_file(tmp_path):
    target = tmp_path / "record.json"
    code = ("import sys\nfrom facelrp import store\n"
            "for i in range(40):\n    store.save_json(sys.argv[1], {'writer': sys.argv[2], 'payload': 'x' * 100000})\n")
    writers = [subprocess.Popen([sys.executable, "-c", code, str(target), name]) for name in ("a", "b")]
    assert [w.wait(timeout=120) for w in writers] == [0, 0]
    import json

    assert json.loads(target.read_text())["writer"] in {"a", "b"}
    assert [p.name for p in tmp_path.iterdir()] == ["record.json"]


def test_two_runs_replacing_one_folder_leave_one_whole_folder(tmp_path):
    folder = tmp_path / "rank2"
    errors = []

    def write(name):
        try:
            for _ in range(20):
                with store.replaced_folder(folder) as scratch:
                    for k in range(5):
                        (scratch / f"{k}.txt").write_text(name)
        except Exception as error:  # collected for the assertion below
            errors.append(error)

    threads = [threading.Thread(target=write, args=(name,)) for name in "ab"]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    texts = {p.read_text() for p in folder.iterdir()}
    assert sorted(p.name for p in folder.iterdir()) == [f"{k}.txt" for k in range(5)] and len(texts) == 1
    assert [p.name for p in tmp_path.iterdir()] == ["rank2"]  # no scratch folder left
    assert oct(folder.stat().st_mode & 0o777) == oct(0o777 & ~_umask())


def _umask():
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def test_a_folder_write_that_fails_leaves_the_old_folder_whole_and_a_dead_runs_scratch_is_swept(tmp_path):
    folder = tmp_path / "rank2"
    with store.replaced_folder(folder) as scratch:
        (scratch / "trials.csv").write_text("old")
        (scratch / "record.json").write_text("old")
    dead = tmp_path / f".rank2.{2**22 + 12345}.x.new"  # a pid above Linux's pid_max: no such process
    dead.mkdir()
    live = tmp_path / f".rank2.{os.getpid()}.y.new"
    live.mkdir()
    with pytest.raises(KeyboardInterrupt):
        with store.replaced_folder(folder) as scratch:
            (scratch / "trials.csv").write_text("new")
            raise KeyboardInterrupt  # Ctrl-C before the record is written
    assert {p.name: p.read_text() for p in folder.iterdir()} == {"trials.csv": "old", "record.json": "old"}
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(["rank2", live.name])


@pytest.mark.parametrize("kind", ["npz", "csv"])
def test_an_artifacts_old_record_never_vouches_for_new_data_whose_record_failed(tmp_path, kind):
    import pandas as pd

    path = tmp_path / f"out.{kind}"
    save = ((lambda value, record: store.save_artifact(path, {"x": np.full(3, value)}, record)) if kind == "npz" else
            (lambda value, record: store.save_table(path, pd.DataFrame({"x": [value]}), record)))
    save(1.0, {"run": 1})
    with pytest.raises(TypeError):
        save(2.0, {"run": object()})  # the new data is written, its record is not
    assert not path.with_suffix(".json").exists()  # so nothing says the new data is whole


class _Model:
    """Stands in for a Keras model: `save` writes its text."""

    def __init__(self, text):
        self.text = text

    def save(self, path, include_optimizer=False):
        Path(path).write_text(self.text)


def test_a_model_run_that_fails_leaves_the_old_run_whole_so_no_old_record_vouches_for_a_new_model(tmp_path):
    from facelrp.models import finetune

    folder = tmp_path / "models" / "vggface-identity-s0"
    maps = np.ones((3, 4, 4), np.float32)
    finetune.save_run(folder, _Model("old"), {"maps": maps, "logits": np.zeros((3, 2))}, {"n_maps": 3, "run": "old"})
    old = {p.name: p.read_bytes() for p in folder.iterdir()}
    with pytest.raises(TypeError):  # the record cannot be written: after the model and the arrays
        finetune.save_run(folder, _Model("new"), {"maps": 2 * maps, "logits": np.ones((3, 2))}, {"n_maps": 3, "x": object()})
    assert {p.name: p.read_bytes() for p in folder.iterdir()} == old
    with pytest.raises(ValueError, match=r"arrays\.npz: maps holds 1 non-finite value\(s\) \(NaN or infinity\) of 48; "
                                         r"the model's training or its maps failed.*nothing was written"):
        finetune.save_run(folder, _Model("new"), {"maps": np.where(np.arange(48).reshape(3, 4, 4) == 0, np.nan, maps)},
                          {"n_maps": 3})
    assert {p.name: p.read_bytes() for p in folder.iterdir()} == old
    assert [p.name for p in folder.parent.iterdir()] == [folder.name]
    arrays, record = finetune.load_run(folder)
    assert record["run"] == "old" and arrays["maps"].shape == (3, 4, 4)


def test_a_model_run_whose_arrays_do_not_fit_its_record_is_refused(tmp_path):
    from facelrp.models import finetune

    folder = tmp_path / "vggface-identity-s0"
    finetune.save_run(folder, _Model("m"), {"maps": np.ones((3, 4, 4)), "logits": np.zeros((3, 2))}, {"n_maps": 3})
    store.save_json(folder / "record.json", {"n_maps": 5})  # a record of another run
    with pytest.raises(ValueError, match=r"arrays\.npz: shapes \{'maps': \(3, 4, 4\), 'logits': \(3, 2\)\}, but its record "
                                         r"says 5 maps; the two are of different runs"):
        finetune.load_run(folder)
    store.save_npz(folder / "arrays.npz", maps=np.full((5, 4, 4), np.inf))
    with pytest.raises(ValueError, match=r"maps holds 80 non-finite value\(s\).*remove .*vggface-identity-s0 and rerun"):
        finetune.load_run(folder)


def test_the_pipeline_quotes_a_checkout_path_with_a_space(tmp_path):
    checkout = tmp_path / "my projects" / "facelrp"
    checkout.mkdir(parents=True)
    for name in ("workflow", "notebooks", "book"):
        shutil.copytree(ROOT / name, checkout / name)
    shutil.copytree(ROOT / "weights", checkout / "weights", ignore=shutil.ignore_patterns("demo-*"))  # the smoke trunks
    env = dict(os.environ, PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}")
    target = "results/smoke/book/models/imagenet-gender-s0.ipynb"
    # cache off: the model's own rule, not the restore from the shipped smoke cache
    run = subprocess.run(["snakemake", "-s", "workflow/Snakefile", "--cores", "1", "--config", "profile=smoke",
                          "cache=off", "-n", "-p", target], cwd=checkout, env=env, capture_output=True, text=True)
    assert run.returncode == 0, run.stderr[-2000:]
    command = next(line for line in run.stdout.splitlines() if "execute-page" in line)
    words = shlex.split(command)
    assert words[words.index("--cwd") + 1] == str(checkout)


@pytest.mark.parametrize("damage", ["truncated", "not a zip"])
def test_a_damaged_artifact_is_named_with_the_fix(tmp_path, damage):
    path = tmp_path / "arrays.npz"
    store.save_npz(path, maps=np.zeros((4, 8, 8)))
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2] if damage == "truncated" else b"hello")
    with pytest.raises(ValueError, match=r"arrays\.npz: not a readable \.npz file .*delete it and rerun the pipeline"):
        store.load_npz(path)
    with pytest.raises(ValueError, match=r"arrays\.npz: not a readable \.npz file"):
        datasets.FaceDataset.load(path)
