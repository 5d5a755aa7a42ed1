"""Command line of the pipeline's stages: ``python -m facelrp <stage> ...``."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

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
    import yaml

    from .book import execute_page

    load_profile(args.profile)
    parameters = {"profile": args.profile}
    for item in args.param:
        name, sep, value = item.partition("=")
        if not sep or not name:
            raise SystemExit(f"--param {item!r}: expected name=value")
        parameters[name] = yaml.safe_load(value)
    title = args.title.format(**parameters) if args.title else None
    execute_page(args.source, args.out, parameters=parameters, cwd=args.cwd, title=title)
    print(f"wrote {args.out}")


def _features(args: argparse.Namespace) -> None:
    """fc2 features of every image of the profile's face set, for one trunk."""
    from . import finetune, store, vgg

    profile = load_profile(args.profile)
    data = datasets.FaceDataset.load(args.faces)
    trunk, record = vgg.profile_trunk(profile, args.source)
    features = finetune.trunk_features(trunk, data)
    store.save_npz(args.out, features=features)
    print(f"wrote {args.out}: {features.shape[0]} images x {features.shape[1]} features ({record.get('file')})")


def _pretrain(args: argparse.Namespace) -> None:
    """Make a stand-in trunk: render its corpus, train, fold BatchNorm, save with its record."""
    import shlex
    import shutil

    if args.threads:
        import tensorflow as tf

        tf.config.threading.set_intra_op_parallelism_threads(args.threads)
        tf.config.threading.set_inter_op_parallelism_threads(args.threads)
    from . import objects, pretrain, vgg

    profile = load_profile(args.profile)
    spec = vgg.TrunkSpec(**profile.trunks["spec"])
    settings = profile.pretrain_settings(args.source)
    size = spec.input_size
    if args.source == "imagenet":
        images, labels = objects.object_corpus(
            settings["classes"], settings["images_per_class"], size=size, seed=settings["seed"],
            siblings=settings.get("siblings", 1), progress=True,
        )
        corpus = {
            "name": "procedural objects (stand-in for ImageNet)",
            "generator": "facelrp.objects.object_corpus",
            "classes": settings["classes"],
            "images_per_class": settings["images_per_class"],
            "siblings": settings.get("siblings", 1),
            "seed": settings["seed"],
        }
    else:
        _, analysis = datasets.vpnl_identities(
            n_male=profile.faces.get("n_male", 44), n_female=profile.faces.get("n_female", 57),
            seed=profile.faces.get("seed", 0),
        )
        faces = datasets.pretraining_faces(
            analysis, n_identities=settings["classes"], images_per_identity=settings["images_per_class"],
            size=size, seed=settings["seed"] + 1, progress=True,
        )
        images, labels = faces.images, faces.identity
        corpus = {
            "name": "synthetic face identities disjoint from the analysis set (stand-in for VGGFace)",
            "generator": "facelrp.datasets.pretraining_faces",
            "classes": settings["classes"],
            "images_per_class": settings["images_per_class"],
            "seed": settings["seed"] + 1,
            "disjoint_from": f"the {profile.name} profile's {len(analysis)} analysis identities (min_distance 2.0)",
        }
    out = Path(args.out) if args.out else profile.trunk_path(args.source)
    # the training state after every epoch: an interrupted run started again goes on from
    # there and makes the same trunk (see pretrain.pretrain_trunk)
    checkpoint = out.with_name(out.stem + ".partial")
    if (checkpoint / "state.json").is_file():
        print(f"resuming from {checkpoint}", file=sys.stderr)
    trunk, record = pretrain.pretrain_trunk(
        images, labels, spec, epochs=settings["epochs"], batch_size=settings["batch_size"],
        learning_rate=settings["learning_rate"], seed=settings["seed"], checkpoint=checkpoint,
    )
    record.update({
        "source": args.source,
        "profile": profile.name,
        "corpus": corpus,
        "command": shlex.join(["python", "-m", "facelrp", "pretrain", "--profile", profile.name,
                               "--source", args.source, "--threads", str(args.threads or 0)]),
        "code_version": __import__("facelrp").__version__,
        "git_commit": _git_commit(),
    })
    sha = vgg.save_trunk(trunk, out, record)
    shutil.rmtree(checkpoint)
    print(f"wrote {out} (sha256 {sha[:12]}...): held-out accuracy {record['holdout_accuracy']:.3f}")


