"""`pixelforge eval` for translation checkpoints (pix2pix, CycleGAN): every direction the
checkpoint has, on the test split of the data it was trained on.

Per direction X -> Y: FD and KID of the translated test X against the real test Y in the cnn
features of an extractor trained on the train split of Y; the same for X untranslated (the
"do nothing" baseline); L1/PSNR/SSIM against the true partner when the test sets are paired
(aligned rows, matched file names or A|B images); with both generators, cycle PSNR of
X -> Y -> X. Colourisation runs (pix2pix gray pairs, and the chroma colouriser of kind
colorize) also get colourfulness against the real photos' and luma exactness
(metrics/colourfulness.py). Protocol in metrics/translation.py; one metrics.jsonl record per score.
"""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import Any

import torch

from pixelforge.core.images import to_gray
from pixelforge.errors import UserError
from pixelforge.metrics.colourfulness import colourisation_scores
from pixelforge.metrics.kinds import EvalRequest
from pixelforge.metrics.report import append_metrics
from pixelforge.metrics.translation import cycle_psnr, domain_scores, paired_scores, protocol

OTHER = {"a2b": "b2a", "b2a": "a2b"}


def _run_config(checkpoint: Path) -> dict[str, Any]:
    from pixelforge.checkpoint import read_json
    from pixelforge.rundir import META_FILE

    meta = checkpoint / META_FILE
    return (read_json(meta).get("config") or {}) if meta.is_file() else {}


def _images(ds, n: int | None) -> torch.Tensor:
    """The first n images of an ImageDataset, float [n, C, H, W] in [-1, 1]."""
    from pixelforge.pipelines.autoencode import dataset_arrays

    return dataset_arrays(ds, n)[0]


def gray_pairs(run_cfg: dict[str, Any]) -> bool:
    """Colourisation runs: A is the BT.601 luma of the B photos, made on the fly."""
    return (run_cfg.get("translation") or {}).get("pairs") == "gray"


def load_domains(request: EvalRequest, run_cfg: dict[str, Any], split: str, *,
                 image_size: int, channels: int) -> tuple[Any, Any, bool]:
    """(A, B, paired) ImageDatasets of `split`: data.path / data.path_b of the run (`--data`
    replaces data.path), or side-by-side A|B images when there is no path_b. For colourisation
    runs A is None (the gray versions of B, made by the caller)."""
    from pixelforge.data.paired import load_paired
    from pixelforge.data.spec import load_images

    data = dict(run_cfg.get("data") or {})
    if request.data and request.data != "default":
        data["path"] = request.data
    if not data.get("path") or data["path"] == "default":
        raise UserError("translation eval needs the data: pass data= (set A, or A|B images)",
                        field="data")
    opts = dict(image_size=image_size, channels=channels, split=split,
                resize_filter=request.resize_filter)
    if gray_pairs(run_cfg):
        return None, load_images(data["path"], **opts), True
    if data.get("classes") or data.get("classes_b"):  # e.g. CIFAR-10 cats <-> dogs: unpaired
        from pixelforge.data.translation import keep_classes

        return (keep_classes(load_images(data["path"], **opts), data.get("classes"),
                             "data.classes"),
                keep_classes(load_images(data.get("path_b") or data["path"], **opts),
                             data.get("classes_b"), "data.classes_b"), False)
    cfg = SimpleNamespace(
        model=SimpleNamespace(image_size=image_size, channels=channels),
        data=SimpleNamespace(path=data["path"], path_b=data.get("path_b"), split=split,
                             limit=None, resize_filter=request.resize_filter))
    try:
        a, b = load_paired(cfg)
        return a, b, True
    except UserError as exc:  # two sets that are not row- or name-aligned: unpaired
        if "must match row by row" not in str(exc) and "no image named like" not in str(exc):
            raise
    return load_images(data["path"], **opts), load_images(data["path_b"], **opts), False


def evaluate_translation(request: EvalRequest) -> dict[str, Any]:
    """Scores of each direction (keys like `b2a_fd`, `b2a_l1`, `a2b_cycle_psnr`)."""
    from pixelforge.metrics.extractor import get_extractor

    pipe = request.pipeline
    directions = list(getattr(pipe, "directions", []))
    if not directions:
        raise UserError(f"{request.checkpoint}: no generator_ab / generator_ba to evaluate")
    run_cfg = _run_config(request.checkpoint)
    net = pipe.generator(directions[0])
    size = int((run_cfg.get("model") or {}).get("image_size") or 0)
    if not size:
        raise UserError(f"{request.checkpoint}: the run's model.image_size is unknown "
                        "(its meta.json has no config)")
    colourising = gray_pairs(run_cfg)
    channels = 3 if colourising else int(net.out_channels)  # a chroma colouriser outputs 2
    test_a, test_b, paired = load_domains(request, run_cfg, "test", image_size=size,
                                          channels=channels)
    train_a, train_b, _ = load_domains(request, run_cfg, "train", image_size=size,
                                       channels=channels)
    n = request.cfg.n_real
    test_b_images = _images(test_b, n)
    test_a_images = to_gray(test_b_images) if test_a is None else _images(test_a, n)
    domains = {"a": (test_a_images, train_a), "b": (test_b_images, train_b)}
    scores: dict[str, Any] = {"paired": paired}
    for d in directions:
        src, dst = d[0], d[2]
        x, (y, y_train) = domains[src][0], domains[dst]
        if y_train is None:
            raise UserError(f"{request.checkpoint}: cannot score {d}: colourisation runs "
                            "translate gray (A) to colour (B) only")
        fake = pipe.translate(x, direction=d, precision="fp32")
        extractor = get_extractor(y_train, epochs=request.cfg.extractor_epochs,
                                  seed=request.cfg.seed)
        real_f = extractor.features(y)
        values = {f"{d}_{k}": v for k, v in domain_scores(extractor.features(fake), real_f,
                                                          seed=request.cfg.seed).items()}
        untranslated = x if x.shape[1] == y.shape[1] else x.expand(-1, y.shape[1], -1, -1)
        values[f"{d}_fd_untranslated"] = domain_scores(extractor.features(untranslated), real_f,
                                                       seed=request.cfg.seed)["fd"]
        if paired:
            values.update({f"{d}_{k}": v for k, v in paired_scores(fake, y[:len(fake)]).items()})
        if colourising:
            values.update({f"{d}_{k}": v for k, v in colourisation_scores(x, fake, y).items()})
        if OTHER[d] in directions:
            back = pipe.translate(fake, direction=OTHER[d], precision="fp32")
            values[f"{d}_cycle_psnr"] = cycle_psnr(x, back)
        proto = protocol(direction=d, data=str(request.data), n=len(x), extractor=extractor.id,
                         seed=request.cfg.seed)
        for key, value in values.items():
            append_metrics(request.run_dir, {"metric": key, "value": value, "step": request.step,
                                             **proto})
        scores.update(values)
    scores["real_data"] = f"test split, {'paired' if paired else 'unpaired'}"
    return scores
