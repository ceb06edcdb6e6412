"""Dataset builders by kind: dict items and batches, paired sources (matched folders, aligned
arrays, side-by-side images), unpaired sets with independent samplers and exact resume."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import torch
from PIL import Image

from pixelforge.config import build_config
from pixelforge.core.images import to_float, to_uint8
from pixelforge.data import load_images
from pixelforge.data.builders import DATA_BUILDERS, build_dataset
from pixelforge.errors import UserError
from pixelforge.training.batches import batch_stream


def _cfg(path, path_b=None, size=8, channels=3, **extra):
    return build_config({}, {"data.path": str(path), "data.path_b": path_b and str(path_b),
                             "model.image_size": size, "model.channels": channels, **extra})


def _rgb(n, size, seed):
    return np.random.default_rng(seed).integers(0, 256, (n, size, size, 3), dtype=np.uint8)


def _take(stream, k):
    return list(itertools.islice(stream, k))


def test_registry_has_the_three_kinds():
    assert {"images", "paired", "unpaired"} <= set(DATA_BUILDERS.names())


def test_images_items_and_batches_are_dicts_of_the_loaded_images(tmp_path):
    x = _rgb(20, 8, 0)
    np.savez(tmp_path / "d.npz", x=x, y=np.arange(20) % 2)
    ds = build_dataset("images", _cfg(tmp_path / "d.npz"))
    ref = load_images(str(tmp_path / "d.npz"), image_size=8, channels=3)
    item = ds[3]
    assert set(item) == {"image", "label"} and torch.equal(item["image"], ref[3][0])
    assert int(item["label"]) == 1 and ds.num_classes == 2
    batch = next(batch_stream(ds, 4, seed=0, start_step=0, rank=0, world=1))
    assert set(batch) == {"image", "label"} and batch["image"].shape == (4, 3, 8, 8)
    images, labels = ref.tensors()
    back = to_uint8(batch["image"])  # exact inverse of to_float
    idx = [int(torch.nonzero((images == back[i]).flatten(1).all(1))[0])
           for i in range(4)]  # each batch row is one of the data set's images, as float
    assert torch.equal(batch["label"], labels[idx])
    assert torch.equal(batch["image"], to_float(images[idx]))


def test_paired_folders_are_matched_by_file_name(tmp_path):
    x, y = _rgb(3, 8, 1), _rgb(3, 8, 2)
    (tmp_path / "in").mkdir()
    (tmp_path / "out").mkdir()
    for i, name in enumerate(["c", "a", "b"]):  # same names, other extension in the target
        Image.fromarray(x[i]).save(tmp_path / "in" / f"{name}.png")
        Image.fromarray(y[i]).save(tmp_path / "out" / f"{name}.bmp")
    ds = build_dataset("paired", _cfg(tmp_path / "in", tmp_path / "out"))
    assert len(ds) == 3 and set(ds[0]) == {"input", "target"}
    order = {"a": 1, "b": 2, "c": 0}  # sorted names -> rows of x / y
    for i, name in enumerate(sorted(order)):
        assert torch.equal(ds[i]["input"], to_float(torch.from_numpy(x[order[name]]).permute(2, 0, 1)))
        assert torch.equal(ds[i]["target"], to_float(torch.from_numpy(y[order[name]]).permute(2, 0, 1)))
    Image.fromarray(y[0]).save(tmp_path / "out" / "d.png")
    with pytest.raises(UserError, match=r"data.path: .* 'd'"):
        build_dataset("paired", _cfg(tmp_path / "in", tmp_path / "out"))


def test_paired_arrays_by_row_and_length_mismatch(tmp_path):
    a, b = _rgb(6, 8, 3), _rgb(6, 8, 4)
    np.savez(tmp_path / "p.npz", x_a=a, x_b=b, x_c=b[:5])
    ds = build_dataset("paired", _cfg(f"{tmp_path / 'p.npz'}:x_a", f"{tmp_path / 'p.npz'}:x_b"))
    batch = next(batch_stream(ds, 6, seed=0, start_step=0, rank=0, world=1))
    # rows stay paired through the shuffle: the input row i and target row i come from one index
    def rows(source: np.ndarray, images: torch.Tensor) -> list[int]:
        hwc = to_uint8(images).permute(0, 2, 3, 1).numpy()
        return [int(np.flatnonzero((source == r).all((1, 2, 3)))[0]) for r in hwc]

    ia, ib = rows(a, batch["input"]), rows(b, batch["target"])
    assert ia == ib and sorted(ia) == list(range(6))
    with pytest.raises(UserError, match="data.path_b has 5"):
        build_dataset("paired", _cfg(f"{tmp_path / 'p.npz'}:x_a", f"{tmp_path / 'p.npz'}:x_c"))


@pytest.mark.parametrize("source", ["npz", "folder"])
def test_side_by_side_images_are_split_in_the_data_layer(tmp_path, source):
    left, right = _rgb(4, 8, 5), _rgb(4, 8, 6)
    both = np.concatenate([left, right], axis=2)  # [4, 8, 16, 3]: input | target
    if source == "npz":
        np.savez(tmp_path / "sbs.npz", x=both)
        path = tmp_path / "sbs.npz"
    else:
        path = tmp_path / "sbs"
        path.mkdir()
        for i, img in enumerate(both):
            Image.fromarray(img).save(path / f"{i}.png")
    ds = build_dataset("paired", _cfg(path))
    assert len(ds) == 4
    for i in range(4):
        assert torch.equal(ds[i]["input"], to_float(torch.from_numpy(left[i]).permute(2, 0, 1)))
        assert torch.equal(ds[i]["target"], to_float(torch.from_numpy(right[i]).permute(2, 0, 1)))


def test_unpaired_sets_have_independent_exactly_resumable_samplers(tmp_path):
    np.savez(tmp_path / "a.npz", x=_rgb(10, 8, 7))
    np.savez(tmp_path / "b.npz", x=_rgb(23, 8, 8))
    ds = build_dataset("unpaired", _cfg(tmp_path / "a.npz", tmp_path / "b.npz"))
    assert len(ds) == 10 and ds.num_images == 33
    full = _take(batch_stream(ds, 4, seed=3, start_step=0, rank=0, world=1), 12)
    assert all(set(b) == {"a", "b"} and b["a"].shape == b["b"].shape == (4, 3, 8, 8) for b in full)
    resumed = _take(batch_stream(ds, 4, seed=3, start_step=7, rank=0, world=1), 5)
    for x, y in zip(full[7:], resumed, strict=True):
        assert torch.equal(x["a"], y["a"]) and torch.equal(x["b"], y["b"])
    # B's epoch is 5 steps, A's 2: each set cycles through all its images on its own schedule
    seen_b = torch.cat([b["b"] for b in full[:5]]).flatten(1).unique(dim=0)
    assert len(seen_b) == 20
    with pytest.raises(UserError, match="data.path_b"):
        build_dataset("unpaired", _cfg(tmp_path / "a.npz"))
