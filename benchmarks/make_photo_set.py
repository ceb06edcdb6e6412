"""Build the larger licensed training photo set (issue 20) from Debian packages, outside the repo.

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/make_photo_set.py            # build (~1 GB download)
    .venv/bin/python benchmarks/make_photo_set.py --docs                       # print the docs table

Each package in SOURCES is fetched with `apt-get download` and unpacked with `dpkg-deb -x` into a
temporary folder (nothing is installed; the .deb is deleted right after unpacking). Only the files
that its allow list names are taken: photographs checked by eye, with a colour-count / flat-area test
as a second guard against drawings and renders. `../shared/data/photos/train` is added. Images that
are near-duplicates of `../shared/data/photos/test` are refused (exact pixels, difference hash +
thumbnail correlation, and ORB keypoints + RANSAC for crops), and near-duplicates inside the set keep
their largest copy. The output is `<out>/train/*.png` plus `manifest.json` and `manifest.csv`
recording, per file, the package, its version, the path inside it, the licence and the size.

The evaluation packages (RESERVED_PACKAGES) and scikit-image's sample images are never used.
"""

from __future__ import annotations

import argparse
import csv
import fnmatch
import hashlib
import io
import json
import os
import re
import shutil
import signal
import struct
import subprocess
import sys
import tempfile
import textwrap
import zlib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps

ROOT = Path(__file__).resolve().parents[1]
PHOTOS = ROOT.parent / "shared" / "data" / "photos"
IMAGE_EXTS = (".jpg", ".jpeg", ".png", ".webp", ".ppm", ".bmp", ".tif", ".tiff")
Image.MAX_IMAGE_PIXELS = 200_000_000

# Reserved for evaluation (issue 20): never downloaded, never read, never used for training or tuning.
RESERVED_PACKAGES = ("lomiri-wallpapers", "lomiri-wallpapers-*", "lxqt-themes", "sddm-theme-maldives",
                     "palapeli-data",
                     # scikit-image's sample images ship in these
                     "python3-skimage", "python3-skimage-*", "python-skimage*", "scikit-image*")
RESERVED_PATH_PARTS = ("skimage/data", "skimage/", "scikit-image", "scikit_image")

MIN_SHORT = 200       # px: smaller originals are dropped
MAX_SHORT = 768       # px: larger originals are Lanczos-downscaled to this shorter side
MIN_COLOURS = 300     # distinct 6-bit RGB colours in a 256 px thumbnail (gray: 8-bit levels x 12)
MAX_FLAT = 0.5        # fraction of thumbnail pixels with zero gradient (flat fills of drawings)
THUMB_CORR = 0.95     # 32x32 gray thumbnail correlation that alone makes a near-duplicate
DHASH_BITS, DHASH_CORR = 10, 0.80   # or: difference hashes this close and correlation above this
ORB_MIN_INLIERS = 25  # RANSAC homography inliers that make a (cropped / rescaled) copy of a test photo
SCENE_INLIERS, SCENE_CORR = 12, 0.70  # or fewer inliers plus a similar thumbnail: the same scene, same spot


class ReservedSourceError(ValueError):
    """A reserved evaluation package or scikit-image sample image was asked for."""


def reserved_reason(package: str, path: str = "") -> str | None:
    """Why `package` (or `path` inside it) is reserved for evaluation, or None if it may be used."""
    for pattern in RESERVED_PACKAGES:
        if fnmatch.fnmatchcase(package, pattern):
            return f"package {package!r} is reserved for evaluation (matches {pattern!r})"
    low = path.lower()
    for part in RESERVED_PATH_PARTS:
        if part in low:
            return f"{path!r} looks like scikit-image sample data, reserved for evaluation"
    return None


def assert_not_reserved(package: str, path: str = "") -> None:
    """Raise ReservedSourceError for a reserved package or a scikit-image sample path."""
    reason = reserved_reason(package, path)
    if reason:
        raise ReservedSourceError(reason)


@dataclass(frozen=True)
class Source:
    """Which files of one Debian package are photographs (allow list, checked by eye)."""

    package: str
    include: tuple[str, ...]                 # globs on paths inside the package
    exclude: tuple[str, ...] = ()
    members: tuple[str, ...] = ()            # Qt .rcc archives: globs on member paths
    largest_per_dir: bool = False            # one photo stored at several sizes per folder
    upstream: tuple[tuple[str, str], ...] = ()   # installed prefix -> upstream path, for debian/copyright
    licence: str = ""                        # fixed licence, when the copyright file cannot say
    licence_from: str = "debian copyright"   # or "gcompris README", "plasma metadata.json", a file
    what: str = ""                           # for the docs


GC_RCC = "usr/share/gcompris-qt/rcc/"
GC_ACT = "gcompris/src/activities/"
DETAILS_PHOTOS = ("Chenonceau", "EgeskovSlotSpejling", "EilanDonanCastle", "FanoeWindmill", "GizahPyramids",
                  "NDP", "Nagoya", "Neuschwanstein", "OperaSidney", "TajMahal", "TowerBridgeLondon")
PLASMA_PHOTOS = ("BytheWater", "ColdRipple", "ColorfulCups", "EveningGlow", "FallenLeaf", "Grey", "Kite",
                 "OneStandsOut", "Path", "summer_1am")
SCRATCH_DRAWN = ("chalkboard", "party-room", "room1", "room2", "room3", "spotlight-stage", "school2")
OPENCV_DATA = ("aero1.jpg", "aero3.jpg", "aloeL.jpg", "apple.jpg", "baboon.jpg", "board.jpg", "building.jpg",
               "butterfly.jpg", "chicky_512.png", "fruits.jpg", "graf1.png", "home.jpg", "leuvenA.jpg",
               "messi5.jpg", "orange.jpg", "rubberwhale1.png", "squirrel_cls.jpg", "stuff.jpg")
