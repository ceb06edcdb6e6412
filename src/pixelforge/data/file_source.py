"""Turn a sorted list of image files into an ImageDataset, preloading it when it fits in memory."""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Generator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import closing
from functools import partial
from pathlib import Path

import torch

from pixelforge.data.dataset import ImageDataset
from pixelforge.data.decode import decode_image, failure_reason, probe_image
from pixelforge.data.fingerprint import make_fingerprint
from pixelforge.data.options import LoadOptions
from pixelforge.errors import UserError

log = logging.getLogger("pixelforge.data")


class LazyFiles:
    """Decodes one file per request, for sources too large to preload."""

    def __init__(self, paths: Sequence[Path], opts: LoadOptions) -> None:
        self._paths, self._opts = list(paths), opts

    def __len__(self) -> int:
        return len(self._paths)

    def load(self, index: int) -> torch.Tensor:
        return decode_image(self._paths[index], self._opts)

    def name(self, index: int) -> str:
        return str(self._paths[index])


def dataset_from_files(
    paths: Sequence[Path],
    labels: Sequence[int],
    opts: LoadOptions,
    *,
    num_classes: int,
    source: str,
    identity: dict[str, object],
    class_names: Sequence[str] = (),
) -> ImageDataset:
    """`paths` in their final order, `labels` parallel to them (-1 when unlabeled).

    Every file is checked here: a preloaded source decodes all of them (in a thread pool), a
    lazy one reads each header. Unreadable files are skipped, listed in `ds.skipped` and
    reported in one warning; `limit` counts readable images, so it yields N when enough are good.
    """
    wanted = opts.take(len(paths))
    preload = opts.fits_in_memory(wanted)
    check = partial(decode_image, opts=opts) if preload else probe_image
    kept: list[int] = []
    shape = (wanted, opts.channels, opts.image_size, opts.image_size)
    images = torch.empty(shape, dtype=torch.uint8) if preload else None
    skipped: list[tuple[str, str]] = []
    examined = 0
    with closing(_checked(paths, check)) as results:
        for index, result in results:
            examined += 1
            if isinstance(result, Exception):
                skipped.append((str(paths[index]), failure_reason(result)))
                continue
            if preload:
                images[len(kept)] = result
            kept.append(index)
            if len(kept) == wanted:
                break
    if not kept:
        first = f"; first: {skipped[0][0]} ({skipped[0][1]})" if skipped else ""
        raise UserError(f"no readable images in {source}: all {examined:,} files failed{first}")
    if skipped:
        log.warning(
            "skipped %s of %s files: first: %s (%s)",
            f"{len(skipped):,}",
            f"{examined:,}",
            *skipped[0],
        )
    description = (
        f"{source} {len(kept)} images"
        + (f" ({len(skipped)} unreadable skipped)" if skipped else "")
        + f" -> {opts.target} ({opts.resize_filter}, centre crop)"
        + (f", {num_classes} classes" if num_classes else "")
        + ("" if preload else ", decoded lazily")
    )
    common = dict(
        labels=torch.tensor([labels[i] for i in kept], dtype=torch.int64),
        num_classes=num_classes,
        class_names=class_names,
        description=description,
        fingerprint=make_fingerprint(identity, opts),
        image_size=opts.image_size,
        channels=opts.channels,
        skipped=skipped,
    )
    if preload:
        images = images if len(kept) == wanted else images[: len(kept)].clone()
        return ImageDataset(images=images, **common)
    return ImageDataset(lazy=LazyFiles([paths[i] for i in kept], opts), **common)


def _checked(
    paths: Sequence[Path], check: Callable[[Path], object]
) -> Generator[tuple[int, object], None, None]:
    """Yield (index, check(path) or the exception it raised) in order, computed in parallel."""

    def run(path: Path) -> object:
        try:
            return check(path)
        except Exception as exc:  # any unreadable file is skipped, never fatal
            return exc

    workers = min(8, os.cpu_count() or 1)
    chunk = workers * 32
    with ThreadPoolExecutor(max_workers=workers) as pool:
        for start in range(0, len(paths), chunk):
            results = pool.map(run, paths[start : start + chunk])
            yield from enumerate(results, start)
