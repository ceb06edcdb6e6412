"""Train the offline photo judge (models/judge.py) on the shared CIFAR-10 set and ship it.

A step budget, not a time budget, so the weights do not depend on the machine's load: one
thread, bf16 autocast where the CPU has fast bf16, SGD-Nesterov with a one-cycle learning rate,
label smoothing, random flips and 4 px reflect-pad crops. The test accuracy (fp32 inference, all
10,000 test images) and the CPU time go into the results file; the model card is written from it.

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/make_judge.py --steps 650
    .venv/bin/python benchmarks/make_judge.py --card-only   # rewrite the card from the results
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np  # noqa: E402
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data" / "cifar10.npz"
OUT = ROOT / "src" / "pixelforge" / "assets" / "judge"
RESULTS = OUT / "training.json"


def to_float(x: np.ndarray) -> torch.Tensor:
    """uint8 [N, H, W, 3] -> float [N, 3, H, W] in [-1, 1]."""
    return torch.from_numpy(x).permute(0, 3, 1, 2).float().div(127.5).sub(1).contiguous()


def augment(x: torch.Tensor, gen: torch.Generator, pad: int = 4) -> torch.Tensor:
    """Random horizontal flips and reflect-pad random crops, drawn from gen."""
    n, _, h, w = x.shape
    flip = torch.rand(n, generator=gen) < 0.5
    x = torch.where(flip[:, None, None, None], x.flip(3), x)
    xp = F.pad(x, (pad, pad, pad, pad), mode="reflect")
    dy = torch.randint(0, 2 * pad + 1, (n,), generator=gen)
    dx = torch.randint(0, 2 * pad + 1, (n,), generator=gen)
    rows = (dy[:, None] + torch.arange(h)[None])[:, None, :, None].expand(n, 3, h, w + 2 * pad)
    x = xp.gather(2, rows)
    cols = (dx[:, None] + torch.arange(w)[None])[:, None, None, :].expand(n, 3, h, w)
    return x.gather(3, cols)


def lr_at(step: int, steps: int, peak: float, warm: float = 0.2) -> float:
    """One-cycle: linear warm-up to peak over warm*steps, then linear decay to 0."""
    w = max(1, int(warm * steps))
    return peak * (step + 1) / w if step < w else peak * (steps - step) / (steps - w)


@torch.no_grad()
def accuracy(model: torch.nn.Module, x: torch.Tensor, y: torch.Tensor) -> float:
    model.eval()
    hits = sum(int((model(x[i:i + 500]).argmax(1) == y[i:i + 500]).sum())
               for i in range(0, len(x), 500))
    return hits / len(x)


def train(args) -> dict:
    from pixelforge.core.precision import cpu_has_fast_bf16
    from pixelforge.models.judge import JudgeClassifier

    torch.set_num_threads(1)
    d = np.load(DATA)
    xtr, ytr = to_float(d["x_train"]), torch.from_numpy(d["y_train"].astype(np.int64))
    xte, yte = to_float(d["x_test"]), torch.from_numpy(d["y_test"].astype(np.int64))
    torch.manual_seed(args.seed)
    model = JudgeClassifier(channels=3, num_classes=10, width=args.width)
    model = model.to(memory_format=torch.channels_last)
    decay = [p for p in model.parameters() if p.ndim > 1]
    rest = [p for p in model.parameters() if p.ndim <= 1]
    opt = torch.optim.SGD([{"params": decay, "weight_decay": args.wd},
                           {"params": rest, "weight_decay": 0.0}],
                          lr=args.lr, momentum=0.9, nesterov=True)
    bf16 = cpu_has_fast_bf16()
    gen = torch.Generator().manual_seed(args.seed)
    order, pos = torch.randperm(len(xtr), generator=gen), 0
    cpu0, wall0 = time.process_time(), time.time()
    model.train()
    for step in range(args.steps):
        if pos + args.batch > len(order):
            order, pos = torch.randperm(len(xtr), generator=gen), 0
        idx = order[pos:pos + args.batch]
        pos += args.batch
        xb = augment(xtr[idx], gen).contiguous(memory_format=torch.channels_last)
        for g in opt.param_groups:
            g["lr"] = lr_at(step, args.steps, args.lr)
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
            loss = F.cross_entropy(model(xb).float(), ytr[idx], label_smoothing=0.2)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        if step % 50 == 0 or step == args.steps - 1:
            print(f"step {step} loss {loss.item():.3f} cpu {time.process_time() - cpu0:.0f}s "
                  f"wall {time.time() - wall0:.0f}s", flush=True)
    train_cpu = time.process_time() - cpu0
    model = model.to(memory_format=torch.contiguous_format).float()
    acc = accuracy(model, xte, yte)
    print(f"test accuracy {acc:.4f}", flush=True)
    save(model, args.out)
    return {
        "test_accuracy": round(acc, 4), "n_test": len(xte), "n_train": len(xtr),
        "steps": args.steps, "batch_size": args.batch, "epochs": round(
            args.steps * args.batch / len(xtr), 2), "width": args.width, "lr": args.lr,
        "weight_decay": args.wd, "label_smoothing": 0.2, "seed": args.seed,
        "augmentation": "random horizontal flip, 4 px reflect-pad random 32 px crop",
        "precision": "bf16 autocast, channels_last" if bf16 else "fp32, channels_last",
        "threads": 1, "train_cpu_seconds": round(train_cpu, 1),
        "train_wall_seconds": round(time.time() - wall0, 1),
        "data": "shared CIFAR-10 (../shared/data/cifar10.npz): 19,000 train / 10,000 test",
        "weights_dtype": "float16", "feature_dim": model.feature_dim,
        "params": sum(p.numel() for p in model.parameters()),
        "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }


def save(model: torch.nn.Module, out: Path) -> None:
    """config.json + float16 model.safetensors (half the bytes; features stay float32)."""
    model.save_pretrained(out)
    from safetensors.torch import load_file, save_file

    path = out / "model.safetensors"
    state = {k: (v.half() if v.is_floating_point() else v) for k, v in load_file(path).items()}
    save_file(state, str(path))
    path.chmod(0o644)
    (out / "README.md").unlink(missing_ok=True)  # the hub mixin's stub card; ours is MODEL_CARD.md


CARD = """# photo judge: texture-statistics features for photo FD

