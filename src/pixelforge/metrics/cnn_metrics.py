"""Default cnn-feature metrics: FD (Heusel 2017), KID (Binkowski 2018), P/R (Kynkaanniemi 2019)."""

from __future__ import annotations

from pixelforge.metrics.frechet import feature_stats, frechet_distance
from pixelforge.metrics.kid import DEFAULT_SUBSET_SIZE, DEFAULT_SUBSETS, kernel_distance
from pixelforge.metrics.precision_recall import DEFAULT_K, precision_recall
from pixelforge.metrics.registry import MetricInputs, Score, register_metric

PR_MAX_SAMPLES = 5_000


@register_metric("fd_cnn", summary="Frechet distance of cnn features (Heusel et al. 2017)")
def fd_cnn(inputs: MetricInputs) -> list[Score]:
    mu, sigma = feature_stats(inputs.fake_features)
    value = frechet_distance(mu, sigma, inputs.real.mu, inputs.real.sigma)
    return [Score("fd_cnn", "fd", value)]


@register_metric("kid_cnn", summary="kernel distance of cnn features (Binkowski et al. 2018)")
def kid_cnn(inputs: MetricInputs) -> list[Score]:
    mean, std = kernel_distance(inputs.fake_features, inputs.real.features,
                                subset_size=DEFAULT_SUBSET_SIZE, subsets=DEFAULT_SUBSETS,
                                seed=inputs.seed)
    size = min(DEFAULT_SUBSET_SIZE, len(inputs.fake_features), len(inputs.real.features))
    return [Score("kid_cnn", "kid", mean,
                  {"std": std, "subset_size": size, "subsets": DEFAULT_SUBSETS})]


@register_metric("pr_cnn", summary="precision/recall of cnn features (Kynkaanniemi et al. 2019)")
def pr_cnn(inputs: MetricInputs) -> list[Score]:
    if min(len(inputs.real.features), len(inputs.fake_features)) <= DEFAULT_K:
        return []  # k-NN radii need more than k samples on each side
    precision, recall = precision_recall(inputs.real.features, inputs.fake_features, k=DEFAULT_K,
                                         max_samples=PR_MAX_SAMPLES, seed=inputs.seed)
    n = min(len(inputs.real.features), len(inputs.fake_features), PR_MAX_SAMPLES)
    extra = {"k": DEFAULT_K, "n_samples": n}
    return [Score("precision_cnn", "precision", precision, extra),
            Score("recall_cnn", "recall", recall, extra)]
