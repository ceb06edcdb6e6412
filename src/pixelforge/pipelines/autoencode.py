"""VAE inference (Kingma & Welling 2014): encode, decode, reconstruct, walk between real images."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from pixelforge.core.images import to_float
from pixelforge.errors import UserError
from pixelforge.pipelines.base import register_pipeline
from pixelforge.pipelines.generate import GeneratePipeline
from pixelforge.pipelines.sampling import inference, map_batches


def require_autoencoder(model) -> None:
    """UserError unless the model has an encoder and a decoder (a VAE-family checkpoint)."""
    if not (callable(getattr(model, "encode", None)) and callable(getattr(model, "decode", None))):
        raise UserError(f"model {getattr(model, 'family', '?')!r} has no encoder or decoder "
                        "(encode, decode, reconstruct need one); use a VAE-family checkpoint "
                        "(vae, beta-vae, cvae, vae-gan)")


def dataset_arrays(ds, n: int | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """The first n images of an ImageDataset as float [N, C, H, W] in [-1, 1] and labels [N]."""
    n = len(ds) if n is None else min(n, len(ds))
    pre = ds.tensors()
    if pre is not None:
        return to_float(pre[0][:n]), pre[1][:n].clone()
    items = [ds[i] for i in range(n)]
    return torch.stack([im for im, _ in items]), torch.tensor([lab for _, lab in items])


def _cond(model, labels: torch.Tensor | None) -> torch.Tensor | None:
    if not getattr(model, "num_classes", 0) or labels is None:
        return None
    if bool((labels < 0).any()):
        raise UserError(f"{model.family} is conditional: the images need class labels")
    return labels


def encode_images(model, images: torch.Tensor, labels: torch.Tensor | None = None,
                  batch_size: int = 256) -> tuple[torch.Tensor, torch.Tensor]:
    """Images [N, C, H, W] in [-1, 1] -> posterior (mu, logvar), each [N, latent_dim] (fp32)."""
    require_autoencoder(model)
    labels = _cond(model, labels)
    with inference(model, "fp32", channels_last="off") as (device, prec):
        parts = list(map_batches(model.encode, images, labels, batch_size=batch_size,
                                 device=device, precision=prec))
    return torch.cat([m for m, _ in parts]), torch.cat([v for _, v in parts])


def decode_latents(model, z: torch.Tensor, labels: torch.Tensor | None = None,
                   batch_size: int = 256) -> torch.Tensor:
    """Latents [N, latent_dim] -> images [N, C, H, W] in [-1, 1] (fp32)."""
    require_autoencoder(model)
    if z.ndim != 2 or z.shape[1] != model.latent_dim:
        raise UserError(f"codes have shape {tuple(z.shape)}; "
                        f"the model takes [N, {model.latent_dim}]")
    labels = _cond(model, labels)
    with inference(model, "fp32", channels_last="off") as (device, prec):
        outs = list(map_batches(model.decode, z.float(), labels, batch_size=batch_size,
                                device=device, precision=prec))
    return torch.cat(outs).clamp_(-1, 1)


def reconstruct(model, images: torch.Tensor, labels: torch.Tensor | None = None,
                batch_size: int = 256) -> torch.Tensor:
    """Decode each image's posterior mean: [N, C, H, W] -> [N, C, H, W] in [-1, 1]."""
    mu, _ = encode_images(model, images, labels, batch_size)
    return decode_latents(model, mu, labels, batch_size)


def interpolate_images(model, a: torch.Tensor, b: torch.Tensor, frames: int = 48,
                       labels: tuple[int, int] | None = None) -> torch.Tensor:
    """Walk linearly between the posterior means of images a, b ([C, H, W]): [T, C, H, W]."""
    if frames < 2:
        raise UserError(f"frames={frames}: must be at least 2", field="frames")
    y = torch.tensor(labels) if labels is not None else None
    mu, _ = encode_images(model, torch.stack([a, b]), y)  # [2, Z]
    t = torch.linspace(0, 1, frames)[:, None]  # [T, 1]
    z = (1 - t) * mu[0] + t * mu[1]  # [T, Z]
    yt = None
    if y is not None:  # a conditional model switches class half way
        yt = torch.where(t[:, 0] < 0.5, y[0], y[1])
    return decode_latents(model, z, yt)


def load_image_file(path: str | Path, image_size: int, channels: int) -> torch.Tensor:
    """One image file -> float [C, S, S] in [-1, 1], prepared like the training data."""
    from pixelforge.data.decode import decode_image, failure_reason
    from pixelforge.data.options import LoadOptions

    p = Path(path)
    if not p.is_file():
        raise UserError(f"image not found: {p}")
    try:
        img = decode_image(p, LoadOptions(image_size=image_size, channels=channels))
    except Exception as exc:  # PIL raises many kinds
        raise UserError(f"cannot read image {p}: {failure_reason(exc)}") from None
    return to_float(img)  # uint8 [C, S, S] -> float [C, S, S]


