"""The Fourier-convolution inpainter (inpaint-ffc, issue 20): an image-wide receptive field in one
block, bf16 autocast, ONNX export by DFT matmuls, the wide mask modes' coverage, the
block-artefact metric, and training + inpainting through the CLI on tiny photos."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from PIL import Image
from torch import nn

from pixelforge.cli.main import main
from pixelforge.data.masks import WIDE, random_mask, random_masks
from pixelforge.metrics.block_artefacts import block_artefact_ratio
from pixelforge.models.ffc import FFCBlock, dft_irfft2, dft_rfft2
from pixelforge.models.inpaint_ffc import InpaintFFC

from .conftest import randomize

TINY = {"width": 8, "levels": 2, "blocks": 1}


def _corner_change(ratio: float) -> float:
    """How much one FFC block's output at the bottom-right pixel moves when the top-left input
    pixel changes."""
    torch.manual_seed(0)
    block = randomize(FFCBlock(16, ratio=ratio), std=0.2).eval()
    x = torch.randn(1, 16, 24, 24)
    y = x.clone()
    y[..., 0, 0] += 5.0
    with torch.no_grad():
        return float((block(x) - block(y))[..., -1, -1].abs().max())


def test_one_ffc_block_sees_the_opposite_corner_and_a_local_one_does_not():
    assert _corner_change(0.75) > 1e-3
    assert _corner_change(0.0) == 0.0  # two 3x3 convs: a 5x5 field, far from the corner


def test_shapes_known_pixels_and_any_size():
    torch.manual_seed(0)
    net = randomize(InpaintFFC(**TINY)).eval()
    x = torch.rand(2, 3, 21, 30) * 2 - 1
    m = torch.zeros(2, 1, 21, 30)
    m[..., 5:15, 8:25] = 1
    with torch.no_grad():
        y = net(x, m)
    assert y.shape == x.shape
    assert torch.equal(y * (1 - m), x * (1 - m))  # known pixels pass through exactly
    assert (y - x)[m.expand_as(x) > 0].abs().max() > 1e-3  # the hole is filled, not copied


def test_harmonic_fill_option_starts_as_the_fill():
    from pixelforge.models.inpaint_unet import harmonic_fill

    net = InpaintFFC(**TINY, fill="harmonic").eval()
    x = torch.rand(1, 3, 32, 32) * 2 - 1
    m = torch.zeros(1, 1, 32, 32)
    m[..., 8:24, 8:24] = 1
    with torch.no_grad():
        want = x * (1 - m) + harmonic_fill(x, m).clamp(-1, 1) * m
        assert torch.allclose(net(x, m), want, atol=1e-6)


def test_bf16_autocast_runs_and_stays_near_fp32():
    torch.manual_seed(0)
    net = randomize(InpaintFFC(**TINY)).eval()
    x = torch.rand(1, 3, 32, 32) * 2 - 1
    m = (torch.rand(1, 1, 32, 32) > 0.6).float()
    seen = []
    net.blocks.register_forward_hook(lambda mod, i, o: seen.append(o.dtype))
    with torch.no_grad():
        ref = net(x, m)
        with torch.autocast("cpu", dtype=torch.bfloat16):
            low = net(x, m)
    assert seen == [torch.float32, torch.bfloat16]  # the convs ran in bf16 (the FFT in fp32)
    assert torch.isfinite(low.float()).all()
    assert (low.float() - ref).abs().max() < 0.1  # bf16 rounding, not a different answer


@pytest.mark.parametrize("h,w", [(8, 8), (7, 10), (12, 5)])
def test_dft_matmuls_equal_torch_fft(h, w):
    x = torch.randn(2, 3, h, w)
    spec = torch.fft.rfft2(x, norm="ortho")
    re, im = dft_rfft2(x)
    assert torch.allclose(re, spec.real, atol=1e-4) and torch.allclose(im, spec.imag, atol=1e-4)
    a, b = torch.randn_like(re), torch.randn_like(im)
    want = torch.fft.irfft2(torch.complex(a, b), s=(h, w), norm="ortho")
    assert torch.allclose(dft_irfft2(a, b, h, w), want, atol=1e-4)


def test_onnx_export_matches_pytorch_at_sizes_other_than_traced(tmp_path):
    """torch.onnx has no rfft2 (UnsupportedOperatorError, opsets 17-20, measured): the export
    computes the same transform with DFT matrices built from the graph's H and W."""
    ort = pytest.importorskip("onnxruntime")
    from pixelforge.pipelines.export import export_onnx

    torch.manual_seed(0)
    net = randomize(InpaintFFC(**TINY)).eval()
    sess = ort.InferenceSession(str(export_onnx(net, tmp_path / "n.onnx", image_size=16)))
    for h, w in ((16, 16), (28, 44), (40, 20)):
        x, m = torch.rand(1, 3, h, w) * 2 - 1, (torch.rand(1, 1, h, w) > 0.7).float()
        with torch.no_grad():
            want = net(x, m).numpy()
        got = sess.run(None, {"image": x.numpy(), "mask": m.numpy()})[0]
        assert np.abs(got - want).max() < 1e-3, (h, w)


