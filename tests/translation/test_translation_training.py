"""pix2pix and CycleGAN through the one Trainer: data by direction, gray pairs, class filters,
the lr schedule, bit-exact resume (both Gs, both Ds, both pools, the schedule), components."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

import pixelforge
from pixelforge.checkpoint import STATE_FILE, latest_checkpoint, load_state, read_index
from pixelforge.config import build_config
from pixelforge.errors import UserError
from pixelforge.models import MODELS
from pixelforge.pipelines.translate import to_gray
from pixelforge.training import Interrupted, train
from pixelforge.training.task import task_dataset
from pixelforge.training.translate import CycleGANTask, Pix2PixTask, jitter, lr_factor


def kind_dataset(cfg):
    """The training data as the Trainer builds it: the builder and arguments the family's kind
    declares (pixelforge.kinds)."""
    return task_dataset(MODELS.get(cfg.model.name), cfg)

SIZE = 32
NETS = {"pix2pix": {"width": 4, "depth": 5}, "cyclegan": {"width": 4, "n_blocks": 1}}


@pytest.fixture(scope="module")
def pairs_npz(tmp_path_factory):
    """12 random 32 px pairs (B = inverted A) with class labels 0/1 for A, 0/1/2 for B."""
    rng = np.random.default_rng(0)
    a = rng.integers(0, 256, (12, SIZE, SIZE, 3), dtype=np.uint8)
    path = tmp_path_factory.mktemp("data") / "pairs.npz"
    np.savez(path, x_a=a, x_b=255 - a, x_a_test=a[:4], x_b_test=255 - a[:4],
             x_train=a, y_train=np.arange(12) % 3)
    return path


def config(fam: str, npz, **over):
    tree = {"model": {"name": fam, "image_size": SIZE, "channels": 3, "params": NETS[fam]},
            "data": {"path": f"{npz}:x_a", "path_b": f"{npz}:x_b"},
            "train": {"steps": 4, "batch_size": 2, "checkpoint_every": 2, "sample_every": 2,
                      "log_every": 1, "loss": "lsgan", "keep_checkpoints": 5},
            "translation": {"jitter": True, "pool_size": 2, "decay_start": 0.25},
            "health": {"enabled": False}}
    return build_config(tree, over)


def test_lr_factor_is_constant_then_linear_to_zero():
    got = [lr_factor(s, 8, 0.5) for s in range(8)]
    assert got[:4] == [1.0] * 4 and got[4] == pytest.approx(1 - 0 / 5)
    assert got[5:] == pytest.approx([1 - 1 / 5, 1 - 2 / 5, 1 - 3 / 5])
    assert lr_factor(7, 8, 1.0) == 1.0


def test_jitter_moves_a_pair_together_and_is_seeded():
    x = torch.rand(3, 3, 16, 16) * 2 - 1
    g = lambda: torch.Generator().manual_seed(5)  # noqa: E731
    a1, b1 = jitter([x, x.clone()], g())
    a2, _ = jitter([x, x], g())
    assert torch.equal(a1, b1) and torch.equal(a1, a2) and a1.shape == x.shape
    assert not torch.equal(a1, x)


@pytest.mark.parametrize("direction", ["a2b", "b2a"])
def test_pairs_follow_the_direction(pairs_npz, direction):
    ds = kind_dataset(config("pix2pix", pairs_npz, **{"data.direction": direction}))
    item = ds[3]
    a = torch.from_numpy(np.load(pairs_npz)["x_a"][3]).permute(2, 0, 1).float() / 127.5 - 1
    want_in = a if direction == "a2b" else -a
    assert torch.allclose(item["input"], want_in, atol=1e-6)
    assert torch.allclose(item["target"], -want_in, atol=1e-6)


def test_class_filters_pick_the_sets(pairs_npz):
    cfg = config("cyclegan", pairs_npz, **{"data.path": str(pairs_npz),
                                           "data.path_b": str(pairs_npz),
                                           "data.classes": [0], "data.classes_b": [1, 2]})
    ds = kind_dataset(cfg)
    assert (len(ds.parts["a"]), len(ds.parts["b"])) == (4, 8)
    bad = config("cyclegan", pairs_npz, **{"data.classes": [7]})
    with pytest.raises(UserError, match="data.classes"):
        kind_dataset(bad)


@pytest.fixture(scope="module")
def photos(tmp_path_factory):
    root = tmp_path_factory.mktemp("photos")
    rng = np.random.default_rng(2)
    for split, n in (("train", 3), ("test", 2)):
        (root / split).mkdir()
        for i in range(n):
            arr = rng.integers(0, 256, (40 + 8 * i, 56, 3), dtype=np.uint8)
            Image.fromarray(arr).save(root / split / f"p{i}.png")
    return root


def colorize_config(photos, **over):
    tree = {"model": {"name": "pix2pix", "image_size": SIZE, "channels": 3,
                      "params": {**NETS["pix2pix"], "in_channels": 1}},
            "data": {"path": str(photos)},
            "train": {"steps": 2, "batch_size": 2, "checkpoint_every": 2, "log_every": 1},
            "translation": {"pairs": "gray", "crop": "random"}, "health": {"enabled": False}}
    return build_config(tree, over)


def test_gray_pairs_are_luma_of_seeded_random_crops(photos):
    ds = kind_dataset(colorize_config(photos))
    assert len(ds) == 3 * 200
    one, again = ds[7], ds[7]
    assert one["input"].shape == (1, SIZE, SIZE) and one["target"].shape == (3, SIZE, SIZE)
    assert torch.equal(one["target"], again["target"])
    assert (one["input"] - to_gray(one["target"][None])[0]).abs().max() <= 0.5 / 127.5 + 1e-6
    assert not torch.equal(ds[1]["target"], ds[1 + 3]["target"])  # two crops of one photo
    with pytest.raises(UserError, match="data.direction"):
        kind_dataset(colorize_config(photos, **{"data.direction": "b2a"}))


@pytest.mark.slow
@pytest.mark.parametrize("fam", ["pix2pix", "cyclegan"])
def test_two_plus_two_steps_equal_four(pairs_npz, tmp_path, monkeypatch, fam, flat_tensors):
    """Interrupted (Ctrl-C) after 2 of 4 steps and resumed == 4 steps in one go: the lr schedule
    depends on train.steps, so the interrupted run must have the same train.steps."""
    cfg = config(fam, pairs_npz)
    train(cfg, tmp_path / "full", progress=False)
    original = {c: c.train_step for c in (Pix2PixTask, CycleGANTask)}

    def interrupt_at_2(self, batch, step):
        if step == 2:
            raise KeyboardInterrupt
        return original[type(self)](self, batch, step)

    for c in original:
        monkeypatch.setattr(c, "train_step", interrupt_at_2)
    with pytest.raises(Interrupted):
        train(cfg, tmp_path / "split", progress=False)
    monkeypatch.undo()
    train(cfg, tmp_path / "split", resume=True, progress=False)
    full = load_state(latest_checkpoint(tmp_path / "full") / STATE_FILE)
    split = load_state(latest_checkpoint(tmp_path / "split") / STATE_FILE)
    a, b = flat_tensors(full["task"]), flat_tensors(split["task"])
    assert a.keys() == b.keys() and len(a) > 20
    if fam == "cyclegan":  # both pools filled, both Ds and the schedule moved
        assert int(full["task"]["pool_a"]["count"]) == 2 == int(full["task"]["pool_b"]["count"])
        assert {"adversary_0", "adversary_1", "G_ab", "G_ba"} <= set(full["task"])
        lrs = [g["lr"] for g in full["task"]["adversary_1"]["opt_d"]["param_groups"]]
        assert lrs == [pytest.approx(2e-4 * lr_factor(3, 4, 0.25))]
    for key in a:
        assert torch.equal(a[key], b[key]), key


def test_checkpoint_holds_the_direction_s_generator_and_loads_alone(pairs_npz, tmp_path):
    cfg = config("pix2pix", pairs_npz, **{"data.direction": "b2a", "train.steps": 2})
    ckpt = train(cfg, tmp_path / "run", progress=False).checkpoint
    assert read_index(ckpt)["components"] == {"generator_ba": "generator_ba"}
    g = pixelforge.load(ckpt, component="generator_ba")
    x = torch.rand(1, 3, 20, 28) * 2 - 1  # not a multiple of the U-Net's stride
    y = pixelforge.load(ckpt).translate(x, direction="b2a", precision="fp32")
    assert y.shape == x.shape and g.in_channels == 3
    with pytest.raises(UserError, match="not a2b"):
        pixelforge.load(ckpt).translate(x, direction="a2b")


def test_cyclegan_checkpoint_has_both_generators_each_loads_alone(pairs_npz, tmp_path):
    ckpt = train(config("cyclegan", pairs_npz, **{"train.steps": 2}), tmp_path / "r",
                 progress=False).checkpoint
    comps = read_index(ckpt)["components"]
    assert set(comps) == {"generator_ab", "generator_ba"}
    nets = [pixelforge.load(ckpt, component=c) for c in sorted(comps)]
    x = torch.rand(1, 3, 32, 32) * 2 - 1
    with torch.no_grad():
        assert not torch.equal(nets[0](x), nets[1](x))


def test_without_adversary_is_the_l1_only_baseline(pairs_npz, tmp_path):
    from pixelforge.models import MODELS

    cfg = config("pix2pix", pairs_npz, **{"translation.adv_weight": 0})
    task = Pix2PixTask(cfg, MODELS.get("pix2pix"), num_classes=0, device=torch.device("cpu"),
                       precision=_fp32())
    assert task.adversaries == [] and len(task.optimizers()) == 1
    cyc = CycleGANTask(config("cyclegan", pairs_npz), MODELS.get("cyclegan"), num_classes=0,
                       device=torch.device("cpu"), precision=_fp32())
    assert len(cyc.adversaries) == 2 and len(cyc.optimizers()) == 3


def _fp32():
    from pixelforge.core.precision import Precision

    return Precision.resolve("fp32", "off", torch.device("cpu"))


def test_colourisation_trains_a_one_channel_input_generator(photos, tmp_path):
    ckpt = train(colorize_config(photos), tmp_path / "c", progress=False).checkpoint
    g = pixelforge.load(ckpt, component="generator_ab")
    assert (g.in_channels, g.out_channels) == (1, 3)
    assert (tmp_path / "c" / "samples" / "step-0000002.png").is_file()
    with Image.open(tmp_path / "c" / "samples" / "step-0000002.png") as im:
        assert im.mode == "RGB"  # input | output | target rows: gray repeated to RGB


@pytest.mark.parametrize("size,fam,hint", [(48, "pix2pix", "e.g. 64"), (30, "cyclegan", "e.g. 32")])
def test_an_image_size_the_networks_cannot_take_is_refused(pairs_npz, size, fam, hint):
    from pixelforge.models import MODELS

    cfg = config(fam, pairs_npz, **{"model.image_size": size})
    cls = Pix2PixTask if fam == "pix2pix" else CycleGANTask
    with pytest.raises(UserError, match=f"model.image_size {size}.*{hint}"):
        cls(cfg, MODELS.get(fam), num_classes=0, device=torch.device("cpu"), precision=_fp32())


def test_eval_takes_the_class_filtered_sets_as_unpaired_domains(pairs_npz):
    from types import SimpleNamespace

    from pixelforge.metrics.translation_eval import load_domains

    run_cfg = {"data": {"path": str(pairs_npz), "path_b": str(pairs_npz), "classes": [0],
                        "classes_b": [1, 2]}}
    request = SimpleNamespace(data="default", resize_filter="bicubic")
    a, b, paired = load_domains(request, run_cfg, "train", image_size=SIZE, channels=3)
    assert (len(a), len(b), paired) == (4, 8, False)
    assert set(a.labels.tolist()) == {0} and set(b.labels.tolist()) == {1, 2}
