"""File jobs: image files in, image files out, for the image-to-image pipelines.

`plan` turns files/folders/globs into (input, output) pairs and checks them all before any work;
`imageio` reads and writes one file in its own mode, bit depth and orientation; `metadata` carries
ICC profile, EXIF, DPI and PNG text over; `jobs` runs a pipeline over the pairs (denoise, upscale,
inpaint, translate) and reports skipped files; `colorize` runs a chroma colouriser keeping each
input's luma exactly. The pipelines themselves know nothing of files.
"""
