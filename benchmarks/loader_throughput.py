"""Shard loader speed against the training step (issue 23 item 1).

    OMP_NUM_THREADS=1 python benchmarks/loader_throughput.py            # ~2-3 min on 2 cores
    OMP_NUM_THREADS=1 python benchmarks/loader_throughput.py --quick    # ~1 min

Writes JPEG shards of synthetic photo-like images (smooth colour fields plus texture) stored at
256 px, then measures images/s of pixelforge's shard loader (random access by byte offset, the
lazy path every set too large for memory takes) through the real `batch_stream` with 0, 1 and 2
DataLoader workers, decoding to 64 and to 256 px; for comparison, a sequential pass over the
same tars with the standard library (what a WebDataset-style stream reader does) and a
random-order pass by byte offset, both decode only (no DataLoader, no float conversion; 3
interleaved rounds, medians); and the
images/s of the default dcgan's real `GANTask.train_step` at 64 px (batch 64, the Trainer's
precision choice). Results go to benchmarks/results/loader_throughput.json.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import platform
import statistics
import tarfile
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from PIL import Image

BATCH = 64
STORED = 256
RESULTS = Path(__file__).resolve().parent / "results" / "loader_throughput.json"


def make_shards(root: Path, n: int) -> Path:
    """n synthetic 256 px colour images packed as JPEG shards (quality 90) by `pixelforge pack`."""
    from pixelforge.data.pack import pack

    rng = np.random.default_rng(0)
    lo = rng.random((n, 8, 8, 3)).astype(np.float32)
    images = np.empty((n, STORED, STORED, 3), np.uint8)
    for i in range(n):  # smooth fields upsampled + fine texture: JPEG sizes like photos'
        smooth = np.asarray(Image.fromarray((lo[i] * 255).astype(np.uint8)).resize(
            (STORED, STORED), Image.Resampling.BICUBIC), np.float32)
        images[i] = np.clip(smooth + rng.normal(0, 12, smooth.shape), 0, 255).astype(np.uint8)
    npz = root / "photos.npz"
    np.savez(npz, x_train=images)
    out = root / "shards"
    pack(str(npz), out, shard_size=128, channels=3, encoding="jpg", quality=90)
    return out


def loader_rate(shards: Path, size: int, workers: int, batches: int) -> float:
    """Images/s of batch_stream over the lazily decoded shards (first batch not timed)."""
    import pixelforge.data.options as options
    from pixelforge.data import load_images
    from pixelforge.training.batches import batch_stream

    options.PRELOAD_LIMIT_BYTES = 0  # the streaming path: decode per item, random access
    ds = load_images(shards, image_size=size, channels=3)
    stream = batch_stream(ds, BATCH, 0, 0, 0, 1, workers)
    next(stream)
    t = time.perf_counter()
    for _ in range(batches):
        next(stream)
    rate = batches * BATCH / (time.perf_counter() - t)
    del stream
    return rate


def sequential_rate(shards: Path, size: int, limit: int) -> float:
    """Images/s of reading the tars front to back with tarfile and decoding (one process)."""
    from pixelforge.data.decode import decode_image
    from pixelforge.data.options import LoadOptions

    opts = LoadOptions(image_size=size, channels=3)
    done, t = 0, time.perf_counter()
    for tar_path in sorted(shards.glob("*.tar")):
        with tarfile.open(tar_path) as tar:
            for member in tar:
                if member.name.endswith(".jpg"):
                    decode_image(io.BytesIO(tar.extractfile(member).read()), opts)
                    done += 1
                    if done == limit:
                        return done / (time.perf_counter() - t)
    return done / (time.perf_counter() - t)


def random_access_rate(shards: Path, size: int, limit: int) -> float:
    """Images/s of decoding `limit` samples in a random order by byte offset (one process, no
    DataLoader): the read pattern of the shard loader, against sequential_rate's."""
    from pixelforge.data.options import LoadOptions
    from pixelforge.data.shard_source import decode_sample
    from pixelforge.data.shards import read_manifest

    m, opts = read_manifest(shards), LoadOptions(image_size=size, channels=3)
    order = np.random.default_rng(0).permutation(len(m.samples))[:limit]
    t = time.perf_counter()
    for i in order:
        decode_sample(m, int(i), opts)
    return len(order) / (time.perf_counter() - t)


