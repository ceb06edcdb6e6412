"""Colourfulness (Hasler & Suesstrunk 2003) and the luma exactness of a colouriser's outputs.

Colourfulness M = sqrt(std_rg^2 + std_yb^2) + 0.3 sqrt(mean_rg^2 + mean_yb^2), with rg = R - G
and yb = (R + G) / 2 - B on 0-255 RGB, statistics over the pixels of one picture (population
std); a gray picture scores 0, the paper's "not colourful" ends near 15 and "extremely
colourful" starts near 109. A colouriser is judged by its outputs' mean M against the real
photos' (issue 20: within 20%).

Luma exactness compares the 8-bit BT.601 luma of the 8-bit outputs (core.chroma.luma_of) with the
8-bit gray inputs: the fraction of pixels equal, and the largest difference in levels (0 is a
luma PSNR of infinity).
"""

from __future__ import annotations

import torch

from pixelforge.core.chroma import luma_of
from pixelforge.core.images import to_uint8


def colourfulness(images: torch.Tensor) -> torch.Tensor:
    """[N, 3, H, W] RGB in [-1, 1] (1 channel: gray, M = 0) -> M per picture, [N] float64."""
    if images.shape[1] == 1:
        return torch.zeros(len(images), dtype=torch.float64)
    x = (images.double().clamp(-1, 1) + 1) * 127.5  # [N, 3, H, W] on 0-255
    r, g, b = x[:, 0].flatten(1), x[:, 1].flatten(1), x[:, 2].flatten(1)  # [N, H * W]
    rg, yb = r - g, (r + g) / 2 - b
    spread = (rg.var(dim=1, unbiased=False) + yb.var(dim=1, unbiased=False)).sqrt()
    mean = (rg.mean(dim=1) ** 2 + yb.mean(dim=1) ** 2).sqrt()
    return spread + 0.3 * mean


def mean_colourfulness(images: torch.Tensor) -> float:
    """The mean colourfulness of a set of pictures."""
    return float(colourfulness(images).mean())


def luma_exactness(gray: torch.Tensor, outputs: torch.Tensor) -> dict[str, float]:
    """gray inputs [N, 1, H, W] and colourised outputs [N, 3, H, W], both in [-1, 1] ->
    {"luma_exact": fraction of pixels whose 8-bit luma is the input's, "luma_max_error": the
    largest difference in 8-bit levels}."""
    want = to_uint8(gray[:, 0]).numpy().astype("int64")  # [N, H, W]
    got = luma_of(to_uint8(outputs).permute(0, 2, 3, 1).numpy())  # [N, H, W]
    diff = abs(got - want)
    return {"luma_exact": float((diff == 0).mean()), "luma_max_error": float(diff.max())}


def colourisation_scores(gray: torch.Tensor, outputs: torch.Tensor,
                         real: torch.Tensor) -> dict[str, float]:
    """Colourfulness of outputs and of the real photos, their ratio, and luma exactness."""
    made, truth = mean_colourfulness(outputs), mean_colourfulness(real)
    return {"colourfulness": made, "colourfulness_real": truth,
            "colourfulness_ratio": made / truth if truth > 0 else float("nan"),
            **luma_exactness(gray, outputs)}