OPENCV_HTML = ("230501201_1.jpg", "astra_color.jpg", "detect_test1.jpg", "pexels_double_decker_bus.jpg",
               "plant.jpg", "space_shuttle.jpg")
OPENCV_TEXT = tuple(f"scenetext0{i}.jpg" for i in range(1, 7)) + tuple(
    f"scenetext_segmented_word0{i}.jpg" for i in range(1, 6))   # street photos with signs
ENLIGHTENMENT = ("Bamboo", "Foggy-Trees", "God-Rays", "Green-Maple", "Lichen-Branches", "Mountain", "Peaks",
                 "Red-Maple", "Sea-of-Lanterns", "Snow-Trees", "Spruce-Needles", "Sunset-Clouds", "Sunset-Hills",
                 "White-Flower", "Yellow-Flower")
BRAILLE_PHOTOS = ("braille", "birth", "fireplace", "statue", "teach", "workshop")

SOURCES: tuple[Source, ...] = (
    Source("gcompris-qt-data", (GC_RCC + "erase.rcc",), members=(GC_ACT + "erase/resource/*.webp",),
           licence_from="gcompris README", what="animal photos (erase activity)"),
    Source("gcompris-qt-data", (GC_RCC + "explore_monuments.rcc",),
           members=(GC_ACT + "explore_monuments/resource/*/*.webp",), licence_from="gcompris README",
           what="monuments and landscapes"),
    Source("gcompris-qt-data", (GC_RCC + "explore_world_animals.rcc", GC_RCC + "explore_farm_animals.rcc"),
           members=(GC_ACT + "explore_*_animals/resource/animals/*.webp",), licence_from="gcompris README",
           what="wild and farm animals"),
    Source("gcompris-qt-data", (GC_RCC + "explore_world_music.rcc",),
           members=(GC_ACT + "explore_world_music/resource/music/*.webp",), licence_from="gcompris README",
           what="people making music"),
    Source("gcompris-qt-data", (GC_RCC + "clickgame.rcc",), members=(GC_ACT + "clickgame/resource/sea*.webp",),
           licence_from="gcompris README", what="underwater scenes"),
    Source("gcompris-qt-data", (GC_RCC + "details.rcc",),
           members=tuple(f"{GC_ACT}details/resource/image/{n}_background.webp" for n in DETAILS_PHOTOS),
           licence_from="gcompris README", what="monument photos (not the paintings)"),
    Source("gcompris-qt-data", (GC_RCC + "categorization.rcc",),
           members=tuple(f"{GC_ACT}categorization/resource/images/{d}/*.webp"
                         for d in ("fishes", "monuments", "renewable", "tools", "others", "alphabets",
                                   "numbers")),
           licence_from="gcompris README", what="small photos of fish, monuments, windmills, tools"),
    Source("gcompris-qt-data", (GC_RCC + "louis-braille.rcc",),
           members=tuple(f"{GC_ACT}louis-braille/resource/{n}.webp" for n in BRAILLE_PHOTOS),
           licence_from="gcompris README", what="Louis Braille's town, house, workshop"),
    Source("scratch", ("usr/share/scratch/Media/Backgrounds/*/*.jpg",),
           exclude=tuple(f"*/{n}.jpg" for n in SCRATCH_DRAWN), what="Scratch 1.4 photo backgrounds (480x360)"),
    Source("plasma-workspace-wallpapers",
           tuple(f"usr/share/wallpapers/{n}/contents/images/*" for n in PLASMA_PHOTOS),
           largest_per_dir=True, licence_from="plasma metadata.json", what="KDE Plasma photo wallpapers"),
    Source("mate-backgrounds", ("usr/share/backgrounds/mate/nature/*.jpg",), what="MATE nature photos"),
    Source("tuxpaint-data", ("usr/share/tuxpaint/templates/*.jpg",), exclude=("*/mossy_bark.jpg",),
           what="Tux Paint photo templates (textures, nature)"),
    Source("opencv-doc", tuple(f"usr/share/doc/opencv-doc/examples/data/{n}" for n in OPENCV_DATA)
           + tuple(f"usr/share/doc/opencv-doc/opencv4/html/{n}" for n in OPENCV_HTML)
           + tuple(f"usr/share/doc/opencv-doc/examples/text/{n}" for n in OPENCV_TEXT),
           upstream=(("usr/share/doc/opencv-doc/examples/", "samples/"),
                     ("usr/share/doc/opencv-doc/opencv4/html/", "doc/")),
           what="OpenCV sample and tutorial photos"),
    Source("libjxl-testdata", ("usr/share/libjxl-testdata/jxl/flower/flower.png",
                               "usr/share/libjxl-testdata/external/wesaturate/500px/*_srgb8.png"),
           what="JPEG XL test photos"),
    Source("psychtoolbox-3-common", ("usr/share/psychtoolbox-3/PsychDemos/konijntjes1024x768.jpg",
                                     "usr/share/psychtoolbox-3/PsychDemos/PsychExampleExperiments/"
                                     "OldNewRecognition/stims/stim*.jpg",
                                     "usr/share/psychtoolbox-3/PsychHardware/EyelinkToolbox/EyelinkDemos/"
                                     "SR-ResearchDemo/town.jpg",
                                     "usr/share/psychtoolbox-3/PsychDemos/OpenGL4MatlabDemos/MorphDemo/"
                                     "TeapotTexture.jpg"),
           what="Psychtoolbox demo photos (rabbits, a town, apples)"),
    Source("enlightenment-data", tuple(f"usr/share/enlightenment/data/backgrounds/{n}.edj" for n in ENLIGHTENMENT),
           what="Enlightenment 4K photo wallpapers (plants, mountains, skies)"),
    Source("kalzium-data", ("usr/share/kalzium/data/toolpics/*",), what="Kalzium: photos of lab equipment"),
    Source("python3-sklearn", ("usr/lib/python3/dist-packages/sklearn/datasets/images/*.jpg",),
           licence="CC-BY-2.0", licence_from="sklearn/datasets/images/README.txt",
           what="scikit-learn sample photos"),
)


