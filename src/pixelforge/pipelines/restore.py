"""Restoration pipelines: denoise, upscale and inpaint one image of any size in bounded memory.

Images are [N, 3, H, W] in [-1, 1]. Each pipeline wraps one network (component "denoiser",
"upscaler" or "inpainter"), runs it under bf16 + channels_last where the CPU is fast at that
(`precision="auto"`), and `pixelforge.load(path)` returns it for checkpoints whose
model_index.json names the pipeline. Without a checkpoint, `load_restorer` uses the models shipped
in the package (pixelforge/assets/models/<name>/).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from pathlib import Path

import torch
import torch.nn.functional as F

from pixelforge.errors import UserError
from pixelforge.pipelines.base import Pipeline, register_pipeline
from pixelforge.pipelines.budget import (
    MIN_FILL_SIDE,
    cached_bytes_per_pixel,
    choose_tile,
    fit_scale,
)
from pixelforge.pipelines.sampling import inference
from pixelforge.pipelines.tiled import tiled_apply

SHIPPED_DIR = Path(__file__).resolve().parents[1] / "assets" / "models"
SHIPPED = {"denoise": "denoise-blind", "upscale-2": "upscale-x2", "upscale-4": "upscale-x4",
           "inpaint": "inpaint"}
# every model a pixelforge version may ship, name -> kind: the defaults above, the ones only
# chosen by name (`pixelforge upscale --model upscale-x4-photo`) and the colouriser (the default
# of `pixelforge colorize`, pipelines/colorize.py); a name ships when its folder holds a
# model_index.json
SHIPPED_MODELS = {**{name: key.partition("-")[0] for key, name in SHIPPED.items()},
                  "upscale-x4-photo": "upscale", "colorize": "colorize"}
INPAINT_MAX_SIDE = 768  # larger images: inpaint a crop around the mask and paste it back
INPAINT_MARGIN = 64  # context (px) kept around the mask's bounding box, at least


class RestorePipeline(Pipeline):
    """Shared plumbing: one network applied with autocast under `sampling.inference`."""

    @contextlib.contextmanager
    def _calling(self, precision: str) -> Iterator[Callable[..., torch.Tensor]]:
        """The main network wrapped to take CPU tensors on its device under the resolved
        precision (eval mode, no grad); the network's training mode is restored afterwards."""
        net = self.model
        with inference(net, precision) as (device, prec):
            def call(t: torch.Tensor, *rest: torch.Tensor) -> torch.Tensor:
                t = t.to(device, memory_format=prec.memory_format)
                with prec.autocast(device):
                    return net(t, *(r.to(device) for r in rest)).float()

            yield call

    def _tile_pad(self, tile_pad: int | None) -> int:
        """tile_pad as given; None: the context the network declares it needs (16 px if silent)."""
        return int(getattr(self.model, "tile_pad", 16)) if tile_pad is None else tile_pad

    def _auto_tile(self, call: Callable[..., torch.Tensor], x: torch.Tensor, tile: int | None,
                   pad: int, precision: str, max_memory: float | int | str | None) -> int:
        """`tile` as given; None: 0 (whole) when x fits the memory budget, else a tile that does."""
        if tile is not None:
            return tile
        per_px = cached_bytes_per_pixel(self, precision, call)
        h, w = x.shape[-2:]
        return choose_tile(h, w, bytes_per_px=per_px * x.shape[0],
                           scale=int(getattr(self.model, "scale", 1)), pad=pad,
                           max_memory=max_memory)


@register_pipeline("denoise")
class DenoisePipeline(RestorePipeline):
    """A denoiser (noisy image -> clean image, same size)."""

    main_component = "denoiser"

    def denoise(self, x: torch.Tensor, *, tile: int | None = None, tile_pad: int | None = None,
                precision: str = "auto", max_memory: float | int | str | None = None,
                ) -> torch.Tensor:
        """[N, 3, H, W] noisy -> [N, 3, H, W] denoised, clamped to [-1, 1]. tile None: tiled only
        when the whole picture would not fit `max_memory` (pipelines/budget.py); 0: never."""
        tile_pad = self._tile_pad(tile_pad)
        with self._calling(precision) as call:
            tile = self._auto_tile(call, x, tile, tile_pad, precision, max_memory)
            return tiled_apply(call, x, scale=1, tile=tile, pad=tile_pad).clamp_(-1, 1)

    __call__ = denoise