def _masking(args: argparse.Namespace) -> None:
    """Accuracy curves of every destination model under every source model's masks."""
    import time

    from . import masking, store, vgg

    profile = load_profile(args.profile)
    front = datasets.FaceDataset.load(args.faces).frontal()
    x = datasets.caffe_preprocess(front.images)
    try:
        _, readouts, orders, records = masking.load_models(profile, front, seed=args.seed)
    except ValueError as error:
        raise SystemExit(str(error)) from None
    orders["random"] = masking.random_order(len(x), x.shape[1] * x.shape[2], seed=args.seed)
    if args.maps:  # another method's maps of the same models (rule sensitivity)
        other = store.load_npz(args.maps)
        if list(other["models"]) != list(orders)[: len(other["models"])] or other["maps"].shape[1:] != front.images.shape:
            raise SystemExit(f"{args.maps}: its maps are not of this profile's models and frontal faces; "
                             f"remake it with `python -m facelrp method-maps --profile {profile.name} ...`")
        for name, maps in zip(other["models"], other["maps"]):
            orders[str(name)] = masking.pixel_order(maps, seed=args.seed)
    if args.lerf:
        orders = {name: masking.least_relevant_first(order) for name, order in orders.items()}
    fill = args.fill
    if args.imputation != "constant":
        from .fills import ImageFill

        fill = ImageFill(args.imputation, front.images, seed=args.seed)
    trunks = {}
    for source in sorted({r.trunk for r in readouts}):
        trunks[source], trunk_record = vgg.profile_trunk(profile, source)
        used = {rec.get("trunk_sha256") for rec, r in zip(records, readouts) if r.trunk == source}
        if trunk_record.get("sha256") is not None and used != {trunk_record["sha256"]}:
            raise SystemExit(f"the {source} models were fine-tuned on another trunk than "
                             f"{trunk_record.get('file')}; rerun the pipeline for profile {profile.name}")
    start = time.perf_counter()
    accuracy, images = masking.masking_curves(x, orders, trunks, readouts, fill=fill)
    seconds = time.perf_counter() - start
    unmasked = np.array([r.accuracy(trunks[r.trunk].predict(x, verbose=0)) for r in readouts])
    store.save_npz(
        args.out, accuracy=accuracy, unmasked=unmasked, levels=masking.LEVELS,
        masks=np.array(list(orders)), destinations=np.array([r.name for r in readouts]),
    )
    store.save_json(Path(args.out).with_suffix(".json"), {
        "profile": profile.name, "fill": args.fill, "imputation": args.imputation,
        "order": "least relevant first" if args.lerf else "most relevant first",
        "tie_seed": args.seed, "random_mask_seed": args.seed, "maps": args.maps or "the models' own (composite)",
        "levels_percent": masking.LEVELS.tolist(), "n_faces": len(x), "trunk_images": images,
        "seconds": round(seconds, 1), "images_per_second": round(images / seconds, 1),
    })
    print(f"wrote {args.out}: {accuracy.shape[0]} masks x {accuracy.shape[1]} models x {accuracy.shape[2]} levels, "
          f"{images} trunk images in {seconds:.1f} s")


