"""MERF: a generator trained to match the data's mean embedding in random Fourier features (an
MMD with a Gaussian kernel, Rahimi & Recht 2007), with no discriminator. Made private it is
DP-MERF (Harder et al., AISTATS 2021): the private data is read once, to release one noisy
embedding through the Gaussian mechanism; G then trains on that release alone, so its steps
are post-processing and cost no privacy however many there are. Under a small ε this beats
DP-SGD on a discriminator, whose noise is paid at every step (docs/privacy.md).

The embedding of an image x with class y is φ'(x) ⊗ onehot(y), φ'(x) = [a·φ(x), b] with
φ(x) = sqrt(2/D)·[cos(Wx), sin(Wx)], so ||φ(x)|| = 1, and a² + b² = 1: the constant part b
counts the images of each class. One image then moves the released sum by exactly 1 in L2
(add/remove-one neighbours, as the DP-SGD runs), and the class counts come out of the same
release, which makes the class frequencies G is trained to private too."""

from __future__ import annotations

import logging
import math
import secrets
from dataclasses import asdict, dataclass
from typing import Any, ClassVar

import torch

from pixelforge.errors import UserError
from pixelforge.models.base import Generator
from pixelforge.training.ema import EMA
from pixelforge.training.gan import GANTask
from pixelforge.training.optim import adam, align_state_layout
from pixelforge.training.privacy import epsilon_spent, plan_delta
from pixelforge.training.sampler import global_randn
from pixelforge.training.task import Task

log = logging.getLogger("pixelforge.train")
COUNT_SHARE = 0.25  # b²: the share of each image's unit norm that goes to its class count
NOISE = 0  # step_generator stream of G's latents
CHUNK = 1024  # images embedded at a time while reading the data
W_LIMIT = 2e9  # bytes of the projection W a run may allocate (10,000 features: up to ~180 px RGB)


