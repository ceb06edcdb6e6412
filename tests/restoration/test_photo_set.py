"""benchmarks/make_photo_set.py's guards, offline on tiny synthetic images: reserved evaluation packages
are refused before any download, near-duplicates (and crops) of held-out photos are refused, and
duplicates inside the set keep their largest copy."""

from __future__ import annotations

import importlib.util
import io
import json
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFilter

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "make_photo_set.py"


@pytest.fixture(scope="module")
def mps():
    spec = importlib.util.spec_from_file_location("make_photo_set", SCRIPT)
    mod = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = mod  # dataclasses resolve their annotations through sys.modules
    try:
        spec.loader.exec_module(mod)
        yield mod
    finally:
        sys.modules.pop(spec.name, None)


def scene(seed: int, size: tuple[int, int] = (360, 280)) -> Image.Image:
    """A photo-like synthetic picture: random shapes over a gradient, blurred, with sensor noise."""
    rng = np.random.default_rng(seed)
    w, h = size
    yy, xx = np.mgrid[0:h, 0:w]
    base = np.stack([xx / w * 200 + 20, yy / h * 180 + 30, (xx + yy) / (w + h) * 150 + 50], axis=-1)
    im = Image.fromarray(base.astype(np.uint8))
    d = ImageDraw.Draw(im)
    for _ in range(40):
        x0, y0 = int(rng.integers(0, w - 20)), int(rng.integers(0, h - 20))
        x1, y1 = x0 + int(rng.integers(8, 90)), y0 + int(rng.integers(8, 90))
        colour = tuple(int(c) for c in rng.integers(0, 256, 3))
        (d.rectangle if rng.random() < 0.5 else d.ellipse)((x0, y0, x1, y1), fill=colour)
    im = im.filter(ImageFilter.GaussianBlur(1.0))
    a = np.asarray(im).astype(np.float64) + rng.normal(0, 4, (h, w, 3))
    return Image.fromarray(np.clip(a, 0, 255).astype(np.uint8))


def jpeg(im: Image.Image, quality: int) -> Image.Image:
    buf = io.BytesIO()
    im.save(buf, "JPEG", quality=quality)
    return Image.open(io.BytesIO(buf.getvalue())).convert("RGB")


@pytest.mark.parametrize("package", ["lomiri-wallpapers", "lomiri-wallpapers-20.04", "lomiri-wallpapers-16.04",
                                     "lxqt-themes", "sddm-theme-maldives", "palapeli-data",
                                     "python3-skimage-lib", "python3-skimage"])
def test_reserved_packages_are_refused(mps, package):
    with pytest.raises(mps.ReservedSourceError, match="reserved"):
        mps.assert_not_reserved(package)


def test_scikit_image_samples_are_refused_and_neighbours_are_not(mps):
    with pytest.raises(mps.ReservedSourceError, match="scikit-image"):
        mps.assert_not_reserved("python3-anything", "usr/lib/python3/dist-packages/skimage/data/astronaut.png")
    for package in ("lomiri-system-settings", "lxqt-config", "sddm-theme-maui", "mate-backgrounds"):
        assert mps.reserved_reason(package) is None


def test_no_source_is_reserved_and_a_reserved_source_fails_the_check(mps):
    mps.check_sources()  # the committed list passes
    assert all(mps.reserved_reason(s.package) is None for s in mps.SOURCES)
    bad = mps.SOURCES + (mps.Source("lxqt-themes", ("usr/share/lxqt/wallpapers/*",)),)
    with pytest.raises(mps.ReservedSourceError, match="lxqt-themes"):
        mps.check_sources(bad)


def test_reserved_package_is_refused_before_any_download(mps, tmp_path, monkeypatch):
    def no_subprocess(*a, **k):
        raise AssertionError(f"subprocess called: {a}")

    monkeypatch.setattr(mps.subprocess, "run", no_subprocess)
    with pytest.raises(mps.ReservedSourceError):
        mps.fetch_package("palapeli-data", tmp_path, None)


def test_near_duplicates_are_found_and_different_pictures_are_not(mps):
    a = scene(1)
    copy = jpeg(a.resize((180, 140), Image.LANCZOS), 70)
    brighter = Image.fromarray(np.clip(np.asarray(a).astype(int) + 8, 0, 255).astype(np.uint8))
    sa = mps.signature(a)
    assert mps.near_duplicate(sa, mps.signature(a.copy())) == "identical pixels"
    assert mps.near_duplicate(sa, mps.signature(copy))
    assert mps.near_duplicate(sa, mps.signature(brighter))
    for other in (scene(2), scene(3), a.transpose(Image.FLIP_TOP_BOTTOM)):
        assert mps.near_duplicate(sa, mps.signature(other)) == ""


def test_a_crop_of_a_test_photo_is_refused(mps):
    test_photo = scene(4, (480, 360))
    test_sigs = {"held_out.png": mps.signature(test_photo, with_orb=True)}
    crop = test_photo.crop((60, 40, 400, 300)).resize((442, 338), Image.LANCZOS)
    assert mps.near_duplicate(mps.signature(crop), test_sigs["held_out.png"]) == ""  # thumbnails miss it
    hit = mps.match_test_set(mps.signature(jpeg(crop, 80), with_orb=True), test_sigs)
    assert hit.startswith("held_out.png: ORB")
    assert mps.match_test_set(mps.signature(scene(5, (480, 360)), with_orb=True), test_sigs) == ""


