"""Warm start: the jobs of a pipeline run fork from one process that has imported
TensorFlow, iNNvestigate and the package's stages once, instead of each importing them.

At the smoke size most of a job is its start: Python, TensorFlow's import (about 6 s on
this machine), the package, and for a page the Jupyter kernel's own start; the work itself
takes a few seconds. At demo size the start is noise. So ::

    python -m facelrp warm -- snakemake -s workflow/Snakefile --cores 2 --config profile=smoke

(``make book WARM=1``) starts a server that imports them, then runs the command with
``FACELRP_WARM`` naming the server's socket. Every ``python -m facelrp <stage>`` the
command starts, and every page's Jupyter kernel (the ``facelrp-warm`` kernel), then asks
the server to fork a process for it that takes over its arguments, working folder,
environment and standard streams; the asker waits, passes on the signals it gets
(SIGTERM, SIGINT, SIGHUP) and exits with the fork's status. If the asker is killed, the
server ends the fork. A job whose environment asks for other import-time settings than
the server imported with (other CPU kernels: the gated networks run TensorFlow's own, not
oneDNN's; another ``PYTHONHASHSEED``) runs cold, as does every job when no server answers;
the thread counts a job asks for are applied in its fork. A forked job makes the
same bytes as a cold one (tests/test_warm.py).

Written here because no library does it: `multiprocessing`'s forkserver forks Python
functions for the one process that started it; here separate processes (shell commands
of Snakemake, kernels of papermill) ask for the fork.
"""

from __future__ import annotations

import contextlib
import json
import os
import selectors
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time
from pathlib import Path

__all__ = ["ENV", "KERNEL", "PRELOAD", "IMPORT_TIME_ENV", "serve", "delegate", "started", "run_with_server", "kernel_main"]

#: The environment variable naming the server's socket.
ENV = "FACELRP_WARM"
#: The Jupyter kernel whose processes fork from the server (papermill runs pages with it when warm).
KERNEL = "facelrp-warm"
#: What the server imports before it forks anything. Not matplotlib: a kernel picks its
#: plotting backend when matplotlib is first imported, which must happen in the kernel.
PRELOAD = ("numpy", "scipy.stats", "scipy.ndimage", "pandas", "sklearn.linear_model", "sklearn.cross_decomposition",
           "skimage.metrics", "yaml", "tqdm.auto", "tensorflow", "keras", "innvestigate",
           "facelrp.stages.depth_probes", "facelrp.stages.digest", "facelrp.stages.faces", "facelrp.stages.features",
           "facelrp.stages.frozen_trunk", "facelrp.stages.gate_faces", "facelrp.stages.gates", "facelrp.stages.masking",
           "facelrp.stages.method_maps", "facelrp.stages.model", "facelrp.stages.planted", "facelrp.stages.pretrain",
           "facelrp.stages.probe", "facelrp.stages.probe_faces", "facelrp.stages.rank2", "facelrp.stages.sanity",
           "facelrp.evaluate", "facelrp.__main__", "ipykernel.kernelapp")
