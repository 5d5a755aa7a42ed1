"""Command line of the pipeline's stages: ``python -m facelrp <stage> ...``.

Argument parsing only: a stage command loads its profile, calls
``facelrp.stages.<stage>.run(profile, **options)`` and prints the stage's one-line summary;
the book commands call `facelrp.book.pages` and `facelrp.book.check`.
"""

from __future__ import annotations

import argparse
import importlib
import inspect
import os
import sys

from .explain.relevance import METHODS, RANDOM
from .pipeline import DIGESTS
from .profiles import PROFILE_NAMES, TRUNK_SOURCES, load_profile


def _stage(args) -> str:
    from pathlib import Path

    from .artifacts import Results, check_writable

    module = importlib.import_module(f".stages.{args.stage.replace('-', '_').replace('render_', '')}", __package__)
    options = {k: v for k, v in vars(args).items() if k not in ("stage", "run", "debug", "profile")}
    if "progress" in inspect.signature(module.run).parameters:
        options["progress"] = True
    profile = load_profile(args.profile)
    if args.out:  # the output folder is checked before the work starts (rank2's --out is the folder)
        if args.stage != "rank2" and Path(args.out).is_dir():
            raise IsADirectoryError(f"--out {args.out}: a folder is there; name the file to write "
                                    f"(e.g. {Path(args.out) / 'out.npz'})")
        check_writable(Path(args.out) if args.stage == "rank2" else Path(args.out).parent)
    elif args.stage == "pretrain":  # the trunk to make: where it goes, whatever spec the file there has now
        options["out"] = profile.trunk_location(args.source)
        check_writable(options["out"].parent)
    else:
        check_writable(Results(profile).root)
    return module.summary(module.run(profile, **options))


def _execute_page(args) -> str:
    import yaml

    from .book.pages import execute_page

    load_profile(args.profile)
    parameters = {"profile": args.profile}
    for item in args.param:
        name, sep, value = item.partition("=")
        if not sep or not name:
            raise ValueError(f"--param {item!r}: expected name=value")
        parameters[name] = yaml.safe_load(value)
    title = args.title.format(**parameters) if args.title else None
    execute_page(args.source, args.out, parameters=parameters, cwd=args.cwd, title=title)
    return "executed"


def _warm(args) -> str:
    from .warm import run_with_server

    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    code = run_with_server(command)
    if code:
        raise SystemExit(code)
    return "done"


def _book_toc(args) -> str:
    from .book.pages import write_toc

    load_profile(args.profile)
    write_toc(args.profile, args.out, root=args.root)
    return "table of contents"


def _book_values(args) -> str:
    import json

    from .book.pages import shown_values
    from .store import save_json

    values = shown_values(args.book)
    if args.out:
        save_json(args.out, values)
    else:
        print(json.dumps(values, indent=1, sort_keys=True))
    tables = sum("::table-" in name for name in values)
    return f"{len(values) - tables} glued values and {tables} tables"


def _check_book(args) -> str:
    from .book.check import check_book

    reports = check_book(args.html, args.screenshots)
    bad = [r for r in reports if not r.ok]
    for report in bad:
        for problem in report.problems():
            print(f"{report.page}: {problem}")
    summary = f"checked {len(reports)} pages in Chromium: {len(reports) - len(bad)} fine, {len(bad)} with problems"
    if bad:
        raise SystemExit(summary)
    return summary + (f"; screenshots in {args.screenshots}" if args.screenshots else "")