def _method_maps(args: argparse.Namespace) -> None:
    """The maps of all the profile's models with another attribution method (rule sensitivity)."""
    from . import relevance

    relevance.graph_mode()  # before any model is built or loaded
    from . import finetune, store

    profile = load_profile(args.profile)
    front = datasets.FaceDataset.load(args.faces).frontal()
    keys = finetune.model_keys(profile)
    folders = [profile.results_dir() / "models" / key.name for key in keys]
    if args.method == relevance.RANDOM:
        maps = relevance.random_maps(len(keys), front.images.shape, seed=args.seed)
        seconds = [0.0] * len(keys)
    else:
        classes = [finetune.load_run(folder)[0]["classes"] for folder in folders]
        x = datasets.caffe_preprocess(front.images)
        maps, seconds = relevance.maps_of_models([f / "model.h5" for f in folders], x, classes, method=args.method,
                                                 progress=True)
    store.save_npz(args.out, maps=maps, models=np.array([key.name for key in keys]))
    store.save_json(Path(args.out).with_suffix(".json"), {
        "profile": profile.name, "method": args.method,
        "analyzer": relevance.METHODS.get(args.method, ("uniform noise", {}))[0], "seed": args.seed,
        "n_faces": len(front), "seconds_per_model": [round(t, 2) for t in seconds], "seconds": round(sum(seconds), 1),
    })
    print(f"wrote {args.out}: {args.method} maps of {len(keys)} models in {sum(seconds):.0f} s")


def _rank2(args: argparse.Namespace) -> None:
    """Rank-2 choices of both sides, the trial list with its images, and the observers' choices."""
    import shutil

    from PIL import Image

    from . import finetune, rank2, store

    profile = load_profile(args.profile)
    results = profile.results_dir()
    front = datasets.FaceDataset.load(args.faces).frontal()
    targets = front.identity
    sides = {}
    for source in ("imagenet", "vggface"):
        logits = np.stack([
            finetune.load_run(results / "models" / key.name)[0]["logits"]
            for key in finetune.model_keys(profile) if key.source == source and key.task == "identity"
        ])
        sides[source] = rank2.side_choices(logits, targets)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    choices = sides["imagenet"].join(sides["vggface"], lsuffix="_imagenet", rsuffix="_vggface")
    store.save_csv(out / "sides.csv", choices, index=True)
    trials = rank2.trial_list(sides["imagenet"], sides["vggface"])
    images = out / "trial-images"
    scratch = out / ".trial-images.partial"
    shutil.rmtree(scratch, ignore_errors=True)
    scratch.mkdir()
    for identity in sorted(set(trials.to_numpy().ravel())):
        Image.fromarray(front.images[int(np.flatnonzero(targets == identity)[0])]).save(scratch / f"face-{identity:03d}.png")
    shutil.rmtree(images, ignore_errors=True)
    scratch.rename(images)
    store.save_csv(out / "trials.csv", trials)
    setting = profile.observers
    if setting["source"] == "simulated":
        if front.identity_params is None:
            raise SystemExit(f"{args.faces}: simulated observers need the faces' parameters (a synthetic set)")
        simulated = rank2.simulate_observers(
            front.identity_params, trials, n_observers=setting["n"], internal_weight=setting["internal_weight"],
            weight_sd=setting["weight_sd"], noise=setting["noise"], seed=setting["seed"],
        )
        store.save_csv(out / "choices.csv", simulated)
    elif Path(setting["file"]).is_file():
        rank2.read_choices(setting["file"])  # fail here, naming the file and row, rather than in the book
        shutil.copyfile(setting["file"], out / "choices.csv")
    else:  # no observers yet: the book shows the trial list to run them on
        (out / "choices.csv").unlink(missing_ok=True)
        print(f"no observer choices at {setting['file']}: run the experiment on {out / 'trials.csv'} first")
    print(f"wrote {out}: {len(trials)} trials (targets where the two sides' rank-2 choices differ), "
          f"observers {setting['source']}")


