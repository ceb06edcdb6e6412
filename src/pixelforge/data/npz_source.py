"""Load images and labels from a .npz archive, choosing the array by key or by split."""

from __future__ import annotations

import logging
import zipfile
from pathlib import Path

import numpy as np

from pixelforge.data.array_source import dataset_from_array
from pixelforge.data.dataset import ImageDataset
from pixelforge.data.fingerprint import npz_identity
from pixelforge.data.options import LoadOptions
from pixelforge.errors import UserError

log = logging.getLogger("pixelforge.data")

_DIM_MAX = 16  # sklearn-digits style arrays (0-16) trigger a warning, never a rescale


def load_npz(
    path: Path,
    key: str | None,
    opts: LoadOptions,
    *,
    label: str = "npz",
    identity: dict[str, object] | None = None,
) -> ImageDataset:
    """ImageDataset from `path` (array `key` or chosen by split); `label` starts the description.

    Array choice: `key` (for split "test", `<key>_test` when it exists), else `x_<split>`, else
    `x`, else the only 4-D uint8 array. Labels come from the matching `y...` array (`x_train` ->
    `y_train`, `x_olivetti` -> `y_olivetti`) when it is 1-D, integer, non-negative and as long.
    Images must be uint8 NHWC with 1-4 channels (NHW means one); other dtypes are rejected,
    never rescaled. Archives are read with allow_pickle=False.
    """
    with _open_archive(path) as archive:
        keys = list(archive.files)
        headers = _array_headers(path)
        chosen = _choose_key(path, keys, headers, key, opts.split)
        images = _read_images(path, archive, chosen)
        labels, num_classes = _read_labels(archive, keys, chosen, len(images))
        class_names = _read_class_names(archive, keys, num_classes)
    source_identity = dict(identity or npz_identity(path), key=chosen)
    return dataset_from_array(
        images,
        labels,
        opts,
        num_classes=num_classes,
        class_names=class_names,
        source=f"{label} {path}[{chosen}]",
        identity=source_identity,
    )


def read_npz_images(path: Path, key: str | None = None, split: str = "train") -> np.ndarray:
    """The uint8 [N, H, W, C] image array of an .npz, chosen as load_npz chooses it (NHW -> C=1);
    for readers that crop the pictures themselves (restoration training)."""
    with _open_archive(path) as archive:
        chosen = _choose_key(path, list(archive.files), _array_headers(path), key, split)
        return _read_images(path, archive, chosen)


def _choose_key(
    path: Path,
    keys: list[str],
    headers: dict[str, tuple[tuple[int, ...], np.dtype]],
    key: str | None,
    split: str,
) -> str:
    if key is not None:
        if key not in keys:
            raise UserError(f"{path} has no array {key!r}; it has: {_listing(keys)}")
        test_twin = f"{key}_test"
        return test_twin if split == "test" and test_twin in keys else key
    for candidate in (f"x_{split}", "x"):
        if candidate in keys:
            return candidate
    images = [k for k, (shape, dtype) in headers.items() if len(shape) == 4 and dtype == np.uint8]
    if len(images) == 1:
        return images[0]
    if len(images) > 1:
        raise UserError(
            f"{path} has several image arrays ({_listing(images)}) and no x_{split} or x; "
            f"pick one as {path}:KEY"
        )
    raise UserError(
        f"{path} has no image array (x_{split}, x, or a single 4-D uint8 array); "
        f"its keys are: {_listing(keys)}"
    )


def _read_images(path: Path, archive: np.lib.npyio.NpzFile, key: str) -> np.ndarray:
    try:
        array = archive[key]
    except ValueError as exc:  # object arrays need pickle, which we never allow
        raise UserError(f"{path}[{key}] cannot be read without pickle: {exc}") from None
    if array.dtype != np.uint8:
        raise UserError(
            f"{path}[{key}] has dtype {array.dtype}; images must be uint8 with values 0-255 "
            f"(convert it, e.g. (x * 255 / x.max()).astype('uint8'))"
        )
    if array.ndim == 3:
        array = array[..., None]
    if array.ndim != 4 or array.shape[-1] not in (1, 2, 3, 4):
        raise UserError(
            f"{path}[{key}] has shape {array.shape}; expected (N, H, W) or (N, H, W, C) "
            f"with C = 1, 2 (gray + alpha), 3 or 4 channels last"
        )
    if min(array.shape[:3]) == 0:
        raise UserError(f"{path}[{key}] holds no images (shape {array.shape})")
    peak = int(array.max())
    if peak <= _DIM_MAX:
        log.warning(
            "%s[%s] has values only up to %d; they are used as 0-255 without rescaling, "
            "so the images will look almost black",
            path,
            key,
            peak,
        )
    return array


def _read_labels(
    archive: np.lib.npyio.NpzFile, keys: list[str], image_key: str, count: int
) -> tuple[np.ndarray | None, int]:
    if not image_key.startswith("x"):
        return None, 0
    label_key = "y" + image_key[1:]
    if label_key not in keys:
        return None, 0
    try:
        labels = archive[label_key]
    except ValueError:
        return None, 0
    if labels.shape != (count,) or labels.dtype.kind not in "iub" or count == 0:
        return None, 0
    labels = labels.astype(np.int64)
    if labels.min() < 0:
        return None, 0
    return labels, int(labels.max()) + 1


def _read_class_names(
    archive: np.lib.npyio.NpzFile, keys: list[str], num_classes: int
) -> list[str]:
    if num_classes == 0 or "class_names" not in keys:
        return []
    try:
        names = archive["class_names"]
    except ValueError:
        return []
    if names.dtype.kind != "U" or names.shape != (num_classes,):
        return []
    return [str(name) for name in names]


def _array_headers(path: Path) -> dict[str, tuple[tuple[int, ...], np.dtype]]:
    """Shape and dtype of every array, read from the .npy headers without decompressing data."""
    headers: dict[str, tuple[tuple[int, ...], np.dtype]] = {}
    with zipfile.ZipFile(path) as zf:
        for member in zf.namelist():
            if not member.endswith(".npy"):
                continue
            try:
                with zf.open(member) as fh:
                    version = np.lib.format.read_magic(fh)
                    read = (
                        np.lib.format.read_array_header_1_0
                        if version == (1, 0)
                        else np.lib.format.read_array_header_2_0
                    )
                    shape, _, dtype = read(fh)
            except (ValueError, OSError):
                continue
            headers[member[: -len(".npy")]] = (shape, dtype)
    return headers


def _listing(keys: list[str]) -> str:
    return ", ".join(keys) if keys else "(none)"


def _open_archive(path: Path) -> np.lib.npyio.NpzFile:
    """The .npz at `path`, opened without pickle; a missing or foreign file is a UserError."""
    if not path.is_file():
        raise UserError(f"npz file not found: {path}")
    try:
        archive = np.load(path, allow_pickle=False)
    except (OSError, ValueError, zipfile.BadZipFile) as exc:
        raise UserError(f"cannot read {path} as .npz: {exc}") from None
    if not isinstance(archive, np.lib.npyio.NpzFile):  # a bare .npy saved under a .npz name
        raise UserError(f"cannot read {path} as .npz: it holds a single .npy array, not an archive")
    return archive