def _cache(args) -> str:
    from tqdm import tqdm

    from . import cache
    from .artifacts import Results
    from .pipeline import cached_jobs

    profile = load_profile(args.profile)
    results = Results(profile, args.results)
    if args.stage == "cache-restore":
        restored = cache.restore(profile, results, args.job)
        return f"{args.job}: {len(restored)} files restored from {cache.cache_dir(profile.name)}"
    if args.stage == "cache-store":
        manifest = cache.store(profile, results, args.job or None, progress=lambda jobs: tqdm(jobs, desc="storing", unit="job"))
        size = sum(p.stat().st_size for p in manifest.folder.rglob("*") if p.is_file())
        return f"{len(manifest.entries)} entries, {size / 2**20:.1f} MiB in {manifest.folder}"
    if args.stage == "cache-rekey":
        rekeyed, left = cache.rekey(profile, args.recipe_from)
        for job, why in left.items():
            print(f"{job:40s} left as it was: {why}")
        return f"{len(rekeyed)} entries re-keyed, {len(left)} left as they were, in {cache.cache_dir(profile.name)}"
    if args.stage == "cache-refresh":
        refreshed, left = cache.refresh(profile, results)
        for job, why in left.items():
            print(f"{job:40s} left as it was: {why}")
        return f"{len(refreshed)} entries refreshed, {len(left)} left as they were, in {cache.cache_dir(profile.name)}"
    if args.stage == "cache-status":
        found = cache.status(profile, results)
        restorable = cache.restorable(profile, results)
        jobs = {job.name: job for job in cached_jobs(profile, results)}
        states = []
        for job, why in found.items():
            if job in restorable:
                state = "restored"
            elif why:
                state = "computed: " + "; ".join(why)
            elif cache.computed_here(results, jobs[job]):
                state = "kept: computed here already"
            else:
                state = "computed: a job reading files its entry leaves out (the models' weights and maps ...) is computed"
            print(f"{job:40s} {state}")
            states.append(state.split(":")[0])
        return (f"of {len(found)} expensive jobs: {states.count('restored')} restored from the cache, "
                f"{states.count('kept')} kept as computed here, {states.count('computed')} to compute")
    return _verify(profile, results, args.out)


def _conclusions(args) -> str:
    """`conclusions`: the summary chapter's verdicts of a results folder, in a terminal."""
    import pandas as pd

    from .artifacts import Results
    from .evaluate import conclusions

    profile = load_profile(args.profile)
    drawn = conclusions.draw(profile, Results(profile, args.results))
    if not len(drawn.comparison):
        raise SystemExit(f"conclusions: {Results(profile, args.results).root} holds no model records or masking curves; "
                         "run the pipeline (`make book`) or pass --results cache for the shipped cache")
    with pd.option_context("display.width", 200, "display.max_colwidth", 80, "display.max_rows", 200):
        print(drawn.comparison.set_index("result")[["verdict", *[c for c in (conclusions.RANDOM_MAPS,)
                                                                 if c in drawn.comparison]]].to_string())
        print("\nvalidity gate:\n" + drawn.gates[conclusions.MAIN].to_string())
        print("\nthe verdicts at other margins:\n" + drawn.sensitivity.to_string())
    return conclusions.headline(drawn)


def _verify(profile, results, out=None) -> str:
    """`cache-verify`: print `cache.report` (the conclusions, then one line per job)."""
    from tqdm import tqdm

    from . import cache
    from .evaluate import conclusions

    print(f"The book's conclusions: {results.root} against the cache ({cache.cache_dir(profile.name)})", flush=True)
    found = cache.report(profile, results, progress=lambda entries: tqdm(entries, desc="verifying", unit="job"))
    print(conclusions.text_table(found.conclusions))
    width = max(len(c.job) for c in found.jobs)
    print(f"\n{'stage':{width}s}  files  result")
    for c in found.jobs:
        print(f"{c.job:{width}s}  {c.files:5d}  {c.result}")
    if out is not None:
        from .store import save_json

        save_json(out, {**found.to_json(), "fresh": str(results.root)})
    if not found.reproduced:
        raise SystemExit(f"cache-verify: {found.summary}")
    return found.summary


def _choose_kernels(stage: str) -> None:
    """Pick TensorFlow's CPU kernels for this process and the notebooks it runs, unless
    ``TF_ENABLE_ONEDNN_OPTS`` is set already. TensorFlow 2.14 turns oneDNN's kernels on
    by itself only on CPUs with AVX-512 or newer; on an AVX2-only CPU its own kernels
    train the demo trunk 1.6 to 2.7 times slower (``benchmarks/kernels.py``), so
    every stage asks for oneDNN, except the gated ResNets: oneDNN's kernels corrupt the
    heap while training them at 64 px (the process aborts: "munmap_chunk(): invalid
    pointer"), the plain kernels do not. Must run before TensorFlow is imported."""
    os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0" if stage == "gates" else "1")


