"""Image shards: WebDataset-compatible plain tar files plus a pixelforge manifest.

A shard folder holds `shard-000000.tar`, ... and `manifest.json`. Each tar holds, per sample,
`<key>.png` (or `.jpg`) and, for labelled data, `<key>.cls` (the label as text): the layout any
WebDataset reader understands. The manifest adds what random access needs: per shard its sample
count, byte size and sha256, per sample its data offset, size, crc32 and label, so pixelforge's
step-addressed sampler (training/sampler.py) maps a global index to (shard, offset) itself: order,
rank split and resume never depend on the number of loader workers or shards.
"""

from __future__ import annotations

import hashlib
import json
import os
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pixelforge.errors import UserError

MANIFEST = "manifest.json"
FORMAT = "pixelforge-shards"
VERSION = 1
ENCODINGS = ("png", "jpg")


@dataclass(frozen=True)
class Sample:
    """Where one sample's image bytes sit: shard index, data offset and size, crc32, label."""

    shard: int
    offset: int
    size: int
    crc32: int
    label: int


@dataclass(frozen=True)
class Manifest:
    """A shard folder's manifest, checked against the shard files on disk."""

    folder: Path
    shards: list[dict[str, Any]]  # {"name", "count", "bytes", "sha256"}
    samples: list[Sample]
    width: int
    height: int
    channels: int
    encoding: str
    class_names: list[str]
    num_classes: int
    fingerprint: str
    inodes: tuple[int, ...] = ()  # of the shard files checked, so a replaced file is reopened

    def path(self, shard: int) -> Path:
        return self.folder / self.shards[shard]["name"]

    def read(self, index: int) -> bytes:
        """The encoded image of sample `index`; UserError naming shard and sample when damaged."""
        s = self.samples[index]
        name = self.shards[s.shard]["name"]
        try:
            fd = _descriptor(self.path(s.shard), self.inodes[s.shard] if self.inodes else 0)
            data = os.pread(fd, s.size, s.offset)
        except OSError as exc:
            raise UserError(f"shard {name}: cannot read sample {index}: {exc}") from None
        if len(data) != s.size or zlib.crc32(data) != s.crc32:
            raise UserError(f"shard {name}: sample {index} is damaged (truncated or checksum "
                            "mismatch); training stops, re-pack the data or remove the shard")
        return data


_OPEN: dict[tuple[int, Path, int], int] = {}  # (process id, shard, inode) -> descriptor


def _descriptor(path: Path, inode: int) -> int:
    """A read-only descriptor of `path` kept open for this process (DataLoader workers open
    their own; os.pread keeps no shared file position, so threads may share one)."""
    key = (os.getpid(), path, inode)
    fd = _OPEN.get(key)
    if fd is None:
        fd = _OPEN.setdefault(key, os.open(path, os.O_RDONLY))
    return fd


def is_shard_folder(path: Path) -> bool:
    return path.is_dir() and (path / MANIFEST).is_file()