@register_pipeline("upscale")
class UpscalePipeline(RestorePipeline):
    """A super-resolution network (LR -> HR, `scale` times larger)."""

    main_component = "upscaler"

    @property
    def scale(self) -> int:
        return int(self.model.scale)

    def upscale(self, x: torch.Tensor, *, tile: int | None = None, tile_pad: int | None = None,
                precision: str = "auto", max_memory: float | int | str | None = None,
                ) -> torch.Tensor:
        """[N, 3, h, w] -> [N, 3, scale*h, scale*w], clamped to [-1, 1]; tiles bound the memory
        (tile None: picked from `max_memory`, pipelines/budget.py; 0: the whole picture at once)."""
        tile_pad = self._tile_pad(tile_pad)
        with self._calling(precision) as call:
            tile = self._auto_tile(call, x, tile, tile_pad, precision, max_memory)
            out = tiled_apply(call, x, scale=self.scale, tile=tile, pad=tile_pad)
        return out.clamp_(-1, 1)

    def upscale_alpha(self, alpha: torch.Tensor) -> torch.Tensor:
        """Alpha [N, 1, h, w] upscaled on its own with bicubic (never through the network)."""
        h, w = alpha.shape[-2:]
        up = F.interpolate(alpha.float(), size=(h * self.scale, w * self.scale), mode="bicubic",
                           align_corners=False)
        return up.clamp_(-1, 1)

    __call__ = upscale


