"""A Task owns the networks, optimizers and loss step of one kind of model; the Trainer owns the loop."""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from pixelforge.config import RunConfig
from pixelforge.models.base import Family, PixelforgeModule
from pixelforge.registry import Registry
from pixelforge.training.precision import Precision


class Task:
    """Interface every model kind implements; see GANTask for the reference implementation."""

    def __init__(self, cfg: RunConfig, family: Family, *, num_classes: int,
                 device: torch.device, precision: Precision, num_images: int = 0) -> None:
        self.cfg, self.family, self.num_classes = cfg, family, num_classes
        self.device, self.precision, self.num_images = device, precision, num_images

    def prepare(self, accelerator: Any) -> None:
        """Wrap networks/optimizers for the launch (DDP under `accelerate launch`)."""

    def train_step(self, real: torch.Tensor, labels: torch.Tensor, step: int) -> dict[str, torch.Tensor]:
        """One optimisation step on a batch; returns detached scalar losses for logging."""
        raise NotImplementedError

    def export_module(self) -> PixelforgeModule:
        """The shareable network (e.g. the EMA generator) saved as config.json + model.safetensors."""
        raise NotImplementedError

    def sample_images(self, n: int, seed: int) -> torch.Tensor:
        """Images in [-1, 1] for the progress grids, from fixed noise."""
        raise NotImplementedError

    def health_images(self, n: int, seed: int) -> torch.Tensor:
        """Fixed-seed samples of the network being trained, for the mode-collapse check."""
        return self.sample_images(n, seed)

    def state_dict(self) -> dict[str, Any]:
        raise NotImplementedError

    def load_state_dict(self, state: dict[str, Any]) -> None:
        raise NotImplementedError

    def optimizers(self) -> list[torch.optim.Optimizer]:
        """Every optimizer of the task (the health monitor lowers their learning rates)."""
        return []

    def scale_learning_rate(self, factor: float) -> None:
        for opt in self.optimizers():
            for group in opt.param_groups:
                group["lr"] = group["lr"] * factor

    def train_modules(self) -> dict[str, nn.Module]:
        """Unwrapped trainable networks (for parameter counts, FLOP estimates and tests)."""
        raise NotImplementedError


TASKS: Registry[type[Task]] = Registry("task")
