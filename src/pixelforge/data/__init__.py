"""Image data layer: load_images turns a spec into an ImageDataset of [-1, 1] CHW tensors;
build_dataset(builder, cfg, **options) gives a task the training data its kind declares (dict items
and batches)."""

from pixelforge.data.builders import DATA_BUILDERS, build_dataset
from pixelforge.data.dataset import ImageDataset, to_float
from pixelforge.data.spec import load_images

__all__ = ["DATA_BUILDERS", "ImageDataset", "build_dataset", "load_images", "to_float"]
