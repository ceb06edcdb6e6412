"""Denoisers (DnCNN, and the multi-scale DRUNet-style network the shipped blind model uses), trained
on seeded crops of photos degraded as restore.degradation says."""

from pixelforge.kinds._shared import restoration

KIND = restoration("denoise", model=("dncnn", "drunet"), task="DenoiseTask",
                   pipeline="DenoisePipeline", evaluator="evaluate_denoise")
