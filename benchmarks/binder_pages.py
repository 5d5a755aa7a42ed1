"""Re-execute every page of a built profile as a Binder reader would, on one core, and print
each page's wall time and the peak memory of its process tree (papermill and the kernel)
beside mybinder.org's 2 GB.

    python benchmarks/binder_pages.py [--profile demo] [--limit-gib 2]

The pipeline must have run (`make book`, or the cached fast path `postBuild` runs). Each page
is executed from its source (`notebooks/<page>.md`, what the launch button opens) into a
scratch folder, pinned to CPU 0 (`taskset`), with OMP/TF thread counts of 1; the process
tree's resident memory is sampled every 0.1 s. No cgroup is set: a page over the limit is
reported, not killed. (`ulimit -v` is no stand-in: TensorFlow reserves far more address
space than it touches, so a 2 GB address-space limit kills its import.)
"""

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil
import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "lib"))

from facelrp.book.launch import page_source  # noqa: E402


def pages(profile: str) -> list[tuple[str, str]]:
    """(docname, source) of every page of the profile's table of contents, models once."""
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    found = [toc["root"]]
    for part in toc["parts"]:
        for chapter in part["chapters"]:
            found.append(chapter["file"])
    names = [name.replace("results/demo/", f"results/{profile}/") for name in found]
    return [(name, page_source(name, ROOT)) for name in names]


def tree_rss(process: psutil.Process) -> int:
    """Resident bytes of `process` and all its descendants."""
    total = 0
    for p in [process, *process.children(recursive=True)]:
        try:
            total += p.memory_info().rss
        except psutil.NoSuchProcess:
            pass
    return total


def run_page(source: str, profile: str, scratch: Path, **env_vars: str) -> tuple[float, int, int]:
    """Seconds, peak tree RSS (bytes) and exit code of executing `source` on one core."""
    env = dict(os.environ, OMP_NUM_THREADS="1", TF_NUM_INTRAOP_THREADS="1", TF_NUM_INTEROP_THREADS="1",
               OPENBLAS_NUM_THREADS="1", **env_vars)
    command = ["taskset", "-c", "0", sys.executable, "-m", "facelrp", "execute-page", source, "--profile", profile,
               "--out", str(scratch / (Path(source).stem + ".ipynb")), "--cwd", str(ROOT)]
    start = time.perf_counter()
    run = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    process, peak = psutil.Process(run.pid), 0
    while run.poll() is None:
        peak = max(peak, tree_rss(process))
        time.sleep(0.1)
    return time.perf_counter() - start, peak, run.returncode


def page_verdict(code: int, peak: int, limit: float) -> str:
    """FAILED (the page raised), yes (within the memory limit) or NO."""
    return "FAILED" if code else ("yes" if peak <= limit else "NO")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--profile", default="demo")
    parser.add_argument("--limit-gib", type=float, default=2.0)
    args = parser.parse_args()
    limit = args.limit_gib * 2**30
    print(f"{'page':<14} {'seconds':>8} {'peak MiB':>9}  within {args.limit_gib:g} GiB")
    worst, total, failed = 0, 0.0, 0
    with tempfile.TemporaryDirectory(prefix="binder-pages-") as scratch:
        for name, source in pages(args.profile):
            if source is None:
                continue
            seconds, peak, code = run_page(source, args.profile, Path(scratch))
            worst, total = max(worst, peak), total + seconds
            verdict = page_verdict(code, peak, limit)
            failed += verdict != "yes"
            print(f"{Path(source).stem:<14} {seconds:8.1f} {peak / 2**20:9.0f}  {verdict}", flush=True)
        # one model page stands for the twenty (same notebook, another model). It fine-tunes and
        # explains its model again (its stage), so it writes into a scratch results folder that
        # links the faces and the features it reads (postBuild makes the features on Binder)
        results = Path(scratch) / "results" / args.profile
        results.mkdir(parents=True)
        for folder in ("data", "features"):
            (results / folder).symlink_to(ROOT / "results" / args.profile / folder)
        seconds, peak, code = run_page("notebooks/model.md", args.profile, Path(scratch),
                                       FACELRP_RESULTS=str(results.parent))
        worst = max(worst, peak)
        verdict = page_verdict(code, peak, limit)
        failed += verdict != "yes"
        print(f"{'model (1/20)':<14} {seconds:8.1f} {peak / 2**20:9.0f}  {verdict}")
    print(f"pages: {total:.0f} s in all on one core; largest peak {worst / 2**20:.0f} MiB; "
          f"{failed} failed or over the limit")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
