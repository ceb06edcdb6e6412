"""ONNX export of every registered family's image-making networks, checked against onnxruntime.

The cases are derived from the registry, so a new family with a generator (noise -> image) or an
image-to-image network is exported and compared without editing this file; option variants
apply wherever the generator takes them."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

import pixelforge
from pixelforge.cli.main import main
from pixelforge.config import load_yaml
from pixelforge.configs import root as configs_root
from pixelforge.errors import UserError
from pixelforge.models import MODELS
from pixelforge.models.base import Generator
from pixelforge.nn.layers import spectral_norm_weights
from pixelforge.pipelines.export import NOT_EXPORTED, export_onnx, onnx_signature

ort = pytest.importorskip("onnxruntime")
onnx = pytest.importorskip("onnx")

CONFIGS = configs_root()
TINY = {"image_size": 16, "channels": 3, "latent_dim": 8, "width": 8,
        "depth": 3, "n_blocks": 1, "levels": 2}  # image-to-image networks: few levels / blocks
VARIANTS = {  # name: generator options (a variant runs for a family that takes all of them)
    "plain": {},
    "conditional": {"num_classes": 3},
    "attention": {"attention": 8},
    "spectral-norm": {"g_spectral_norm": True},
    "sagan": {"num_classes": 3, "attention": 8, "g_spectral_norm": True},
    "conv": {"arch": "conv"},
    "gaussian": {"likelihood": "gaussian", "arch": "conv"},
}


def _latent_generator(name: str) -> bool:
    """Families whose "generator" maps latents to images (not image translators like pix2pix)."""
    return issubclass(MODELS.get(name).networks.get("generator", object), Generator)


GENERATOR_FAMILIES = [n for n in MODELS.names() if _latent_generator(n)]
IMAGE_NETWORKS = [pytest.param(n, role, id=f"{n}-{role}") for n in MODELS.names()
                  for role, cls in MODELS.get(n).networks.items()
                  if not role.startswith(NOT_EXPORTED) and not issubclass(cls, Generator)
                  and not getattr(cls, "onnx_unsupported", "")]


def _cases() -> list:
    cases = []
    for name in GENERATOR_FAMILIES:
        takes = set(MODELS.get(name).options("generator"))
        for variant, opts in VARIANTS.items():
            if set(opts) <= takes:
                cases.append(pytest.param(name, opts, id=f"{name}-{variant}"))
    return cases


def _labels(g: Generator, n: int) -> torch.Tensor | None:
    return torch.arange(n) % g.num_classes if g.num_classes else None


def _settled(g: Generator, seed: int = 0) -> Generator:
    """Weights away from their init (zero-init gains such as attention's gamma included), and
    BatchNorm statistics and spectral-norm vectors updated by a few training-mode passes."""
    torch.manual_seed(seed)
    with torch.no_grad():
        for p in g.parameters():
            p.add_(0.1 * torch.randn_like(p))
        g.train()
        for _ in range(2):
            g(torch.randn(6, g.latent_dim), *(() if _labels(g, 6) is None else (_labels(g, 6),)))
    return g.eval()


def _run_onnx(path: Path, z: torch.Tensor, labels: torch.Tensor | None) -> np.ndarray:
    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    feeds = {"z": z.numpy()}
    if labels is not None:
        feeds["labels"] = labels.numpy()
    return sess.run(["images"], feeds)[0]


def _check_parity(g: Generator, path: Path, n: int = 3, truncation: float | None = None) -> None:
    z = torch.randn(n, g.latent_dim, generator=torch.Generator().manual_seed(1))
    y = _labels(g, n)
    with torch.no_grad():
        ref = g.synthesize(z, y, truncation).clamp(-1, 1).numpy()
    out = _run_onnx(path, z, y)
    assert out.shape == (n, g.channels, g.image_size, g.image_size)
    assert float(np.abs(out - ref).max()) <= 1e-3
    assert float(np.abs(ref).max()) > 0.01  # a real image, not a constant (the check can fail)


def test_every_generator_family_has_cases():
    ids = {c.id for c in _cases()}
    assert {f"{n}-plain" for n in GENERATOR_FAMILIES} <= ids
    assert {"dcgan-sagan", "resnet-gan-sagan", "stylegan-lite-conditional", "cvae-conv",
            "vae-gan-gaussian"} <= ids


@pytest.mark.parametrize("name,opts", _cases())
def test_onnx_matches_pytorch(tmp_path, name, opts):
    g = _settled(MODELS.get(name).build("generator", **{**TINY, **opts}))
    path = export_onnx(g, tmp_path / "g.onnx", batch_size=2)  # traced at 2, run at 3
    _check_parity(g, path)
    meta = {p.key: p.value for p in onnx.load(str(path)).metadata_props}
    assert meta["pixelforge.model"] == name and meta["latent_dim"] == str(g.latent_dim)


@pytest.mark.parametrize("name,role", IMAGE_NETWORKS)
def test_image_to_image_onnx_matches_pytorch(tmp_path, name, role):
    """Traced at 16 px and batch 2, run at another size and batch: H, W and N stay dynamic."""
    torch.manual_seed(0)
    net = MODELS.get(name).build(role, **TINY)
    with torch.no_grad():
        for p in net.parameters():  # off the init (some output layers start at zero)
            p.add_(0.1 * torch.randn_like(p))
    net.eval()
    path = export_onnx(net, tmp_path / "net.onnx", batch_size=2, image_size=16)
    side = 3 * getattr(net, "stride", 1) if getattr(net, "stride", 1) > 8 else 24
    gen = torch.Generator().manual_seed(1)
    feeds = {"image": torch.rand(3, getattr(net, "in_channels", net.channels), side, side,
                                 generator=gen) * 2 - 1}
    inputs, outputs = onnx_signature(path)
    if len(inputs) == 2:
        assert inputs[1] == "mask [batch, 1, height, width]"
        feeds["mask"] = (torch.rand(3, 1, side, side, generator=gen) > 0.5).float()
    with torch.no_grad():
        ref = net(*feeds.values()).numpy()
    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    out = sess.run(["images"], {k: v.numpy() for k, v in feeds.items()})[0]
    # relative to the output's scale: a deep residual net without norms (drunet) carries the
    # perturbed weights to outputs of ~1e5, where float32 rounding alone differs by ~1
    scale = max(1.0, float(np.abs(ref).max()))
    assert out.shape == ref.shape and float(np.abs(out - ref).max()) <= 1e-3 * scale
    assert outputs == [f"images [batch, {net.channels}, out_height, out_width]"]
    with pytest.raises(UserError, match=f"{name}: truncation"):
        export_onnx(net, tmp_path / "t.onnx", truncation=0.5)


def test_discriminators_are_not_exported(tmp_path):
    d = MODELS.get("dcgan").build("discriminator", **TINY)
    with pytest.raises(UserError, match="dcgan: the discriminator is not exported"):
        export_onnx(d, tmp_path / "d.onnx")


@pytest.mark.parametrize("name", ["dcgan", "resnet-gan"])
def test_spectral_norm_export_leaves_the_callers_generator_alone(tmp_path, name):
    """SN is baked into a copy; the caller's generator keeps its parametrisations and outputs,
    in eval and in training mode."""
    g = _settled(MODELS.get(name).build("generator", **TINY, g_spectral_norm=True))
    sn_before = [n for n, _ in spectral_norm_weights(g)]
    z = torch.randn(4, 8)
    with torch.no_grad():
        before = g(z)
    export_onnx(g, tmp_path / "g.onnx", truncation=0.8)
    _check_parity(g, tmp_path / "g.onnx", truncation=0.8)
    assert [n for n, _ in spectral_norm_weights(g)] == sn_before and sn_before
    with torch.no_grad():
        assert torch.equal(g(z), before)
    g.train()
    g(z).sum().backward()  # still trains through its parametrisations
    first = spectral_norm_weights(g)[0][1]
    assert first.parametrizations.weight.original.grad is not None


def test_a_family_that_cannot_export_names_itself(tmp_path):
    class NoExport(Generator):
        family = "tiny-no-export"
        onnx_unsupported = "it samples with data-dependent control flow"

        def __init__(self) -> None:
            super().__init__()
            self.image_size, self.channels, self.latent_dim = 4, 1, 2
            self.lin = torch.nn.Linear(2, 16)

        def forward(self, z):
            return self.lin(z).view(-1, 1, 4, 4)

    with pytest.raises(UserError, match="tiny-no-export.*data-dependent"):
        export_onnx(NoExport(), tmp_path / "g.onnx")

    class Untraceable(NoExport):
        family = "tiny-vdot"
        onnx_unsupported = ""

        def forward(self, z):  # aten::vdot has no ONNX form
            return torch.vdot(z[0], z[0]) * self.lin(z).view(-1, 1, 4, 4)

    with pytest.raises(UserError, match="^tiny-vdot: ONNX export failed .*vdot"):
        export_onnx(Untraceable(), tmp_path / "g.onnx")
    assert not list(tmp_path.iterdir())


def _shipped_generators() -> list:
    cases = []
    for path in sorted(CONFIGS.rglob("*.yaml")):
        model = load_yaml(path).get("model", {})
        if _latent_generator(model.get("name", "seed-dcgan")):
            cases.append(pytest.param(model, id=str(path.relative_to(CONFIGS))))
    return cases


@pytest.mark.parametrize("model", _shipped_generators())
def test_every_shipped_recipe_exports(tmp_path, model):
    """The generators of the shipped configs, at their real size (both sagan recipes included)."""
    shape = {"image_size": model.get("image_size") or 32, "channels": model.get("channels") or 3,
             "latent_dim": model.get("latent_dim", 128), **model.get("params", {})}
    if model.get("conditional"):
        shape["num_classes"] = 10
    g = _settled(MODELS.get(model.get("name", "seed-dcgan")).build("generator", **shape))
    _check_parity(g, export_onnx(g, tmp_path / "g.onnx"), n=2)


def test_cli_exports_a_spectral_norm_and_a_vae_checkpoint(tmp_path, capsys):
    sagan = _settled(MODELS.get("resnet-gan").build("generator", **VARIANTS["sagan"], **TINY))
    cvae = _settled(MODELS.get("cvae").build("generator", **TINY, num_classes=3, arch="conv"))
    for name, g in (("sagan", sagan), ("cvae", cvae)):
        g.save_pretrained(tmp_path / name)
        out = tmp_path / f"{name}.onnx"
        assert main(["export", str(tmp_path / name), "--out", str(out), "--opset", "14"]) == 0
        assert "labels [batch]" in capsys.readouterr().out
        _check_parity(g, out)
    _check_parity(cvae, export_onnx(pixelforge.load(tmp_path / "cvae"), tmp_path / "p.onnx"))
    # a component by name; a discriminator is refused with one line naming it
    d = MODELS.get("dcgan").build("discriminator", **TINY)
    d.save_pretrained(tmp_path / "d")
    assert main(["export", str(tmp_path / "d"), "--out", str(tmp_path / "d.onnx")]) == 2
    assert "discriminator is not exported" in capsys.readouterr().err
    assert main(["export", str(tmp_path / "sagan"), "--component", "generator",
                 "--out", str(tmp_path / "c.onnx")]) == 0
    assert main(["export", str(tmp_path / "sagan"), "--component", "critic",
                 "--out", str(tmp_path / "x.onnx")]) == 2
    assert "critic" in capsys.readouterr().err
    assert not (tmp_path / "d.onnx").exists() and not (tmp_path / "x.onnx").exists()
