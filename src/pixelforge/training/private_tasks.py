"""The private versions of the GAN and VAE tasks (DP-SGD through Opacus's GradSampleModule and
DPOptimizer). GANs privatise D only (Opacus's DCGAN example; Bie et al. 2023, "Private GANs,
revisited"): only D's loss on real images goes through per-sample clipping and noise, the
gradient of its loss on fakes is public: it gets no noise (Opacus issue 418), only the same
norm bound as the real part so that the two stay in balance. VAEs
privatise the whole model. Conditional models draw the fakes' classes uniformly: the real
labels are private data too and reach only D's private step."""

from __future__ import annotations

import contextlib
import secrets
import warnings

import torch

from pixelforge.training.adversary import Adversary, grad_norm, split_logits
from pixelforge.training.gan import AUGMENT, NOISE, PENALTY, GANTask
from pixelforge.training.optim import adam
from pixelforge.training.privacy import (
    PrivacyPlan,
    adopt_saved,
    check_supported,
    dp_ready,
    make_plan,
    plan_state,
)
from pixelforge.training.sampler import global_randn, step_generator
from pixelforge.training.task import Task
from pixelforge.training.vae import VAETask, _Forward

DP_NOISE, FAKE_LABELS = 11, 12  # step_generator streams of the DP noise and the fakes' classes


def _dp_parts(module: torch.nn.Module, opt: torch.optim.Optimizer, plan: PrivacyPlan):
    """(GradSampleModule with hooks off, DPOptimizer over `opt`) for one private network."""
    from opacus import GradSampleModule
    from opacus.optimizers import DPOptimizer

    gsm = GradSampleModule(module, batch_first=True, loss_reduction="mean")
    gsm.disable_hooks()  # on only around the private (real-data) forward and backward
    dp_opt = DPOptimizer(opt, noise_multiplier=plan.noise_multiplier,
                         max_grad_norm=plan.max_grad_norm, expected_batch_size=plan.batch_size,
                         loss_reduction="mean")
    return gsm, dp_opt


def _private_backward(gsm, loss_fn) -> None:
    """Run forward + backward of the private loss with per-sample gradient hooks on."""
    gsm.enable_hooks()
    try:
        with _quiet_hooks():
            loss_fn().backward()
    finally:
        gsm.disable_hooks()