def check_sources(sources=SOURCES) -> None:
    """Fail if any source names a reserved package or path (asserted at import and by the tests)."""
    for src in sources:
        for pattern in src.include + src.members:
            assert_not_reserved(src.package, pattern)


check_sources()


# ---------------------------------------------------------------- fetching and reading packages

def fetch_package(package: str, scratch: Path, debs_dir: Path | None) -> tuple[Path, str]:
    """Download (or reuse from debs_dir) and unpack one .deb; returns (unpacked root, version)."""
    assert_not_reserved(package)
    debs = sorted(debs_dir.glob(f"{package}_*.deb")) if debs_dir else []
    downloaded = not debs
    if downloaded:
        where = scratch / "debs"
        where.mkdir(exist_ok=True)
        r = subprocess.run(["apt-get", "download", package], cwd=where, capture_output=True, text=True)
        debs = sorted(where.glob(f"{package}_*.deb"))
        if r.returncode or not debs:
            raise SystemExit(f"error: apt-get download {package} failed (run `apt-get update` once?): "
                             f"{(r.stderr or r.stdout).strip().splitlines()[-1:]}")
    deb = debs[-1]
    version = subprocess.run(["dpkg-deb", "-f", str(deb), "Version"], capture_output=True, text=True,
                             check=True).stdout.strip()
    root = scratch / package
    subprocess.run(["dpkg-deb", "-x", str(deb), str(root)], check=True)
    if downloaded:
        deb.unlink()
    return root, version


def read_rcc(data: bytes) -> dict[str, bytes]:
    """Members of a Qt resource archive (.rcc, format versions 1-3) as {path: bytes}."""
    if data[:4] != b"qres":
        raise ValueError("not a Qt .rcc archive")
    version, tree, payload, names = struct.unpack(">IIII", data[4:20])
    node = 22 if version >= 2 else 14
    out: dict[str, bytes] = {}
    todo = [(0, "")]
    while todo:
        index, prefix = todo.pop()
        at = tree + index * node
        name_at, flags = struct.unpack(">IH", data[at:at + 6])
        name = ""
        if index:
            (n,) = struct.unpack(">H", data[names + name_at:names + name_at + 2])
            name = data[names + name_at + 6:names + name_at + 6 + 2 * n].decode("utf-16-be")
        path = prefix + name
        if flags & 2:  # a directory: child count, first child index
            count, first = struct.unpack(">II", data[at + 6:at + 14])
            todo += [(first + k, path + "/" if path else "") for k in range(count)]
            continue
        (offset,) = struct.unpack(">I", data[at + 10:at + 14])
        (size,) = struct.unpack(">I", data[payload + offset:payload + offset + 4])
        blob = data[payload + offset + 4:payload + offset + 4 + size]
        if flags & 1:  # qCompress: 4-byte length, then zlib
            blob = zlib.decompress(blob[4:])
        elif flags & 4:
            continue  # zstd: not needed by any source here
        out[path] = blob
    return out


def read_eet_jpeg(data: bytes) -> tuple[str, bytes] | None:
    """The largest JPEG stored uncompressed in an EFL Eet archive (an Enlightenment .edj background
    holds one photo at several sizes), as (entry name, bytes); None if it holds none."""
    magic, count = struct.unpack(">II", data[:8])
    if magic != 0x1EE70F42:
        raise ValueError("not an Eet archive")
    best = None
    for i in range(count):  # directory entries: offset, size, data size, name offset, name size, flags
        off, size, _, name_at, name_len, flags = struct.unpack(">6I", data[12 + 24 * i:36 + 24 * i])
        if flags == 0 and data[off:off + 2] == b"\xff\xd8" and (best is None or size > best[2]):
            best = (data[name_at:name_at + name_len].rstrip(b"\0").decode(), off, size)
    return (best[0], data[best[1]:best[1] + best[2]]) if best else None


def _match(path: str, patterns: tuple[str, ...]) -> bool:
    return any(fnmatch.fnmatchcase(path, p) for p in patterns)


def _pixels(data: bytes) -> int:
    with Image.open(io.BytesIO(data)) as im:
        return im.size[0] * im.size[1]


def iter_files(root: Path, src: Source):
    """(path shown in the manifest, member or "", bytes, archive members) of every allowed image."""
    files = sorted(p for p in root.rglob("*") if p.is_file() and _match(p.relative_to(root).as_posix(),
                                                                         src.include))
    files = [p for p in files if not _match(p.relative_to(root).as_posix(), src.exclude)]
    if src.largest_per_dir:
        best: dict[Path, Path] = {}
        for p in files:
            if p.suffix.lower() in IMAGE_EXTS and (p.parent not in best or _pixels(p.read_bytes())
                                                   > _pixels(best[p.parent].read_bytes())):
                best[p.parent] = p
        files = sorted(best.values())
    for p in files:
        rel = p.relative_to(root).as_posix()
        assert_not_reserved(src.package, rel)
        if p.suffix == ".edj":
            found = read_eet_jpeg(p.read_bytes())
            if found:
                yield rel, found[0], found[1], None
        elif src.members:
            archive = read_rcc(p.read_bytes())
            for m in sorted(k for k in archive if _match(k, src.members)):
                if m.lower().endswith(IMAGE_EXTS):
                    yield rel, m, archive[m], archive
        elif p.suffix.lower() in IMAGE_EXTS:
            yield rel, "", p.read_bytes(), None


