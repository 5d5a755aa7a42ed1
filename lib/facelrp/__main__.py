"""Command line of the pipeline's stages: ``python -m facelrp <stage> ...``."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from . import datasets
from .profiles import PROFILE_NAMES, load_profile


def _render_faces(args: argparse.Namespace) -> None:
    profile = load_profile(args.profile)
    spec = profile.faces
    if spec["source"] == "synthetic":
        data = datasets.synthetic_vpnl(
            n_male=spec["n_male"], n_female=spec["n_female"], size=spec["size"], seed=spec["seed"], progress=True
        )
    else:
        data = datasets.load_folder(spec["folder"], manifest=spec.get("manifest", "manifest.csv"), size=spec.get("size"))
    data.provenance["profile"] = profile.name
    data.save(args.out)
    print(f"wrote {args.out}: {len(data)} images of {data.n_identities} identities, {data.image_size[0]} px")


def _book_toc(args: argparse.Namespace) -> None:
    """Write the table of contents of a profile's book from the demo one (_toc.yml)."""
    load_profile(args.profile)
    source = Path(args.root) / "_toc.yml"
    text = source.read_text().replace("results/demo/", f"results/{args.profile}/")
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text)
    print(f"wrote {out}")


def _execute_page(args: argparse.Namespace) -> None:
    from .book import execute_page

    load_profile(args.profile)
    execute_page(args.source, args.out, parameters={"profile": args.profile}, cwd=args.cwd)
    print(f"wrote {args.out}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m facelrp", description=__doc__)
    stages = parser.add_subparsers(dest="stage", required=True)
    faces = stages.add_parser("render-faces", help="make the profile's face data set (.npz)")
    faces.add_argument("--profile", choices=PROFILE_NAMES, default="demo")
    faces.add_argument("--out", required=True, help="output .npz path")
    faces.set_defaults(run=_render_faces)
    toc = stages.add_parser("book-toc", help="write a profile's _toc.yml (non-demo builds)")
    toc.add_argument("--profile", choices=PROFILE_NAMES, required=True)
    toc.add_argument("--out", required=True)
    toc.add_argument("--root", default=".", help="folder holding the demo _toc.yml")
    toc.set_defaults(run=_book_toc)
    page = stages.add_parser("execute-page", help="execute a MyST notebook page with papermill")
    page.add_argument("source", help="the jupytext .md notebook")
    page.add_argument("--profile", choices=PROFILE_NAMES, required=True)
    page.add_argument("--out", required=True, help="the executed .ipynb")
    page.add_argument("--cwd", default=".", help="working directory of the kernel (the project folder)")
    page.set_defaults(run=_execute_page)
    args = parser.parse_args(argv)
    args.run(args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
