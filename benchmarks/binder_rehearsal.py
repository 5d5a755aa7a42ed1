"""A local rehearsal of a mybinder.org launch: build time and whether every page re-executes
within a Binder pod's limits (2 GB of memory, one core).

    python benchmarks/binder_rehearsal.py [--profile demo] [--reuse-venv] [--limit-gib 2]

Clones this repository's committed state, installs what `environment.yml` installs (its pip
part, requirements.txt and the package: conda is not on this machine; skipped with
--reuse-venv, which links this checkout's .venv), then runs `postBuild` and the clone's
`benchmarks/binder_pages.py` (every page from its source, as a launch button opens it) on CPU 0
inside a memory cgroup limited to 2 GiB, as Kubernetes limits a Binder pod. Prints the build
time beside Binder's one hour (the issue's target: 30 minutes), each page's time and peak
memory, and whether the kernel's OOM killer had to act. Needs root and cgroup v1's memory
controller (/sys/fs/cgroup/memory); without them the limit is reported as not enforced and
the peaks are the measure.
"""

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from fresh_book import ROOT, timed  # noqa: E402

CGROUP_ROOT = Path("/sys/fs/cgroup/memory")


class MemoryLimit:
    """A cgroup v1 memory cgroup limited to `limit` bytes (swap included where the kernel
    accounts it); `prefix` is what a command needs to run inside it."""

    def __init__(self, limit: int):
        self.path = CGROUP_ROOT / f"facelrp-binder-{os.getpid()}"
        try:
            self.path.mkdir()
            (self.path / "memory.limit_in_bytes").write_text(str(limit))
            swap = self.path / "memory.memsw.limit_in_bytes"
            if swap.exists():
                swap.write_text(str(limit))
            self.enforced = True
        except OSError as error:
            print(f"memory limit not enforced ({error}): peaks are measured, nothing is killed")
            self.enforced = False

    def prefix(self) -> list[str]:
        pinned = ["taskset", "-c", "0"]
        if not self.enforced:
            return pinned
        # the shell joins the cgroup, then becomes the command: its children inherit both
        return ["sh", "-c", f'echo $$ > {self.path}/cgroup.procs && exec "$@"', "binder", *pinned]

    def report(self) -> str:
        if not self.enforced:
            return "limit not enforced"
        peak = int((self.path / "memory.max_usage_in_bytes").read_text())
        hits = int((self.path / "memory.failcnt").read_text())
        oom = (self.path / "memory.oom_control").read_text().split()
        kills = int(oom[oom.index("oom_kill") + 1]) if "oom_kill" in oom else "?"
        # the cgroup's usage counts the page cache, which the kernel reclaims at the limit
        # before it kills anything: the OOM kills are the verdict, the peak an upper bound
        return f"cgroup peak {peak / 2**20:.0f} MiB (page cache included), limit hits {hits}, OOM kills {kills}"

    def close(self) -> None:
        if self.enforced:
            (self.path / "memory.force_empty").write_text("0")
            self.path.rmdir()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--profile", default="demo")
    parser.add_argument("--reuse-venv", action="store_true", help="link this checkout's .venv instead of installing")
    parser.add_argument("--limit-gib", type=float, default=2.0)
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="binder-rehearsal-"))
    clone = folder / "clone"
    subprocess.run(["git", "clone", "-q", str(ROOT), str(clone)], check=True)
    env = dict(os.environ)
    if args.reuse_venv:
        (clone / ".venv").symlink_to(ROOT / ".venv")
        env["PYTHONPATH"] = str(clone / "lib")  # the clone's sources before the linked install's
        install = 0.0
        print("install: reused this checkout's .venv")
    else:
        install = timed(["make", "setup"], clone, folder / "install.log")
        print(f"install (requirements.txt and the package, as environment.yml): {install:.0f} s")
    env["PATH"] = f"{clone / '.venv' / 'bin'}:{env['PATH']}"
    limit = MemoryLimit(int(args.limit_gib * 2**30))
    try:
        build = timed([*limit.prefix(), "bash", "postBuild"], clone, folder / "postBuild.log", env)
        print(f"postBuild on one core within {args.limit_gib:g} GiB: {build:.0f} s; {limit.report()}")
        print(f"build: {(install + build) / 60:.1f} min in all (Binder deletes a build after 60 min; target 30)")
        start = time.perf_counter()
        pages = subprocess.run([*limit.prefix(), "python", "benchmarks/binder_pages.py", "--profile",
                                args.profile, "--limit-gib", f"{args.limit_gib:g}"], cwd=clone, env=env)
        print(f"pages re-executed in {time.perf_counter() - start:.0f} s; {limit.report()}")
    finally:
        limit.close()
    print(f"logs and the clone: {folder}")
    sys.exit(pages.returncode)


if __name__ == "__main__":
    main()