def _sanity(args: argparse.Namespace) -> None:
    """Cascading model randomisation and data randomisation of one model's relevance maps."""
    from . import relevance

    relevance.graph_mode()  # before any model is built or loaded
    from . import finetune, sanity, store

    profile = load_profile(args.profile)
    key = finetune.ModelKey.parse(args.model)
    folder = profile.results_dir() / "models" / key.name
    arrays, _ = finetune.load_run(folder)
    data = datasets.FaceDataset.load(args.faces)
    front = data.frontal()
    x = datasets.caffe_preprocess(front.images)
    labels, n_classes = finetune.task_labels(data, key.task)
    train, val = finetune.split(data, seed=profile.finetune["split_seed"])
    features = store.load_npz(profile.results_dir() / "features" / f"{key.source}.npz")["features"]
    shuffled = {"features": features, "labels": labels, "n_classes": n_classes, "train": train, "val": val,
                "settings": profile.finetune}
    out = sanity.sanity_checks(folder / "model.h5", x, arrays["classes"], methods=tuple(args.methods),
                               shuffled=shuffled, originals={"composite": arrays["maps"]}, seed=args.seed)
    store.save_npz(args.out, similarity=out["similarity"], examples=out["examples"], steps=np.array(out["steps"]),
                   metrics=np.array(out["metrics"]), methods=np.array(out["methods"]), face=front.images[0])
    store.save_json(Path(args.out).with_suffix(".json"), {
        "profile": profile.name, "model": key.name, "seed": args.seed, "n_faces": len(x),
        "seconds": out["seconds"], "shuffled_train_accuracy": out["shuffled_accuracy"],
    })
    print(f"wrote {args.out}: {len(out['methods'])} methods x {len(out['steps'])} steps; seconds {out['seconds']}")


def _planted(args: argparse.Namespace) -> None:
    """The planted-ground-truth control: render, fine-tune a readout per trunk, explain, score."""
    import time

    from . import relevance

    relevance.graph_mode()  # before any model is built or loaded
    from . import planted, store, vgg

    profile = load_profile(args.profile)
    settings = profile.planted
    parts = tuple(settings["parts"])
    size = vgg.TrunkSpec(**profile.trunks["spec"]).input_size
    start = time.perf_counter()
    data, params = planted.planted_faces(
        n_classes=settings["n_classes"], images_per_class=settings["images_per_class"], parts=parts, size=size,
        seed=settings["seed"], progress=True,
    )
    arrays = {"images": data.images, "labels": data.identity, "part_labels": data.parts, "params": params}
    record = {"profile": profile.name, **settings, "size": size, "render_seconds": round(time.perf_counter() - start, 1)}
    for source in ("imagenet", "vggface"):
        start = time.perf_counter()
        trunk, _ = vgg.profile_trunk(profile, source)
        out = planted.finetune_and_explain(trunk, data, parts, profile.finetune, seed=settings["seed"])
        for name in ("mass_accuracy", "rank_accuracy", "pixel_share", "has_positive", "correct", "maps", "val"):
            arrays[f"{source}_{name}"] = out[name]
        record[source] = {"validation_accuracy": out["validation_accuracy"], "train_accuracy": out["train_accuracy"],
                          "seconds": round(time.perf_counter() - start, 1)}
        print(f"{source}: validation accuracy {out['validation_accuracy']:.3f}, "
              f"mass accuracy {np.nanmean(out['mass_accuracy']):.3f}")
    store.save_npz(args.out, **arrays)
    store.save_json(Path(args.out).with_suffix(".json"), record)
    print(f"wrote {args.out}")


def _probe_faces(args: argparse.Namespace) -> None:
    """The attribute-probing faces: disjoint training and validation identities."""
    from . import probing, vgg

    profile = load_profile(args.profile)
    settings = profile.probing
    size = vgg.TrunkSpec(**profile.trunks["spec"]).input_size
    data = probing.probe_faces(n_train=settings["n_train"], n_validation=settings["n_validation"],
                               images_per_identity=settings["images_per_identity"], size=size, seed=settings["seed"],
                               progress=True)
    data.provenance["profile"] = profile.name
    data.save(args.out)
    print(f"wrote {args.out}: {len(data)} images of {data.n_identities} identities "
          f"({settings['n_train']} training, {settings['n_validation']} validation), {size} px")


