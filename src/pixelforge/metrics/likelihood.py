"""Log-likelihood bounds of a VAE: ELBO and the importance-weighted bound (Burda et al. 2016)."""

from __future__ import annotations

import math

import torch

from pixelforge.losses.vae import gaussian_log_density, standard_normal_log_density


def binarize_fixed(images: torch.Tensor, seed: int) -> torch.Tensor:
    """One stochastic binarization of an evaluation set ({-1, 1}), fixed by `seed`."""
    g = torch.Generator().manual_seed(seed)
    p = ((images.float() + 1.0) * 0.5).clamp(0.0, 1.0)
    return torch.bernoulli(p, generator=g) * 2.0 - 1.0


@torch.no_grad()
def log_weights(model, x: torch.Tensor, labels: torch.Tensor | None, k: int,
                generator: torch.Generator) -> torch.Tensor:
    """log p(x, z_j) - log q(z_j | x) for k posterior samples per image: [N, C, H, W] -> [N, k]."""
    mu, logvar = model.encode(x, labels)  # [N, Z] each
    mu, logvar = mu.float(), logvar.float()
    eps = torch.randn(len(x), k, mu.shape[1], generator=generator).to(mu.device)  # [N, k, Z]
    z = mu[:, None] + torch.exp(0.5 * logvar)[:, None] * eps  # [N, k, Z]
    log_q = gaussian_log_density(z, mu[:, None], logvar[:, None])  # [N, k]
    log_prior = standard_normal_log_density(z)  # [N, k]
    rep = (labels.repeat_interleave(k, 0) if labels is not None else None)
    out = model.decode_raw(z.flatten(0, 1), rep)  # [N * k, C, H, W]
    log_px = -model.recon_nll(out, x.repeat_interleave(k, 0)).view(len(x), k)  # [N, k]
    return log_px + log_prior - log_q


@torch.no_grad()
def elbo_and_iwae(model, x: torch.Tensor, labels: torch.Tensor | None = None, *, k: int = 64,
                  seed: int = 0, max_decode: int = 8192) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-image (ELBO, IWAE_k) lower bounds on log p(x) in nats, both from the same k samples.

    ELBO is the mean of the k log-weights and IWAE_k their log-mean-exp, so IWAE_k >= ELBO holds
    exactly for every image (Jensen). Samples are drawn in chunks of at most `max_decode` decodes.
    """
    model.eval()
    g = torch.Generator().manual_seed(seed)
    cols: list[torch.Tensor] = []
    chunk = max(1, min(k, max_decode // max(1, len(x))))
    for start in range(0, k, chunk):
        cols.append(log_weights(model, x, labels, min(chunk, k - start), g).cpu())
    lw = torch.cat(cols, dim=1)  # [N, k]
    return lw.mean(dim=1), torch.logsumexp(lw, dim=1) - math.log(k)


@torch.no_grad()
def likelihood_scores(model, images: torch.Tensor, labels: torch.Tensor | None = None, *,
                      k: int = 1000, batch_size: int = 64, seed: int = 0) -> dict[str, float]:
    """Mean negative ELBO and IWAE_k NLL (nats per image) and bits/dim over an evaluation set.

    For a Bernoulli model the images are binarized once with `seed` (the stochastic binarization
    used for dynamically binarized MNIST results).
    """
    from pixelforge.metrics.reconstruction import bits_per_dim

    device = next(model.parameters()).device
    x_all = binarize_fixed(images, seed) if model.likelihood == "bernoulli" else images.float()
    use_labels = labels is not None and model.num_classes > 0
    elbos, iwaes = [], []
    for i in range(0, len(x_all), batch_size):
        x = x_all[i:i + batch_size].to(device)
        y = labels[i:i + batch_size].to(device) if use_labels else None
        e, w = elbo_and_iwae(model, x, y, k=k, seed=seed + i)
        elbos.append(e)
        iwaes.append(w)
    nelbo = -torch.cat(elbos).mean().item()
    nll = -torch.cat(iwaes).mean().item()
    dims = images[0].numel()
    return {"neg_elbo": nelbo, "iwae_nll": nll, "iwae_k": k, "n_images": len(x_all),
            "bits_per_dim": bits_per_dim(nll, dims, model.likelihood),
            "latent_dim": int(model.latent_dim), "likelihood": model.likelihood}


def evaluate_autoencoder(model, images: torch.Tensor, labels: torch.Tensor | None, *, k: int,
                         seed: int, step: int | None, data_spec: str) -> list[dict]:
    """Likelihood bounds and reconstruction scores as metrics.jsonl records with their protocol."""
    from pixelforge.metrics.reconstruction import reconstruction_scores
    from pixelforge.pipelines.autoencode import reconstruct

    lik = likelihood_scores(model, images, labels, k=k, seed=seed)
    rec = reconstruction_scores(images, reconstruct(model, images, labels))
    protocol = {"split": "test", "n_images": len(images), "seed": seed, "data": data_spec,
                "likelihood": model.likelihood,
                "binarization": ("stochastic, fixed seed" if model.likelihood == "bernoulli"
                                 else None),
                "units": "nats per image"}
    values = {"neg_elbo": lik["neg_elbo"], f"iwae_nll_k{k}": lik["iwae_nll"],
              "bits_per_dim": lik["bits_per_dim"], "recon_mse": rec["mse"],
              "recon_psnr": rec["psnr"], "recon_ssim": rec["ssim"],
              "latent_dim": lik["latent_dim"]}
    return [{"metric": name, "value": value, "step": step, "n_real": len(images),
             "n_generated": None, "extractor": None, "protocol": {**protocol, "iwae_k": k}}
            for name, value in values.items()]