def save_codes(path: str | Path, mu: torch.Tensor, logvar: torch.Tensor, labels: torch.Tensor,
               **meta: str) -> Path:
    """Write codes as .npz: mu, logvar (float32 [N, Z]), z (= mu), labels (int64 [N]) and meta."""
    path = Path(path)
    if path.suffix != ".npz":
        raise UserError(f"path={str(path)!r}: codes are written as .npz", field="path")
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez(path, mu=mu.numpy(), logvar=logvar.numpy(), z=mu.numpy(), labels=labels.numpy(),
             **{k: np.array(v) for k, v in meta.items()})
    return path


def load_codes(path: str | Path, key: str = "z") -> tuple[torch.Tensor, torch.Tensor | None]:
    """Read codes [N, Z] (and labels when stored) from a .npz (save_codes' or any other)."""
    p = Path(path)
    if not p.is_file():
        raise UserError(f"codes file not found: {p}")
    try:
        data = np.load(p, allow_pickle=False)
    except Exception as exc:
        raise UserError(f"{p} is not a readable .npz file ({exc})") from None
    if not hasattr(data, "files"):
        raise UserError(f"{p} is a single .npy array, not an .npz archive of named arrays")
    if key not in data:
        raise UserError(f"{p} has no array {key!r}; it holds: {', '.join(data.files)}")
    z = _numeric(data, key, p, np.float32)
    if z.ndim != 2 or not np.isfinite(z).all():
        raise UserError(f"{p}: array {key!r} must be a finite float [N, latent_dim] array "
                        f"(got shape {z.shape}{'' if np.isfinite(z).all() else ' with NaN/inf'})")
    labels = None
    if "labels" in data.files:
        lab = _numeric(data, "labels", p, np.int64)
        if lab.shape != (len(z),):
            raise UserError(f"{p}: 'labels' has shape {lab.shape}; expected ({len(z)},)")
        labels = torch.from_numpy(lab)
    return torch.from_numpy(z), labels


def _numeric(data, key: str, path: Path, dtype) -> np.ndarray:
    """One array of an .npz as `dtype`; object arrays (pickles) and non-numbers are refused."""
    try:
        arr = data[key]
    except ValueError:  # object arrays need allow_pickle, which stays off
        raise UserError(f"{path}: array {key!r} holds Python objects; codes must be numbers") from None
    if arr.dtype.kind not in "biuf":
        raise UserError(f"{path}: array {key!r} has dtype {arr.dtype}; codes must be numbers")
    return np.ascontiguousarray(arr, dtype=dtype)


@register_pipeline("autoencode")
class AutoencodePipeline(GeneratePipeline):
    """A VAE-family network: generate from the prior, plus encode, decode and reconstruct."""

    main_component = "generator"  # the VAE (its role in the family, as the trainer names it)

    def __init__(self, components, *, index=None) -> None:
        super().__init__(components, index=index)
        require_autoencoder(self.model)

    def encode(self, images: torch.Tensor, labels: torch.Tensor | None = None, *,
               batch_size: int = 256) -> tuple[torch.Tensor, torch.Tensor]:
        """Images [N, C, H, W] in [-1, 1] -> posterior (mu, logvar), each [N, latent_dim]."""
        return encode_images(self.model, images, labels, batch_size)

    def decode(self, z: torch.Tensor, labels: torch.Tensor | None = None, *,
               batch_size: int = 256) -> torch.Tensor:
        """Latents [N, latent_dim] -> images [N, C, H, W] in [-1, 1]; labels are dropped for
        unconditional models."""
        return decode_latents(self.model, z, labels if self.num_classes else None, batch_size)

    def reconstruct(self, images: torch.Tensor, labels: torch.Tensor | None = None, *,
                    batch_size: int = 256) -> torch.Tensor:
        """Each image decoded from its posterior mean: [N, C, H, W] -> [N, C, H, W]."""
        return reconstruct(self.model, images, labels, batch_size)

    def interpolate_images(self, a: torch.Tensor, b: torch.Tensor, frames: int = 48,
                           labels: tuple[int, int] | None = None) -> torch.Tensor:
        """A walk [frames, C, H, W] between two images' ([C, H, W]) posterior means (a
        conditional model switches from labels[0] to labels[1] half way)."""
        return interpolate_images(self.model, a, b, frames, labels=labels)

    def load_image(self, path: str | Path) -> torch.Tensor:
        """An image file prepared like the training data: float [C, S, S] in [-1, 1]."""
        return load_image_file(path, self.image_size, self.channels)
