"""TensorFlow's own CPU kernels against oneDNN's, on the demo trunk (why `python -m facelrp`
asks for oneDNN: see `facelrp.__main__._choose_kernels`).

    python benchmarks/kernels.py                 # demo trunk, 1 thread
    python benchmarks/kernels.py --threads 2 --steps 5
    python benchmarks/kernels.py --size 128       # another input size, the demo's widths

For each setting of ``TF_ENABLE_ONEDNN_OPTS`` (it must be set before TensorFlow is
imported, so each runs in a child process) prints the seconds per training step of the
pretraining network (BatchNorm, dropout, 400 classes, batch 128) and per forward pass of
the folded trunk on the same batch, for the demo profile's trunk (or its widths at --size).
"""

import argparse
import json
import os
import subprocess
import sys
import time


def measure(threads: int, steps: int, size: int | None) -> dict:
    import numpy as np
    import tensorflow as tf

    from facelrp.models import pretrain, vgg
    from facelrp.profiles import load_profile

    tf.config.threading.set_intra_op_parallelism_threads(threads)
    tf.config.threading.set_inter_op_parallelism_threads(threads)
    spec = vgg.TrunkSpec(**{**load_profile("demo").trunks["spec"], **({"input_size": size} if size else {})})
    model = vgg.build_vgg16(spec, batch_norm=True, dropout=0.3, n_classes=400)
    model.compile(optimizer=tf.keras.optimizers.Adam(2e-3),
                  loss=tf.keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    x = np.random.default_rng(0).random((128, spec.input_size, spec.input_size, 3), dtype=np.float32)
    y = np.random.default_rng(1).integers(0, 400, len(x))
    model.train_on_batch(x, y)  # the first step builds the graph
    start = time.perf_counter()
    for _ in range(steps):
        model.train_on_batch(x, y)
    train = (time.perf_counter() - start) / steps
    trunk = vgg.fold_batchnorm(model, spec)
    trunk(x)
    start = time.perf_counter()
    for _ in range(steps):
        trunk(x)
    forward = (time.perf_counter() - start) / steps
    return {"onednn": pretrain.onednn_enabled(), "input_size": spec.input_size, "threads": threads,
            "train_s_per_step": round(train, 2), "forward_s_per_batch": round(forward, 2)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--steps", type=int, default=3)
    parser.add_argument("--size", type=int, default=None, help="input size (default: the demo profile's)")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(measure(args.threads, args.steps, args.size)))
        return
    rows = []
    for flag in ("0", "1"):
        run = subprocess.run([sys.executable, __file__, "--child", "--threads", str(args.threads),
                              "--steps", str(args.steps), *(["--size", str(args.size)] if args.size else [])], env={**os.environ, "TF_ENABLE_ONEDNN_OPTS": flag},
                             capture_output=True, text=True, check=True)
        rows.append(json.loads(run.stdout.strip().splitlines()[-1]))
        print(json.dumps(rows[-1]), flush=True)
    plain, onednn = rows
    print(f"oneDNN / TensorFlow's own kernels: training {plain['train_s_per_step'] / onednn['train_s_per_step']:.1f}x "
          f"faster, forward passes {plain['forward_s_per_batch'] / onednn['forward_s_per_batch']:.1f}x faster")


if __name__ == "__main__":
    main()
