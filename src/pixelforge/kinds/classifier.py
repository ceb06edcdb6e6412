"""Classifiers: the cnn whose features the evaluators compare real and generated images in
(trained by `pixelforge eval` itself, not by `pixelforge train`), and the shipped photo judge
(`judge`, trained by benchmarks/make_judge.py) whose features photo_fd compares."""

from pixelforge.kinds import Kind

KIND = Kind(name="classifier", models=("pixelforge.models.cnn", "pixelforge.models.judge"))