def _probe(args: argparse.Namespace) -> None:
    """Layer-wise PLS + VIP probing of one trunk on the probing faces."""
    import time

    from . import probing, store, vgg

    profile = load_profile(args.profile)
    settings = profile.probing
    data = datasets.FaceDataset.load(args.faces)
    trunk, trunk_record = vgg.profile_trunk(profile, args.source)
    start = time.perf_counter()
    arrays, record = probing.probe_trunk(
        trunk, data, n_components=settings["components"], top=settings["top"], max_features=settings["max_features"],
        sampled=("gender", settings["single_samples"]), seed=settings["seed"], progress=True,
    )
    record.update(profile=profile.name, source=args.source, trunk=trunk_record.get("file"), settings=settings,
                  seconds=round(time.perf_counter() - start, 1))
    store.save_npz(args.out, **arrays)
    store.save_json(Path(args.out).with_suffix(".json"), record)
    print(f"wrote {args.out}: {len(arrays['layers'])} layers x {len(arrays['attributes'])} attributes "
          f"in {record['seconds']:.0f} s, peak resident memory {record['peak_rss_gib']:.2f} GiB")


def _gate_faces(args: argparse.Namespace) -> None:
    """The identification faces of the gated networks, with their attributes."""
    from . import gates, store

    profile = load_profile(args.profile)
    settings = profile.gates
    size = settings["size"]
    data, attributes = gates.gate_faces(n_identities=settings["n_identities"], images_per_identity=settings["images_per_identity"],
                                        size=size, seed=settings["seed"], progress=True)
    train, test = gates.split_within_identity(data.identity, seed=settings["seed"])
    store.save_npz(args.out, images=data.images, identity=data.identity, train=train, test=test,
                   **{f"attribute_{name}": values for name, values in attributes.items()})
    print(f"wrote {args.out}: {len(data)} images of {data.n_identities} identities ({len(train)} train, {len(test)} test), {size} px")


def _gates(args: argparse.Namespace) -> None:
    """Train one gated-network variant and record its gates on the test faces."""
    import os
    import time

    from . import gates, store

    profile = load_profile(args.profile)
    settings = profile.gates
    arrays = store.load_npz(args.faces)
    x = (arrays["images"][..., None] / 255.0).astype(np.float32)
    identity, train, test = arrays["identity"], arrays["train"], arrays["test"]
    attributes = {k[len("attribute_"):]: v for k, v in arrays.items() if k.startswith("attribute_")}
    spec = gates.profile_spec(settings, x.shape[1], int(identity.max()) + 1)
    start = time.perf_counter()
    model, history = gates.train_variant(spec, args.variant, x[train], identity[train],
                                         {k: v[train] for k, v in attributes.items()}, epochs=settings["epochs"],
                                         batch_size=settings["batch_size"], learning_rate=settings["learning_rate"],
                                         seed=args.seed, progress=True)
    seconds = time.perf_counter() - start
    on_test, on_train = gates.evaluate(model, spec, x[test], identity[test]), gates.evaluate(model, spec, x[train], identity[train])
    store.save_npz(args.out, gates=on_test["gates"], predicted=on_test["predicted"], gflops=on_test["gflops"],
                   train_gates=on_train["gates"], history=np.array(history))
    store.save_json(Path(args.out).with_suffix(".json"), {
        "profile": profile.name, "variant": args.variant, "seed": args.seed, "accuracy": on_test["accuracy"],
        "train_accuracy": on_train["accuracy"], "mean_gflops": on_test["mean_gflops"],
        "full_gflops": float(gates.executed_gflops(np.ones((1, len(spec.blocks()))), spec)[0]), "train_seconds": round(seconds, 1),
        "epochs": settings["epochs"], "n_train": int(len(train)), "n_test": int(len(test)), "blocks": len(spec.blocks()),
    })
    print(f"wrote {args.out}: {args.variant} seed {args.seed}, test accuracy {on_test['accuracy']:.3f}, "
          f"{on_test['mean_gflops']:.4f} GFLOPs, trained in {seconds:.0f} s")