def train_rate(steps: int) -> float:
    """Images/s of the default dcgan's GANTask.train_step at 64 px, batch 64 (first 2 untimed)."""
    from pixelforge.config import build_config
    from pixelforge.core.precision import Precision
    from pixelforge.models import MODELS
    from pixelforge.training.gan import GANTask

    cfg = build_config({}, {"model.name": "dcgan", "model.image_size": 64, "model.channels": 3,
                            "train.batch_size": BATCH})
    prec = Precision.resolve("auto", "auto", torch.device("cpu"))
    task = GANTask(cfg, MODELS.get("dcgan"), num_classes=0, device=torch.device("cpu"),
                   precision=prec)
    g = torch.Generator().manual_seed(0)
    batch = {"image": (torch.rand(BATCH, 3, 64, 64, generator=g) * 2 - 1).contiguous(
        memory_format=prec.memory_format), "label": torch.zeros(BATCH, dtype=torch.long)}
    for step in range(2):
        task.train_step(batch, step)
    t = time.perf_counter()
    for step in range(2, 2 + steps):
        out = task.train_step(batch, step)
        torch.stack([v.float() for v in out.values()]).tolist()
    return steps * BATCH / (time.perf_counter() - t)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="fewer images and batches")
    ap.add_argument("--out", type=Path, default=RESULTS)
    args = ap.parse_args()
    n, batches, steps = (512, 4, 4) if args.quick else (1024, 10, 8)
    res: dict = {"machine": {"cpu": platform.processor() or platform.machine(),
                             "cores": os.cpu_count(),
                             "omp_threads": os.environ.get("OMP_NUM_THREADS"),
                             "torch_threads": torch.get_num_threads(),
                             "note": "shared machine, not quiet: compare ratios, not absolutes"},
                 "batch": BATCH, "stored_px": STORED, "images": n, "loader": {}, "sequential": {},
                 "random_access": {}}
    with tempfile.TemporaryDirectory() as tmp:
        t = time.perf_counter()
        shards = make_shards(Path(tmp), n)
        res["pack_seconds"] = round(time.perf_counter() - t, 1)
        for size in (64, 256):
            for workers in (0, 1, 2):
                rate = loader_rate(shards, size, workers, batches)
                res["loader"][f"{size}px_{workers}w"] = round(rate, 1)
                print(f"loader {size:>3} px, {workers} workers: {rate:8.1f} images/s", flush=True)
            seq, rnd = [], []
            for _ in range(3):  # interleaved rounds, medians: the machine is shared and noisy
                seq.append(sequential_rate(shards, size, batches * BATCH))
                rnd.append(random_access_rate(shards, size, batches * BATCH))
            seq, rnd = statistics.median(seq), statistics.median(rnd)
            res["sequential"][f"{size}px"] = round(seq, 1)
            res["random_access"][f"{size}px"] = round(rnd, 1)
            print(f"decode only, sequential tar read {size:>3} px: {seq:8.1f} images/s\n"
                  f"decode only, random offsets      {size:>3} px: {rnd:8.1f} images/s", flush=True)
    train = train_rate(steps)
    res["train_dcgan_64px"] = round(train, 1)
    print(f"dcgan 64 px train step:           {train:8.1f} images/s")
    best = max((k for k in res["loader"] if k.startswith("64px")), key=res["loader"].get)
    res["ratio_loader_to_train_64px"] = {k: round(v / train, 2) for k, v in res["loader"].items()
                                         if k.startswith("64px")}
    res["recommended_workers_64px"] = int(best.split("_")[1][0])
    res["target_met"] = res["loader"][best] >= 2 * train
    print(f"loader / train at 64 px: {res['ratio_loader_to_train_64px']} (target >= 2)")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(res, indent=2) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
