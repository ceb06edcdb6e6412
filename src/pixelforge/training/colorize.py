"""Training the chroma-only colouriser (models/colorizer.py) on gray -> colour pairs made from
photos (data/translation.py, translation.pairs gray): pix2pix's losses moved to chroma.

G predicts (Cb, Cr) from the luma; the loss is translation.lambda_l1 x L1 between predicted and
true chroma, plus translation.adv_weight x the adversarial loss of a conditional PatchGAN that
judges the recombined colour picture (input luma + predicted chroma, fitted to the gamut)
beside the luma. The schedule, jitter, resume and previews are pix2pix's (training/translate.py).
"""

from __future__ import annotations

from typing import Any

import torch

from pixelforge.core.chroma import recombine, rgb_to_ycbcr
from pixelforge.errors import UserError
from pixelforge.losses.translation import l1_to_target
from pixelforge.training.adversary import Adversary
from pixelforge.training.optim import adam
from pixelforge.training.translate import Pix2PixTask, TranslationTask, seeded


class ColorizeTask(Pix2PixTask):
    """The colouriser on {"input": luma, "target": colour}; exports generator_ab (gray -> colour,
    direction a2b, as the pix2pix colouriser)."""

    health_loss_key = "loss_l1"

    def __init__(self, cfg, family, **kw) -> None:
        TranslationTask.__init__(self, cfg, family, **kw)
        m, t, tr = cfg.model, cfg.train, cfg.translation
        if tr.pairs != "gray":
            raise UserError("translation.pairs: the colouriser trains on gray -> colour pairs "
                            "made from colour photos; set gray")
        if (m.channels or 3) != 3:
            raise UserError(f"model.channels: the colouriser outputs colour; set 3, not "
                            f"{m.channels}")
        params = dict(m.params)
        for key, want in (("in_channels", 1), ("out_channels", 3)):
            if int(params.pop(key, want)) != want:
                raise UserError(f"model.params.{key}: the colouriser maps 1-channel luma to "
                                "colour (it predicts 2 chroma channels); leave it unset")
        self.in_channels = 1
        torch.manual_seed(t.seed)  # weight init is reproducible
        self.G = self._place(family.build("generator", **params))
        self.opt_g = adam(self.G.parameters(), t.lr_g, t.betas)
        self.adversaries: list[Adversary] = []
        if tr.adv_weight > 0:
            self.adversaries.append(self._adversary(family.build("discriminator", **params), 0))
        self.g_ddp = self.G
        self.lr_scale = 1.0
        self._preview: dict[str, torch.Tensor] | None = None
        self.component = "generator_ab"

    def train_step(self, batch: dict[str, torch.Tensor], step: int) -> dict[str, torch.Tensor]:
        self._set_lr(step)
        batch = self._jitter(batch, [["input", "target"]], step)
        self._keep_preview(batch)
        x, y = batch["input"], batch["target"]  # luma [N, 1, H, W], colour [N, 3, H, W]
        with self.precision.autocast(self.device), seeded(self._dropout_seed(step), self.device):
            chroma = self.g_ddp(x)  # [N, 2, H, W]
        fake = recombine(x.float(), chroma.float())  # [N, 3, H, W], luma = x
        # L1 on the chroma alone: the luma is the input's by construction
        return self.adversarial_step(
            x, y, fake, lambda: l1_to_target(chroma.float(), rgb_to_ycbcr(y.float())[1]), step)

    @torch.no_grad()
    def preview(self, n: int, seed: int) -> dict[str, Any]:
        """"samples": rows of luma | colourised | true colour of the first batch (up to 8)."""
        if self._preview is None:
            return {}
        x = self._preview["input"]
        was = self.G.training
        self.G.eval()
        with self.precision.autocast(self.device):
            chroma = self.G(x.to(self.device, memory_format=self.precision.memory_format))
        self.G.train(was)
        out = recombine(x, chroma.float().cpu())
        return {"samples": self._rows(x, out, self._preview["target"])}
