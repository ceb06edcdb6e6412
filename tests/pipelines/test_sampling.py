"""pipelines.sampling: the one batched loop (chunks, seeds, precision) and `sample` streaming."""

from __future__ import annotations

import pytest
import torch

from pixelforge.checkpoint import write_components
from pixelforge.cli.main import main
from pixelforge.errors import UserError
from pixelforge.models import MODELS
from pixelforge.pipelines import sampling
from pixelforge.pipelines.generate import MAX_GRID_IMAGES
from pixelforge.pipelines.sampling import generate_images, iter_generate


def _gen(num_classes: int = 0):
    torch.manual_seed(0)
    return MODELS.get("dcgan").build("generator", image_size=16, channels=1, latent_dim=8,
                                     width=8, num_classes=num_classes).eval()


class Spy:
    """Records the batch size of every synthesize call of a generator."""

    def __init__(self, g) -> None:
        self.sizes: list[int] = []
        inner = g.synthesize

        def synthesize(z, labels=None, truncation=None):
            self.sizes.append(len(z))
            return inner(z, labels, truncation)

        g.synthesize = synthesize


def test_same_seed_same_latents_whatever_the_batch_size():
    g = _gen()
    seen: list[torch.Tensor] = []
    inner = g.synthesize
    g.synthesize = lambda z, y=None, t=None: (seen.append(z.clone()), inner(z, y, t))[1]
    ref = generate_images(g, 10, seed=5, precision="fp32")
    z_ref = torch.cat(seen)
    seen.clear()
    other = generate_images(g, 10, seed=5, batch_size=3, precision="fp32")
    assert torch.equal(torch.cat(seen), z_ref)  # the noise does not depend on the batching
    torch.testing.assert_close(other, ref, atol=1e-6, rtol=0)  # only GEMM blocking differs
    # the documented noise: one CPU generator seeded with the seed
    assert torch.equal(z_ref, torch.randn(10, 8, generator=torch.Generator().manual_seed(5)))
    assert torch.equal(ref, generate_images(g, 10, seed=5, precision="fp32"))
    assert not torch.allclose(ref, generate_images(g, 10, seed=6, precision="fp32"))
    assert g.training is False


def test_generator_is_only_called_with_bounded_batches(monkeypatch):
    monkeypatch.setattr(sampling, "NOISE_BLOCK", 8)
    g = _gen()
    spy = Spy(g)
    chunks = iter_generate(g, 21, seed=0, batch_size=3, precision="fp32")
    first = next(chunks)
    assert first.shape == (3, 1, 16, 16) and spy.sizes == [3]  # lazily: one batch so far
    rest = list(chunks)
    assert sum(len(c) for c in [first, *rest]) == 21
    assert max(spy.sizes) <= 3 and sum(spy.sizes) == 21
    # blocks of 8 latents: batches 3, 3, 2 per block, then the last block of 5
    assert spy.sizes == [3, 3, 2, 3, 3, 2, 3, 2]


def test_labels_are_streamed_and_checked():
    g = _gen(num_classes=3)
    spy_labels = []
    inner = g.synthesize
    g.synthesize = lambda z, y=None, t=None: (spy_labels.append(y.clone()), inner(z, y, t))[1]
    list(iter_generate(g, 5, seed=0, batch_size=2, precision="fp32"))
    assert torch.cat(spy_labels).tolist() == [0, 1, 2, 0, 1]  # classes cycled
    spy_labels.clear()
    list(iter_generate(g, 3, seed=0, labels=2, precision="fp32"))
    assert torch.cat(spy_labels).tolist() == [2, 2, 2]
    with pytest.raises(UserError, match="out of range"):
        next(iter_generate(g, 3, labels=3))
    with pytest.raises(UserError, match="truncation"):
        next(iter_generate(g, 3, truncation=1.5))
    with pytest.raises(UserError, match="n must be"):
        next(iter_generate(g, 0))


@pytest.fixture
def ckpt(tmp_path):
    write_components(tmp_path / "ck", {"generator": _gen()}, model="dcgan", kind="gan",
                     pipeline="generate")
    return tmp_path / "ck"


def test_sample_refuses_a_huge_grid_before_loading(tmp_path, ckpt, capsys, monkeypatch):
    import pixelforge.api

    monkeypatch.setattr(pixelforge.api, "load_pipeline", None)  # loading would crash
    code = main(["sample", str(ckpt), "--n", "100000000", "--out", str(tmp_path / "g.png")])
    err = capsys.readouterr().err.strip()
    assert code == 2 and len(err.splitlines()) == 1
    assert "--per-image" in err and str(MAX_GRID_IMAGES) in err
    assert not (tmp_path / "g.png").exists()


def test_sample_per_image_streams_chunks_to_disk(tmp_path, ckpt, monkeypatch):
    """Each batch is written before the next is generated: memory stays at one batch."""
    monkeypatch.setattr(sampling, "NOISE_BLOCK", 4)
    out = tmp_path / "many"
    written_before_batch = []
    real_map = sampling.map_batches

    def spying_map(fn, *inputs, **kw):
        for res in real_map(fn, *inputs, **kw):
            yield res
            written_before_batch.append(len(list(out.glob("*.png"))) if out.exists() else 0)

    monkeypatch.setattr(sampling, "map_batches", spying_map)
    assert main(["sample", str(ckpt), "--n", "7", "--per-image", "--batch-size", "2",
                 "--out", str(out)]) == 0
    names = sorted(p.name for p in out.iterdir())
    assert names == [f"seed0-{i:04d}.png" for i in range(7)]
    # after yielding batch k, the writer has stored it before batch k + 1 is made
    assert written_before_batch == [2, 4, 6, 7]
    grid = tmp_path / "g.png"
    assert main(["sample", str(ckpt), "--n", "7", "--out", str(grid)]) == 0
    assert grid.is_file()