# ---------------------------------------------------------------- licences

def parse_stanzas(text: str) -> list[dict[str, str]]:
    """Blank-line separated `Key: value` stanzas (DEP-5 copyright files, GCompris READMEs)."""
    stanzas, cur, key = [], {}, None
    for line in text.splitlines() + [""]:
        if not line.strip():
            if cur:
                stanzas.append(cur)
            cur, key = {}, None
        elif re.match(r"^[A-Za-z-]+:", line) and not line.startswith((" ", "\t")):
            key, _, value = line.partition(":")
            cur[key.strip().lower()] = value.strip()
            key = key.strip().lower()
        elif key:
            cur[key] = (cur[key] + "\n" + line.strip()).strip()
    return stanzas


def dep5_licence(copyright_text: str, path: str, upstream: tuple[tuple[str, str], ...] = ()) -> tuple[str, str]:
    """(licence, matched Files pattern) for an installed path: last matching stanza wins (DEP-5).
    `Files:` names upstream paths: with an `upstream` prefix map the mapped path must match; without
    one a pattern may match any trailing part of the installed path."""
    mapped = [up + path[len(inst):] for inst, up in upstream if path.startswith(inst)]
    tails = mapped or ["/".join(path.split("/")[i:]) for i in range(path.count("/") + 1)]
    found = ("", "")
    for st in parse_stanzas(copyright_text):
        if "files" not in st or "license" not in st:
            continue
        for pattern in st["files"].split():
            if any(fnmatch.fnmatchcase(t, pattern) for t in tails):
                found = (st["license"].splitlines()[0].strip(), pattern)
    return found


def gcompris_licence(archive: dict[str, bytes], member: str) -> tuple[str, str, str]:
    """(licence, author, source) of a GCompris image from the nearest README above it in the archive
    whose `Files:` names it (by path relative to that README's folder)."""
    parts = member.split("/")
    for depth in range(len(parts) - 1, 0, -1):
        readme = "/".join(parts[:depth]) + "/README"
        if readme not in archive:
            continue
        rel = "/".join(parts[depth:])
        for st in parse_stanzas(archive[readme].decode("utf-8", "replace")):
            # some stanzas list their files without a `Files:` key, under the licence line
            names = st.get("files", "").split() + [w for v in st.values() for w in v.splitlines()[1:]]
            if any(fnmatch.fnmatchcase(rel, f.strip()) for f in names):
                origin = st.get("source", "") or st.get("comment", "").replace("\n", " ")
                licence = st.get("license", "").splitlines()[0] if st.get("license") else ""
                return normalise_licence(licence), st.get("copyright", ""), origin
    return "", "", ""


def normalise_licence(name: str) -> str:
    """One spelling per licence: `CC-BY-SA 4.0` -> `CC-BY-SA-4.0`, `Public Domain` -> `public-domain`."""
    name = name.strip()
    if name.lower().replace("-", " ") == "public domain":
        return "public-domain"
    name = re.sub(r"^(CC[- ]BY(?:[- ]SA)?)[- ]v?(\d\.\d)$", lambda m: m.group(1).replace(" ", "-") + "-"
                  + m.group(2), name)
    return {"GPLv3": "GPL-3", "GPLv3+": "GPL-3+", "GPLv2+": "GPL-2+", "LGPLv3": "LGPL-3.0"}.get(name, name)


def licence_of(src: Source, root: Path, rel: str, member: str, archive) -> dict[str, str]:
    """Licence fields of one file, from the most specific record the package has."""
    copyright_file = root / "usr/share/doc" / src.package / "copyright"
    text = copyright_file.read_text("utf-8", "replace") if copyright_file.exists() else ""
    deb_licence, pattern = dep5_licence(text, rel, src.upstream)
    rec = {"licence": src.licence or deb_licence, "licence_from": src.licence_from,
           "copyright_files": pattern, "author": "", "origin": ""}
    if src.licence_from == "gcompris README":
        lic, author, origin = gcompris_licence(archive, member)
        rec.update(author=author, origin=origin)
        rec["licence"] = lic or deb_licence
        if not lic:
            rec["licence_from"] = "debian copyright"
    elif src.licence_from == "plasma metadata.json":
        meta = root / rel.split("/contents/")[0] / "metadata.json"
        plugin = json.loads(meta.read_text("utf-8")).get("KPlugin", {}) if meta.exists() else {}
        authors = [a.get("Name", "") for a in plugin.get("Authors", [])]
        rec.update(licence=f"{normalise_licence(plugin.get('License', '?'))} (metadata.json); {deb_licence} "
                   "(debian/copyright)",
                   author=", ".join(authors))
    return rec


# ---------------------------------------------------------------- images

def load_photo(data: bytes) -> tuple[Image.Image | None, str, tuple[int, int]]:
    """(RGB image fitted to MAX_SHORT, reason it was dropped, original size)."""
    try:
        im = Image.open(io.BytesIO(data))
        im.load()
    except Exception as e:  # noqa: BLE001 - any undecodable file is simply skipped
        return None, f"cannot decode ({type(e).__name__})", (0, 0)
    im = ImageOps.exif_transpose(im)
    size = im.size
    if im.mode in ("RGBA", "LA", "PA") or (im.mode == "P" and "transparency" in im.info):
        alpha = np.asarray(im.convert("RGBA"))[..., 3]
        if (alpha < 250).mean() > 0.01:
            return None, "transparent cut-out", size
    im = im.convert("RGB")
    if min(im.size) < MIN_SHORT:
        return None, f"shorter side {min(im.size)} px < {MIN_SHORT}", size
    s = MAX_SHORT / min(im.size)
    if s < 1:
        im = im.resize((max(1, round(im.size[0] * s)), max(1, round(im.size[1] * s))), Image.LANCZOS)
    return im, "", size


