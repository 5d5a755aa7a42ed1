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


def test_two_rank2_runs_write_their_trial_images_side_by_side(tmp_path, smoke_faces):
    from facelrp.stages.rank2 import _write_trial_images

    front = smoke_faces.frontal()
    folder = tmp_path / "rank2" / "trial-images"
    folder.parent.mkdir()
    errors = []

    def write():
        try:
            for _ in range(5):
                _write_trial_images(folder, front, list(range(12)))
        except Exception as error:  # collected for the assertion below
            errors.append(error)

    threads = [threading.Thread(target=write) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert sorted(p.name for p in folder.iterdir()) == [f"face-{i:03d}.png" for i in range(12)]
    assert [p.name for p in folder.parent.iterdir()] == ["trial-images"]  # no scratch folder left


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
