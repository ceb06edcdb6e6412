"""pixelforge studio: a local web app to explore, generate, interpolate, restore and train.

Start it with `pixelforge studio --runs ./runs`; see docs/studio.md. Imports only the inference
side (core, models, pipelines, checkpoint, api, runs); training runs as a subprocess.
"""
