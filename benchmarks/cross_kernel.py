"""A rerun on other CPU kernels, checked against the shipped cache (README, "The same numbers on
any machine").

Clones the repository, reruns some expensive demo jobs from nothing (cache off) with the CPU
kernels of an AVX2-only machine (oneDNN capped at AVX2, OpenBLAS's Haswell kernels, NumPy's
AVX-512 paths off), then `python -m facelrp cache-verify` on them: the book's conclusions from
the rerun against the cache's, and one line per job. Prints the wall time and writes the
comparison as JSON (`--out`), which the reproducing page shows.

    python benchmarks/cross_kernel.py --out benchmarks/reports/cross-kernel-demo.json

Takes about 36 minutes on 2 cores for the default jobs (the 20 models, the 4 sanity checks
and the masking run they feed, 2 gated networks).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
#: An AVX2-only machine's kernels on a newer CPU.
AVX2 = {"ONEDNN_MAX_CPU_ISA": "AVX2", "OPENBLAS_CORETYPE": "Haswell",
        "NPY_DISABLE_CPU_FEATURES": "AVX512F AVX512CD AVX512_SKX AVX512_CLX AVX512_CNL AVX512_ICL"}
#: The rerun's targets: the masking run (it needs every model and the sanity checks) and two
#: gated networks, the one with the largest seed-to-seed gap in the cache and the fastest one.
TARGETS = ("masking/curves.npz", "gates/resnet-s1.npz", "gates/aig-0.5-s0.npz")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--profile", default="demo")
    parser.add_argument("--clone", default=None, help="folder for the clone (default: a new temporary one)")
    parser.add_argument("--targets", nargs="*", default=list(TARGETS), help="files under results/<profile>/ to remake")
    parser.add_argument("--out", default=None, help="the comparison as JSON")
    parser.add_argument("--verify-only", action="store_true",
                        help="compare the clone's results again (with this checkout's code) without rerunning them")
    args = parser.parse_args(argv)
    clone = Path(args.clone or tempfile.mkdtemp(prefix="cross-kernel-"))
    if not (clone / ".git").is_dir():
        subprocess.run(["git", "clone", "--quiet", str(ROOT), str(clone)], check=True)
    # the checkout's environment; the clone's own package first on the path
    env = dict(os.environ, **AVX2, PYTHONPATH=str(clone / "lib"),
               PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}")
    targets = [f"results/{args.profile}/{t}" for t in args.targets]
    timing = clone / "cross-kernel-seconds.txt"
    if not args.verify_only:
        print(f"rerunning {', '.join(args.targets)} in {clone} with {AVX2}", flush=True)
        start = time.time()
        with open(clone / "cross-kernel.log", "w") as log:
            run = subprocess.run(["snakemake", "-s", "workflow/Snakefile", "--cores", "2", "--rerun-incomplete", "--config",
                                  f"profile={args.profile}", "cache=off", "--", *targets], cwd=clone, env=env, stdout=log,
                                 stderr=subprocess.STDOUT)
        print(f"rerun: exit {run.returncode} after {time.time() - start:.0f} s (log: {clone / 'cross-kernel.log'})")
        if run.returncode:
            return run.returncode
        timing.write_text(f"{time.time() - start:.0f}\n")
    seconds = float(timing.read_text()) if timing.is_file() else float("nan")
    verify = ["-m", "facelrp", "cache-verify", "--profile", args.profile, "--results", str(clone / "results")]
    if args.out:
        verify += ["--out", str(Path(args.out).resolve())]
    done = subprocess.run([sys.executable, *verify], cwd=ROOT, env=dict(env, PYTHONPATH=str(ROOT / "lib")))
    if args.out:  # the rerun's cost beside the comparison
        import json

        report = json.loads(Path(args.out).read_text())
        def commit(folder):
            return subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=folder, capture_output=True,
                                  text=True).stdout.strip()

        # the rerun's code (the clone's) and the code that judged it (this checkout's: its verdict rule)
        report.update({"rerun_seconds": round(seconds), "targets": args.targets, "kernel_env": AVX2,
                       "rerun_commit": commit(clone), "commit": commit(ROOT)})
        Path(args.out).write_text(json.dumps(report, indent=1, sort_keys=True, default=str))
    return done.returncode


if __name__ == "__main__":
    sys.exit(main())
