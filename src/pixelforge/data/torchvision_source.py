"""Named torchvision data sets (mnist, fashion-mnist, cifar10, celeba), downloaded to one root."""

from __future__ import annotations

import os
import socket
from pathlib import Path
from urllib.error import URLError

import numpy as np

from pixelforge.data.array_source import dataset_from_array
from pixelforge.data.dataset import ImageDataset
from pixelforge.data.file_source import dataset_from_files
from pixelforge.data.options import LoadOptions
from pixelforge.errors import UserError

NAMES = ("celeba", "cifar10", "fashion-mnist", "mnist")
_ALIASES = {
    "fashion_mnist": "fashion-mnist",
    "fashionmnist": "fashion-mnist",
    "cifar-10": "cifar10",
    "cifar_10": "cifar10",
}
_OFFLINE_HINTS = (
    "urlopen error",
    "name or service not known",
    "temporary failure in name resolution",
    "network is unreachable",
    "connection refused",
    "timed out",
)


def canonical_name(spec: str) -> str | None:
    """The data set name `spec` refers to (case-insensitive, a few aliases), or None."""
    name = spec.strip().lower()
    name = _ALIASES.get(name, name)
    return name if name in NAMES else None


def data_root() -> Path:
    """Where named data sets are downloaded and looked for."""
    env = os.environ.get("PIXELFORGE_DATA")
    root = Path(env) if env else Path("~/.cache/pixelforge/datasets")
    return root.expanduser()


def load_named(name: str, opts: LoadOptions, *, download: bool) -> ImageDataset:
    """ImageDataset for one of NAMES, downloading it first when `download` is true.

    The root is `$PIXELFORGE_DATA` or `~/.cache/pixelforge/datasets`. Any failure to download
    or find the files becomes a one-line UserError naming the data set and the root. CelebA is
    unlabeled and goes through the image-file path (its aligned JPEGs), the others are arrays.
    """
    root = data_root()
    tv = _open(name, root, opts.split, download)
    if name == "celeba":
        folder = root / tv.base_folder / "img_align_celeba"
        paths = [folder / filename for filename in tv.filename]
        return dataset_from_files(
            paths,
            [-1] * len(paths),
            opts,
            num_classes=0,
            source=f"torchvision celeba ({opts.split}, {root})",
            identity={"kind": "torchvision", "name": name},
        )
    images = np.asarray(tv.data)  # MNIST-like: (N, 28, 28) tensor; CIFAR-10: (N, 32, 32, 3)
    if images.ndim == 3:
        images = images[..., None]
    return dataset_from_array(
        images,
        np.asarray(tv.targets, dtype=np.int64),
        opts,
        num_classes=len(tv.classes),
        class_names=list(tv.classes),
        source=f"torchvision {name} ({opts.split})",
        identity={"kind": "torchvision", "name": name},
    )


def _open(name: str, root: Path, split: str, download: bool):
    """The torchvision data set object; every failure becomes a one-line UserError."""
    try:
        from torchvision import datasets

        if name == "celeba":
            return datasets.CelebA(str(root), split=split, target_type=[], download=download)
        cls = {
            "mnist": datasets.MNIST,
            "fashion-mnist": datasets.FashionMNIST,
            "cifar10": datasets.CIFAR10,
        }[name]
        return cls(str(root), train=split == "train", download=download)
    except Exception as exc:
        raise UserError(_failure_message(name, root, download, exc)) from exc


def _failure_message(name: str, root: Path, download: bool, exc: Exception) -> str:
    hint = "Download it on a machine with internet or pass a folder/.npz"
    detail = _one_line(exc)
    if not download:
        return f"data set {name!r} is not in {root} and download is off ({detail}). {hint}"
    why = "no network" if _looks_offline(exc) else "download failed"
    return f"could not download {name!r} to {root}: {why} ({detail}). {hint}"


def _looks_offline(exc: BaseException) -> bool:
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, URLError | ConnectionError | TimeoutError | socket.gaierror):
            return True
        seen = seen.__cause__ or seen.__context__
    text = str(exc).lower()
    return any(hint in text for hint in _OFFLINE_HINTS)


def _one_line(exc: BaseException) -> str:
    """A short single-line summary; for multi-line messages prefer the last line naming an error."""
    if isinstance(exc, URLError):
        text = f"URLError: {exc.reason}"
    else:
        lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
        errors = [line for line in lines if "error" in line.lower()]
        text = (errors[-1] if len(lines) > 1 and errors else lines[0]) if lines else ""
        text = f"{type(exc).__name__}: {text}" if text else type(exc).__name__
    return text if len(text) <= 160 else text[:157] + "..."
