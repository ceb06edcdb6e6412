"""Load a folder of image files (recursive, sorted), labelled by first-level subfolders if any."""

from __future__ import annotations

import os
from pathlib import Path

from pixelforge.core.formats import IMAGE_SUFFIXES
from pixelforge.data.dataset import ImageDataset
from pixelforge.data.file_source import dataset_from_files
from pixelforge.data.fingerprint import files_digest
from pixelforge.data.options import LoadOptions
from pixelforge.errors import UserError

IMAGE_EXTENSIONS = frozenset(IMAGE_SUFFIXES)


def load_folder(root: Path, opts: LoadOptions) -> ImageDataset:
    """ImageDataset over the image files below `root` (or its train/test subfolder).

    Split: `<root>/train` or `<root>/test` when that subfolder exists; otherwise the whole folder
    is the train split and "test" is an error. Files ending in one of core.formats.IMAGE_SUFFIXES
    (any case) are used, sorted by path; names starting with "." are ignored. When every image sits
    inside a first-level subfolder and there are at least two, the sorted subfolder names are the
    classes; otherwise the images are unlabeled.
    """
    if not root.is_dir():
        raise UserError(f"image folder not found: {root}")
    base = split_folder(root, opts.split)
    files, others = scan_images(base)
    if not files:
        count = "1 file" if others == 1 else f"{others} files"
        what = f"{count} but none with an image extension" if others else "no files"
        raise UserError(
            f"no images in folder {base}: it has {what} "
            f"(looked recursively for {', '.join(sorted(IMAGE_EXTENSIONS))})"
        )
    class_names, labels = folder_labels(base, files)
    identity = {"kind": "folder", "path": str(base.resolve()), "files": files_digest(base, files)}
    return dataset_from_files(
        files,
        labels,
        opts,
        num_classes=len(class_names),
        class_names=class_names,
        source=f"folder {base}",
        identity=identity,
    )


def split_folder(root: Path, split: str) -> Path:
    """The folder holding `split`'s images, or a UserError saying how to lay the folder out."""
    sub = root / split
    if sub.is_dir():
        return sub
    if split == "test":
        raise UserError(
            f"folder {root} has no test/ subfolder; to use split 'test' put test images in "
            f"{root / 'test'} and training images in {root / 'train'}"
        )
    if (root / "test").is_dir():
        raise UserError(
            f"folder {root} has a test/ but no train/ subfolder; move the training images "
            f"into {root / 'train'} so they stay separate from the test images"
        )
    return root


def scan_images(base: Path) -> tuple[list[Path], int]:
    """(image files below `base` sorted by path components, count of other files)."""
    found: list[Path] = []
    others = 0
    for dirpath, dirnames, filenames in os.walk(base):
        dirnames[:] = [d for d in dirnames if not d.startswith(".")]
        for name in filenames:
            if name.startswith("."):
                continue
            if os.path.splitext(name)[1].lower() in IMAGE_EXTENSIONS:
                found.append(Path(dirpath, name))
            else:
                others += 1
    found.sort(key=lambda p: p.relative_to(base).parts)
    return found, others


def folder_labels(base: Path, files: list[Path]) -> tuple[list[str], list[int]]:
    """(class names, label per file); ([], all -1) unless classes come from subfolders."""
    tops = [p.relative_to(base).parts for p in files]
    if any(len(parts) < 2 for parts in tops):
        return [], [-1] * len(files)
    class_names = sorted({parts[0] for parts in tops})
    if len(class_names) < 2:
        return [], [-1] * len(files)
    index = {name: i for i, name in enumerate(class_names)}
    return class_names, [index[parts[0]] for parts in tops]
