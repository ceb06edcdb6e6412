"""History of generated images for the discriminator (Shrivastava et al., 2017; CycleGAN's pool).

Until the pool holds `size` images every fake is stored and passed through. Once full, each fake
is, with probability `p` (0.5), swapped for a stored one chosen uniformly (the new fake takes its
place) and the stored one goes to the discriminator; otherwise the fake passes through unchanged.
The draws come from the pool's own seeded CPU generator, and state_dict() holds the stored images
and that generator's state, so a resumed run draws exactly what the uninterrupted one would.
"""

from __future__ import annotations

from typing import Any

import torch


class ImagePool:
    """A pool of up to `size` past fakes; size 0 turns it off (query returns its input)."""

    def __init__(self, size: int = 50, *, p: float = 0.5, seed: int = 0) -> None:
        if size < 0:
            raise ValueError(f"image pool size must be >= 0, got {size}")
        if not 0 <= p <= 1:
            raise ValueError(f"image pool p must be in [0, 1], got {p}")
        self.size, self.p = int(size), float(p)
        self.rng = torch.Generator().manual_seed(int(seed))
        self.images: list[torch.Tensor] = []  # each [C, H, W], detached

    def __len__(self) -> int:
        return len(self.images)

    @torch.no_grad()
    def query(self, fakes: torch.Tensor) -> torch.Tensor:
        """fakes [N, C, H, W] -> [N, C, H, W] to show the discriminator (detached; same device)."""
        if self.size == 0:
            return fakes.detach()
        out = []
        for fake in fakes.detach():
            if len(self.images) < self.size:
                self.images.append(fake.clone())
                out.append(fake)
            elif float(torch.rand((), generator=self.rng)) < self.p:
                i = int(torch.randint(self.size, (), generator=self.rng))
                out.append(self.images[i].to(fake.device))
                self.images[i] = fake.clone()
            else:
                out.append(fake)
        return torch.stack(out)  # [N, C, H, W]

    def state_dict(self) -> dict[str, Any]:
        """Stored images [n, C, H, W] (n = 0: an empty tensor), RNG state and settings."""
        images = torch.stack(self.images) if self.images else torch.zeros(0)
        return {"size": self.size, "p": self.p, "count": len(self.images), "images": images,
                "rng": self.rng.get_state()}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        if int(state["size"]) != self.size:
            raise ValueError(f"image pool: saved size {state['size']} != configured {self.size}")
        count = int(state["count"])
        images = state["images"]
        self.p = float(state["p"])
        self.images = [images[i].clone() for i in range(count)]
        self.rng.set_state(state["rng"].to(torch.uint8).cpu())
