"""A Task owns the networks, optimizers and loss step of one kind of model; the Trainer owns the
loop. A new model kind is one Task subclass registered under its kind (docs/architecture.md)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

import torch

from pixelforge.config import RunConfig
from pixelforge.core.precision import Precision
from pixelforge.errors import UserError
from pixelforge.kinds import all_kinds, kind_of, resolve
from pixelforge.models.base import Family, PixelforgeModule
from pixelforge.registry import Registry


class Task:
    """Interface every model kind implements; GANTask is the reference implementation.

    The kind's declaration (pixelforge.kinds) names the Task, the dataset builder it trains on
    (which fixes the keys of the batches `train_step` gets) and the inference pipeline written
    into model_index.json. Class attribute `health_loss_key`: the loss the health monitor
    watches for explosions (None: only NaN/inf checks); `reads_batches` and `private_release`
    below."""

    health_loss_key: ClassVar[str | None] = None
    reads_batches: ClassVar[bool] = True  # False: train_step gets empty batches (see `begin`)
    private_release: ClassVar[bool] = False  # True: privatises itself under cfg.privacy

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

    def begin(self, dataset: Any) -> None:
        """Called once on a fresh start (not on a resume) with the whole training set, before
        train.init; tasks that read their data once (DP-MERF's release) do it here."""

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
        raise UserError(f"train.init: models of kind {self.family.kind!r} cannot be initialised "
                        "from another model yet")

    def optimizers(self) -> list[torch.optim.Optimizer]:
        """Every optimizer of the task (a health rollback lowers their learning rates)."""
        return []

    def scale_learning_rate(self, factor: float) -> None:
        for opt in self.optimizers():
            for group in opt.param_groups:
                group["lr"] = group["lr"] * factor

    def rebase_learning_rates(self, ratios: Mapping[str, float]) -> None:
        """A resume whose train.lr_g / train.lr_d differ from the saved run's: multiply the
        restored rates by new / old ({"lr_g": r, "lr_d": r}), so a lower rate asked for on
        resume is used (a step decay) and health rollbacks stay applied. The first optimizer
        is the lr_g one, the others lr_d (every task builds them so)."""
        for i, opt in enumerate(self.optimizers()):
            factor = ratios.get("lr_g" if i == 0 else "lr_d", 1.0)
            for group in opt.param_groups:
                group["lr"] = group["lr"] * factor


def cpu_copy(module: torch.nn.Module) -> Any:
    """A detached CPU copy of a network in NCHW layout and eval mode, for export."""
    import copy

    out = copy.deepcopy(module).to("cpu", memory_format=torch.contiguous_format)
    return out.eval()


def _load_tasks(registry: Registry[type[Task]]) -> None:
    """Every kind declaring one Task for all its families, by kind name."""
    for kind in all_kinds():
        if kind.task is not None and not isinstance(kind.task, Mapping):
            registry.add(kind.name, resolve(kind.task))


TASKS: Registry[type[Task]] = Registry("task", loader=_load_tasks)


def trainable_kinds() -> list[str]:
    """The kinds `pixelforge train` trains (those declaring a Task)."""
    return [k.name for k in all_kinds() if k.trainable]


def task_class(family: Family) -> type[Task]:
    """The Task that trains `family`, as its kind declares; a UserError when there is none."""
    kind = kind_of(family.kind)
    ref = kind.task_for(family.name)
    if ref is None:
        raise UserError(f"model.name {family.name!r} ({family.kind}) cannot be trained with "
                        f"`pixelforge train`; trainable kinds: {', '.join(trainable_kinds())}")
    return resolve(ref)


def task_dataset(family: Family, cfg: RunConfig) -> Any:
    """The training data of `family`: its kind's dataset builder, called with the builder
    arguments the kind declares (explicit options, and the model options it asks for)."""
    from pixelforge.data.builders import build_dataset
    kind = kind_of(family.kind)
    builder = kind.data_for(family.name)
    if builder is None:
        raise UserError(f"model kind {kind.name!r} declares no dataset builder for "
                        f"{family.name!r}")
    options = dict(kind.data_options)
    options.update({o: family.option(o, cfg.model.params) for o in kind.data_model_options})
    return build_dataset(builder, cfg, **options)


def pipeline_name(family: Family) -> str | None:
    """The inference pipeline checkpoints of `family` name in model_index.json."""
    return kind_of(family.kind).pipeline