def _check_book(args: argparse.Namespace) -> None:
    """Open every page of a built book in headless Chromium; fail on what a reader would see broken."""
    from .check import check_book

    reports = check_book(args.html, args.screenshots)
    bad = [r for r in reports if not r.ok]
    for report in bad:
        for problem in report.problems():
            print(f"{report.page}: {problem}")
    print(f"checked {len(reports)} pages in Chromium: {len(reports) - len(bad)} fine, {len(bad)} with problems"
          + (f"; screenshots in {args.screenshots}" if args.screenshots else ""))
    if bad:
        raise SystemExit(1)


def _choose_kernels(stage: str) -> None:
    """Pick TensorFlow's CPU kernels for this process and the notebooks it runs, unless
    ``TF_ENABLE_ONEDNN_OPTS`` is set already. TensorFlow 2.14 turns oneDNN's kernels on
    by itself only on CPUs with AVX-512 or newer; on an AVX2-only CPU its own kernels
    train the demo's 128-px trunk about 2.7 times slower (``benchmarks/kernels.py``), so
    every stage asks for oneDNN, except the gated ResNets: oneDNN's kernels corrupt the
    heap while training them at 64 px (the process aborts: "munmap_chunk(): invalid
    pointer"), the plain kernels do not. Must run before TensorFlow is imported."""
    import os

    os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0" if stage == "gates" else "1")