def synthetic_reason(im: Image.Image) -> str:
    """Why an image looks drawn or rendered rather than photographed ("" if it looks like a photo)."""
    t = im.copy()
    t.thumbnail((256, 256), Image.BILINEAR)
    a = np.asarray(t).astype(np.int32)
    if np.abs(a[..., 0] - a[..., 1]).max() <= 2 and np.abs(a[..., 1] - a[..., 2]).max() <= 2:
        colours = len(np.unique(a[..., 1])) * 12   # a gray photo: up to 256 levels -> comparable scale
    else:
        q = a >> 2
        colours = len(np.unique((q[..., 0] << 12) | (q[..., 1] << 6) | q[..., 2]))
    if colours < MIN_COLOURS:
        return f"only {colours} colours"
    g = a.sum(axis=2)
    flat = ((np.diff(g, axis=0)[:, :-1] == 0) & (np.diff(g, axis=1)[:-1, :] == 0)).mean()
    if flat > MAX_FLAT:
        return f"{flat:.0%} flat pixels"
    return ""


@dataclass
class Signature:
    """What near-duplicate tests compare: exact pixels, a difference hash, a normalised thumbnail."""

    sha: str
    dhash: int
    thumb: np.ndarray                      # [1024] zero-mean unit-norm 32x32 gray
    keypoints: list = field(default_factory=list)
    descriptors: np.ndarray | None = None


def signature(im: Image.Image, with_orb: bool = False) -> Signature:
    """The signature of an RGB image; with_orb adds ORB keypoints (for crop-aware test matching)."""
    g = im.convert("L")
    d = np.asarray(g.resize((9, 8), Image.LANCZOS), dtype=np.int32)
    bits = (d[:, 1:] > d[:, :-1]).ravel()
    dhash = int("".join("1" if b else "0" for b in bits), 2)
    t = np.asarray(g.resize((32, 32), Image.LANCZOS), dtype=np.float64).ravel()
    t = t - t.mean()
    t = t / (np.linalg.norm(t) or 1.0)
    sig = Signature(hashlib.sha256(np.asarray(im).tobytes()).hexdigest(), dhash, t)
    if with_orb:
        sig.keypoints, sig.descriptors = orb_features(g)
    return sig


def orb_features(gray: Image.Image):
    import cv2  # a project dependency; imported here so --docs needs no OpenCV

    cv2.setNumThreads(1)
    g = gray.copy()
    g.thumbnail((640, 640), Image.LANCZOS)
    kp, desc = cv2.ORB_create(nfeatures=1500).detectAndCompute(np.asarray(g), None)
    return [k.pt for k in kp], desc


def orb_inliers(a: Signature, b: Signature) -> int:
    """RANSAC homography inliers between two images' ORB matches (same scene, any crop or scale)."""
    import cv2

    if a.descriptors is None or b.descriptors is None or len(a.keypoints) < 8 or len(b.keypoints) < 8:
        return 0
    pairs = cv2.BFMatcher(cv2.NORM_HAMMING).knnMatch(a.descriptors, b.descriptors, k=2)
    good = [p[0] for p in pairs if len(p) == 2 and p[0].distance < 0.75 * p[1].distance]
    if len(good) < 8:
        return 0
    src = np.float32([a.keypoints[m.queryIdx] for m in good])
    dst = np.float32([b.keypoints[m.trainIdx] for m in good])
    _, mask = cv2.findHomography(src, dst, cv2.RANSAC, 5.0)
    return int(mask.sum()) if mask is not None else 0


def near_duplicate(a: Signature, b: Signature) -> str:
    """How a and b are the same picture ("" if they are not): exact, thumbnail, or hash + thumbnail."""
    if a.sha == b.sha:
        return "identical pixels"
    corr = float(a.thumb @ b.thumb)
    if corr >= THUMB_CORR:
        return f"thumbnail correlation {corr:.3f}"
    bits = bin(a.dhash ^ b.dhash).count("1")
    if bits <= DHASH_BITS and corr >= DHASH_CORR:
        return f"dhash {bits} bits apart, correlation {corr:.3f}"
    return ""


def match_test_set(sig: Signature, test_sigs: dict[str, Signature]) -> str:
    """Which held-out test photo `sig` copies, and how ("" if none): near-duplicate or ORB crop match."""
    for name, t in test_sigs.items():
        how = near_duplicate(sig, t)
        if not how and sig.descriptors is not None:
            n, corr = orb_inliers(sig, t), float(sig.thumb @ t.thumb)
            if n >= ORB_MIN_INLIERS:
                how = f"ORB+RANSAC {n} inliers (crop/rescale)"
            elif n >= SCENE_INLIERS and corr >= SCENE_CORR:
                how = f"same scene: ORB+RANSAC {n} inliers, thumbnail correlation {corr:.2f}"
        if how:
            return f"{name}: {how}"
    return ""


def dedup(sigs: list[Signature], pixels: list[int]) -> dict[int, tuple[int, str]]:
    """Near-duplicate groups inside the set: {dropped index: (kept index, how)}; each group keeps the
    copy with the most pixels (ties: the earliest)."""
    n = len(sigs)
    parent = list(range(n))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    how: dict[tuple[int, int], str] = {}
    if n:
        thumbs = np.stack([s.thumb for s in sigs])
        corr = thumbs @ thumbs.T
        for i, j in zip(*np.nonzero(np.triu(corr >= DHASH_CORR, k=1)), strict=True):
            h = near_duplicate(sigs[i], sigs[j])
            if h:
                how[(i, j)] = h
                parent[find(i)] = find(j)
    shas: dict[str, int] = {}
    for i, s in enumerate(sigs):   # identical pixels at any correlation (e.g. flat images)
        if s.sha in shas:
            how[(shas[s.sha], i)] = "identical pixels"
            parent[find(i)] = find(shas[s.sha])
        shas.setdefault(s.sha, i)
    groups: dict[int, list[int]] = {}
    for i in range(n):
        groups.setdefault(find(i), []).append(i)
    dropped = {}
    for members in groups.values():
        keep = max(members, key=lambda i: (pixels[i], -i))
        for i in members:
            if i != keep:
                pair = (min(i, keep), max(i, keep))
                dropped[i] = (keep, how.get(pair, "same near-duplicate group"))
    return dropped