@pytest.mark.parametrize("mode", list(WIDE))
def test_wide_masks_cover_their_range_and_are_seeded(mode):
    lo, hi = WIDE[mode]
    for size in ((64, 64), (48, 80)):
        ratios = np.array([float(random_mask(mode, *size, seed=i).mean()) for i in range(60)])
        assert ratios.min() >= lo and ratios.max() <= hi, (size, ratios.min(), ratios.max())
        assert ratios.std() > 0.03  # a spread of sizes, not one
    a, b = random_masks(mode, 4, 40, 40, seed=3), random_masks(mode, 4, 40, 40, seed=3)
    assert torch.equal(a, b)
    assert torch.equal(a[2], random_masks(mode, 3, 40, 40, seed=3)[2])  # per (seed, index)
    assert not torch.equal(a[0], a[1])


def _texture(seed: int = 0, size: int = 128) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    x = F.avg_pool2d(torch.randn(1, 3, size + 8, size + 8, generator=g), 9, 1)[..., :size, :size]
    return (2 * x + 0.05 * torch.randn(1, 3, size, size, generator=g)).clamp(-1, 1)


def test_block_artefact_ratio_flags_an_8px_checkerboard():
    truth = _texture()
    yy, xx = torch.meshgrid(torch.arange(128), torch.arange(128), indexing="ij")
    board = ((yy // 4 + xx // 4) % 2).float() * 2 - 1  # 4 px squares: period 8
    hole = torch.zeros(1, 1, 128, 128)
    hole[..., 30:90, 40:100] = 1
    noise = torch.randn(1, 3, 128, 128, generator=torch.Generator().manual_seed(1))
    assert block_artefact_ratio(truth, truth, hole) == 1.0
    gridded = block_artefact_ratio(truth + 0.1 * board * hole, truth, hole)
    noisy = block_artefact_ratio(truth + 0.1 * noise / noise.std() * hole, truth, hole)
    blurred = F.avg_pool2d(F.pad(truth, (2, 2, 2, 2), mode="replicate"), 5, 1)
    smooth = block_artefact_ratio(truth * (1 - hole) + blurred * hole, truth, hole)
    assert gridded > 10  # the grid's energy sits on the lattice
    assert noisy < gridded / 5  # as much energy, spread over every frequency
    assert smooth < 1.0
    assert block_artefact_ratio([truth, truth], [truth, truth], [hole, hole]) == 1.0


# -- end to end ------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def ffc_run(tiny_photos, tmp_path_factory) -> Path:
    """3 steps of `pixelforge train` with the FFC model, wide masks and all three losses."""
    run = tmp_path_factory.mktemp("runs") / "ffc"
    argv = ["train", "--model", "inpaint-ffc", "--data", str(tiny_photos), "--out", str(run),
            "--model.image_size", "32", "--model.params", json.dumps(TINY),
            "--train.steps", "3", "--train.batch_size", "2", "--train.log_every", "1",
            "--train.checkpoint_every", "3", "--train.sample_every", "100",
            "--train.n_samples", "2", "--restore.masks", '["wide15_40"]',
            "--restore.patches_per_image", "4", "--restore.adv_weight", "0.1",
            "--restore.feature_weight", "0.5", "--restore.feature_net", "random"]
    assert main(argv) == 0
    return run


def test_cli_trains_with_wide_masks_and_three_losses(ffc_run):
    logs = [json.loads(line) for line in (ffc_run / "train_log.jsonl").read_text().splitlines()]
    steps = [r for r in logs if "loss_pixel" in r]
    assert len(steps) == 3
    assert all(k in steps[-1] for k in ("loss_pixel", "loss_feature", "loss_adv"))
    index = json.loads((ffc_run / "checkpoints" / "step-0000003" / "model_index.json").read_text())
    assert index["kind"] == "inpaint"
    cfg = json.loads((ffc_run / "checkpoints" / "step-0000003" / "inpainter" / "config.json")
                     .read_text())
    assert cfg["_pixelforge"]["model"] == "inpaint-ffc"


def test_cli_inpaints_a_tiny_image_with_the_run(ffc_run, tmp_path):
    img = (np.random.default_rng(0).random((20, 28, 3)) * 255).astype(np.uint8)
    Image.fromarray(img).save(tmp_path / "img.png")
    out = tmp_path / "out"
    assert main(["inpaint", str(tmp_path / "img.png"), "--box", "6,4,12,10", "--model",
                 str(ffc_run), "--out", str(out)]) == 0
    got = np.asarray(Image.open(out / "img.png").convert("RGB"))
    assert got.shape == img.shape
    hole = np.zeros(img.shape[:2], bool)
    hole[4:14, 6:18] = True
    assert np.array_equal(got[~hole], img[~hole])  # known pixels untouched
    assert not np.array_equal(got[hole], img[hole])  # the hole was filled


def test_perceptual_net_is_no_benchmark_judge():
    """The feature loss's "random" net is a fixed seeded conv net: the same in every run, frozen,
    and sharing no weights with the judges the benchmark reports FD in."""
    from pixelforge.training.random_features import RandomFeatures

    a, b = RandomFeatures(), RandomFeatures()
    assert all(torch.equal(p, q) for p, q in zip(a.parameters(), b.parameters(), strict=True))
    assert not any(p.requires_grad for p in a.parameters())
    assert isinstance(a.features, nn.Sequential)


def test_a_saturated_correction_still_gets_a_gradient_back_into_range():
    """compose clamps a corrected fill to [-1, 1] in value, but its gradient passes the clamp: a
    hole pushed past the range by one bad step is pulled back by the L1 loss. (With a hard clamp
    that gradient is zero, and the harmonic-fill FFC collapsed to saturated holes for good.)"""
    from pixelforge.models.inpaint_unet import compose

    image = torch.zeros(1, 3, 4, 4)
    mask = torch.zeros(1, 1, 4, 4)
    mask[..., 1:3, 1:3] = 1
    guess = torch.full((1, 3, 4, 4), 0.2)
    y = torch.full((1, 3, 4, 4), 3.0, requires_grad=True)  # overshoots: 0.2 + 3 > 1
    out = compose(image, mask, y, guess)
    assert torch.equal(out.detach(), image * (1 - mask) + (guess + 3.0).clamp(-1, 1) * mask)
    (out - 0.0).abs().mul(mask).sum().backward()  # L1 towards a target of 0 in the hole
    assert torch.equal(y.grad, mask.expand(1, 3, 4, 4))  # +1 in the hole: a step lowers y there
    assert float(torch.clamp(guess + 3.0, -1, 1).mean()) == 1.0  # the value is still clamped