def shard_fingerprint(spec: str) -> str | None:
    """The manifest fingerprint of a shard-folder data spec, None for any other data."""
    path = Path(str(spec)).expanduser()
    if not is_shard_folder(path):
        return None
    try:
        return str(json.loads((path / MANIFEST).read_text())["fingerprint"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


def set_fingerprint(shards: list[dict[str, Any]], image: dict[str, Any],
                    class_names: list[str]) -> str:
    """16 hex characters over shard names, sizes, hashes and the image description."""
    record = {"shards": [[s["name"], s["count"], s["bytes"], s["sha256"]] for s in shards],
              "image": image, "classes": class_names}
    return hashlib.sha256(json.dumps(record, sort_keys=True).encode()).hexdigest()[:16]


def read_manifest(folder: Path) -> Manifest:
    """Load and check `folder`'s manifest: every listed shard present with its recorded size, no
    unlisted .tar, counts adding up. One-line UserError naming the shard or field otherwise."""
    where = folder / MANIFEST
    try:
        raw = json.loads(where.read_text())
    except (OSError, ValueError) as exc:
        raise UserError(f"{where}: cannot read the shard manifest ({exc})") from None
    if not isinstance(raw, dict) or raw.get("format") != FORMAT:
        raise UserError(f"{where}: not a pixelforge shard manifest (format must be {FORMAT!r})")
    if raw.get("version") != VERSION:
        raise UserError(f"{where}: manifest version {raw.get('version')!r} is not {VERSION}")
    try:
        image, shards = raw["image"], raw["shards"]
        width, height, channels = int(image["width"]), int(image["height"]), int(image["channels"])
        encoding = str(image["encoding"])
        class_names = [str(c) for c in raw.get("classes", [])]
        num_classes = int(raw.get("num_classes", 0))
        count = int(raw["count"])
    except (KeyError, TypeError, ValueError) as exc:
        raise UserError(f"{where}: manifest field missing or malformed: {exc}") from None
    samples, inodes = _check_shards(folder, where, shards, count)
    fingerprint = set_fingerprint(shards, image, class_names)
    if raw.get("fingerprint") != fingerprint:
        raise UserError(f"{where}: fingerprint {raw.get('fingerprint')!r} does not match its shard "
                        f"list ({fingerprint}); the manifest was edited, re-pack the data")
    return Manifest(folder, shards, samples, width, height, channels, encoding, class_names,
                    num_classes, fingerprint, inodes)


def _check_shards(folder: Path, where: Path, shards: list, count: int
                  ) -> tuple[list[Sample], tuple[int, ...]]:
    listed = set()
    samples: list[Sample] = []
    inodes: list[int] = []
    for k, shard in enumerate(shards):
        try:
            name, n, size = str(shard["name"]), int(shard["count"]), int(shard["bytes"])
            rows = shard["samples"]
        except (KeyError, TypeError, ValueError) as exc:
            raise UserError(f"{where}: shards[{k}] field missing or malformed: {exc}") from None
        listed.add(name)
        path = folder / name
        if not path.is_file():
            raise UserError(f"shard {name}: listed in {where} but missing")
        st = path.stat()
        actual = st.st_size
        inodes.append(st.st_ino)
        if actual != size:
            raise UserError(f"shard {name}: {actual} bytes on disk but the manifest says {size} "
                            "(truncated or replaced); re-pack the data")
        if len(rows) != n:
            raise UserError(f"{where}: shards[{k}] ({name}) count {n} but {len(rows)} samples")
        for row in rows:
            offset, length, crc, label = (int(v) for v in row)
            if offset < 0 or offset + length > size:
                raise UserError(f"shard {name}: a sample at byte {offset} ends past the shard's "
                                f"{size} bytes; the manifest does not match the shard")
            samples.append(Sample(k, offset, length, crc, label))
    unlisted = sorted(p.name for p in folder.glob("*.tar") if p.name not in listed)
    if unlisted:
        raise UserError(f"shard {unlisted[0]}: in {folder} but not in {MANIFEST}; the manifest "
                        "does not match its shards, re-pack or remove the file")
    if len(samples) != count:
        raise UserError(f"{where}: count {count} but the shards list {len(samples)} samples")
    if not samples:
        raise UserError(f"{where}: the shard set holds no samples")
    return samples, tuple(inodes)


def write_manifest(folder: Path, shards: list[dict[str, Any]], image: dict[str, Any],
                   class_names: list[str], num_classes: int) -> dict[str, Any]:
    """Write `folder/manifest.json` atomically (temp file + rename); returns what was written."""
    record = {"format": FORMAT, "version": VERSION,
              "count": sum(s["count"] for s in shards), "image": image,
              "classes": class_names, "num_classes": num_classes,
              "fingerprint": set_fingerprint(shards, image, class_names), "shards": shards}
    tmp = folder / (MANIFEST + ".tmp")
    tmp.write_text(json.dumps(record, separators=(",", ":")))
    tmp.replace(folder / MANIFEST)
    return record


def check_same_shards(saved: str | None, spec: str, where: Path) -> None:
    """--resume on shards whose fingerprint differs from the checkpoint's (`saved`, from its
    meta.json) -> one-line UserError; the remaining samples would not be the unseen ones."""
    now = shard_fingerprint(spec)
    if saved is None or saved == now:
        return
    raise UserError(f"resume=True: the shard set in data.path {spec!r} changed since the "
                    f"checkpoint (fingerprint {saved} in {where}, now {now}); resume needs the "
                    "same shards, train into a new out= folder instead", field="resume")