# ---------------------------------------------------------------- building the set

PREFIX = {"gcompris-qt-data": "gcompris", "plasma-workspace-wallpapers": "plasma", "mate-backgrounds": "mate",
          "tuxpaint-data": "tuxpaint", "opencv-doc": "opencv", "libjxl-testdata": "jxl",
          "psychtoolbox-3-common": "ptb", "kalzium-data": "kalzium", "python3-sklearn": "sklearn",
          "enlightenment-data": "enlightenment"}


def default_out() -> Path:
    """$PIXELFORGE_CACHE/photo_set, else ~/.cache/pixelforge/photo_set (as pixelforge.metrics.paths)."""
    env = os.environ.get("PIXELFORGE_CACHE")
    return (Path(env).expanduser() if env else Path("~/.cache/pixelforge").expanduser()) / "photo_set"


def check_out(out: Path) -> Path:
    """The output folder, refused when it lies inside the repository (the set is never committed)."""
    out = out.expanduser().resolve()
    if out == ROOT or ROOT in out.parents:
        raise SystemExit(f"error: --out {out} is inside the repository {ROOT}; pick a cache folder outside it")
    return out


@dataclass
class Kept:
    """One accepted photo, staged as PNG until the in-set duplicate pass."""

    record: dict
    staged: Path
    sig: Signature
    pixels: int


class Builder:
    """Collects photos from the shared train split and the Debian sources into a staging folder."""

    def __init__(self, out: Path, debs_dir: Path | None, log=print):
        self.out, self.debs_dir, self.log = out, debs_dir, log
        self.staging = out / ".staging"
        self.kept: list[Kept] = []
        self.refused: list[dict] = []
        self.names: set[str] = set()
        self.test_sigs: dict[str, Signature] = {}

    def load_test_set(self, test_dir: Path) -> None:
        for p in sorted(test_dir.glob("*.png")):
            with Image.open(p) as im:
                self.test_sigs[p.name] = signature(im.convert("RGB"), with_orb=True)
        self.log(f"{len(self.test_sigs)} held-out test photos to refuse near-duplicates of ({test_dir})")

    def _name(self, stem: str) -> str:
        base = re.sub(r"[^A-Za-z0-9_.-]+", "_", stem).strip("_")
        name, k = base, 1
        while name in self.names:
            k += 1
            name = f"{base}_{k}"
        self.names.add(name)
        return name + ".png"

    def offer(self, data: bytes, record: dict, stem: str, check_synthetic: bool = True) -> None:
        """Decode, filter, test-check and stage one image; refusals are recorded with their reason."""
        im, reason, size = load_photo(data)
        record.update(original_width=size[0], original_height=size[1])
        if im is not None and check_synthetic:
            reason = synthetic_reason(im)
            reason = f"looks synthetic: {reason}" if reason else ""
        if im is None or reason:
            self.refused.append({**record, "kind": "not a usable photo", "reason": reason})
            return
        sig = signature(im, with_orb=True)
        hit = match_test_set(sig, self.test_sigs)
        sig.keypoints, sig.descriptors = [], None   # only needed against the test set
        if hit:
            self.refused.append({**record, "kind": "near-duplicate of photos/test", "reason": hit})
            return
        name = self._name(stem)
        staged = self.staging / name
        im.save(staged, "PNG", compress_level=6)
        record.update(file=f"train/{name}", width=im.size[0], height=im.size[1])
        self.kept.append(Kept(record, staged, sig, im.size[0] * im.size[1]))

    def add_shared_train(self, train_dir: Path) -> None:
        meta = shared_train_licences(train_dir.parent / "README.md")
        files = sorted(train_dir.glob("*.png"))
        for p in files:
            info = meta.get(p.name, {})
            rec = {"source": "shared photos/train", "package": info.get("package", ""),
                   "version": info.get("version", ""), "path": f"photos/train/{p.name}"
                   + (f" (from {info['path']})" if info.get("path") else ""),
                   "licence": normalise_licence(info.get("licence", "")),
                   "licence_from": "shared/data/photos/README.md",
                   "copyright_files": "", "author": info.get("author", ""), "origin": info.get("origin", "")}
            self.offer(p.read_bytes(), rec, p.stem, check_synthetic=False)
        self.log(f"shared photos/train: {len(files)} files offered")

    def add_package(self, package: str, sources: list[Source], scratch: Path) -> None:
        root, version = fetch_package(package, scratch, self.debs_dir)
        before = len(self.kept)
        try:
            for src in sources:
                for rel, member, data, archive in iter_files(root, src):
                    lic = licence_of(src, root, rel, member, archive)
                    rec = {"source": "debian", "package": package, "version": version,
                           "path": rel + (f" -> {member}" if member else ""), **lic}
                    where = member or rel
                    stem = Path(rel).stem
                    if member and not rel.endswith(".edj"):   # .rcc: activity folder + file name
                        stem = "_".join(Path(where).with_suffix("").parts[-2:])
                    if src.largest_per_dir:
                        stem = rel.split("/contents/")[0].rsplit("/", 1)[-1]
                    self.offer(data, rec, f"{PREFIX.get(package, package.split('-')[0])}_{stem}")
        finally:
            shutil.rmtree(root, ignore_errors=True)
        self.log(f"{package} {version}: {len(self.kept) - before} photos staged")

    def finish(self) -> dict:
        """Drop in-set near-duplicates, move the rest into out/train, write manifest.json and .csv."""
        dropped = dedup([k.sig for k in self.kept], [k.pixels for k in self.kept])
        for i, (keep, how) in sorted(dropped.items()):
            k = self.kept[i]
            k.staged.unlink()
            self.refused.append({**k.record, "kind": "duplicate inside the set",
                                 "reason": f"{how}; kept {self.kept[keep].record['file']}"})
        train = self.out / "train"
        if train.exists():
            for old in train.glob("*.png"):
                old.unlink()
        train.mkdir(parents=True, exist_ok=True)
        photos = []
        for i, k in enumerate(self.kept):
            if i in dropped:
                continue
            dest = train / k.staged.name
            os.replace(k.staged, dest)
            data = dest.read_bytes()
            photos.append({**k.record, "bytes": len(data), "sha256": hashlib.sha256(data).hexdigest()})
        shutil.rmtree(self.staging, ignore_errors=True)
        for r in self.refused:
            r.pop("file", None)
        manifest = {"generator": "benchmarks/make_photo_set.py",
                    "settings": {"min_short": MIN_SHORT, "max_short": MAX_SHORT, "min_colours": MIN_COLOURS,
                                 "max_flat": MAX_FLAT, "thumb_corr": THUMB_CORR, "dhash_bits": DHASH_BITS,
                                 "dhash_corr": DHASH_CORR, "orb_min_inliers": ORB_MIN_INLIERS,
                                 "scene_inliers": SCENE_INLIERS, "scene_corr": SCENE_CORR},
                    "reserved_packages": list(RESERVED_PACKAGES), "test_set": sorted(self.test_sigs),
                    "photos": photos, "refused": self.refused}
        write_manifest(self.out, manifest)
        return manifest


