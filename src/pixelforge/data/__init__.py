"""Image data layer: load_images turns a spec into an ImageDataset of [-1, 1] CHW tensors."""

from pixelforge.data.dataset import ImageDataset, to_float
from pixelforge.data.spec import load_images

__all__ = ["ImageDataset", "load_images", "to_float"]
