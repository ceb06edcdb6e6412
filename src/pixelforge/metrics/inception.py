"""Inception FID/KID/IS via torchmetrics (Heusel 2017, Binkowski 2018, Salimans 2016)."""

# One pass of torch-fidelity's InceptionV3 per image set yields pool features and logits; the
# torchmetrics metrics then consume those features through a pass-through "network".

from __future__ import annotations

import socket
import warnings
from collections.abc import Iterable

import torch
from torch import nn

from pixelforge.errors import UserError
from pixelforge.metrics.images import to_uint8
from pixelforge.metrics.registry import MetricInputs, Score, register_metric

EXTRACTOR_LABEL = "inception-v3-compat (torch-fidelity weights)"
POOL, LOGITS = "2048", "logits_unbiased"
POOL_DIM, LOGITS_DIM = 2048, 1008
CONNECT_TIMEOUT_S = 10.0  # per socket operation while fetching the weights; offline fails fast
KID_SUBSET_SIZE, KID_SUBSETS, IS_SPLITS = 1000, 100, 10


def _offline_message(exc: BaseException) -> str:
    reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return (f"Inception weights could not be downloaded ({type(exc).__name__}: {reason[:200]}); "
            "Inception metrics need internet once, or use the default cnn-feature metrics")


def load_inception(timeout: float | None = None) -> nn.Module:
    """torch-fidelity's FeatureExtractorInceptionV3 (pool features + unbiased logits).

    The weights are fetched once into torch's hub cache; while fetching, every socket operation
    times out after `timeout` seconds so an offline machine fails in seconds, with a UserError.
    """
    try:
        from torch_fidelity.feature_extractor_inceptionv3 import FeatureExtractorInceptionV3
    except ImportError as exc:
        raise UserError(f"Inception metrics need torch-fidelity installed ({exc})") from None
    previous = socket.getdefaulttimeout()
    socket.setdefaulttimeout(CONNECT_TIMEOUT_S if timeout is None else timeout)
    try:
        return FeatureExtractorInceptionV3("inception-v3-compat", [POOL, LOGITS]).eval()
    except Exception as exc:  # URLError, timeouts, HTTP errors, truncated downloads
        raise UserError(_offline_message(exc)) from None
    finally:
        socket.setdefaulttimeout(previous)


class _Precomputed(nn.Module):
    """Feeds already-extracted features to a torchmetrics metric as if they were images."""

    def __init__(self, num_features: int) -> None:
        super().__init__()
        self.num_features = num_features

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        return features


@torch.no_grad()
def inception_features(net: nn.Module, batches: Iterable[torch.Tensor]) -> dict[str, torch.Tensor]:
    """Pool features [N, 2048] and unbiased logits [N, 1008] of [-1, 1] images (gray -> RGB)."""
    pools, logits = [], []
    for b in batches:
        x = to_uint8(b)
        if x.shape[1] == 1:
            x = x.expand(-1, 3, -1, -1)
        pool, logit = net(x)
        pools.append(pool.float())
        logits.append(logit.float())
    return {POOL: torch.cat(pools), LOGITS: torch.cat(logits)}


def _features(inputs: MetricInputs) -> dict[str, dict[str, torch.Tensor]]:
    def compute() -> dict[str, dict[str, torch.Tensor]]:
        net = inputs.shared("inception_net", load_inception)
        fake = torch.split(inputs.fake_images, inputs.batch_size)
        return {"real": inception_features(net, inputs.real_batches()),
                "fake": inception_features(net, fake)}

    return inputs.shared("inception_features", compute)


_PROTOCOL = {"extractor": EXTRACTOR_LABEL, "extractor_name": "inception-v3-compat",
             "extractor_hash": None, "resolution": 299}


@register_metric("fid_inception", group="inception", summary="FID (torchmetrics)")
def fid_inception(inputs: MetricInputs) -> list[Score]:
    from torchmetrics.image.fid import FrechetInceptionDistance

    f = _features(inputs)
    metric = FrechetInceptionDistance(feature=_Precomputed(POOL_DIM))
    metric.update(f["real"][POOL], real=True)
    metric.update(f["fake"][POOL], real=False)
    return [Score("fid_inception", "fid_inception", float(metric.compute()), dict(_PROTOCOL))]


@register_metric("kid_inception", group="inception", summary="KID (torchmetrics)")
def kid_inception(inputs: MetricInputs) -> list[Score]:
    from torchmetrics.image.kid import KernelInceptionDistance

    f = _features(inputs)
    size = min(KID_SUBSET_SIZE, len(f["real"][POOL]), len(f["fake"][POOL]))
    with warnings.catch_warnings():  # "will save all extracted features": they are in memory
        warnings.simplefilter("ignore", UserWarning)
        metric = KernelInceptionDistance(feature=_Precomputed(POOL_DIM), subsets=KID_SUBSETS,
                                         subset_size=size)
    metric.update(f["real"][POOL], real=True)
    metric.update(f["fake"][POOL], real=False)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(inputs.seed)
        mean, std = metric.compute()
    extra = {**_PROTOCOL, "std": float(std), "subset_size": size, "subsets": KID_SUBSETS}
    return [Score("kid_inception", "kid_inception", float(mean), extra)]


@register_metric("is_inception", group="inception", summary="Inception Score (torchmetrics)")
def is_inception(inputs: MetricInputs) -> list[Score]:
    from torchmetrics.image.inception import InceptionScore

    f = _features(inputs)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        metric = InceptionScore(feature=_Precomputed(LOGITS_DIM), splits=IS_SPLITS)
    metric.update(f["fake"][LOGITS])
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(inputs.seed)
        mean, std = metric.compute()
    extra = {**_PROTOCOL, "std": float(std), "splits": IS_SPLITS}
    return [Score("is_inception", "is_inception", float(mean), extra)]