def shared_train_licences(readme: Path) -> dict[str, dict[str, str]]:
    """Per-file package, path, licence, author and origin from the shared photos README's file table."""
    out: dict[str, dict[str, str]] = {}
    if not readme.exists():
        return out
    for line in readme.read_text("utf-8").splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) >= 7 and cells[0].startswith("train/"):
            pkg = re.match(r"(\S+) \((.*)\)", cells[1])
            out[cells[0].split("/", 1)[1]] = {
                "package": pkg.group(1) if pkg else cells[1], "version": pkg.group(2) if pkg else "",
                "path": cells[2], "licence": cells[4], "author": cells[5], "origin": cells[6]}
    return out


CSV_FIELDS = ("file", "width", "height", "bytes", "source", "package", "version", "path", "licence",
              "licence_from", "copyright_files", "author", "origin", "original_width", "original_height",
              "sha256")


def write_manifest(out: Path, manifest: dict) -> None:
    """manifest.json (everything, refusals included) and manifest.csv (one row per photo), atomically."""
    tmp = out / "manifest.json.tmp"
    tmp.write_text(json.dumps(manifest, indent=1, ensure_ascii=False) + "\n", "utf-8")
    os.replace(tmp, out / "manifest.json")
    tmp = out / "manifest.csv.tmp"
    with open(tmp, "w", newline="", encoding="utf-8") as f:
        w = csv.DictWriter(f, fieldnames=CSV_FIELDS, extrasaction="ignore")
        w.writeheader()
        w.writerows(manifest["photos"])
    os.replace(tmp, out / "manifest.csv")


def build(out: Path, debs_dir: Path | None, photos: Path = PHOTOS, sources=SOURCES, log=print) -> dict:
    """Build the whole set into `out`; returns the manifest."""
    check_sources(sources)
    for need in (photos / "train", photos / "test"):
        if not need.is_dir():
            raise SystemExit(f"error: {need} not found (the shared photos folder)")
    out.mkdir(parents=True, exist_ok=True)
    b = Builder(out, debs_dir, log)
    shutil.rmtree(b.staging, ignore_errors=True)
    b.staging.mkdir()
    b.load_test_set(photos / "test")
    b.add_shared_train(photos / "train")
    by_package: dict[str, list[Source]] = {}
    for src in sources:
        by_package.setdefault(src.package, []).append(src)
    with tempfile.TemporaryDirectory(prefix="photo-set-") as scratch:
        for package, srcs in by_package.items():
            b.add_package(package, srcs, Path(scratch))
    return b.finish()


# ---------------------------------------------------------------- docs and CLI

SHORT_BINS = ((200, 359, "200-359"), (360, 511, "360-511"), (512, 767, "512-767"), (768, 10**9, "768"))


def _licence_counts(rows: list[dict]) -> str:
    counts: dict[str, int] = {}
    for r in rows:
        key = r["licence"] or "?"
        counts[key] = counts.get(key, 0) + 1
    return "; ".join(f"{k} ×{v}" if len(counts) > 1 else k for k, v in sorted(counts.items(),
                                                                               key=lambda kv: -kv[1]))


def _wrap_prose(lines: list[str], width: int = 100) -> str:
    """Join docs lines, wrapping prose paragraphs (not tables, headings or code) at `width`."""
    out, code = [], False
    for line in lines:
        code ^= line.startswith("```")
        if code or line.startswith(("|", "#", "```")) or len(line) <= width:
            out.append(line)
        else:
            out += textwrap.wrap(line, width, break_on_hyphens=False, break_long_words=False)
    return "\n".join(out)


