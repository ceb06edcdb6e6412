"""Every registered model builds, has the right shapes, and round-trips through save/load."""

import pytest
import torch

import pixelforge
from pixelforge.errors import UserError
from pixelforge.models import MODELS
from pixelforge.pipelines.sampling import generate_images

SIZES = {"seed-dcgan": [16, 56], "dcgan": [28, 32, 48, 64, 128], "resnet-gan": [28, 32, 48],
         "stylegan-lite": [28, 32, 48]}  # native sizes b * 2^k, b in 4..7


@pytest.mark.parametrize("name", [n for n in MODELS.names() if MODELS.get(n).kind == "gan"])
@pytest.mark.parametrize("channels", [1, 3])
def test_gan_shapes(name, channels):
    fam = MODELS.get(name)
    for size in SIZES.get(name, [32]):
        g = fam.build("generator", image_size=size, channels=channels, latent_dim=8)
        d = fam.build("discriminator", image_size=size, channels=channels, latent_dim=8)
        x = g(torch.randn(3, 8))
        assert x.shape == (3, channels, size, size)
        assert x.min() >= -1 and x.max() <= 1
        assert d(x).shape == (3,)


def test_seed_dcgan_matches_the_seed_document():
    g = MODELS.get("seed-dcgan").build("generator", image_size=56, channels=1, latent_dim=128)
    dense = [m for m in g.stem if isinstance(m, torch.nn.Linear)]
    assert [(m.in_features, m.out_features) for m in dense] == [(128, 128), (128, 1024), (1024, 7 * 7 * 256)]
    convs = [m for m in g.body if isinstance(m, torch.nn.ConvTranspose2d)]
    assert [(m.in_channels, m.out_channels, m.kernel_size, m.stride) for m in convs] == [
        (256, 128, (4, 4), (2, 2)), (128, 64, (4, 4), (2, 2)), (64, 1, (4, 4), (2, 2))]
    d = MODELS.get("seed-dcgan").build("discriminator", image_size=56, channels=1)
    assert [m.out_channels for m in d.features if isinstance(m, torch.nn.Conv2d)] == [64, 128, 256]


def test_cnn_classifier_shapes():
    c = MODELS.get("cnn").build("classifier", channels=3, num_classes=7)
    x = torch.randn(2, 3, 32, 32)
    assert c(x).shape == (2, 7)
    assert c.features(x).shape == (2, c.feature_dim)


def test_bad_sizes_are_user_errors():
    with pytest.raises(UserError, match="model.image_size"):
        MODELS.get("seed-dcgan").build("generator", image_size=28)
    with pytest.raises(UserError, match="model.image_size"):
        MODELS.get("dcgan").build("generator", image_size=36)
    with pytest.raises(UserError, match="unknown model"):
        MODELS.get("no-such-model")
    with pytest.raises(UserError, match="model.params.depth"):
        MODELS.get("dcgan").check_params({"depth": 3})


@pytest.mark.parametrize("name", ["seed-dcgan", "dcgan"])
def test_save_pretrained_roundtrip(tmp_path, name):
    g = MODELS.get(name).build("generator", image_size=32, channels=1, latent_dim=12)
    g.save_pretrained(tmp_path / "g")
    assert {p.name for p in (tmp_path / "g").iterdir()} >= {"config.json", "model.safetensors"}
    loaded = pixelforge.load(tmp_path / "g")  # the generate pipeline around the generator
    assert type(loaded.generator) is type(g)
    same = type(g).from_pretrained(str(tmp_path / "g"))
    a, b, c = generate_images(g, 5, seed=3), loaded.generate(5, seed=3), generate_images(same, 5,
                                                                                        seed=3)
    assert torch.equal(a, b) and torch.equal(a, c)
    assert not torch.equal(a, generate_images(g, 5, seed=4))
    pil = loaded.generate(2, seed=3, output="pil")
    assert pil[0].size == (32, 32)


def test_d_width_sizes_the_discriminator_alone():
    """d_width shrinks D (a private D's noise grows with its size) and leaves G as it was."""
    fam = MODELS.get("dcgan")
    kw = dict(image_size=28, channels=1, num_classes=10, width=64)
    count = lambda m: sum(p.numel() for p in m.parameters())  # noqa: E731
    d_full, d_small = fam.build("discriminator", **kw), fam.build("discriminator", **kw, d_width=16)
    g_full, g_small = fam.build("generator", **kw), fam.build("generator", **kw, d_width=16)
    assert count(g_small) == count(g_full)
    assert count(d_small) < count(d_full) / 6  # 25,760 against 201,344 weights
    assert count(d_small) == count(fam.build("discriminator", **{**kw, "width": 16}))
    x, y = torch.randn(3, 1, 28, 28), torch.tensor([0, 4, 9])
    assert d_small(x, y).shape == (3,)
    with pytest.raises(UserError, match="model.params.d_width"):
        fam.build("discriminator", **kw, d_width=-1)


def test_resize_upsampling_prints_no_checkerboard(tmp_path):
    """upsample: resize (nearest x2 + 3x3 conv) against the paper's transposed convs: at
    initialisation a deconv G's samples put most of their luma power on the 2-px grid's
    frequencies (uneven kernel overlap), a resize G's almost none; both export to ONNX alike."""
    from pixelforge.metrics.block_artefacts import block_energy

    fam = MODELS.get("dcgan")

    def grid_share(upsample: str, seed: int) -> float:
        torch.manual_seed(seed)
        g = fam.build("generator", image_size=64, channels=3, width=16, upsample=upsample).eval()
        with torch.no_grad():
            x = g(torch.randn(16, 100))
        y = x.mean(1)
        total = float(torch.fft.rfft2(y - y.mean((-2, -1), keepdim=True)).abs().pow(2).sum())
        return block_energy(x, periods=(2,))[0] / total

    for seed in range(3):
        deconv, resize = grid_share("deconv", seed), grid_share("resize", seed)
        assert resize < deconv / 20, (seed, deconv, resize)
    with pytest.raises(UserError, match="model.params.upsample"):
        fam.build("generator", image_size=64, upsample="bilinear-ish")
    ort = pytest.importorskip("onnxruntime")
    from pixelforge.pipelines.export import export_onnx

    torch.manual_seed(0)
    g = fam.build("generator", image_size=32, channels=3, width=8, upsample="resize").eval()
    sess = ort.InferenceSession(str(export_onnx(g, tmp_path / "g.onnx")))
    z = torch.randn(2, 100)
    with torch.no_grad():
        want = g(z).numpy()
    got = sess.run(None, {sess.get_inputs()[0].name: z.numpy()})[0]
    assert abs(got - want).max() < 1e-4
