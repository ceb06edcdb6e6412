"""A whole model kind in one file, as a user adds one (docs/architecture.md, "How to add a model
kind"): a pair of tiny generators mapping A <-> B, trained with an L1 cycle loss on two unpaired
image sets. Load it with PIXELFORGE_PLUGINS=path/to/cycle_kind.py (or a `pixelforge.kinds` entry
point); nothing else in pixelforge changes. tests/training/test_two_network_kind.py runs it
through the CLI: train, resume, translate, eval, info and the studio's run lists."""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from pydantic import BaseModel, ConfigDict, Field
from torch import nn

from pixelforge.kinds import Kind
from pixelforge.models import PixelforgeModule, register_family
from pixelforge.training.optim import adam, align_state_layout
from pixelforge.training.task import Task, cpu_copy

NAME = "test-cycle"


# -- the networks: PixelforgeModules whose constructor arguments are their config ---------------
class _Translator(PixelforgeModule):
    """Image [N, C, H, W] in [-1, 1] -> image of the same shape: two 3x3 convolutions."""

    def __init__(self, channels: int = 1, width: int = 8) -> None:
        super().__init__()
        self.in_channels = self.out_channels = channels
        self.net = nn.Sequential(nn.Conv2d(channels, width, 3, padding=1), nn.SiLU(),
                                 nn.Conv2d(width, channels, 3, padding=1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.tanh(self.net(x))


class GeneratorAB(_Translator):
    pass


class GeneratorBA(_Translator):
    pass


register_family(NAME, NAME, generator_ab=GeneratorAB, generator_ba=GeneratorBA)


# -- the config section: `cycle.weight` in YAML or --cycle.weight on the command line -----------
class CycleConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    weight: float = Field(1.0, gt=0, description="weight of the cycle L1 loss")


# -- the task: networks, optimizer, one training step, components, state ------------------------
class CycleTask(Task):
    """min w (|G_ba(G_ab(a)) - a|_1 + |G_ab(G_ba(b)) - b|_1) with one Adam over both generators;
    batches {"a", "b"} from the unpaired builder."""

    health_loss_key = "cycle"

    def __init__(self, cfg, family, **kw) -> None:
        super().__init__(cfg, family, **kw)
        m, t = cfg.model, cfg.train
        torch.manual_seed(t.seed)  # weight init is reproducible
        shape = dict(channels=m.channels, **m.params)
        self.G_ab = family.build("generator_ab", **shape).to(self.device)
        self.G_ba = family.build("generator_ba", **shape).to(self.device)
        self.opt = adam([*self.G_ab.parameters(), *self.G_ba.parameters()], t.lr_g, t.betas)
        self.ab, self.ba = self.G_ab, self.G_ba  # DDP-wrapped after prepare()
        self.fixed: torch.Tensor | None = None  # preview inputs

    def prepare(self, accelerator) -> None:
        super().prepare(accelerator)
        self.ab, self.ba, self.opt = accelerator.prepare(self.G_ab, self.G_ba, self.opt)

    def train_step(self, batch, step):
        a, b = batch["a"], batch["b"]
        if self.fixed is None:
            self.fixed = a[:self.cfg.train.n_samples].detach().cpu().clone()
        with self.precision.autocast(self.device):
            loss = (F.l1_loss(self.ba(self.ab(a)).float(), a)
                    + F.l1_loss(self.ab(self.ba(b)).float(), b)) * self.cfg.cycle.weight
        self.opt.zero_grad(set_to_none=True)
        self.backward(loss)
        self.opt.step()
        return {"cycle": loss.detach()}

    def components(self) -> dict[str, PixelforgeModule]:
        return {"generator_ab": cpu_copy(self.G_ab), "generator_ba": cpu_copy(self.G_ba)}

    @torch.no_grad()
    def preview(self, n: int, seed: int) -> dict[str, torch.Tensor]:
        a = self.fixed[:n].to(self.device)
        return {"samples": torch.cat([a, self.G_ab(a)]).float().cpu()}  # inputs, then A -> B

    def optimizers(self) -> list[torch.optim.Optimizer]:
        return [self.opt]

    def state_dict(self) -> dict[str, Any]:
        return {"G_ab": self.G_ab.state_dict(), "G_ba": self.G_ba.state_dict(),
                "opt": self.opt.state_dict(), "fixed": self.fixed}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.G_ab.load_state_dict(state["G_ab"])
        self.G_ba.load_state_dict(state["G_ba"])
        self.opt.load_state_dict(state["opt"])
        align_state_layout(self.opt)
        self.fixed = state["fixed"]


# -- the evaluation: the cycle L1 on real images of `--data` -----------------------------------
def evaluate_cycle(request) -> dict[str, Any]:
    """Mean |G_ba(G_ab(x)) - x| over the real images (a pixelforge.metrics.kinds evaluator)."""
    from pixelforge.data.spec import load_images
    from pixelforge.metrics.report import append_metrics

    pipe = request.pipeline
    net = pipe.component("generator_ab")
    ds = load_images(request.data, image_size=16, channels=net.in_channels, split=request.split)
    x = torch.stack([ds[i][0] for i in range(min(len(ds), 64))])
    there = pipe.translate(x, direction="a2b", precision="fp32")
    back = pipe.translate(there, direction="b2a", precision="fp32")
    value = float((back - x).abs().mean())
    append_metrics(request.run_dir, {"metric": "cycle_l1", "value": value, "step": request.step,
                                     "n_real": len(x), "split": request.split})
    return {"cycle_l1": value, "real_data": request.data}


# -- the declaration: everything pixelforge needs to know about the kind ------------------------
KIND = Kind(
    name=NAME,
    task=CycleTask,
    data="pixelforge.data.builders:build_unpaired",
    pipeline="translate",
    pipeline_class="pixelforge.pipelines.translate:TranslatePipeline",
    evaluator=evaluate_cycle,
    eval_split="test",
    studio=("restore",),
    config=("cycle", CycleConfig),
    description="two tiny generators A <-> B trained on a cycle L1 loss (a test kind)",
)
