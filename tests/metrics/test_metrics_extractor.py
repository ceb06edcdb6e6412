"""The cnn extractor: >90% on MNIST digits, rotation mode without labels, hash-keyed cache."""

import dataclasses
import json
import os

import numpy as np
import pytest
import torch

from pixelforge.metrics import extractor_training
from pixelforge.metrics.extractor import extractor_id, extractor_spec, get_extractor
from pixelforge.metrics.images import MAX_EXTRACTOR_RESOLUTION


@pytest.fixture(scope="module")
def trained(mnist_ds, tmp_path_factory):
    """One labelled extractor (3000 digits, 2 epochs) in a module-wide cache."""
    cache = tmp_path_factory.mktemp("ext-cache")
    train, test = mnist_ds("train", 3000), mnist_ds("test", 500)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("PIXELFORGE_CACHE", str(cache))
        extractor = get_extractor(train, heldout=test, epochs=2, seed=0)
    return extractor, cache, train, test


def test_labelled_extractor_is_accurate(trained):
    extractor, _, _, _ = trained
    assert extractor.spec.label_mode == "labels" and extractor.spec.num_classes == 10
    assert extractor.accuracy > 0.90, extractor.meta
    assert extractor.meta["n_train"] == 3000 and extractor.meta["n_heldout"] == 500
    assert extractor.meta["train_seconds"] < 30


def test_features_shape_and_determinism(trained, mnist_ds):
    extractor, _, _, test = trained
    images = torch.stack([test[i][0] for i in range(40)])
    a = extractor.features(images, batch_size=16)
    assert a.shape == (40, 256) and a.dtype == np.float32
    np.testing.assert_array_equal(a, extractor.features(images, batch_size=16))
    # other batch sizes may take other kernels: equal up to float rounding
    np.testing.assert_allclose(a, extractor.features(images, batch_size=40), rtol=1e-4, atol=1e-4)


def test_cache_folder_is_complete_and_a_hit_skips_training(trained, monkeypatch):
    extractor, cache, train, test = trained
    folder = cache / "extractors" / extractor.spec.key
    assert extractor.folder == folder
    assert {"config.json", "model.safetensors", "extractor.json"} <= set(os.listdir(folder))
    assert not [p for p in folder.parent.iterdir() if p.name.endswith(".tmp")]
    assert json.loads((folder / "extractor.json").read_text())["id"] == extractor.id

    def no_training(*args, **kwargs):
        raise AssertionError("a cache hit must not train")

    monkeypatch.setenv("PIXELFORGE_CACHE", str(cache))
    monkeypatch.setattr(extractor_training, "train_extractor", no_training)
    again = get_extractor(train, heldout=test, epochs=2, seed=0)
    assert again.from_cache and again.id == extractor.id
    assert again.accuracy == extractor.accuracy
    images = torch.stack([test[i][0] for i in range(8)])
    np.testing.assert_array_equal(again.features(images), extractor.features(images))


def test_rotation_mode_on_unlabelled_data(mnist_ds):
    train = mnist_ds("train", 1500, labeled=False)
    extractor = get_extractor(train, epochs=2, seed=0)  # no held-out split: 10% holdout
    assert extractor.spec.label_mode == "rotation" and extractor.spec.num_classes == 4
    assert extractor.spec.heldout.startswith("holdout:")
    assert extractor.meta["n_heldout"] == 150 and extractor.meta["n_train"] == 1350
    assert extractor.accuracy > 0.6  # chance is 0.25


def test_lazy_sources_train_the_same_way(mnist_ds):
    eager = get_extractor(mnist_ds("train", 200), epochs=1, seed=1)
    lazy = get_extractor(mnist_ds("train", 200, lazy=True), epochs=1, seed=1)
    assert lazy.id == eager.id  # same fingerprint and options -> same hash
    assert lazy.from_cache  # ...so the second call is a cache hit


def test_id_changes_with_every_option(mnist_ds):
    train, test = mnist_ds("train", 300), mnist_ds("test", 50)
    base = extractor_spec(train, heldout=test, epochs=2, seed=0)
    assert extractor_id(base) == extractor_id(extractor_spec(train, heldout=test, epochs=2, seed=0))
    assert len(extractor_id(base)) == 12
    variants = [
        extractor_spec(train, heldout=test, epochs=3, seed=0),
        extractor_spec(train, heldout=test, epochs=2, seed=1),
        extractor_spec(train, epochs=2, seed=0),
        extractor_spec(mnist_ds("train", 301), heldout=test, epochs=2, seed=0),
        extractor_spec(train, heldout=test, epochs=2, seed=0, label_mode="rotation"),
        dataclasses.replace(base, image_size=56, resolution=32),
        dataclasses.replace(base, channels=3),
        dataclasses.replace(base, version=base.version + 1),
    ]
    ids = {extractor_id(v) for v in variants}
    assert len(ids) == len(variants) and extractor_id(base) not in ids
    with pytest.raises(ValueError):
        extractor_spec(mnist_ds("train", 30, labeled=False), label_mode="labels")


def test_broken_cache_entry_is_retrained(mnist_ds):
    train = mnist_ds("train", 120)
    first = get_extractor(train, epochs=1, seed=0)
    (first.folder / "model.safetensors").write_bytes(b"not a safetensors file")
    second = get_extractor(train, epochs=1, seed=0)
    assert not second.from_cache
    assert get_extractor(train, epochs=1, seed=0).from_cache


def test_training_leaves_thread_count_and_global_rng_alone(mnist_ds):
    threads = torch.get_num_threads()
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    get_extractor(mnist_ds("train", 100), epochs=1, seed=0)
    assert torch.equal(torch.rand(3), expected)
    assert torch.get_num_threads() == threads


def test_large_images_are_seen_at_the_capped_resolution(mnist_ds, array_images):
    assert extractor_spec(mnist_ds("train", 64), epochs=1, seed=0).resolution == 28
    big = array_images(torch.randint(0, 256, (8, 3, 64, 64), dtype=torch.uint8), None, "big")
    spec = extractor_spec(big, epochs=1, seed=0)
    assert spec.resolution == MAX_EXTRACTOR_RESOLUTION == 32
    assert spec.label_mode == "rotation" and spec.channels == 3
