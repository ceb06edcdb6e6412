"""Block-artefact energy: how much 2^k-px periodic structure (period 2, 4, 8, 16, 32 px along x or
y) an output carries against its ground truth, the grid a strided network can print into a hole.

The luma (minus its mean over the window) is windowed by the hole mask (or the whole image), its
2-D power spectrum taken, and for each period p the power summed over the lattice of a p-px grid,
the bins (a W/p, b H/p) but DC, where any p-periodic pattern (blocks, stripes) puts all its
energy. The ratio of the output's sum to the truth's, taken at the worst period, is 1 for the
truth itself, > 1 for an output with a grid, < 1 for one smoother than the truth; the issue-20
target for inpainting is <= 1.2. (Long periods' lattices are dense at low frequencies, where
picture content dominates; a grid shows most at p = 2..8.)
"""

from __future__ import annotations

import torch

PERIODS = (2, 4, 8, 16, 32)
LUMA = (0.299, 0.587, 0.114)  # BT.601


def _luma(x: torch.Tensor) -> torch.Tensor:
    """[N, C, H, W] -> [N, H, W] in fp32 (BT.601 for 3 channels, the mean otherwise)."""
    x = x.float()
    if x.shape[1] == 3:
        return sum(c * x[:, i] for i, c in enumerate(LUMA))
    return x.mean(1)


def block_frequencies(h: int, w: int, period: int) -> torch.Tensor:
    """Boolean [H, W//2 + 1] selecting the rfft2 bins of a `period`-px grid's lattice:
    (a W/p, b H/p) for all a, b but (0, 0), nearest bins when p does not divide the size."""
    sel = torch.zeros(h, w // 2 + 1, dtype=torch.bool)
    cols = sorted({round(a * w / period) for a in range(period // 2 + 1)} & set(range(w // 2 + 1)))
    rows = sorted({round(b * h / period) % h for b in range(period)})
    sel[torch.tensor(rows)[:, None], torch.tensor(cols)[None, :]] = True
    sel[0, 0] = False
    return sel


def block_energy(x: torch.Tensor, mask: torch.Tensor | None = None,
                 periods: tuple[int, ...] = PERIODS) -> list[float]:
    """Summed power of images x [N, C, H, W] at each period's lattice frequencies, inside mask
    [N, 1, H, W] (1 = hole; None: the whole image). Periods longer than the image give 0."""
    y = _luma(x)
    m = torch.ones_like(y) if mask is None else mask.float()[:, 0]
    mean = (y * m).sum((-2, -1), keepdim=True) / m.sum((-2, -1), keepdim=True).clamp_min(1.0)
    power = torch.fft.rfft2((y - mean) * m).abs().pow(2)  # [N, H, W//2+1]
    h, w = y.shape[-2:]
    return [float(power[:, block_frequencies(h, w, p)].sum()) if p <= min(h, w) else 0.0
            for p in periods]


def block_artefact_ratio(pred: torch.Tensor | list[torch.Tensor],
                         truth: torch.Tensor | list[torch.Tensor],
                         mask: torch.Tensor | list[torch.Tensor] | None = None,
                         periods: tuple[int, ...] = PERIODS) -> float:
    """The largest, over the periods, of pred's block-frequency energy over truth's (images
    [N, C, H, W], or lists of them scored together: sums over the list are divided, so one flat
    truth cannot blow the ratio up)."""
    preds = pred if isinstance(pred, list) else [pred]
    truths = truth if isinstance(truth, list) else [truth]
    masks = mask if isinstance(mask, list) else [mask] * len(preds)
    num = [0.0] * len(periods)
    den = [0.0] * len(periods)
    for p, t, m in zip(preds, truths, masks, strict=True):
        num = [a + b for a, b in zip(num, block_energy(p, m, periods), strict=True)]
        den = [a + b for a, b in zip(den, block_energy(t, m, periods), strict=True)]
    ratios = [n / d if d > 0 else (1.0 if n <= 0 else float("inf"))
              for n, d in zip(num, den, strict=True) if n > 0 or d > 0]
    return max(ratios, default=1.0)
