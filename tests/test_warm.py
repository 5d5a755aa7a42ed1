"""The warm start (facelrp.warm): jobs forked from one process that imported the libraries
make the same bytes as cold ones, keep their exit status, messages and signals, and a job
the server cannot serve faithfully runs cold."""

import hashlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from facelrp import warm

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def server():
    with warm.started() as env:
        yield env


def _sha(path):
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def _cli(*args, env, cwd):
    return subprocess.run([sys.executable, "-m", "facelrp", *args], capture_output=True, text=True, cwd=cwd, env=env)


def test_a_forked_job_makes_the_same_bytes_as_a_cold_one(server, tmp_path, monkeypatch):
    cold = _cli("render-faces", "--profile", "smoke", "--out", str(tmp_path / "cold" / "faces.npz"),
                env={k: v for k, v in server.items() if k != warm.ENV}, cwd=tmp_path)
    assert cold.returncode == 0, cold.stderr[-2000:]
    for name, value in server.items():
        monkeypatch.setenv(name, value)
    monkeypatch.chdir(tmp_path)
    # asked from this process: a number back (not None) means the server forked the job
    code = warm.delegate("cli", ["render-faces", "--profile", "smoke", "--out", str(tmp_path / "warm" / "faces.npz")])
    assert code == 0
    assert _sha(tmp_path / "warm" / "faces.npz") == _sha(tmp_path / "cold" / "faces.npz")


def test_a_forked_jobs_exit_status_and_message_are_the_askers(server, tmp_path, monkeypatch, capfd):
    for name, value in server.items():
        monkeypatch.setenv(name, value)
    monkeypatch.chdir(tmp_path)
    code = warm.delegate("cli", ["features", "--profile", "smoke", "--source", "vggface", "--faces", "nowhere.npz",
                                 "--out", "f.npz"])
    assert code == 2
    err = capfd.readouterr().err
    assert err.splitlines()[-1].startswith("python -m facelrp features: nowhere.npz: no such data-set file; make it")
    assert "Traceback" not in err


def test_sigterm_to_the_asker_ends_the_forked_job_with_nothing_half_written(server, tmp_path):
    out = tmp_path / "faces.npz"
    # the demo face set takes tens of seconds to render: long enough to be stopped midway
    asker = subprocess.Popen([sys.executable, "-m", "facelrp", "render-faces", "--profile", "demo", "--out", str(out)],
                             cwd=tmp_path, env=server, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    time.sleep(4)
    assert asker.poll() is None
    asker.send_signal(signal.SIGTERM)
    _, err = asker.communicate(timeout=30)
    assert asker.returncode == 128 + signal.SIGTERM, err[-2000:]
    assert list(tmp_path.iterdir()) == []  # no output, no temporary file


def test_a_job_with_other_import_time_settings_or_no_server_runs_cold(server, monkeypatch):
    for name, value in server.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("TF_ENABLE_ONEDNN_OPTS", "0")  # the gated networks' kernels: TensorFlow's own
    assert warm.delegate("cli", ["digest", "--help"]) is None
    monkeypatch.setenv("TF_ENABLE_ONEDNN_OPTS", "1")
    monkeypatch.setenv(warm.ENV, str(Path(server[warm.ENV]).with_name("gone")))
    assert warm.delegate("cli", ["digest", "--help"]) is None


def test_a_page_kernel_forks_from_the_server_and_the_page_still_says_python3(server, tmp_path, monkeypatch):
    import nbformat

    from facelrp.book.pages import execute_page

    for name, value in server.items():
        monkeypatch.setenv(name, value)
    page = tmp_path / "page.md"
    header = (ROOT / "notebooks" / "model.md").read_text().split("---\n")[1]  # a page's jupytext header
    page.write_text(f"---\n{header}---\n\n# A page\n\n```{{code-cell}} python\nimport os, sys\n"
                    "print('tensorflow' in sys.modules, os.environ.get('FACELRP_WARM_JOB'))\n```\n")
    out = execute_page(page, tmp_path / "page.ipynb", parameters={}, cwd=tmp_path)
    notebook = nbformat.read(out, as_version=4)
    printed = "".join(o.get("text", "") for c in notebook.cells for o in c.get("outputs", []))
    assert printed == "True 1\n"  # TensorFlow imported before the cell ran: the server's
    assert notebook.metadata["kernelspec"]["name"] == "python3"


def test_the_warm_command_runs_its_command_and_passes_its_status_on(tmp_path):
    run = subprocess.run([sys.executable, "-m", "facelrp", "warm", "--", sys.executable, "-c",
                          "import os; print(os.environ['FACELRP_WARM']); raise SystemExit(3)"],
                         capture_output=True, text=True, cwd=tmp_path)
    assert run.returncode == 3, run.stderr[-2000:]
    socket_path = Path(run.stdout.splitlines()[0])
    assert socket_path.name == "socket" and not socket_path.parent.exists()  # the server's folder is gone
    empty = subprocess.run([sys.executable, "-m", "facelrp", "warm"], capture_output=True, text=True, cwd=tmp_path)
    assert empty.returncode == 2 and "no command given" in empty.stderr