A {params:,}-parameter residual classifier (`pixelforge.models.judge.JudgeClassifier`, width
{width}) trained on the shared CIFAR-10 set; its {feature_dim} penultimate features of 32 px patches
are the space `photo_fd` compares restored and clean photos in (`pixelforge.metrics.photo_judge`).
It is a texture-statistics judge for 32 px patches, not Inception: see docs/restoration.md.

| | |
|---|---|
| data | {data} |
| test accuracy | **{acc_pct:.2f}%** on all {n_test:,} test images (fp32 inference, no test-time flips) |
| training | {steps:,} steps of batch {batch_size} ({epochs} epochs), SGD-Nesterov, one-cycle lr {lr}, weight decay {weight_decay}, label smoothing {label_smoothing} |
| augmentation | {augmentation} |
| precision | {precision}, {threads} thread |
| CPU time | {cpu_min:.1f} CPU-minutes ({train_cpu_seconds:.0f} s) |
| weights | float16 safetensors, loaded into float32 |
| created | {created} by `benchmarks/make_judge.py` (written from training.json) |
"""


def write_card(results: dict, out: Path) -> None:
    text = CARD.format(acc_pct=100 * results["test_accuracy"],
                       cpu_min=results["train_cpu_seconds"] / 60, **results)
    (out / "MODEL_CARD.md").write_text(text)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--steps", type=int, default=2600)
    p.add_argument("--batch", type=int, default=128)
    p.add_argument("--width", type=int, default=32)
    p.add_argument("--lr", type=float, default=0.15)
    p.add_argument("--wd", type=float, default=5e-4)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--card-only", action="store_true")
    p.add_argument("--out", type=Path, default=OUT, help="folder for weights, results and card")
    args = p.parse_args()
    results = args.out / RESULTS.name
    if not args.card_only:
        args.out.mkdir(parents=True, exist_ok=True)
        results.write_text(json.dumps(train(args), indent=2) + "\n")
    write_card(json.loads(results.read_text()), args.out)


if __name__ == "__main__":
    main()
