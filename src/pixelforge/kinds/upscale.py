"""SRResNet upscalers, trained on crops of photos downscaled by the model's scale, bicubically
or through the realistic chain (restore.degradation: realistic); the builder gets the model's
`scale` option as an argument."""

from pixelforge.kinds._shared import restoration

KIND = restoration("upscale", model="srresnet", task="UpscaleTask", pipeline="UpscalePipeline",
                   evaluator="evaluate_upscale", data_model_options=("scale",))
