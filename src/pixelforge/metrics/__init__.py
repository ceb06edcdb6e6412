"""Generator evaluation: FD/KID/precision-recall on an offline cnn extractor, Inception metrics."""

from pixelforge.metrics import cnn_metrics, inception  # noqa: F401  (register the metrics)
from pixelforge.metrics.cache import RealStats, real_feature_stats, stats_key
from pixelforge.metrics.conditional import ClassAccuracy, conditional_accuracy
from pixelforge.metrics.evaluate import evaluate_generator
from pixelforge.metrics.extractor import (
    Extractor,
    ExtractorSpec,
    extractor_id,
    extractor_spec,
    get_extractor,
)
from pixelforge.metrics.frechet import feature_stats, frechet_distance
from pixelforge.metrics.inception import load_inception
from pixelforge.metrics.kid import kernel_distance, mmd2_unbiased
from pixelforge.metrics.kinds import EVALUATORS, EvalRequest, register_evaluator
from pixelforge.metrics.precision_recall import precision_recall
from pixelforge.metrics.registry import METRICS, MetricInputs, Score, register_metric
from pixelforge.metrics.report import append_metrics, read_metrics

__all__ = [
    "EVALUATORS", "EvalRequest", "register_evaluator", "METRICS", "ClassAccuracy", "Extractor", "ExtractorSpec", "MetricInputs", "RealStats", "Score",
    "append_metrics", "conditional_accuracy", "evaluate_generator", "extractor_id",
    "extractor_spec", "feature_stats", "frechet_distance", "get_extractor", "kernel_distance", "load_inception", "mmd2_unbiased",
    "precision_recall", "read_metrics", "real_feature_stats", "register_metric", "stats_key",
]