@contextlib.contextmanager
def _quiet_hooks():
    """Opacus's full backward hooks warn when the input images need no gradient (they never
    do here): silence that one warning."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Full backward hook is firing")
        yield


def _clipped_mean(params: list, max_norm: float) -> list:
    """The mean over the batch of per-sample gradients (p.grad_sample) each clipped to total
    norm max_norm, as DP-SGD treats the real part, then the per-sample buffers cleared. The
    fakes' gradient is public and needs no clipping for privacy, but left whole it outweighs the
    clipped real part ~50:1 and D calls everything fake (measured: D's accuracy on reals 0 after
    25 steps, even without noise)."""
    samples = [p.grad_sample for p in params]
    norms = torch.stack([g.reshape(len(g), -1).norm(dim=1) for g in samples]).norm(dim=0)
    factor = (max_norm / (norms + 1e-6)).clamp(max=1.0)
    out = [torch.einsum("i,i...->...", factor, g) / len(g) for g in samples]
    for p in params:
        p.grad_sample = None
        p.grad = None
    return out


def _empty_grad_samples(params) -> None:
    """An empty Poisson batch still takes a (pure noise) step: zero per-sample gradients."""
    for p in params:
        p.grad_sample = torch.zeros(0, *p.shape, dtype=p.dtype, device=p.device)


class _PlanState:
    """State hooks shared by the private tasks: the plan's σ and q travel with the training
    state, and a resume keeps them (privacy.adopt_saved). So does the DP noise's seed: drawn
    from the OS's entropy, never from train.seed (noise anyone holding the config could redraw
    would protect nothing), and kept in the training state so a resume stays bit-exact."""

    plan: PrivacyPlan
    noise_seed: int

    def _dp_optimizer(self):
        raise NotImplementedError

    def _new_noise_seed(self) -> None:
        self.noise_seed = secrets.randbits(62)
        self._share_noise_seed()

    def _share_noise_seed(self) -> None:
        """Hand the seed to whatever draws the noise (a GAN's PrivateAdversary)."""

    def state_dict(self):
        return {**super().state_dict(), "privacy_plan": plan_state(self.plan),
                "dp_noise_seed": self.noise_seed}

    def load_state_dict(self, state) -> None:
        super().load_state_dict(state)
        self.plan = adopt_saved(self.plan, state.get("privacy_plan"))
        self._dp_optimizer().noise_multiplier = self.plan.noise_multiplier
        # states written before the seed was kept drew their noise from train.seed
        self.noise_seed = int(state.get("dp_noise_seed", self.cfg.train.seed))
        self._share_noise_seed()


class PrivateAdversary(Adversary):
    """An Adversary whose D step is DP-SGD on the real part of D's loss. D runs in fp32."""

    def __init__(self, D, cfg, *, plan: PrivacyPlan, **kw) -> None:
        super().__init__(D, cfg, **kw)
        self.plan = plan
        self.noise_seed = cfg.train.seed  # the task hands over its secret one (_PlanState)
        self.gsm, self.dp_opt = _dp_parts(D, self.opt, plan)

    def prepare(self, accelerator) -> None:
        # one process (check_supported): no DDP, and the DP optimizer stays unwrapped
        self.accelerator, self.rank = accelerator, accelerator.process_index

    def d_step(self, real, fakes, cond=(), *, step, labels=None, fake_cond=None,
               fake_labels=None) -> dict[str, torch.Tensor]:
        """One DP D update: the fake part's per-sample clipped mean, plus the real part's clipped,
        noised mean over the expected batch (plan.batch_size)."""
        t, g = self.cfg.train, self.cfg.gan
        fake = fakes if isinstance(fakes, torch.Tensor) else fakes[0]
        fake_cond = cond if fake_cond is None else fake_cond
        params = [p for p in self.D.parameters() if p.requires_grad]
        real_in = self.augmented(real.float(), step)
        fake_in = self.augmented(fake.detach().float(), step)
        self.dp_opt.zero_grad(set_to_none=True)
        # 1. public: D's loss on the fakes (the real logits enter as constants), per-sample
        # clipped like the real part but without noise
        with torch.no_grad():
            d_real_c = split_logits(self.D(real_in, *cond))[0] if len(real) else None
        fake_out: dict[str, torch.Tensor] = {}

        def fake_loss() -> torch.Tensor:
            d_fake, c_fake = split_logits(self.D(fake_in, *fake_cond))
            # an empty private batch: a constant stand-in real logit (the losses are sums of a
            # real and a fake term, so the fakes' gradient is the same)
            ref = d_real_c if d_real_c is not None else torch.zeros_like(d_fake[:1]).detach()
            class_fake = self._class_loss(c_fake, fake_labels)  # AC-GAN: 0.0 without a head
            fake_out.update(d_fake=d_fake.detach(), class_fake=torch.as_tensor(class_fake).detach())
            return self.loss.d_loss(ref, d_fake) + class_fake

        _private_backward(self.gsm, fake_loss)
        fake_grads = _clipped_mean(params, self.plan.max_grad_norm)
        d_fake, class_fake = fake_out["d_fake"], fake_out["class_fake"]
        # 2. private: D's loss on the real images, per-sample gradients
        logs: dict[str, torch.Tensor] = {}
        if len(real):
            def real_loss() -> torch.Tensor:
                d_real, c_real = split_logits(self.D(real_in, *cond))
                loss = self.loss.d_loss(d_real, d_fake.detach()) + self._class_loss(c_real, labels)
                logs.update(self.stats(d_real.detach(), d_fake.detach()))
                logs["loss_d"] = (loss + class_fake).detach()  # = the non-private loss_d
                return loss

            _private_backward(self.gsm, real_loss)
        else:
            _empty_grad_samples(params)
            logs["loss_d"] = self.loss.d_loss(torch.zeros_like(d_fake[:1]), d_fake) + class_fake
        self.dp_opt.generator = step_generator(self.noise_seed, step, self.rank, DP_NOISE)
        self.dp_opt.pre_step()  # clip per sample, sum, add N(0, σ²C²), divide by E[batch]
        for p, fg in zip(params, fake_grads, strict=True):
            p.grad = p.grad + fg
        if g.grad_clip or (step + 1) % t.log_every == 0:
            logs["grad_norm_d"] = grad_norm(self.D.parameters(), g.grad_clip)
        self.opt.step()
        if g.clip_weights:
            from pixelforge.losses import clip_weights_

            clip_weights_(self.D, g.clip_weights)
        return logs


class PrivateGANTask(_PlanState, GANTask):
    """GANTask with a PrivateAdversary; G never sees the data except through D."""

    def _dp_optimizer(self):
        return self.adversary.dp_opt

    def __init__(self, cfg, family, **kw) -> None:
        check_supported(cfg, "gan")
        super().__init__(cfg, family, **kw)
        self.plan = make_plan(cfg, self.num_images)
        D = dp_ready(self.adversary.D.float(), "the discriminator")
        self.adversary = PrivateAdversary(D, cfg, plan=self.plan, device=self.device,
                                          precision=self.precision, num_images=self.num_images,
                                          streams=(AUGMENT, PENALTY))
        self._new_noise_seed()

    def _share_noise_seed(self) -> None:
        self.adversary.noise_seed = self.noise_seed

    def train_step(self, batch, step):
        t = self.cfg.train
        real = batch["image"]
        n = self.plan.batch_size  # G's batch is the expected one, not the private batch's size
        y = batch["label"].long() if self.k else None
        y_fake = self.fake_labels(torch.randint(0, self.k, (n,), generator=step_generator(
            t.seed, step, 0, FAKE_LABELS)).to(self.device) if self.k else None)
        fcond = (y_fake,) if self.k else ()
        z = global_randn(n, self.G.latent_dim, seed=t.seed, step=step, rank=0, world=1,
                         stream=NOISE).to(self.device)
        with self.precision.autocast(self.device):
            fake = self.g_step(z, *fcond)  # [n, C, H, W]
        logs = self.adversary.d_step(real, fake, (y,) if self.k else (), step=step, labels=y,
                                     fake_cond=fcond, fake_labels=y_fake)
        if (step + 1) % t.n_critic == 0:
            with self.adversary.frozen():
                loss_g = self.g_loss(fake, z, fcond, step=step, labels=y_fake)
                self.opt_g.zero_grad(set_to_none=True)
                self.backward(loss_g)
            self.last_g = {"loss_g": loss_g.detach()}
            self.opt_g.step()
            self.ema.update(self.G, images_seen=(step + 1) * n, batch=n * t.n_critic,
                            average=step >= t.ema_start)
            self.last_g["ema_decay"] = torch.tensor(self.ema.last_decay)
        return {**logs, **self.last_g, **privacy_log(self.plan, step, t.log_every)}


class PrivateVAETask(_PlanState, VAETask):
    """VAETask with the whole VAE under DP-SGD."""

    def _dp_optimizer(self):
        return self.dp_opt

    def __init__(self, cfg, family, **kw) -> None:
        check_supported(cfg, "vae")
        super().__init__(cfg, family, **kw)
        self.plan = make_plan(cfg, self.num_images)
        self.model = dp_ready(self.model.float(), "the VAE")
        self.opt = adam(self.model.parameters(), cfg.train.lr_g, cfg.train.betas)  # fresh: no state
        self.forward_net = _Forward(self.model)
        self.gsm, self.dp_opt = _dp_parts(self.model, self.opt, self.plan)
        self._new_noise_seed()

    def prepare(self, accelerator) -> None:
        Task.prepare(self, accelerator)  # one process: forward_net and the DP optimizer unwrapped

    def train_step(self, batch, step):
        real, labels = batch["image"], batch["label"]
        if len(real):
            self._remember_preview(real, labels)
        x = self.model_inputs(real, step)
        beta = self.kl_beta(step)
        params = [p for p in self.model.parameters() if p.requires_grad]
        self.dp_opt.zero_grad(set_to_none=True)
        terms: dict[str, torch.Tensor] = {}
        if len(real):
            def loss_fn() -> torch.Tensor:
                _, recon, kl, _ = self.elbo_terms(x.float(), labels, step)
                terms.update(recon=recon.detach().mean(), kl=kl.detach().mean())
                return (recon + beta * kl).mean()

            _private_backward(self.gsm, loss_fn)
        else:
            _empty_grad_samples(params)
        self.dp_opt.generator = step_generator(self.noise_seed, step, 0, DP_NOISE)
        self.dp_opt.step()
        out = {"beta": torch.tensor(beta), **privacy_log(self.plan, step, self.cfg.train.log_every)}
        if terms:
            out.update(loss=terms["recon"] + beta * terms["kl"], total=terms["recon"] + terms["kl"],
                       **terms)
        return out


EPSILON_EVERY = 100  # at most one accountant call per this many steps (PRV takes ~1 s a call)


def privacy_log(plan: PrivacyPlan, step: int, every: int) -> dict[str, torch.Tensor]:
    """ε spent after this step, logged at log steps that are multiples of EPSILON_EVERY (or of
    train.log_every when larger) and at the budget's last step; checkpoints always carry it."""
    done = step + 1
    every = every * max(1, -(-EPSILON_EVERY // every))  # a multiple of log_every >= 100
    if done % every and done != plan.max_steps:
        return {}
    return {"epsilon": torch.tensor(plan.epsilon(done))}


PRIVATE_TASKS: dict[type, type] = {GANTask: PrivateGANTask, VAETask: PrivateVAETask}


def private_task_class(task_cls: type, cfg, kind: str, world: int = 1) -> type:
    """The private version of a task class; kinds without one are refused in one line. A task
    that privatises itself (`private_release`, e.g. DP-MERF's one release) is its own."""
    if task_cls.private_release:
        if world > 1:
            from pixelforge.errors import UserError

            raise UserError("privacy: a private release is made by one process; start the run "
                            "without `accelerate launch`")
        return task_cls
    check_supported(cfg, kind, world)
    if task_cls not in PRIVATE_TASKS:
        from pixelforge.errors import UserError

        raise UserError(f"privacy: the {kind} task {task_cls.__name__} has no private version")
    return PRIVATE_TASKS[task_cls]