# command -> (function, help, [(flag, argparse options)]); stage commands also take --profile
_OUT = ("--out", {"default": None, "help": "output (default: the profile's results/ path; a .json record beside it)"})
_FACES = ("--faces", {"default": None, "help": "the face set (default: the profile's)"})
_SOURCE = ("--source", {"choices": TRUNK_SOURCES, "required": True})
_SEED = ("--seed", {"type": int, "default": 0})
_RESULTS = ("--results", {"default": None, "help": "folder holding <profile>/ (default: results/ or $FACELRP_RESULTS)"})
_COMMANDS = {
    "render-faces": (_stage, "make the profile's face data set (.npz)", [_OUT]),
    "pretrain": (_stage, "make a stand-in trunk (render corpus, train, fold, save)", [_SOURCE, _OUT, (
        "--threads", {"type": int, "default": 0, "help": "TensorFlow threads (0: TensorFlow's default)"})]),
    "features": (_stage, "the frozen part's features (flatten or fc2) of every face for one trunk",
                 [_SOURCE, _FACES, _OUT]),
    "depth-probes": (_stage, "linear probes of the tasks on each trunk output (.csv)", [_SOURCE, _FACES, _OUT]),
    "masking": (_stage, "accuracy of every model under every model's relevance masks", [_FACES, _OUT, (
        "--fill", {"type": float, "default": 0.0, "help": "masked pixels' value after mean subtraction (0: mean colour)"}), (
        "--imputation", {"choices": ("constant", "road", "blur"), "default": "constant",
                         "help": "constant: --fill (the paper); road: ROAD's noisy linear imputation; blur"}), (
        "--lerf", {"action": "store_true", "help": "remove the least relevant pixels first (default: most)"}), (
        "--maps", {"default": None, "help": "order the pixels by these maps (method-maps output)"}), (
        "--randomised", {"action": "store_true",
                         "help": "add masks from the sanity stage's fully re-initialised models (the floor)"}), _SEED]),
    "frozen-trunk": (_stage, "the 20 models with the whole trunk frozen (readout on fc2), their maps, their masking curves",
                     [_FACES, _OUT, _SEED]),
    "method-maps": (_stage, "every model's maps with another attribution method", [_FACES, (
        "--method", {"required": True, "choices": [*METHODS, RANDOM], "help": "attribution method, or the random floor"}),
        _OUT, _SEED]),
    "rank2": (_stage, "rank-2 choices, trial list with images, observers' choices", [_FACES, _OUT]),
    "sanity": (_stage, "cascading and data randomisation of one model's maps", [
        ("--model", {"required": True, "help": "model name, e.g. vggface-identity-s0"}), _FACES, _OUT,
        ("--methods", {"nargs": "+", "default": ["composite", "gradient"], "help": "relevance methods"}), _SEED]),
    "planted": (_stage, "the planted-ground-truth control set, one readout per trunk", [_OUT]),
    "probe-faces": (_stage, "the attribute-probing faces", [_OUT]),
    "probe": (_stage, "layer-wise PLS + VIP attribute probing of one trunk", [_SOURCE, _FACES, _OUT]),
    "digest": (_stage, "what the pages read of an expensive stage's big outputs, made small", [
        ("--kind", {"required": True, "choices": DIGESTS, "help": "which digest (facelrp.stages.digest)"}), _OUT]),
    "gate-faces": (_stage, "the identification faces of the gated networks", [_OUT]),
    "gates": (_stage, "train one gated-network variant, record its gates", [
        ("--variant", {"required": True, "help": "resnet, aig-<rate>, iig-gender or iig-gender-<attribute>"}),
        _SEED, _FACES, _OUT]),
    "conclusions": (_conclusions, "the summary chapter's verdicts of a results folder (--results cache: the shipped cache)",
                    [_RESULTS]),
    "cache-status": (_cache, "which expensive jobs the cache restores, and why the others are computed", [_RESULTS]),
    "cache-store": (_cache, "store the expensive jobs' results in cache/<profile>/ with their keys", [_RESULTS, (
        "--job", {"action": "append", "default": [], "help": "only this job (repeatable; default: all)"})]),
    "cache-restore": (_cache, "restore one job's results from the cache (the pipeline's restore rules)", [_RESULTS, (
        "--job", {"required": True, "help": "the job's name, e.g. masking or model-vggface-identity-s0"})]),
    "cache-rekey": (_cache, "re-key the cache after a change of the code hash's recipe, recomputing nothing", [_RESULTS, (
        "--recipe-from", {"required": True, "help": "the git commit whose facelrp.codehash keyed the cache"})]),
    "cache-refresh": (_cache, "record the inputs made here by changed code to the same bytes (after `make pipeline`), "
                      "recomputing nothing", [_RESULTS]),
    "cache-verify": (_cache, "compare a fresh run's results and conclusions with the cache's: one line per job", [
        _RESULTS, ("--out", {"default": None, "help": "also write the comparison as JSON (the reproducing page reads one)"})]),
    "execute-page": (_execute_page, "execute a MyST notebook page with papermill", [
        ("source", {"help": "the jupytext .md notebook"}), ("--out", {"required": True, "help": "the executed .ipynb"}),
        ("--cwd", {"default": ".", "help": "working directory of the kernel (the project folder)"}),
        ("--param", {"action": "append", "default": [], "help": "papermill parameter name=value (repeatable)"}),
        ("--title", {"default": None, "help": "page title, may use the parameters: 'Model {source}-{task}'"})]),
    "warm": (_warm, "run a command (e.g. snakemake) whose jobs fork from one warm process (facelrp.warm)", [
        ("command", {"nargs": argparse.REMAINDER, "help": "the command, after --"})]),
    "book-toc": (_book_toc, "write a profile's _toc.yml (non-demo builds)", [
        ("--out", {"required": True}), ("--root", {"default": ".", "help": "folder holding the demo _toc.yml"})]),
    "book-values": (_book_values, "the values a profile's executed pages glue into the book, and their tables' text (JSON)", [
        ("--book", {"required": True, "help": "the executed pages, e.g. results/smoke/book"}),
        ("--out", {"default": None, "help": "a .json file (default: print)"})]),
    "check-book": (_check_book, "open every page of a built book in headless Chromium", [
        ("--html", {"required": True, "help": "the book's _build/html folder"}),
        ("--screenshots", {"default": None, "help": "folder for a full-page PNG of every page"})]),
}


