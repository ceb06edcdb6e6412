"""Stable short hashes of a data source's identity plus load options, used as metric-cache keys."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from pathlib import Path

from pixelforge.data.options import LoadOptions

# Bump when preprocessing changes in a way that alters the produced pixels.
_PREPROCESS_VERSION = 1


def make_fingerprint(source: dict[str, object], opts: LoadOptions) -> str:
    """16 hex characters that change whenever the source or any load option changes."""
    record = {"v": _PREPROCESS_VERSION, "source": source, **opts.as_dict()}
    text = json.dumps(record, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def file_stat_identity(path: Path) -> dict[str, object]:
    """Cheap identity of one file: resolved path, size and modification time."""
    st = path.stat()
    return {"path": str(path.resolve()), "size": st.st_size, "mtime_ns": st.st_mtime_ns}


def npz_identity(path: Path) -> dict[str, object]:
    """Content identity of an .npz (a zip archive): its size and each member's name, size and
    CRC-32 from the archive's central directory, read without decompressing anything. The same
    arrays copied elsewhere, or re-copied with a new mtime, keep their fingerprint (and so their
    cached evaluators); any changed array changes it. Not a zip: the file's stat identity."""
    import zipfile

    try:
        with zipfile.ZipFile(path) as archive:
            members = sorted((i.filename, i.file_size, i.CRC) for i in archive.infolist())
    except (zipfile.BadZipFile, OSError):
        return file_stat_identity(path)
    return {"kind": "npz", "size": path.stat().st_size, "members": members}


def file_content_digest(path: Path) -> str:
    """sha256 of a (small) file's bytes: identical content gives the same identity anywhere."""
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def files_digest(root: Path, paths: Iterable[Path]) -> str:
    """sha256 over relative names, sizes and mtimes of many files (no file contents read)."""
    digest = hashlib.sha256()
    for path in paths:
        try:
            st = path.stat()
            stamp = f"{st.st_size}\0{st.st_mtime_ns}"
        except OSError:
            stamp = "missing"
        digest.update(f"{path.relative_to(root).as_posix()}\0{stamp}\n".encode())
    return digest.hexdigest()
