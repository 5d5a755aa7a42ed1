"""Time per layer and peak memory of layer-wise attribute probing (facelrp.studies.probing).

Renders the profile's probing faces (or reads them from the pipeline's results), then for
every layer of one trunk: extracts the training and validation activations and runs every
probe for the chosen attributes, printing seconds and the process's peak resident memory
after each layer:

    python benchmarks/probing.py --profile demo --source vggface
    python benchmarks/probing.py --profile demo --attributes gender view   # a quicker look
"""

import argparse
import resource
import time

from facelrp.artifacts import Results
from facelrp.data import datasets
from facelrp.models import vgg
from facelrp.profiles import PROFILE_NAMES, TRUNK_SOURCES, load_profile
from facelrp.studies import probing


def peak_gib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20  # KiB on Linux


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--profile", choices=PROFILE_NAMES, default="demo")
    parser.add_argument("--source", choices=TRUNK_SOURCES, default="vggface")
    parser.add_argument("--attributes", nargs="+", choices=probing.ATTRIBUTES, default=list(probing.ATTRIBUTES))
    args = parser.parse_args()

    profile = load_profile(args.profile)
    settings = profile.probing
    path = Results(profile).probe_faces
    if path.is_file():
        data = datasets.FaceDataset.load(path)
    else:
        start = time.perf_counter()
        data = probing.probe_faces(n_train=settings["n_train"], n_validation=settings["n_validation"],
                                   images_per_identity=settings["images_per_identity"],
                                   size=vgg.TrunkSpec(**profile.trunks["spec"]).input_size, seed=settings["seed"])
        print(f"rendered {len(data)} probing faces in {time.perf_counter() - start:.1f} s")
    is_train, sets = probing.probe_sets(data, seed=settings["seed"])
    sets = {a: sets[a] for a in args.attributes}
    trunk, _ = vgg.profile_trunk(profile, args.source)
    print(f"{args.profile} / {args.source}: {is_train.sum()} training and {(~is_train).sum()} validation faces, "
          f"{len(sets)} attributes")
    print(f"{'layer':<14}{'values/face':>12}{'extract s':>11}{'probe s':>9}{'peak GiB':>10}")
    kwargs = {"max_features": settings["max_features"]}
    train_iter = probing.layer_activations(trunk, data.images[is_train], **kwargs)
    val_iter = probing.layer_activations(trunk, data.images[~is_train], **kwargs)
    total = time.perf_counter()
    while True:
        start = time.perf_counter()
        try:
            name, train, _ = next(train_iter)
            _, val, _ = next(val_iter)
        except StopIteration:
            break
        extracted = time.perf_counter() - start
        start = time.perf_counter()
        probing.probe_layer(train, val, sets, n_components=settings["components"], top=settings["top"],
                            sampled=("gender", settings["single_samples"]))
        print(f"{name:<14}{train[0].size:>12,}{extracted:>11.1f}{time.perf_counter() - start:>9.1f}{peak_gib():>10.2f}")
        del train, val
    print(f"total {time.perf_counter() - total:.0f} s, peak resident memory {peak_gib():.2f} GiB")


if __name__ == "__main__":
    main()
