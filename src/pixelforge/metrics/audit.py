"""Privacy audit of a generator: what it memorised (nearest training images, near-copies), the
data-copying test C_T, and membership inference (white-box: D's logit (LOGAN, Hayes et al.
2019) or the VAE's ELBO; black-box: distance to the nearest of many generated samples,
Hilprecht et al. 2019). `audit_images` works on tensors (so fixtures can feed it any
"generator"); `audit_checkpoint` runs it on a trained run and writes the report."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from pixelforge.core.images import to_float
from pixelforge.errors import UserError
from pixelforge.metrics import copying
from pixelforge.metrics.images import gather_uint8, sample_indices

log = logging.getLogger("pixelforge.metrics")

COPYING_CT = -3.0  # C_T below this: generated points sit significantly closer to the training set
# ... and by this much (the cells' effect size U/(mn) - 0.5): C_T is a Z score, so it grows with
# the number of samples and at 10,000 it flagged a healthy MNIST GAN (C_T -5.2, effect -0.10, no
# near-copies, MIA AUC 0.50) beside the 64-image overfit fixture (C_T -34, effect -0.45)
COPYING_EFFECT = -0.25
COPYING_FRACTION = 0.05  # or at least this fraction of samples are pixel near-copies
RULE = (f"copying when C_T < {COPYING_CT:g} and its effect size < {COPYING_EFFECT:g} (Meehan et "
        f"al. 2020, k-means cells of the training images in pixels; effect = the cells' weighted "
        f"U/(mn) - 0.5: {COPYING_EFFECT:g} means a generated point is nearer the training set "
        f"than a held-out point of its cell in 75% of pairs) or when >= {COPYING_FRACTION:.0%} of "
        f"samples are near-copies in pixels; a "
        f"near-copy is a sample whose nearest training image is closer than "
        f"{copying.NEAR_COPY_RATIO:.3g} x its mean distance to its {copying.NEAR_COPY_K} nearest "
        "(Carlini et al. 2023)")

Features = Callable[[torch.Tensor], np.ndarray]  # float [-1, 1] images -> [N, D]
Scorer = Callable[[torch.Tensor, torch.Tensor], np.ndarray]  # (uint8 images, labels) -> [N]


def pixels(images: torch.Tensor) -> np.ndarray:
    """Flattened pixels in [-1, 1] as feature vectors."""
    return images.float().reshape(len(images), -1).numpy()


@dataclass
class AuditInputs:
    """The audit's sets: generated float images, uint8 training and held-out images + labels."""

    generated: torch.Tensor  # [n, C, H, W] in [-1, 1]
    train: torch.Tensor  # uint8 [N, C, H, W]
    train_labels: torch.Tensor
    heldout: torch.Tensor  # uint8 [M, C, H, W]
    heldout_labels: torch.Tensor


def _memorisation(gen: np.ndarray, train: np.ndarray, held: np.ndarray) -> dict[str, Any]:
    d_gen, idx = copying.nearest(gen, train, k=copying.NEAR_COPY_K)
    d_held = copying.nearest(held, train, k=1)[0][:, 0]
    near = copying.near_copy_mask(d_gen)
    return {"near_copy_fraction": float(near.mean()), "near_copies": int(near.sum()),
            "nearest_generated": copying.distance_summary(d_gen[:, 0]),
            "nearest_heldout": copying.distance_summary(d_held),
            "_d": d_gen[:, 0], "_idx": idx[:, 0]}


def _membership(inputs: AuditInputs, p_gen: np.ndarray, n_mia: int, seed: int,
                white_box: Scorer | None) -> tuple[dict[str, Any], dict[str, Any]]:
    m = min(n_mia, len(inputs.train), len(inputs.heldout))
    mem = sample_indices(len(inputs.train), m, seed)
    non = sample_indices(len(inputs.heldout), m, seed + 1)
    xm, ym = inputs.train[mem], inputs.train_labels[mem]
    xn, yn = inputs.heldout[non], inputs.heldout_labels[non]
    # black-box: closer to some generated sample = more likely a member (Hilprecht et al.), in
    # pixels: the evaluator was trained on the members, so its features tell them apart alone
    dm = copying.nearest(pixels(to_float(xm)), p_gen)[0][:, 0]
    dn = copying.nearest(pixels(to_float(xn)), p_gen)[0][:, 0]
    black = copying.attack_report(-dm, -dn, seed=seed)
    white = {"available": False}
    if white_box is not None:
        white = {"available": True, **copying.attack_report(white_box(xm, ym), white_box(xn, yn),
                                                          seed=seed)}
    return black, white


