"""A Task owns the networks, optimizers and loss step of one kind of model; the Trainer owns the
loop. A new model kind is one Task subclass registered under its kind (docs/architecture.md)."""

from __future__ import annotations

from typing import Any, ClassVar

import torch

from pixelforge.config import RunConfig
from pixelforge.core.precision import Precision
from pixelforge.models.base import Family, PixelforgeModule
from pixelforge.registry import Registry


class Task:
    """Interface every model kind implements; GANTask is the reference implementation.

    Class attributes: `data_kind` names the dataset builder the task trains on
    (pixelforge.data.builders.DATA_BUILDERS: "images", "paired", "unpaired", "degraded"), which
    fixes the keys of the batches `train_step` gets; `pipeline` is the inference pipeline written
    into the checkpoint's model_index.json; `health_loss_key` the loss the health monitor watches
    for explosions (None: only NaN/inf checks)."""

    data_kind: ClassVar[str] = "images"
    pipeline: ClassVar[str] = "generate"
    health_loss_key: ClassVar[str | None] = None

    def __init__(self, cfg: RunConfig, family: Family, *, num_classes: int,
                 device: torch.device, precision: Precision, num_images: int = 0) -> None:
        self.cfg, self.family, self.num_classes = cfg, family, num_classes
        self.device, self.precision, self.num_images = device, precision, num_images
        self.accelerator: Any = None
        self.rank, self.world = 0, 1

    def prepare(self, accelerator: Any) -> None:
        """Wrap networks/optimizers for the launch (DDP under `accelerate launch`); subclasses
        call this first, then accelerator.prepare their modules."""
        self.accelerator = accelerator
        self.rank, self.world = accelerator.process_index, accelerator.num_processes

    def backward(self, loss: torch.Tensor) -> None:
        if self.accelerator is not None:
            self.accelerator.backward(loss)
        else:
            loss.backward()

    def train_step(self, batch: dict[str, torch.Tensor], step: int) -> dict[str, torch.Tensor]:
        """One optimisation step on a batch of named tensors; returns detached scalar losses."""
        raise NotImplementedError

    def components(self) -> dict[str, PixelforgeModule]:
        """The shareable networks by component name (e.g. {"generator": EMA G}), as CPU copies in
        eval mode; each is saved as <name>/config.json + <name>/model.safetensors."""
        raise NotImplementedError

    def preview(self, n: int, seed: int) -> dict[str, torch.Tensor]:
        """Named image grids in [-1, 1] for the progress PNGs and TensorBoard; "samples" is the
        main one (samples-step-N.png is written as step-N.png)."""
        raise NotImplementedError

    def health_images(self, n: int, seed: int) -> torch.Tensor | None:
        """Fixed-seed outputs of the network being trained, for the mode-collapse check (None: no
        such check for this kind)."""
        return None

    def state_dict(self) -> dict[str, Any]:
        raise NotImplementedError

    def load_state_dict(self, state: dict[str, Any]) -> None:
        raise NotImplementedError

    def init_from(self, source: str) -> str:
        """Load the networks' weights from a run, checkpoint or shipped model (train.init);
        returns a description of the source. Kinds that support fine-tuning override this."""
        from pixelforge.errors import UserError

        raise UserError(f"train.init: models of kind {self.family.kind!r} cannot be initialised "
                        "from another model yet")

    def optimizers(self) -> list[torch.optim.Optimizer]:
        """Every optimizer of the task (a health rollback lowers their learning rates)."""
        return []

    def scale_learning_rate(self, factor: float) -> None:
        for opt in self.optimizers():
            for group in opt.param_groups:
                group["lr"] = group["lr"] * factor


def cpu_copy(module: torch.nn.Module) -> Any:
    """A detached CPU copy of a network in NCHW layout and eval mode, for export."""
    import copy

    out = copy.deepcopy(module).to("cpu", memory_format=torch.contiguous_format)
    return out.eval()


TASKS: Registry[type[Task]] = Registry("task")
