"""Inference core shared by every layer: numeric precision and the one set of image conversions."""