def audit_images(inputs: AuditInputs, *, features: Features | None = None, cells: int = 20,
                 n_mia: int = 1000, seed: int = 0, white_box: Scorer | None = None,
                 white_box_name: str = "") -> dict[str, Any]:
    """The whole audit on tensors; `features` maps images to the evaluator's feature space
    (None: pixels only). Returns the report (closest pairs under "_pairs")."""
    features = features or pixels
    f_gen = features(inputs.generated)
    f_train = features(to_float(inputs.train))
    f_held = features(to_float(inputs.heldout))
    mem_f = _memorisation(f_gen, f_train, f_held)
    p_gen, p_train = pixels(inputs.generated), pixels(to_float(inputs.train))
    p_held = pixels(to_float(inputs.heldout))
    mem_p = _memorisation(p_gen, p_train, p_held)
    ct = copying.copying_test(p_train, p_held, p_gen, cells=cells, seed=seed)
    ct_f = copying.copying_test(f_train, f_held, f_gen, cells=cells, seed=seed)
    black, white = _membership(inputs, p_gen, n_mia, seed, white_box)
    if white_box is not None:
        white["score"] = white_box_name
    copying_flag = bool((ct.c_t < COPYING_CT and ct.effect < COPYING_EFFECT)
                        or mem_p["near_copy_fraction"] >= COPYING_FRACTION)
    order = np.argsort(mem_p["_d"])[:16]  # closest pairs first
    pairs = torch.stack([torch.stack([inputs.generated[i].float(),
                                      to_float(inputs.train[mem_p["_idx"][i]])]) for i in order])
    strip = lambda d: {k: v for k, v in d.items() if not k.startswith("_")}  # noqa: E731
    return {
        "copying": copying_flag, "rule": RULE,
        "c_t": ct.c_t, "c_t_effect": ct.effect, "c_t_cells": ct.cells[:5], "c_t_cells_used": ct.cells_used,
        "c_t_cells_total": ct.n_cells, "c_t_features": ct_f.c_t,
        "memorisation": {"features": strip(mem_f), "pixels": strip(mem_p)},
        "membership_black_box": {"attack": "distance to the nearest generated sample "
                                 "(Hilprecht et al. 2019), in pixels", **black},
        "membership_white_box": white,
        "n_generated": len(inputs.generated), "n_train": len(inputs.train),
        "n_heldout": len(inputs.heldout), "seed": seed,
        "_pairs": pairs.reshape(-1, *pairs.shape[2:]),  # [2k, C, H, W]: generated, nearest train
    }


# -- on a trained run ---------------------------------------------------------------------------
def load_audit_sets(data_spec: str, holdout_spec: str | None, *, image_size: int, channels: int,
                    resize_filter: str, limit: int | None = None):
    """(train ImageDataset, held-out ImageDataset); refuses in one line when there is no
    held-out data (no distinct `test` split and no --holdout)."""
    from pixelforge.data import load_images
    from pixelforge.metrics.splits import same_images

    kw = dict(image_size=image_size, channels=channels, resize_filter=resize_filter,
              download=False)
    train = load_images(data_spec, split="train", limit=limit, **kw)
    if holdout_spec:
        held = load_images(holdout_spec, split="test", **kw)
    else:
        try:
            held = load_images(data_spec, split="test", **kw)
        except UserError:
            held = None
        if held is not None and same_images(train, held):
            held = None
    if held is None:
        raise UserError(f"audit: {data_spec!r} has no held-out (test) split distinct from its "
                        "training images; pass --holdout PATH with images the model never saw")
    return train, held


def discriminator_scorer(ckpt: Path, num_classes: int) -> Scorer | None:
    """D's logit on (image, label), D rebuilt from the run's training state (None: no state)."""
    from pixelforge.checkpoint import STATE_FILE, load_state, read_json
    from pixelforge.models import MODELS
    from pixelforge.rundir import META_FILE

    if not (ckpt / STATE_FILE).is_file() or not (ckpt / META_FILE).is_file():
        return None
    m = read_json(ckpt / META_FILE).get("config", {}).get("model", {})
    D = MODELS.get(m["name"]).build(
        "discriminator", image_size=m["image_size"], channels=m["channels"],
        latent_dim=m["latent_dim"], **({"num_classes": num_classes} if num_classes else {}),
        **m.get("params", {}))
    sd = load_state(ckpt / STATE_FILE)["task"]["D"]
    try:
        D.load_state_dict(sd)
    except RuntimeError:  # a DP run's D: BatchNorm was replaced by GroupNorm
        from opacus.validators import ModuleValidator

        D = ModuleValidator.fix(D)
        D.load_state_dict(sd)
    D.eval()

    @torch.no_grad()
    def score(x: torch.Tensor, y: torch.Tensor) -> np.ndarray:
        out = [D(to_float(x[i:i + 256]), *((y[i:i + 256],) if num_classes else ()))
               for i in range(0, len(x), 256)]
        return torch.cat([o[0] if isinstance(o, tuple) else o for o in out]).float().flatten().numpy()

    return score