#: Settings read once, when the libraries are imported: a job asking for other values than
#: the server's runs cold (its results could differ otherwise). The thread counts of the
#: numerical libraries (OMP_NUM_THREADS and the like, which Snakemake sets for every job
#: from its `threads`) are read at import too, but can be set again at run time: a forked
#: job sets them from its own environment (`_limit_threads`).
IMPORT_TIME_ENV = ("TF_ENABLE_ONEDNN_OPTS", "PYTHONHASHSEED")
# the thread-pool kinds threadpoolctl sizes -> the environment variables a process reads for them
_THREAD_ENV = {"blas": ("OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "OMP_NUM_THREADS"), "openmp": ("OMP_NUM_THREADS",)}
_HEADER = struct.Struct("!Q")
_FORWARDED = (signal.SIGTERM, signal.SIGINT, signal.SIGHUP)


def _send(conn: socket.socket, line: str) -> None:
    try:
        conn.sendall(line.encode() + b"\n")
    except OSError:  # the asker is gone
        pass


def _run_job(kind: str, args: list[str]) -> int:
    """In the forked process: run the job as ``python -m facelrp`` or the kernel would."""
    if kind == "kernel":
        from ipykernel import kernelapp

        sys.argv = ["ipykernel_launcher", *args]
        kernelapp.launch_new_instance(argv=args)
        return 0
    import runpy

    sys.argv = ["python -m facelrp", *args]
    runpy.run_module("facelrp", run_name="__main__", alter_sys=True)  # as `python -m facelrp` runs it: exits
    return 0


def _thread_defaults() -> dict[str, int]:
    """The thread pools' sizes as the server's imports made them (no thread settings in
    its environment: the libraries' own defaults)."""
    from threadpoolctl import threadpool_info

    sizes = {}
    for pool in threadpool_info():
        sizes[pool["user_api"]] = max(sizes.get(pool["user_api"], 0), pool["num_threads"])
    return sizes


def _limit_threads(env: dict, defaults: dict[str, int]) -> None:
    """The BLAS and OpenMP thread pools sized as a process started with `env` sizes them."""
    from threadpoolctl import threadpool_limits

    for api, names in _THREAD_ENV.items():
        value = next((env[name] for name in names if env.get(name, "").isdigit()), None)
        if value or api in defaults:
            threadpool_limits(int(value) if value else defaults[api], user_api=api)


def _child(request: dict, fds: list[int], defaults: dict[str, int]) -> None:
    """The forked job: take over the asker's streams, folder and environment, run, exit."""
    code = 1
    try:
        for number in _FORWARDED + (signal.SIGCHLD,):
            signal.signal(number, signal.SIG_DFL)
        signal.signal(signal.SIGINT, signal.default_int_handler)
        for target, fd in enumerate(fds):
            os.dup2(fd, target)
            os.close(fd)
        os.chdir(request["cwd"])
        os.environ.clear()
        os.environ.update(request["env"])
        _limit_threads(request["env"], defaults)
        sys.path[0] = request["cwd"]  # as `python -m` puts the working folder first
        code = _run_job(request["kind"], request["args"])
    except SystemExit as stop:
        code = stop.code if isinstance(stop.code, int) else (0 if stop.code is None else 1)
        if not isinstance(stop.code, (int, type(None))):
            print(stop.code, file=sys.stderr)
    except BaseException:  # noqa: BLE001 - a cold process prints the traceback and exits 1 too
        import traceback

        traceback.print_exc()
        code = 1
    finally:
        import atexit

        atexit._run_exitfuncs()  # what a cold process runs at exit (temporary folders, logs)
        for stream in (sys.stdout, sys.stderr):
            try:
                stream.flush()
            except (OSError, ValueError):
                pass
        os._exit(code)


def _receive(conn: socket.socket) -> tuple[dict, list[int]]:
    header, fds, _, _ = socket.recv_fds(conn, _HEADER.size, 3)
    (size,) = _HEADER.unpack(header)
    body = b""
    while len(body) < size:
        chunk = conn.recv(size - len(body))
        if not chunk:
            raise ConnectionError("the asker closed the connection")
        body += chunk
    return json.loads(body), list(fds)


def serve(path: str | os.PathLike) -> None:
    """Import `PRELOAD`, then fork a job for every request on the Unix socket `path` until
    SIGTERM. The socket appears once the imports are done (it is bound under another name
    and renamed into place)."""
    import gc
    import importlib

    for name in PRELOAD:
        importlib.import_module(name)
    # the imported modules' objects leave the collector's view: a fork's collections then
    # walk only what the job makes, and do not copy the shared pages by touching them
    gc.collect()
    gc.freeze()
    baseline = {name: os.environ.get(name) for name in IMPORT_TIME_ENV}
    defaults = _thread_defaults()
    path = Path(path)
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    binding = path.with_name(path.name + ".binding")
    listener.bind(str(binding))
    listener.listen(64)
    os.replace(binding, path)
    selector = selectors.DefaultSelector()
    selector.register(listener, selectors.EVENT_READ)
    jobs: dict[int, socket.socket] = {}

    def stop(signum, frame):
        raise SystemExit(0)

    signal.signal(signal.SIGTERM, stop)
    try:
        while True:
            for key, _ in selector.select(timeout=0.05):
                if key.fileobj is listener:
                    conn, _ = listener.accept()
                    try:
                        request, fds = _receive(conn)
                    except (OSError, ValueError, ConnectionError):
                        conn.close()
                        continue
                    differs = [name for name in IMPORT_TIME_ENV if request["env"].get(name) != baseline[name]]
                    if differs:
                        for fd in fds:
                            os.close(fd)
                        _send(conn, "REFUSE " + ",".join(differs))
                        conn.close()
                        continue
                    sys.stdout.flush()
                    sys.stderr.flush()
                    pid = os.fork()
                    if pid == 0:
                        selector.close()
                        listener.close()
                        for other in jobs.values():
                            other.close()
                        _child(request, fds, defaults)
                    for fd in fds:
                        os.close(fd)
                    jobs[pid] = conn
                    selector.register(conn, selectors.EVENT_READ, pid)
                    _send(conn, f"PID {pid}")
                else:  # the asker wrote or went away: it is gone, so its job ends too
                    try:
                        gone = not key.fileobj.recv(64)
                    except OSError:
                        gone = True
                    if gone:
                        selector.unregister(key.fileobj)
                        try:
                            os.kill(key.data, signal.SIGTERM)
                        except ProcessLookupError:
                            pass
            while jobs:
                try:
                    pid, status = os.waitpid(-1, os.WNOHANG)
                except ChildProcessError:
                    break
                if pid == 0:
                    break
                conn = jobs.pop(pid, None)
                if conn is not None:
                    _send(conn, f"EXIT {os.waitstatus_to_exitcode(status)}")
                    try:
                        selector.unregister(conn)
                    except (KeyError, ValueError):
                        pass
                    conn.close()
    finally:
        for pid in jobs:
            try:
                os.kill(pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
        listener.close()
        path.unlink(missing_ok=True)


def delegate(kind: str, args: list[str]) -> int | None:
    """Have the server (``$FACELRP_WARM``) run this job; return its exit status, or None
    when there is no server, it refuses (other import-time settings), or this process is
    itself a forked job: then the caller runs the job cold."""
    path = os.environ.get(ENV)
    if not path or os.environ.get("FACELRP_WARM_JOB"):
        return None
    conn = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        conn.connect(path)
    except OSError:
        conn.close()
        return None
    body = json.dumps({"kind": kind, "args": list(args), "cwd": os.getcwd(),
                       "env": {**os.environ, "FACELRP_WARM_JOB": "1"}}).encode()
    with conn:
        socket.send_fds(conn, [_HEADER.pack(len(body))], [0, 1, 2])
        conn.sendall(body)
        replies = conn.makefile("r")
        first = replies.readline().split()
        if not first or first[0] != "PID":
            return None
        pid = int(first[1])

        def forward(signum, frame):
            try:
                os.kill(pid, signum)
            except ProcessLookupError:
                pass

        previous = {number: signal.signal(number, forward) for number in _FORWARDED}
        try:
            last = replies.readline().split()
        finally:
            for number, handler in previous.items():
                signal.signal(number, handler)
    if len(last) != 2 or last[0] != "EXIT":
        return 1  # the server went away before the job ended
    code = int(last[1])
    return 128 - code if code < 0 else code  # killed by signal n: 128 + n, as a shell reports it


def kernel_main(args: list[str]) -> int:
    """The ``facelrp-warm`` kernel: forked by the server, or started cold without one."""
    code = delegate("kernel", args)
    if code is None:
        code = _run_job("kernel", args)
    return code


def _write_kernel(folder: Path) -> None:
    spec = folder / "kernels" / KERNEL
    spec.mkdir(parents=True)
    (spec / "kernel.json").write_text(json.dumps({
        "argv": [sys.executable, "-m", "facelrp.warm", "kernel", "-f", "{connection_file}"],
        "display_name": "Python 3 (facelrp warm start)", "language": "python", "interrupt_mode": "signal"}))


@contextlib.contextmanager
def started(*, timeout: float = 300.0):
    """A warm server for the duration of the block; yields the environment its jobs' askers
    run in (``FACELRP_WARM`` and a ``JUPYTER_PATH`` with the ``facelrp-warm`` kernel). The
    server is stopped and its folder removed at the end, however the block ends."""
    import shutil

    folder = Path(tempfile.mkdtemp(prefix="facelrp-warm-"))
    path = folder / "socket"
    _write_kernel(folder)
    env = dict(os.environ)
    env.setdefault("TF_ENABLE_ONEDNN_OPTS", "1")  # as `python -m facelrp` chooses for every stage but the gates
    # the server's libraries start with their own thread defaults; a job sets its own (`_limit_threads`)
    server_env = {k: v for k, v in env.items() if k not in {n for names in _THREAD_ENV.values() for n in names}}
    server = subprocess.Popen([sys.executable, "-m", "facelrp.warm", "serve", str(path)], env=server_env)
    try:
        begun = time.monotonic()
        while not path.exists():
            if server.poll() is not None:
                raise RuntimeError(f"the warm-start server ended with status {server.returncode} before it was ready")
            if time.monotonic() - begun > timeout:
                raise RuntimeError(f"the warm-start server was not ready after {timeout:.0f} s")
            time.sleep(0.1)
        env[ENV] = str(path)
        env["JUPYTER_PATH"] = os.pathsep.join(filter(None, [str(folder), os.environ.get("JUPYTER_PATH")]))
        yield env
    finally:
        server.terminate()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
        shutil.rmtree(folder, ignore_errors=True)


def run_with_server(command: list[str]) -> int:
    """Run `command` with a warm server for its jobs (`started`); return its exit status.
    SIGTERM, SIGINT and SIGHUP are passed on to the command."""
    if not command:
        raise ValueError("no command given; e.g. python -m facelrp warm -- snakemake -s workflow/Snakefile ...")
    with started() as env:
        job = subprocess.Popen(command, env=env)
        previous = {number: signal.signal(number, lambda signum, frame: job.send_signal(signum)) for number in _FORWARDED}
        try:
            return job.wait()
        finally:
            for number, handler in previous.items():
                signal.signal(number, handler)
            if job.poll() is None:
                job.terminate()
                job.wait()


if __name__ == "__main__":
    if sys.argv[1:2] == ["serve"]:
        serve(sys.argv[2])
    elif sys.argv[1:2] == ["kernel"]:
        sys.exit(kernel_main(sys.argv[2:]))
    else:
        sys.exit("usage: python -m facelrp.warm serve <socket> | kernel -f <connection file>")
