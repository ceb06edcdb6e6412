"""Restoration training through the one Trainer: each kind trains, exports its component, loads,
resumes bit-exactly and fine-tunes from another model (train.init); the degraded data is a pure
function of (seed, index)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from safetensors.torch import load_file
from torch import nn

from pixelforge.api import load
from pixelforge.config import build_config
from pixelforge.errors import UserError
from pixelforge.models import MODELS
from pixelforge.training import train
from pixelforge.training.task import task_dataset


def kind_dataset(cfg):
    """The training data as the Trainer builds it: the builder and arguments the family's kind
    declares (pixelforge.kinds)."""
    return task_dataset(MODELS.get(cfg.model.name), cfg)

KINDS = {  # kind -> (family, component, tiny params, crop, extra overrides)
    "denoise": ("dncnn", "denoiser", {"depth": 3, "width": 8}, 24, {}),
    "upscale": ("srresnet", "upscaler", {"scale": 2, "n_blocks": 1, "width": 8}, 24, {}),
    "inpaint": ("inpaint-unet", "inpainter", {"width": 8, "levels": 2}, 32,
                {"restore.adv_weight": 0.1}),
}


def config(kind: str, data: Path, steps: int, **extra):
    name, _, params, crop, more = KINDS[kind]
    ov = {"model.name": name, "model.image_size": crop, "model.channels": 3,
          "model.params": params, "data.path": str(data), "train.steps": steps,
          "train.batch_size": 2, "train.checkpoint_every": 2, "train.log_every": 1,
          "train.sample_every": 100, "train.n_samples": 2, "train.precision": "fp32",
          "restore.patches_per_image": 4, **more, **extra}
    return build_config({}, ov)


def weights(ckpt: Path) -> dict[str, torch.Tensor]:
    """The task's training state (networks, EMA, optimizers, adversary); the global RNG record
    is left out: a DataLoader draws its base seed from it, and no restoration item uses it."""
    state = load_file(str(ckpt / "training_state.safetensors"))
    return {k: v for k, v in state.items() if k.startswith("t.task.")}


@pytest.mark.parametrize("kind", list(KINDS))
def test_trains_exports_loads_and_resumes_bit_exactly(kind, tiny_photos, tmp_path):
    role = KINDS[kind][1]
    full = train(config(kind, tiny_photos, 4), tmp_path / "full", progress=False)
    train(config(kind, tiny_photos, 2), tmp_path / "half", progress=False)
    resumed = train(config(kind, tiny_photos, 4), tmp_path / "half", resume=True, progress=False)
    assert full.step == resumed.step == 4
    a, b = weights(full.checkpoint), weights(resumed.checkpoint)
    assert a.keys() == b.keys()
    for k in a:
        assert torch.equal(a[k], b[k]), k
    index = json.loads((full.checkpoint / "model_index.json").read_text())
    assert index["kind"] == kind and index["pipeline"] == kind
    assert index["components"] == {role: role}
    net = load(tmp_path / "full", component=role)
    pipe = load(tmp_path / "full")
    assert type(net).__name__ == type(pipe.model).__name__
    first = load(tmp_path / "half" / "checkpoints" / "step-0000002", component=role)
    moved = [not torch.equal(p, q) for p, q in zip(first.parameters(), net.parameters(),
                                                   strict=True)]
    assert any(moved)  # two more steps changed the exported (EMA) weights


def test_init_copies_the_source_weights(tiny_photos, tmp_path):
    src = train(config("upscale", tiny_photos, 2), tmp_path / "src", progress=False)
    cfg = config("upscale", tiny_photos, 1, **{"train.init": str(tmp_path / "src"),
                                               "train.lr_g": 1e-12})
    out = train(cfg, tmp_path / "ft", progress=False)
    a = load(src.checkpoint, component="upscaler").state_dict()
    b = load(out.checkpoint, component="upscaler").state_dict()
    for k in a:  # lr ~0: the fine-tuned weights are still the source's
        assert torch.allclose(a[k], b[k], atol=1e-6), k
    fresh = load(train(config("upscale", tiny_photos, 1, **{"train.lr_g": 1e-12}),
                       tmp_path / "fresh", progress=False).checkpoint, component="upscaler")
    assert not all(torch.equal(a[k], fresh.state_dict()[k]) for k in a)


def test_init_refuses_a_mismatched_network(tiny_photos, tmp_path):
    train(config("upscale", tiny_photos, 1), tmp_path / "src", progress=False)
    cfg = config("upscale", tiny_photos, 1, **{"train.init": str(tmp_path / "src"),
                                               "model.params": {"scale": 2, "n_blocks": 2,
                                                                "width": 8}})
    with pytest.raises(UserError, match="train.init"):
        train(cfg, tmp_path / "ft", progress=False)
    with pytest.raises(UserError, match="no such run"):
        train(config("upscale", tiny_photos, 1, **{"train.init": "no-such-model"}),
              tmp_path / "ft2", progress=False)


@pytest.mark.parametrize("kind", list(KINDS))
def test_degraded_items_are_seeded_and_shaped(kind, tiny_photos):
    cfg = config(kind, tiny_photos, 1)
    ds = kind_dataset(cfg)
    assert len(ds) == 3 * 4 and ds.num_images == 3
    a, b = ds[5], ds[5]
    for k in a:
        assert torch.equal(a[k], b[k])
    other = kind_dataset(config(kind, tiny_photos, 1, **{"train.seed": 1}))[5]
    assert not torch.equal(a["input"], other["input"])
    crop = KINDS[kind][3]
    assert a["target"].shape == (3, crop, crop)
    if kind == "upscale":
        assert a["input"].shape == (3, crop // 2, crop // 2)
    if kind == "inpaint":
        hole = a["mask"] > 0.5
        assert 0 < hole.float().mean() <= 0.5
        assert torch.all(a["input"][:, hole[0]] == 0)
    else:  # 8-bit input, like a saved file
        q = (a["input"] + 1) * 127.5
        assert torch.allclose(q, q.round(), atol=1e-4)


def test_denoise_inputs_follow_the_degradation(tiny_photos):
    ds = kind_dataset(config("denoise", tiny_photos, 1,
                                          **{"restore.degradation": "noise:25"}))
    res = torch.stack([ds[i]["input"] - ds[i]["target"] for i in range(len(ds))])
    sigma = float(res.std()) * 127.5
    assert 20 < sigma < 27  # sigma 25 less a little clipping at the extremes


def test_preview_shows_input_output_target_side_by_side(tiny_photos, tmp_path):
    cfg = config("upscale", tiny_photos, 2, **{"train.sample_every": 2})
    out = train(cfg, tmp_path / "r", progress=False)
    grid = np.asarray(Image.open(out.run_dir / "samples" / "step-0000002.png"))
    crop = KINDS["upscale"][3]
    assert grid.shape[1] >= 3 * crop and grid.shape[1] < 4 * crop * 2  # 3 panels per image
    from pixelforge.kinds import kind_of

    assert kind_of("upscale").data == "pixelforge.data.degraded_photos:build_degraded"


def test_feature_loss_is_zero_on_the_target_and_grows_with_blur():
    from pixelforge.data.degradations import gaussian_blur
    from pixelforge.models.cnn import CNNClassifier
    from pixelforge.training.restore import FeatureLoss

    torch.manual_seed(0)
    loss = FeatureLoss(CNNClassifier(channels=3, num_classes=4, width=8))
    x = torch.rand(2, 3, 32, 32) * 2 - 1
    assert float(loss(x, x)) == 0.0
    mild, strong = float(loss(gaussian_blur(x, 0.7), x)), float(loss(gaussian_blur(x, 2.0), x))
    assert 0 < mild < strong
    assert not any(p.requires_grad for p in loss.parameters())


def test_cli_train_init_fine_tunes_from_a_run(tiny_photos, tmp_path, capsys):
    from pixelforge.cli.main import main

    common = ["--model", "dncnn", "--data", str(tiny_photos), "--steps", "1", "--quiet",
              "--model.image_size", "24", "--model.channels", "3", "--model.params",
              "{depth: 3, width: 8}", "--restore.patches_per_image", "4",
              "--train.batch_size", "2", "--train.precision", "fp32"]
    assert main(["train", "--out", str(tmp_path / "a"), *common]) == 0
    assert main(["train", "--out", str(tmp_path / "b"), "--init", str(tmp_path / "a"),
                 "--train.lr_g", "1e-12", *common]) == 0
    a = load(tmp_path / "a", component="denoiser").state_dict()
    b = load(tmp_path / "b", component="denoiser").state_dict()
    assert all(torch.allclose(a[k], b[k], atol=1e-6) for k in a)
    assert main(["train", "--out", str(tmp_path / "c"), "--init", "nope", *common]) == 2
    assert "train.init 'nope'" in capsys.readouterr().err


@pytest.mark.parametrize("fill", ["pushpull", "harmonic"])
def test_fill_inpainter_starts_as_the_fill_and_keeps_known_pixels(fill):
    from pixelforge.models.inpaint_unet import FILLS, InpaintUNet

    torch.manual_seed(0)
    net = InpaintUNet(width=8, levels=2, fill=fill).eval()
    for h, w in ((37, 23), (1, 1), (64, 96), (3, 130)):
        x = torch.rand(1, 3, h, w) * 2 - 1
        m = (torch.rand(1, 1, h, w) > 0.6).float()
        with torch.no_grad():
            y = net(x, m)
        assert y.shape == x.shape
        assert torch.equal(y * (1 - m), x * (1 - m))
        assert torch.allclose(y, (x * (1 - m) + FILLS[fill](x, m) * m).clamp(-1, 1))


def test_fills_of_a_smooth_ramp_and_the_harmonic_fill_reproduces_it():
    """A linear ramp is harmonic, so the membrane fill of a hole in it is the ramp itself (up to
    the sweeps' convergence); push-pull is only close; zeros are far off."""
    from pixelforge.models.inpaint_unet import harmonic_fill, push_pull_fill

    ramp = torch.linspace(-1, 1, 48).view(1, 1, 1, 48).expand(1, 3, 40, 48)
    hole = torch.zeros(1, 1, 40, 48)
    hole[..., 10:30, 14:34] = 1
    inside = hole.expand_as(ramp) > 0
    err_pp = (push_pull_fill(ramp, hole) - ramp).abs()[inside].mean()
    err_h = (harmonic_fill(ramp, hole) - ramp).abs()[inside].mean()
    assert err_h < 0.01 < err_pp < 0.1 < ramp[inside].abs().mean(), (err_h, err_pp)
    # known pixels are kept exactly, and bf16 autocast does not touch the (fp32) solve
    with torch.autocast("cpu", dtype=torch.bfloat16):
        fill_bf16 = harmonic_fill(ramp, hole)
    assert torch.equal(fill_bf16, harmonic_fill(ramp, hole))
    assert torch.equal(harmonic_fill(ramp, hole)[~inside], ramp[~inside])


@pytest.mark.slow
@pytest.mark.parametrize("fill", ["pushpull", "harmonic"])
def test_fill_inpainter_onnx_matches_pytorch_at_sizes_other_than_traced(tmp_path, fill):
    """The fills' pyramids depend on H and W; the export builds a fixed-depth one so the graph is
    right at any size, not just the traced one."""
    ort = pytest.importorskip("onnxruntime")
    from pixelforge.models.inpaint_unet import InpaintUNet
    from pixelforge.pipelines.export import export_onnx

    torch.manual_seed(0)
    net = InpaintUNet(width=8, levels=2, fill=fill).eval()
    nn.init.normal_(net.out.weight, std=0.05)  # a non-trivial correction on top of the fill
    sess = ort.InferenceSession(str(export_onnx(net, tmp_path / "n.onnx", image_size=16)))
    for h, w in ((16, 16), (44, 80), (100, 36)):
        x, m = torch.rand(2, 3, h, w) * 2 - 1, (torch.rand(2, 1, h, w) > 0.7).float()
        with torch.no_grad():
            want = net(x, m).numpy()
        got = sess.run(None, {"image": x.numpy(), "mask": m.numpy()})[0]
        assert np.abs(got - want).max() < 1e-4, (h, w)