def elbo_scorer(model) -> Scorer:
    """The VAE's per-image ELBO (8 samples; Bernoulli models see fixed binarized images)."""
    from pixelforge.metrics.likelihood import binarize_fixed, elbo_and_iwae

    @torch.no_grad()
    def score(x: torch.Tensor, y: torch.Tensor) -> np.ndarray:
        xf = to_float(x)
        xf = binarize_fixed(xf, 0) if model.likelihood == "bernoulli" else xf
        cond = y if getattr(model, "num_classes", 0) else None
        out = [elbo_and_iwae(model, xf[i:i + 256], cond[i:i + 256] if cond is not None else None,
                             k=8, seed=i)[0] for i in range(0, len(xf), 256)]
        return torch.cat(out).numpy()

    return score


def audit_checkpoint(pipeline, ckpt: Path, run_dir: Path, *, data_spec: str,
                     holdout_spec: str | None, n: int, seed: int = 0, n_mia: int = 1000,
                     extractor_epochs: int = 2, resize_filter: str = "bicubic",
                     step: int | None = None, limit: int | None = None) -> dict[str, Any]:
    """Audit a checkpoint against its training data (the first `limit` images when the run
    trained on those: data.limit); writes audit.json, audit-closest.png and
    metrics.jsonl lines into `run_dir`; returns the report."""
    from pixelforge.checkpoint import privacy_record
    from pixelforge.metrics.extractor import get_extractor
    from pixelforge.pipelines.sampling import generate_images

    gen = pipeline.generator
    train, held = load_audit_sets(data_spec, holdout_spec, image_size=int(gen.image_size),
                                  channels=int(gen.channels), resize_filter=resize_filter,
                                  limit=limit)
    x_train, y_train = gather_uint8(train, torch.arange(len(train)))
    x_held, y_held = gather_uint8(held, torch.arange(len(held)))
    images = generate_images(gen, n, seed=seed, precision="fp32").clamp(-1, 1)
    extractor = get_extractor(train, heldout=held, epochs=extractor_epochs)
    k = int(getattr(gen, "num_classes", 0) or 0)
    white, white_name = None, ""  # e.g. MERF: no network that ever scored the data
    if pipeline.kind == "gan":
        white, white_name = discriminator_scorer(ckpt, k), "discriminator logit (LOGAN)"
    elif hasattr(gen, "encode"):
        white, white_name = elbo_scorer(gen), "ELBO (8 samples)"
    report = audit_images(AuditInputs(images, x_train, y_train, x_held, y_held),
                          features=extractor.features, n_mia=n_mia, seed=seed,
                          white_box=white, white_box_name=white_name)
    report.update(checkpoint=str(ckpt), data_spec=data_spec, heldout_spec=holdout_spec or
                  f"{data_spec} (test split)", extractor=extractor.label,
                  extractor_hash=extractor.id, privacy=privacy_record(ckpt), step=step)
    _write(report, run_dir, train, extractor, resize_filter)
    return report


def _write(report: dict[str, Any], run_dir: Path, train, extractor, resize_filter: str) -> None:
    from pixelforge import __version__
    from pixelforge.core.files import atomic_write_text
    from pixelforge.core.images import save_grid
    from pixelforge.metrics.report import _clean, append_metrics, utc_timestamp

    pairs = report.pop("_pairs")
    save_grid(pairs, run_dir / "audit-closest.png", nrow=8)  # generated | its nearest, in pairs
    clean = _clean(report)  # NaN (e.g. C_T with no usable cell) -> null
    atomic_write_text(run_dir / "audit.json", json.dumps(clean, indent=2) + "\n")
    protocol = {"extractor": extractor.label, "extractor_name": extractor.name,
                "extractor_hash": extractor.id, "n_real": report["n_train"],
                "n_generated": report["n_generated"], "image_size": int(train.image_size),
                "channels": int(train.channels), "resize_filter": resize_filter,
                "data_spec": report["data_spec"], "split": "train",
                "data_fingerprint": train.fingerprint, "dtype": "float32", "seed": report["seed"],
                "step": report["step"], "pixelforge_version": __version__,
                "timestamp": utc_timestamp(), "heldout": report["heldout_spec"],
                "audit_rule": RULE, "epsilon": (report["privacy"] or {}).get("epsilon")}
    values = {"audit_c_t": report["c_t"],
              "audit_near_copy_fraction": report["memorisation"]["pixels"]["near_copy_fraction"],
              "mia_auc_black_box": report["membership_black_box"]["auc"]}
    if report["membership_white_box"].get("available"):
        values["mia_auc_white_box"] = report["membership_white_box"]["auc"]
    for name, value in values.items():
        append_metrics(run_dir, {"metric": name, "value": value, **protocol})
