"""The `pixelforge` command line: one module per verb, all built on pipelines/ and training/."""
