"""Sharded data (issue 23 item 1): `pixelforge pack` writes WebDataset-style tar shards plus a
manifest, `--data SHARDS/` trains from them with the step-addressed sampler (order independent
of workers, disjoint ranks, exact resume), and damaged or mismatched shards are refused in one
line naming the shard or field."""

from __future__ import annotations

import json
import shutil
import tarfile
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from safetensors.torch import load_file

import pixelforge.data.options as options
from pixelforge.checkpoint import latest_checkpoint
from pixelforge.cli.main import main
from pixelforge.config import build_config
from pixelforge.data import load_images
from pixelforge.data.degraded_photos import build_degraded
from pixelforge.data.shards import MANIFEST, read_manifest
from pixelforge.training.batches import batch_stream
from pixelforge.training.sampler import StepBatchSampler

TINY = {"model.name": "seed-dcgan", "model.image_size": 16, "model.channels": 1,
        "model.latent_dim": 16, "train.batch_size": 16, "train.steps": 4, "train.log_every": 1,
        "train.sample_every": 4, "train.checkpoint_every": 2, "train.n_samples": 4,
        "train.precision": "fp32", "model.recipe": "none"}


def _args(overrides: dict) -> list[str]:
    return [a for k, v in overrides.items() for a in (f"--{k}", str(v))]


@pytest.fixture(scope="module")
def shards(tmp_path_factory, tiny_npz) -> Path:
    """The 512 tiny digits packed 100 per shard (6 shards, the last one partial)."""
    out = tmp_path_factory.mktemp("packed") / "shards"
    assert main(["pack", str(tiny_npz), "--out", str(out), "--shard-size", "100"]) == 0
    return out


def _copy(shards: Path, tmp_path: Path) -> Path:
    dst = tmp_path / "shards"
    shutil.copytree(shards, dst)
    return dst


def test_pack_writes_webdataset_tars_and_loads_like_the_npz(shards, tiny_npz):
    m = read_manifest(shards)
    assert [s["count"] for s in m.shards] == [100] * 5 + [12]
    assert (m.width, m.height, m.channels, m.num_classes) == (28, 28, 1, 10)
    ref = load_images(tiny_npz, image_size=28, channels=1)
    got = load_images(shards, image_size=28, channels=1)
    assert torch.equal(got.tensors()[0], ref.tensors()[0])  # PNG at the native size: lossless
    assert torch.equal(got.labels, ref.labels)
    with tarfile.open(shards / "shard-000001.tar") as tar:  # any tar reader, WebDataset keys
        names = tar.getnames()
        assert names[:2] == ["000000100.png", "000000100.cls"]
        label = int(tar.extractfile("000000100.cls").read())
        pixels = np.array(Image.open(tar.extractfile("000000100.png")))
    assert label == int(ref.labels[100])
    assert torch.equal(torch.from_numpy(pixels)[None], ref.tensors()[0][100])


def test_lazy_shards_give_the_same_batches_with_any_worker_count(shards, monkeypatch):
    pre = load_images(shards, image_size=16, channels=1)
    monkeypatch.setattr(options, "PRELOAD_LIMIT_BYTES", 0)
    lazy = load_images(shards, image_size=16, channels=1)
    assert lazy.tensors() is None and "decoded lazily" in lazy.description
    streams = [batch_stream(pre, 8, 3, 5, 0, 1)] + [batch_stream(lazy, 8, 3, 5, 0, 1, w)
                                                    for w in (0, 2)]
    for _ in range(3):
        a, b, c = (next(s) for s in streams)
        for key in ("image", "label"):
            assert torch.equal(a[key], b[key]) and torch.equal(a[key], c[key])