def parser() -> argparse.ArgumentParser:
    """The command line: one sub-command per stage and book tool."""
    main_parser = argparse.ArgumentParser(prog="python -m facelrp", description=__doc__.split("\n")[0])
    main_parser.add_argument("--debug", action="store_true", help="show the traceback of an error (also: FACELRP_DEBUG=1)")
    commands = main_parser.add_subparsers(dest="stage", required=True)
    for name, (function, help_text, arguments) in _COMMANDS.items():
        command = commands.add_parser(name, help=help_text)
        if name not in ("check-book", "book-values", "warm"):
            command.add_argument("--profile", default="demo", help=f"a profile of the settings file: {', '.join(PROFILE_NAMES)} "
                                 "or one of your own (FACELRP_PROFILES)")
        for flag, options in arguments:
            command.add_argument(flag, **options)
        command.set_defaults(run=function)
    return main_parser


def _exit_on_sigterm(signum, frame) -> None:
    """SIGTERM (what Snakemake, SLURM and `kill` send) ends the process as Ctrl-C does: by
    an exception, so every pending write removes its temporary file."""
    raise SystemExit(128 + signum)


def main(argv: list[str] | None = None) -> int:
    """Run one command. Bad input (a wrong value, a missing or unreadable file) ends it with
    one line naming the file and the fix, and exit status 2; ``--debug`` shows the traceback."""
    import signal

    from .stages import StageError  # a ValueError, as facelrp.cache.CacheError is
    from .store import DiskFullError

    command_line = parser()
    args = command_line.parse_args(argv)
    _choose_kernels(args.stage)
    if args.run is _stage:  # under `python -m facelrp warm`: fork from the warm server (facelrp.warm)
        from .warm import delegate

        code = delegate("cli", sys.argv[1:] if argv is None else list(argv))
        if code is not None:
            return code
    signal.signal(signal.SIGTERM, _exit_on_sigterm)
    try:
        message = args.run(args)
    except (StageError, ValueError, FileNotFoundError, PermissionError, IsADirectoryError, DiskFullError) as error:
        if args.debug or os.environ.get("FACELRP_DEBUG", "") not in ("", "0"):
            raise
        command_line.exit(2, f"python -m facelrp {args.stage}: {error}\n")
    out = getattr(args, "out", None)
    print(f"{args.stage}: {message}" + (f" -> {out}" if out else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