def test_duplicates_inside_the_set_keep_the_largest_copy(mps):
    a, b = scene(6, (400, 300)), scene(7, (400, 300))
    items = [a.resize((200, 150), Image.LANCZOS), b, a, jpeg(a, 60)]
    dropped = mps.dedup([mps.signature(im) for im in items], [im.size[0] * im.size[1] for im in items])
    assert sorted(dropped) == [0, 3]
    assert {keep for keep, _ in dropped.values()} == {2}


def test_drawings_are_told_from_photos(mps):
    drawing = Image.new("RGB", (300, 300), "white")
    d = ImageDraw.Draw(drawing)
    for i in range(6):
        d.ellipse((20 + 30 * i, 40, 90 + 30 * i, 200), fill=(40 * i, 200 - 30 * i, 90), outline="black")
    assert mps.synthetic_reason(drawing)
    assert mps.synthetic_reason(scene(8)) == ""
    assert mps.synthetic_reason(scene(8).convert("L").convert("RGB")) == ""  # a gray photo is a photo


def test_out_folder_inside_the_repo_is_refused(mps, tmp_path):
    with pytest.raises(SystemExit, match="inside the repository"):
        mps.check_out(mps.ROOT / "data" / "photo_set")
    assert mps.check_out(tmp_path / "set") == (tmp_path / "set").resolve()


def test_licence_lookup_from_copyright_and_gcompris_readme(mps):
    dep5 = ("Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/\n\n"
            "Files: *\nCopyright: x\nLicense: GPL-2+\n\n"
            "Files: nature/*.jpg\nCopyright: y\nLicense: CC-BY-SA-4.0\n\n"
            "Files: debian/*\nCopyright: z\nLicense: MIT\n")
    assert mps.dep5_licence(dep5, "usr/share/backgrounds/mate/nature/Dune.jpg") == ("CC-BY-SA-4.0", "nature/*.jpg")
    assert mps.dep5_licence(dep5, "usr/share/backgrounds/mate/desktop/Stripes.png") == ("GPL-2+", "*")
    readme = (b"Copyright: A\nSource: https://a\nLicense: CC0-1.0\nFiles:\nfish1.webp\n\n"
              b"Copyright: B\nLicense: CC-BY-2.0\nFiles: fish2.webp fish3.webp\n")
    archive = {"r/fishes/README": readme,
               "r/README": b"Copyright: C\nLicense: Public Domain\nFiles:\nwonders/colosseum.webp\n\n"
                           b"Copyright: D\nLicense: CC-BY-SA 4.0\nbridge_background.webp\nComment: from E\n"}
    assert mps.gcompris_licence(archive, "r/fishes/fish3.webp") == ("CC-BY-2.0", "B", "")
    assert mps.gcompris_licence(archive, "r/fishes/fish1.webp") == ("CC0-1.0", "A", "https://a")
    # a README one folder up, naming the file by its relative path; a stanza without `Files:`
    assert mps.gcompris_licence(archive, "r/wonders/colosseum.webp") == ("public-domain", "C", "")
    assert mps.gcompris_licence(archive, "r/bridge_background.webp") == ("CC-BY-SA-4.0", "D", "from E")
    assert mps.gcompris_licence(archive, "r/fishes/fish9.webp") == ("", "", "")


def test_build_from_the_shared_folders_alone_refuses_test_copies(mps, tmp_path):
    photos = tmp_path / "photos"
    (photos / "train").mkdir(parents=True)
    (photos / "test").mkdir()
    held_out = scene(9, (480, 360))
    held_out.save(photos / "test" / "held.png")
    held_out.crop((50, 30, 430, 330)).save(photos / "train" / "leak.png")   # a crop of a test photo
    scene(10, (480, 360)).save(photos / "train" / "a.png")
    scene(10, (480, 360)).resize((320, 240), Image.LANCZOS).save(photos / "train" / "a_small.png")
    scene(11, (360, 480)).save(photos / "train" / "b.png")
    out = tmp_path / "set"
    manifest = mps.build(out, None, photos, sources=(), log=lambda *a: None)
    assert sorted(p["file"] for p in manifest["photos"]) == ["train/a.png", "train/b.png"]
    kinds = {r["path"].split("/")[-1]: r["kind"] for r in manifest["refused"]}
    assert kinds == {"leak.png": "near-duplicate of photos/test", "a_small.png": "duplicate inside the set"}
    assert sorted(p.name for p in (out / "train").iterdir()) == ["a.png", "b.png"]
    assert json.loads((out / "manifest.json").read_text())["photos"] == manifest["photos"]
    assert len((out / "manifest.csv").read_text().splitlines()) == 3
    section = mps.docs_section(manifest)
    assert "2 photos" in section and "1 near-duplicates of `photos/test`" in section
