"""How to add a model kind (docs/architecture.md): a test-only kind with two networks, a pair of
tiny generators mapping A <-> B trained with an L1 cycle loss on the "unpaired" builder. It
trains through the real Trainer, checkpoints two components, resumes bit-exactly and loads by
component. Registered for this module only, so registry-walking tests elsewhere never see it."""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

import pixelforge
from pixelforge.checkpoint import latest_checkpoint, load_state
from pixelforge.config import build_config
from pixelforge.models import MODELS, PixelforgeModule, register_family
from pixelforge.training import TASKS, train
from pixelforge.training.optim import adam, align_state_layout
from pixelforge.training.task import Task, cpu_copy

KIND = "test-cycle"


# -- 1. the networks: PixelforgeModules whose constructor arguments are their config -----------
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


# -- 2. the task: networks, optimizer, one training step, components, state --------------------
class CycleTask(Task):
    """min |G_ba(G_ab(a)) - a|_1 + |G_ab(G_ba(b)) - b|_1 with one Adam over both generators."""

    data_kind = "unpaired"  # batches {"a": [N, C, H, W], "b": [N, C, H, W]}
    pipeline = "translate"  # pixelforge.load(run) -> TranslatePipeline
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
                    + F.l1_loss(self.ab(self.ba(b)).float(), b))
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


# -- 3. registration: the family (its networks by role) and the task (by kind) -----------------
@pytest.fixture(scope="module", autouse=True)
def _registered():
    register_family(KIND, KIND, generator_ab=GeneratorAB, generator_ba=GeneratorBA)
    TASKS.register(KIND)(CycleTask)
    yield
    MODELS._items.pop(KIND)
    TASKS._items.pop(KIND)


@pytest.fixture(scope="module")
def unpaired(tmp_path_factory, tiny_npz):
    """A: 96 digits; B: 40 other digits, inverted (a mapping a tiny network can learn)."""
    x = np.load(tiny_npz)["x_train"]
    root = tmp_path_factory.mktemp("unpaired")
    np.savez(root / "a.npz", x=x[:96])
    np.savez(root / "b.npz", x=255 - x[96:136])
    return root / "a.npz", root / "b.npz"


def _overrides(unpaired, tiny_overrides, **extra):
    a, b = unpaired
    return tiny_overrides(a, **{"model.name": KIND, "data.path_b": str(b), "train.lr_g": 3e-3,
                                "train.betas": [0.9, 0.999], **extra})


def _logs(run):
    return [json.loads(line) for line in (run / "train_log.jsonl").read_text().splitlines()]


def test_trains_checkpoints_two_components_and_loads_each(tmp_path, unpaired, tiny_overrides):
    run = tmp_path / "run"
    res = train(build_config({}, _overrides(unpaired, tiny_overrides, **{"train.steps": 12,
                                            "train.checkpoint_every": 12})), run, progress=False)
    assert res.step == 12
    cycle = [r["cycle"] for r in _logs(run)]
    assert cycle[-1] < 0.9 * cycle[0]  # it learns
    index = json.loads((res.checkpoint / "model_index.json").read_text())
    assert index["kind"] == KIND and index["pipeline"] == "translate"
    assert set(index["components"]) == {"generator_ab", "generator_ba"}
    state = load_state(res.checkpoint / "training_state.safetensors")["task"]
    x = torch.rand(2, 1, 16, 16) * 2 - 1
    for name, key in (("generator_ab", "G_ab"), ("generator_ba", "G_ba")):
        net = pixelforge.load(run, component=name)
        assert isinstance(net, GeneratorAB if name == "generator_ab" else GeneratorBA)
        for k, v in net.state_dict().items():
            assert torch.equal(v, state[key][k]), f"{name}.{k}"
    pipe = pixelforge.load(run)
    assert set(pipe.directions) == {"a2b", "b2a"}
    ab = pixelforge.load(run, component="generator_ab")
    with torch.no_grad():
        assert torch.allclose(pipe.translate(x, direction="a2b", precision="fp32"), ab(x),
                              atol=1e-6)


def test_resumes_bit_exactly(tmp_path, unpaired, tiny_overrides):
    ov = _overrides(unpaired, tiny_overrides)  # 6 steps, checkpoints at 3 and 6
    full, part = tmp_path / "full", tmp_path / "part"
    train(build_config({}, ov), full, progress=False)
    train(build_config({}, {**ov, "train.steps": 3}), part, progress=False)
    train(build_config({}, ov), part, resume=True, progress=False)
    a = load_state(latest_checkpoint(full) / "training_state.safetensors")["task"]
    b = load_state(latest_checkpoint(part) / "training_state.safetensors")["task"]
    for net in ("G_ab", "G_ba"):
        for k, v in a[net].items():
            assert torch.equal(v, b[net][k]), f"{net}.{k} differs after resume"
    assert [r["cycle"] for r in _logs(full)] == [r["cycle"] for r in _logs(part)]