@pytest.mark.parametrize("world", [2, 3])
def test_ranks_are_disjoint_and_cover_the_epoch_across_shards(shards, world):
    n, batch = len(read_manifest(shards).samples), 8
    ranks = [StepBatchSampler(n, batch, 7, 0, r, world) for r in range(world)]
    steps = ranks[0].batches_per_epoch
    seen = [torch.cat([s.indices(k) for k in range(steps)]) for s in ranks]
    union = torch.cat(seen)
    assert len(set(union.tolist())) == len(union) == steps * batch * world  # disjoint
    assert n - len(union) < batch * world  # the epoch: all but the last partial global batch
    assert len({int(i) // 100 for i in union}) == 6  # drawn from every shard


def _weights(run: Path) -> dict[str, torch.Tensor]:
    return load_file(str(latest_checkpoint(run) / "generator" / "model.safetensors"))


def test_mid_epoch_resume_on_lazy_shards_is_bit_equal(shards, tmp_path, monkeypatch):
    monkeypatch.setattr(options, "PRELOAD_LIMIT_BYTES", 0)  # per-item random access
    data = ["--data", str(shards), "--quiet"]
    straight, split = tmp_path / "straight", tmp_path / "split"
    assert main(["train", "--out", str(straight), *data, *_args(TINY)]) == 0
    assert main(["train", "--out", str(split), *data, *_args({**TINY, "train.steps": 2})]) == 0
    assert main(["train", "--out", str(split), "--resume", *data, *_args(TINY)]) == 0
    a, b = _weights(straight), _weights(split)
    assert a.keys() == b.keys()
    for key in a:  # 512 images / 16: the epoch is 32 steps, the resume at step 2 is mid-epoch
        assert torch.equal(a[key], b[key]), key
    meta = json.loads((latest_checkpoint(split) / "meta.json").read_text())
    assert meta["shards"] == read_manifest(shards).fingerprint


def test_resume_against_a_changed_shard_set_is_refused(shards, tiny_npz, tmp_path, capsys):
    data = _copy(shards, tmp_path)
    run = tmp_path / "run"
    args = ["--data", str(data), "--quiet", *_args({**TINY, "train.steps": 2})]
    assert main(["train", "--out", str(run), *args]) == 0
    shutil.rmtree(data)
    assert main(["pack", str(tiny_npz), "--out", str(data), "--shard-size", "50"]) == 0
    capsys.readouterr()
    assert main(["train", "--out", str(run), "--resume", *args[:3], "--train.steps", "4"]) == 2
    err = capsys.readouterr().err
    assert "shard set" in err and "changed" in err and len(err.strip().splitlines()) == 1


def _train_error(data: Path, tmp_path: Path, capsys) -> str:
    capsys.readouterr()
    code = main(["train", "--out", str(tmp_path / "run"), "--data", str(data), "--quiet",
                 *_args({**TINY, "train.steps": 1})])
    err = capsys.readouterr().err.strip()
    assert code == 2 and len(err.splitlines()) == 1, err
    return err


def test_truncated_shard_is_refused_naming_it(shards, tmp_path, capsys):
    data = _copy(shards, tmp_path)
    tar = data / "shard-000002.tar"
    tar.write_bytes(tar.read_bytes()[:5000])
    err = _train_error(data, tmp_path, capsys)
    assert "shard-000002.tar" in err and "truncated" in err


def test_corrupt_bytes_mid_shard_stop_training_naming_the_shard(shards, tmp_path, capsys):
    data = _copy(shards, tmp_path)
    m = read_manifest(data)
    s = m.samples[250]  # in shard 2
    tar = data / "shard-000002.tar"
    raw = bytearray(tar.read_bytes())
    raw[s.offset + s.size // 2] ^= 0xFF  # same size, one flipped byte
    tar.write_bytes(bytes(raw))
    err = _train_error(data, tmp_path, capsys)
    assert "shard-000002.tar" in err and "sample 250" in err and "damaged" in err


def test_manifest_that_does_not_match_its_shards_is_refused(shards, tmp_path, capsys):
    data = _copy(shards, tmp_path)
    shutil.copy(data / "shard-000000.tar", data / "shard-000099.tar")
    assert "shard-000099.tar" in _train_error(data, tmp_path, capsys)
    (data / "shard-000099.tar").unlink()
    record = json.loads((data / MANIFEST).read_text())
    record["shards"][1]["count"] = 99
    (data / MANIFEST).write_text(json.dumps(record))
    assert "shards[1]" in _train_error(data, tmp_path, capsys)
    (data / "shard-000001.tar").unlink()
    assert "shard-000001.tar" in _train_error(data, tmp_path, capsys)


def test_mixed_sizes_without_a_resize_rule_are_refused(tmp_path, capsys):
    folder = tmp_path / "mixed"
    folder.mkdir()
    Image.new("RGB", (32, 32), (200, 10, 10)).save(folder / "a.png")
    Image.new("RGB", (40, 30), (10, 200, 10)).save(folder / "b.png")
    capsys.readouterr()
    assert main(["pack", str(folder), "--out", str(tmp_path / "s")]) == 2
    err = capsys.readouterr().err
    assert "mixed image sizes" in err and "a.png" in err and "b.png" in err and "--size" in err
    assert main(["pack", str(folder), "--out", str(tmp_path / "s"), "--size", "16",
                 "--format", "jpg"]) == 0
    m = read_manifest(tmp_path / "s")
    assert (m.width, m.channels, m.encoding, len(m.samples)) == (16, 3, "jpg", 2)


def test_restoration_trains_on_the_same_pictures_from_shards(shards, tiny_npz):
    base = {"model": {"name": "dncnn", "image_size": 16, "channels": 1}, "train": {"seed": 1}}
    from_npz = build_degraded(build_config({**base, "data": {"path": str(tiny_npz)}}))
    from_shards = build_degraded(build_config({**base, "data": {"path": str(shards)}}))
    assert len(from_npz) == len(from_shards)
    for i in (0, 777, len(from_npz) - 1):
        a, b = from_npz[i], from_shards[i]
        assert torch.equal(a["input"], b["input"]) and torch.equal(a["target"], b["target"])


def test_a_damaged_sample_met_by_a_loader_worker_stops_with_one_line(shards, tmp_path,
                                                                     monkeypatch, capsys):
    """Lazily decoded shards, one DataLoader worker: the damaged sample is met mid-epoch in the
    worker, and the error still reaches the user as one line naming shard and sample."""
    monkeypatch.setattr(options, "PRELOAD_LIMIT_BYTES", 0)
    data = _copy(shards, tmp_path)
    s = read_manifest(data).samples[250]
    tar = data / "shard-000002.tar"
    raw = bytearray(tar.read_bytes())
    raw[s.offset + 10] ^= 0xFF
    tar.write_bytes(bytes(raw))
    capsys.readouterr()
    code = main(["train", "--out", str(tmp_path / "run"), "--data", str(data), "--quiet",
                 *_args({**TINY, "train.steps": 40, "data.num_workers": 1,
                         "train.checkpoint_every": 100, "train.sample_every": 100})])
    err = capsys.readouterr().err.strip()
    assert code == 2 and len(err.splitlines()) == 1, err
    assert err.startswith("error: shard shard-000002.tar: sample 250 is damaged"), err