def mask_crop_box(mask: torch.Tensor, max_side: int = INPAINT_MAX_SIDE,
                  margin: int = INPAINT_MARGIN) -> tuple[int, int, int, int] | None:
    """(y0, y1, x0, x1) of the region to inpaint for a large image, or None for the whole image.

    The box is the mask's bounding box grown by max(margin, half its size) on each side, clipped.
    """
    h, w = mask.shape[-2:]
    if max(h, w) <= max_side:
        return None
    ys, xs = torch.nonzero(mask.reshape(h, w) > 0.5, as_tuple=True)
    if ys.numel() == 0:
        return None
    y0, y1, x0, x1 = int(ys.min()), int(ys.max()) + 1, int(xs.min()), int(xs.max()) + 1
    gy, gx = max(margin, (y1 - y0) // 2), max(margin, (x1 - x0) // 2)
    box = (max(0, y0 - gy), min(h, y1 + gy), max(0, x0 - gx), min(w, x1 + gx))
    if (box[1] - box[0]) * (box[3] - box[2]) >= 0.8 * h * w:
        return None
    return box


@register_pipeline("inpaint")
class InpaintPipeline(RestorePipeline):
    """An inpainting network (image + mask, 1 = hole -> image with the hole filled)."""

    main_component = "inpainter"

    def inpaint(self, x: torch.Tensor, mask: torch.Tensor, *, precision: str = "auto",
                max_side: int = INPAINT_MAX_SIDE,
                max_memory: float | int | str | None = None) -> torch.Tensor:
        """x [N, 3, H, W], mask [N, 1, H, W] (1 = hole) -> filled image; known pixels unchanged.

        Images larger than `max_side` are inpainted in a crop around the mask, pasted back. The
        network cannot be tiled (the fill needs the whole hole), so a crop too large for
        `max_memory` (pipelines/budget.py) is filled at the resolution that fits, and the fill is
        upscaled (bicubic) into the hole; the known pixels stay at full resolution.
        """
        if mask.shape[-2:] != x.shape[-2:]:
            raise UserError(f"mask is {mask.shape[-1]}x{mask.shape[-2]} but the image is "
                            f"{x.shape[-1]}x{x.shape[-2]}")
        mask = (mask > 0.5).float()
        out = x.clone().float()
        with self._calling(precision) as call:
            for i in range(x.shape[0]):
                box = mask_crop_box(mask[i], max_side)
                y0, y1, x0, x1 = box or (0, x.shape[-2], 0, x.shape[-1])
                xi, mi = x[i:i + 1, :, y0:y1, x0:x1], mask[i:i + 1, :, y0:y1, x0:x1]
                factor = 1.0  # a crop within the fill's floor is never shrunk: no probe needed
                if min(y1 - y0, x1 - x0) > MIN_FILL_SIDE:
                    per_px = cached_bytes_per_pixel(
                        self, f"inpaint-{precision}",
                        lambda t: call(t, torch.zeros_like(t[:, :1])))
                    factor = fit_scale(y1 - y0, x1 - x0, bytes_per_px=per_px,
                                       out_pixels=x.shape[-2] * x.shape[-1],
                                       max_memory=max_memory)
                filled = (call(xi, mi) if factor >= 1 else _fill_smaller(call, xi, mi, factor))
                filled = filled.cpu().clamp_(-1, 1)
                out[i:i + 1, :, y0:y1, x0:x1] = xi * (1 - mi) + filled * mi
        return out

    __call__ = inpaint


def _fill_smaller(call: Callable[..., torch.Tensor], x: torch.Tensor, mask: torch.Tensor,
                  factor: float) -> torch.Tensor:
    """The network's fill of x [1, 3, h, w] computed at `factor` of its size (area-averaged; a
    pixel touched by the hole counts as hole), upscaled back to h x w (bicubic)."""
    h, w = x.shape[-2:]
    size = (max(8, round(h * factor)), max(8, round(w * factor)))
    small_mask = (F.adaptive_max_pool2d(mask, size) > 0.5).float()
    small = F.interpolate(x * (1 - mask), size=size, mode="area")
    known = F.interpolate(1 - mask, size=size, mode="area").clamp_min(1e-6)
    small = (small / known) * (1 - small_mask)  # the mean of the known pixels only
    filled = call(small, small_mask).float().cpu()
    return F.interpolate(filled, size=(h, w), mode="bicubic", align_corners=False)


def pipeline_of_kind(kind: str) -> type[RestorePipeline]:
    """The restoration pipeline class model kind `kind` declares (pixelforge.kinds)."""
    from pixelforge.kinds import kind_of
    from pixelforge.pipelines.base import PIPELINES

    declared = kind_of(kind).pipeline
    cls = PIPELINES.get(declared) if declared else None
    if cls is None or not issubclass(cls, RestorePipeline):
        raise UserError(f"models of kind {kind!r} do not restore images")
    return cls


def shipped_path(kind: str, scale: int | None = None) -> Path:
    key = f"{kind}-{scale}" if kind == "upscale" else kind
    name = SHIPPED.get(key)
    if name is None:
        raise UserError(f"no shipped {kind} model for scale {scale}; shipped scales: 2, 4")
    return SHIPPED_DIR / name


def shipped_models(kind: str | None = None) -> dict[str, Path]:
    """The shipped models installed in this pixelforge (of `kind`, if given), name -> folder."""
    return {name: SHIPPED_DIR / name for name, k in SHIPPED_MODELS.items()
            if (kind is None or k == kind) and (SHIPPED_DIR / name / "model_index.json").is_file()}


def shipped_model(kind: str, name: str) -> Path:
    """The folder of the shipped `kind` model called `name` (UserError naming the shipped ones
    if it is not one, or not shipped in this version)."""
    have = ", ".join(shipped_models(kind)) or "none"
    if SHIPPED_MODELS.get(name) == kind and name not in shipped_models(kind):
        raise UserError(f"model={name}: not shipped in this version of pixelforge (shipped "
                        f"{kind} models: {have})", field="model")
    if name not in shipped_models(kind):
        raise UserError(f"model={name}: no such run or checkpoint folder, nor a shipped {kind} "
                        f"model ({have})", field="model")
    return SHIPPED_DIR / name


def load_restorer(kind: str, model: str | Path | None = None, *,
                  scale: int | None = None) -> RestorePipeline:
    """The `kind` pipeline from a run/checkpoint folder or a shipped model's name (e.g.
    "upscale-x4-photo"), or the shipped default of the kind (and scale) when model is None."""
    from pixelforge.pipelines.base import load_pipeline as load

    cls = pipeline_of_kind(kind)
    if model is not None and not Path(model).exists() and "/" not in str(model):
        model = shipped_model(kind, str(model))
    if model is None:
        path = shipped_path(kind, scale)
        if not (path / "model_index.json").is_file():
            raise UserError(f"no shipped {kind} model is installed in this pixelforge "
                            f"({path.name}); train one and pass model=RUN", field="model")
        model = path
    loaded = load(model)
    if isinstance(loaded, cls):
        pipe = loaded
    elif getattr(loaded, "role", None) == cls.main_component:  # a bare network folder
        pipe = cls({cls.main_component: loaded})
    elif cls.main_component in getattr(loaded, "components", {}):
        pipe = cls({cls.main_component: loaded.components[cls.main_component]},
                   index=getattr(loaded, "index", None))
    else:
        found = getattr(loaded, "name", None) or type(loaded).__name__
        raise UserError(f"{model} holds a {found!r} model, not a {kind} model")
    if kind == "upscale" and scale is not None and pipe.scale != scale:
        raise UserError(f"scale={scale}: {model} upscales x{pipe.scale} only", field="scale")
    return pipe