def docs_section(manifest: dict) -> str:
    """The docs/restoration.md section describing the set, every figure taken from the manifest."""
    photos, refused = manifest["photos"], manifest["refused"]
    groups: dict[tuple[str, str], list[dict]] = {}
    for p in photos:
        key = ("shared photos/train", "") if p["source"] != "debian" else (p["package"], p["version"])
        groups.setdefault(key, []).append(p)
    what: dict[str, list[str]] = {}
    for s in SOURCES:
        if s.what not in what.setdefault(s.package, []):
            what[s.package].append(s.what)
    lines = ["| source (version) | photos | shorter side ≥ 512 px | licences (files) |", "|---|---:|---:|---|"]
    for (pkg, ver), rows in sorted(groups.items(), key=lambda kv: -len(kv[1])):
        big = sum(min(r["width"], r["height"]) >= 512 for r in rows)
        label = f"`{pkg}` ({ver})" if ver else "`../shared/data/photos/train` (copied)"
        lines.append(f"| {label} | {len(rows)} | {big} | {_licence_counts(rows)} |")
    n = len(photos)
    lines.append(f"| **total** | **{n}** | **{sum(min(r['width'], r['height']) >= 512 for r in photos)}** | |")
    sizes = [min(r["width"], r["height"]) for r in photos]
    dist = ", ".join(f"{label} px: {sum(lo <= s <= hi for s in sizes)}" for lo, hi, label in SHORT_BINS)
    kinds: dict[str, list[dict]] = {}
    for r in refused:
        kinds.setdefault(r["kind"], []).append(r)
    test_refused = kinds.get("near-duplicate of photos/test", [])
    test_names = sorted({r["reason"].split(":")[0] for r in test_refused})
    contents = "; ".join(f"`{k}`: {', '.join(v)}" for k, v in sorted(what.items()))
    mb = sum(r["bytes"] for r in photos) / 1e6
    return _wrap_prose([
        "## Training photo set (issue 20)",
        "",
        "A larger set of natural photographs for training the restoration models, built by a committed "
        "script and cached outside the repository (never committed):",
        "",
        "```bash",
        "OMP_NUM_THREADS=1 .venv/bin/python benchmarks/make_photo_set.py   # -> $PIXELFORGE_CACHE/photo_set,"
        " else ~/.cache/pixelforge/photo_set",
        ".venv/bin/python benchmarks/make_photo_set.py --docs              # prints this section from the manifest",
        "```",
        "",
        "It downloads each package below with `apt-get download` and unpacks it with `dpkg-deb -x` in a "
        "temporary folder (nothing is installed, the `.deb` is deleted after unpacking), takes only the "
        "files its allow list names (photographs checked by eye; a colour-count and flat-area test drops "
        "drawings and renders that slip through), and adds `../shared/data/photos/train`. Images with "
        f"a shorter side over {manifest['settings']['max_short']} px are Lanczos-downscaled to "
        f"{manifest['settings']['max_short']} px; smaller ones keep their size (none below "
        f"{manifest['settings']['min_short']} px). Output: `train/*.png` with `manifest.json` (every "
        "photo and every refusal) and `manifest.csv` beside it, recording per file the package, version, "
        "path inside the package, licence (from the package's `debian/copyright`, or the per-image "
        "README / metadata that ships beside the image), author and source where known, and size.",
        "",
        f"{n} photos, {mb:.0f} MB of PNG. Shorter side: {dist}.",
        "",
        *lines,
        "",
        f"What they show: {contents}.",
        "",
        "**Refused:** "
        f"{len(test_refused)} near-duplicates of `photos/test` (same picture by exact pixels, difference "
        "hash + 32×32 thumbnail correlation, ORB keypoints + RANSAC for crops and rescales, or fewer ORB "
        "inliers plus a similar thumbnail for the same scene shot from the same spot), matching "
        f"{len(test_names)} test photos ({', '.join(f'`{t}`' for t in test_names)}); "
        f"{len(kinds.get('duplicate inside the set', []))} duplicates inside the set (the largest copy is "
        "kept, so a higher-resolution Debian original replaces its 768 px copy in `photos/train`); "
        f"{len(kinds.get('not a usable photo', []))} files that were too small, cut-outs or looked "
        "synthetic.",
        "",
        "**Never used** (reserved for evaluation; the script refuses them and a test checks it): "
        "`lomiri-wallpapers-*`, `lxqt-themes`, `sddm-theme-maldives`, `palapeli-data`, and scikit-image's "
        "sample images.",
        "",
        "Licences: CC-BY and CC-BY-SA files need attribution (author and source are in the manifest) and "
        "share-alike for adapted copies; GPL/LGPL/BSD/Apache/Expat files come from the package's "
        "`debian/copyright` `Files:` stanza that covers them (`copyright_files` in the manifest), which for "
        "some upstreams is the catch-all `*`.",
        "",
    ])


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", type=Path, default=None, help="output folder (default: %(default)s → "
                    "$PIXELFORGE_CACHE/photo_set or ~/.cache/pixelforge/photo_set)")
    ap.add_argument("--debs", type=Path, default=None,
                    help="folder of already downloaded .deb files to reuse (others are downloaded)")
    ap.add_argument("--photos", type=Path, default=PHOTOS, help="the shared photos folder (train/ and test/)")
    ap.add_argument("--docs", action="store_true", help="print the docs section from OUT/manifest.json")
    args = ap.parse_args(argv)
    out = check_out(args.out or default_out())
    if args.docs:
        path = out / "manifest.json"
        if not path.exists():
            print(f"error: {path} not found: build the set first", file=sys.stderr)
            return 2
        print(docs_section(json.loads(path.read_text("utf-8"))), end="")
        return 0
    manifest = build(out, args.debs.resolve() if args.debs else None, args.photos.resolve())
    n_ref = len(manifest["refused"])
    print(f"{len(manifest['photos'])} photos in {out / 'train'}; {n_ref} files refused (see manifest.json)")
    return 0


if __name__ == "__main__":
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # so the temporary folder is removed
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        sys.exit(130)