def _git_commit() -> str | None:
    import subprocess

    try:
        run = subprocess.run(["git", "describe", "--always", "--dirty"], capture_output=True, text=True, timeout=10)
    except OSError:
        return None
    return run.stdout.strip() or None


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
    page.add_argument("--param", action="append", default=[], help="extra papermill parameter name=value (repeatable)")
    page.add_argument("--title", default=None, help="page title, may use the parameters: 'Model {source}-{task}'")
    page.set_defaults(run=_execute_page)
    feats = stages.add_parser("features", help="fc2 features of every face image for one trunk (.npz)")
    feats.add_argument("--profile", choices=PROFILE_NAMES, default="demo")
    feats.add_argument("--source", choices=("imagenet", "vggface"), required=True)
    feats.add_argument("--faces", required=True, help="the profile's faces.npz")
    feats.add_argument("--out", required=True)
    feats.set_defaults(run=_features)
    pre = stages.add_parser("pretrain", help="make a stand-in trunk (render corpus, train, fold, save)")
    pre.add_argument("--profile", choices=PROFILE_NAMES, default="demo")
    pre.add_argument("--source", choices=("imagenet", "vggface"), required=True)
    pre.add_argument("--out", default=None, help="output .h5 (default: the profile's trunk path)")
    pre.add_argument("--threads", type=int, default=0, help="TensorFlow threads (0: TensorFlow's default)")
    pre.set_defaults(run=_pretrain)
    mask = stages.add_parser("masking", help="accuracy of every model under every model's relevance masks (.npz)")
    mask.add_argument("--profile", choices=PROFILE_NAMES, default="demo")
    mask.add_argument("--faces", required=True, help="the profile's faces.npz")
    mask.add_argument("--out", required=True, help="output .npz (a .json record is written beside it)")
    mask.add_argument("--fill", type=float, default=0.0,
                      help="value of masked pixels after mean subtraction (0: the mean colour)")
    mask.add_argument("--imputation", choices=("constant", "road", "blur"), default="constant",
                      help="constant: --fill everywhere (the paper); road: ROAD's noisy linear imputation; "
                           "blur: a Gaussian blur of the face")
    mask.add_argument("--lerf", action="store_true", help="remove the least relevant pixels first (default: most)")
    mask.add_argument("--maps", default=None, help="order the pixels by these maps (method-maps output) "
                      "instead of the models' own composite maps")
    mask.add_argument("--seed", type=int, default=0, help="seed of the tie-breaking and random-mask orders")
    mask.set_defaults(run=_masking)
    r2 = stages.add_parser("rank2", help="rank-2 choices, trial list with images, observers' choices")
    r2.add_argument("--profile", choices=PROFILE_NAMES, default="demo")
    r2.add_argument("--faces", required=True, help="the profile's faces.npz")
    r2.add_argument("--out", required=True, help="output folder (sides.csv, trials.csv, trial-images/, choices.csv)")
    r2.set_defaults(run=_rank2)
    san = stages.add_parser("sanity", help="cascading and data randomisation of one model's maps (.npz)")
    san.add_argument("--profile", choices=PROFILE_NAMES, default="demo")
    san.add_argument("--model", required=True, help="model name, e.g. vggface-identity-s0")
    san.add_argument("--faces", required=True, help="the profile's faces.npz")
    san.add_argument("--out", required=True, help="output .npz (a .json record is written beside it)")
    san.add_argument("--methods", nargs="+", default=["composite", "gradient"], help="relevance methods to check")
    san.add_argument("--seed", type=int, default=0, help="seed of the re-initialisations and the label shuffle")
    san.set_defaults(run=_sanity)
    plant = stages.add_parser("planted", help="the planted-ground-truth control set, one readout per trunk (.npz)")
    plant.add_argument("--profile", choices=PROFILE_NAMES, default="demo")
    plant.add_argument("--out", required=True, help="output .npz (a .json record is written beside it)")
    plant.set_defaults(run=_planted)
    meth = stages.add_parser("method-maps", help="every model's maps with another attribution method (.npz)")
    meth.add_argument("--profile", choices=PROFILE_NAMES, default="demo")
    meth.add_argument("--faces", required=True, help="the profile's faces.npz")
    from .relevance import METHODS, RANDOM

    meth.add_argument("--method", required=True, choices=[*METHODS, RANDOM], help="attribution method, or the random floor")
    meth.add_argument("--out", required=True, help="output .npz (a .json record is written beside it)")
    meth.add_argument("--seed", type=int, default=0, help="seed of the random maps")
    meth.set_defaults(run=_method_maps)
    pfaces = stages.add_parser("probe-faces", help="the attribute-probing faces (.npz)")
    pfaces.add_argument("--profile", choices=PROFILE_NAMES, default="demo")
    pfaces.add_argument("--out", required=True, help="output .npz path")
    pfaces.set_defaults(run=_probe_faces)
    probe = stages.add_parser("probe", help="layer-wise PLS + VIP attribute probing of one trunk (.npz)")
    probe.add_argument("--profile", choices=PROFILE_NAMES, default="demo")
    probe.add_argument("--source", choices=["imagenet", "vggface"], required=True)
    probe.add_argument("--faces", required=True, help="the probing faces (probe-faces output)")
    probe.add_argument("--out", required=True, help="output .npz (a .json record is written beside it)")
    probe.set_defaults(run=_probe)
    gfaces = stages.add_parser("gate-faces", help="the identification faces of the gated networks (.npz)")
    gfaces.add_argument("--profile", choices=PROFILE_NAMES, default="demo")
    gfaces.add_argument("--out", required=True, help="output .npz path")
    gfaces.set_defaults(run=_gate_faces)
    gate = stages.add_parser("gates", help="train one gated-network variant, record its gates (.npz)")
    gate.add_argument("--profile", choices=PROFILE_NAMES, default="demo")
    gate.add_argument("--variant", required=True, help="resnet, aig-<rate>, iig-gender or iig-gender-<attribute>")
    gate.add_argument("--seed", type=int, default=0)
    gate.add_argument("--faces", required=True, help="the gate-faces output")
    gate.add_argument("--out", required=True, help="output .npz (a .json record is written beside it)")
    gate.set_defaults(run=_gates)
    check = stages.add_parser("check-book", help="open every page of a built book in headless Chromium")
    check.add_argument("--html", required=True, help="the book's _build/html folder")
    check.add_argument("--screenshots", default=None, help="folder for a full-page PNG of every page")
    check.set_defaults(run=_check_book)
    args = parser.parse_args(argv)
    _choose_kernels(args.stage)
    args.run(args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