class RandomFourierFeatures(torch.nn.Module):
    """x [N, ...] -> φ(x) [N, D]: sqrt(2/D)·[cos(Wx), sin(Wx)], W ~ N(0, 1/ℓ²) drawn from a
    fixed seed, so the same (dim, D, ℓ, seed) gives the same features in every session."""

    def __init__(self, dim: int, features: int, lengthscale: float, seed: int) -> None:
        super().__init__()
        g = torch.Generator().manual_seed(seed)
        self.register_buffer("W", torch.randn(dim, features // 2, generator=g) / lengthscale,
                             persistent=False)
        self.scale = math.sqrt(2.0 / (2 * (features // 2)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        proj = x.flatten(1).float() @ self.W
        return torch.cat([proj.cos(), proj.sin()], dim=1) * self.scale


@dataclass(frozen=True)
class GaussianRelease:
    """The privacy plan of a run that reads its data once: one Gaussian-mechanism release of
    L2 sensitivity 1 and noise std σ, accounted by Opacus (sampling rate 1, one step). The
    Trainer treats it as it treats a DP-SGD PrivacyPlan: the record in every checkpoint, the
    one log line; `max_steps` is unbounded, as G's steps spend nothing."""

    n_records: int
    delta: float
    noise_multiplier: float
    accountant: str
    target_epsilon: float
    max_steps: int = 10**12
    sample_rate: float = 1.0

    def epsilon(self, steps: int = 1) -> float:
        return epsilon_spent(self.noise_multiplier, 1.0, 1, self.delta, self.accountant)

    def record(self, steps: int) -> dict[str, Any]:
        rec = {k: v for k, v in asdict(self).items() if k != "max_steps"}
        return {"epsilon": round(self.epsilon(), 6), "steps": 1, "releases": 1,
                "generator_steps": int(steps), **rec,
                "mechanism": "Gaussian mechanism, one release of the class-wise random-feature "
                             "mean embedding (DP-MERF), add/remove-one neighbours, L2 "
                             "sensitivity 1; generator steps are post-processing"}

    def describe(self) -> str:
        return (f"privacy: DP-MERF, one Gaussian release, target ε={self.target_epsilon:g}, "
                f"δ={self.delta:g} ({self.accountant}), σ={self.noise_multiplier:.4g} over "
                f"{self.n_records} records: ε={self.epsilon():.4g}; generator steps are free")


def release_plan(cfg, n_records: int) -> GaussianRelease:
    """σ of the one release from cfg.privacy (target ε, δ below 1/N, accountant); a given
    noise_multiplier must itself stay within the target."""
    p = cfg.privacy
    delta = plan_delta(p.delta, n_records)
    if p.noise_multiplier is not None:
        sigma = float(p.noise_multiplier)
        eps = epsilon_spent(sigma, 1.0, 1, delta, p.accountant)
        if eps > p.target_epsilon:
            raise UserError(f"privacy.noise_multiplier={sigma:g}: the one release spends ε = "
                            f"{eps:.3g}, more than privacy.target_epsilon="
                            f"{p.target_epsilon:g}; raise the noise or unset it")
    else:
        from opacus.accountants.utils import get_noise_multiplier

        sigma = float(get_noise_multiplier(target_epsilon=p.target_epsilon, target_delta=delta,
                                           sample_rate=1.0, steps=1, accountant=p.accountant))
    return GaussianRelease(n_records, delta, sigma, p.accountant, p.target_epsilon)


class MERFTask(Task):
    """G (a DCGAN generator, class-conditional or not) against the released per-class mean
    embedding: loss Σ_c p_c ||μ_c - mean φ(G(z, c))||², with class frequencies p_c from the
    release too, and G's batch split evenly over the classes. An EMA of G is what ships."""

    health_loss_key: ClassVar[str | None] = "loss"
    reads_batches: ClassVar[bool] = False  # the data is read once, by `begin`
    private_release: ClassVar[bool] = True  # privatises itself (no DP-SGD version needed)

    def __init__(self, cfg, family, **kw) -> None:
        super().__init__(cfg, family, **kw)
        m, t, mc = cfg.model, cfg.train, cfg.merf
        self.k = self.num_classes if m.conditional else 0
        if m.conditional and self.num_classes < 2:
            raise UserError(f"model.conditional: the data {cfg.data.path!r} has no class labels")
        shape = dict(image_size=m.image_size, channels=m.channels, latent_dim=m.latent_dim,
                     **({"num_classes": self.k} if self.k else {}), **m.params)
        torch.manual_seed(t.seed)
        self.G: Generator = family.build("generator", **shape).to(self.device)
        self.ema = EMA(self.G, decay=t.ema_decay, rampup=t.ema_rampup)
        self.opt_g = adam(self.G.parameters(), t.lr_g, t.betas)
        dim = m.channels * m.image_size * m.image_size
        w_bytes = 4 * dim * (mc.features // 2)
        if w_bytes > W_LIMIT:
            raise UserError(f"merf.features={mc.features}: at {m.image_size} px x {m.channels} "
                            f"channels the random projection W takes {w_bytes / 1e9:.1f} GB "
                            f"(limit {W_LIMIT / 1e9:g} GB); lower merf.features or "
                            "model.image_size")
        self.phi = RandomFourierFeatures(dim, mc.features, mc.lengthscale * math.sqrt(dim),
                                         seed=t.seed).to(self.device)
        self.plan = release_plan(cfg, self.num_images) if cfg.privacy is not None else None
        self.target: torch.Tensor | None = None  # [K, D] per-class mean embeddings
        self.weights: torch.Tensor | None = None  # [K] class frequencies
        self.g_step = self.G

    def prepare(self, accelerator) -> None:
        super().prepare(accelerator)
        if self.world > 1:
            raise UserError("model merf: the embedding is released by one process; start it "
                            "without `accelerate launch`")

    # -- the release: the one read of the data ----------------------------------------------------
    @torch.no_grad()
    def begin(self, dataset) -> None:
        """Embed every training image once and release the class-wise sums (noised under
        privacy); what G trains against is derived from that release alone."""
        k = max(self.k, 1)
        a, b = math.sqrt(1 - COUNT_SHARE), math.sqrt(COUNT_SHARE)
        sums = torch.zeros(k, self.phi.W.shape[1] * 2 + 1, dtype=torch.float64)
        for x, y in _chunks(dataset):
            feats = torch.cat([a * self.phi(x.to(self.device)),
                               torch.full((len(x), 1), b, device=self.device)], dim=1)
            cls = y.long().to(self.device) if self.k else torch.zeros(len(x), dtype=torch.long,
                                                                      device=self.device)
            sums.index_add_(0, cls.cpu(), feats.double().cpu())
        if self.plan is not None:
            # from the OS's entropy, never from train.seed: noise that anyone holding the
            # config could redraw would protect nothing (a resume reuses the saved release)
            g = torch.Generator().manual_seed(secrets.randbits(63))
            sums += torch.randn(sums.shape, generator=g, dtype=torch.float64) * \
                self.plan.noise_multiplier
        counts = (sums[:, -1] / b).clamp(min=1.0)  # noisy class counts, at least one image
        self.target = (sums[:, :-1] / (a * counts[:, None])).float().to(self.device)
        self.weights = (counts / counts.sum()).float().to(self.device)
        if self.plan is not None:
            log.info("DP-MERF: released the embedding of %d images (%d classes, %d features) "
                     "with σ = %.4g: ε = %.4g, δ = %g", len(dataset), k, sums.shape[1] - 1,
                     self.plan.noise_multiplier, self.plan.epsilon(), self.plan.delta)

    # -- training ----------------------------------------------------------------------------------
    def train_step(self, batch, step):
        if self.target is None:
            raise RuntimeError("MERFTask.begin(dataset) must run before the first step")
        t = self.cfg.train
        n = t.batch_size
        z = global_randn(n, self.G.latent_dim, seed=t.seed, step=step, rank=0, world=1,
                         stream=NOISE).to(self.device)
        k = max(self.k, 1)
        cls = torch.arange(n, device=self.device) % k  # even split: each class's mean is sharp
        with self.precision.autocast(self.device):
            fake = self.g_step(z, cls) if self.k else self.g_step(z)
        feats = self.phi(fake.float())  # [n, D]
        means = torch.zeros(k, feats.shape[1], device=self.device).index_add_(0, cls, feats)
        means = means / torch.bincount(cls, minlength=k).clamp(min=1)[:, None]
        loss = ((means - self.target).pow(2).sum(1) * self.weights).sum()
        self.opt_g.zero_grad(set_to_none=True)
        self.backward(loss)
        self.opt_g.step()
        self.ema.update(self.G, images_seen=(step + 1) * n, batch=n, average=step >= t.ema_start)
        return {"loss": loss.detach(), "ema_decay": torch.tensor(self.ema.last_decay)}

    # the EMA G ships and previews, the raw G's samples of one class feed the collapse check:
    # exactly as a GAN's (GANTask's methods read only G, ema, k, device and precision)
    components = GANTask.components
    preview = GANTask.preview
    health_images = GANTask.health_images

    def optimizers(self) -> list[torch.optim.Optimizer]:
        return [self.opt_g]

    def state_dict(self) -> dict[str, Any]:
        """The release travels with the state: a resume trains on the same noisy embedding
        instead of reading the data (and spending ε) again."""
        return {"G": self.G.state_dict(), "ema": self.ema.state_dict(),
                "opt_g": self.opt_g.state_dict(), "target": self.target, "weights": self.weights,
                "features": self._feature_spec()}

    def _feature_spec(self) -> dict[str, float]:
        """What fixes the features W: the release means nothing under another W."""
        mc = self.cfg.merf
        return {"features": float(mc.features), "lengthscale": float(mc.lengthscale),
                "seed": float(self.cfg.train.seed)}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        saved = {k: float(v) for k, v in state.get("features", {}).items()}
        now = self._feature_spec()
        for key, value in now.items():
            if key in saved and saved[key] != value:
                field = "train.seed" if key == "seed" else f"merf.{key}"
                raise UserError(f"resume=True: {field} is {saved[key]:g} in the saved run but "
                                f"{value:g} now; the released embedding was made with the saved "
                                "features", field="resume")
        self.G.load_state_dict(state["G"])
        self.ema.load_state_dict(state["ema"])
        self.opt_g.load_state_dict(state["opt_g"])
        align_state_layout(self.opt_g)
        self.target = state["target"].to(self.device)
        self.weights = state["weights"].to(self.device)


def _chunks(dataset):
    """(float images in [-1, 1], labels) of the whole dataset, CHUNK at a time."""
    from pixelforge.core.images import to_float

    pre = dataset.tensors()
    if isinstance(pre, dict):
        pre = (pre["image"], pre["label"])
    n = len(dataset)
    for i in range(0, n, CHUNK):
        if pre is not None:
            x = pre[0][i:i + CHUNK]
            yield (to_float(x) if x.dtype == torch.uint8 else x.float()), pre[1][i:i + CHUNK]
        else:
            items = [dataset[j] for j in range(i, min(n, i + CHUNK))]
            yield torch.stack([it[0] for it in items]), torch.tensor([int(it[1]) for it in items])
