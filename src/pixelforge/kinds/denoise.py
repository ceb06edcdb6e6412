"""DnCNN denoisers, trained on seeded crops of photos degraded as restore.degradation says."""

from pixelforge.kinds._shared import restoration

KIND = restoration("denoise", model="dncnn", task="DenoiseTask", pipeline="DenoisePipeline",
                   evaluator="evaluate_denoise")
