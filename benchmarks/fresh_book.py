"""Wall time of `make book` on a fresh clone: what a new reader waits for.

    python benchmarks/fresh_book.py [--profile demo] [--reuse-venv] [--compare results/demo/book]

Clones this repository's committed state into a temporary folder and times, separately,
`make setup` (the install; skipped with --reuse-venv, which links this checkout's .venv)
and `make book` (restoring what the cache holds, running the rest, building the book),
then prints the restore/compute split of the expensive jobs (`make cache-status`) and the
per-rule times of the pipeline (benchmarks/pipeline_times.py on its log). With --compare,
every value the fresh book's pages glue into the text is compared with those of the executed
pages in the given folder (a full run's), timings and dates left out.
"""

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def timed(command: list[str], cwd: Path, log: Path, env: dict | None = None) -> float:
    """Run `command` in `cwd`, its output to `log`; seconds taken (exits on failure)."""
    start = time.perf_counter()
    with open(log, "w") as handle:
        run = subprocess.run(command, cwd=cwd, stdout=handle, stderr=subprocess.STDOUT, env=env)
    seconds = time.perf_counter() - start
    if run.returncode != 0:
        sys.exit(f"{' '.join(command)} failed after {seconds:.0f} s; see {log}")
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--profile", default="demo")
    parser.add_argument("--reuse-venv", action="store_true", help="link this checkout's .venv instead of installing")
    parser.add_argument("--compare", type=Path, default=None,
                        help="executed pages of a full run (results/<profile>/book) to compare the glued values with")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="fresh-book-"))
    clone = folder / "clone"
    subprocess.run(["git", "clone", "-q", str(ROOT), str(clone)], check=True)
    env = None
    if args.reuse_venv:
        # the linked environment's package is installed from this checkout: the clone's own
        # sources go first on the path, and the install stamp is renewed so make keeps it
        (clone / ".venv").symlink_to(ROOT / ".venv")
        (ROOT / ".venv" / ".installed").touch()
        env = dict(os.environ, PYTHONPATH=str(clone / "lib"))
        print("setup: reused this checkout's .venv")
    else:
        print(f"setup: {timed(['make', 'setup'], clone, folder / 'setup.log'):.0f} s")
    status = subprocess.run(["make", "-s", "cache-status", f"PROFILE={args.profile}"], cwd=clone, capture_output=True,
                            text=True, env=env)
    print(status.stdout.strip().splitlines()[-1] if status.stdout.strip() else status.stderr[-500:])
    seconds = timed(["make", "book", f"PROFILE={args.profile}"], clone, folder / "book.log", env)
    print(f"make book PROFILE={args.profile}: {seconds:.0f} s ({seconds / 60:.1f} min) on a fresh clone")
    subprocess.run([sys.executable, str(ROOT / "benchmarks" / "pipeline_times.py"), str(folder / "book.log")])
    if args.compare is not None:
        compare(clone / "results" / args.profile / "book", args.compare)
    print(f"logs and the clone: {folder}")


def compare(fresh: Path, full: Path) -> None:
    """Print how many glued values of the fresh book equal the full run's, and the others."""
    sys.path.insert(0, str(ROOT / "lib"))
    from facelrp.book.pages import glued_values, steady

    # what came from the cache differs by design
    a, b = (steady(glued_values(f), also=("rep_restored", "rep_model_pages")) for f in (fresh, full))
    keys = sorted(set(a) | set(b))
    differ = [k for k in keys if a.get(k) != b.get(k)]
    print(f"glued values: {len(keys) - len(differ)} of {len(keys)} equal to the full run's")
    for key in differ:
        print(f"  {key}: fresh {a.get(key)!r:.60} full {b.get(key)!r:.60}")


if __name__ == "__main__":
    main()
