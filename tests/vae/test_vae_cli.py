"""VAE verbs end to end on tiny data: train, sample, encode, decode, reconstruct, walk, eval."""

import json

import numpy as np
import pytest
from PIL import Image

from pixelforge.cli.main import main


def _args(overrides: dict) -> list[str]:
    out = []
    for k, v in overrides.items():
        out += [f"--{k}", json.dumps(v) if isinstance(v, (dict, list)) else str(v)]
    return out


def _has_generator_metrics() -> bool:
    try:
        from pixelforge.metrics import evaluate_generator  # noqa: F401
    except ImportError:
        return False
    return True


@pytest.fixture(scope="module")
def vae_run(tmp_path_factory, tiny_npz, vae_overrides):
    run = tmp_path_factory.mktemp("cli") / "run"
    ov = vae_overrides(tiny_npz, "vae", **{"train.steps": 6, "train.checkpoint_every": 6,
                                            "train.sample_every": 6})
    assert main(["train", "--out", str(run), "--quiet", *_args(ov)]) == 0
    return run


def test_help_lists_vae_verbs(capsys):
    assert main(["--help"]) == 0
    out = capsys.readouterr().out
    for verb in ("encode", "decode", "reconstruct"):
        assert verb in out
        assert main([verb, "--help"]) == 0
        assert "Example" in capsys.readouterr().out


def test_sample_encode_decode_reconstruct(vae_run, tiny_npz, tmp_path, capsys):
    grid = tmp_path / "grid.png"
    assert main(["sample", str(vae_run), "--n", "9", "--seed", "0", "--out", str(grid)]) == 0
    assert Image.open(grid).size[0] > 16
    codes = tmp_path / "codes.npz"
    assert main(["encode", str(vae_run), "--data", str(tiny_npz), "--limit", "10",
                 "--out", str(codes)]) == 0
    d = np.load(codes)
    assert d["mu"].shape == d["logvar"].shape == d["z"].shape == (10, 8)
    assert d["labels"].shape == (10,)
    dec = tmp_path / "decoded.png"
    assert main(["decode", str(vae_run), str(codes), "--out", str(dec)]) == 0
    assert dec.is_file()
    folder = tmp_path / "dec/"
    assert main(["decode", str(vae_run), str(codes), "--key", "mu", "--out", f"{folder}/"]) == 0
    assert len(list(folder.iterdir())) == 10
    rec = tmp_path / "rec.png"
    capsys.readouterr()
    assert main(["reconstruct", str(vae_run), "--data", str(tiny_npz), "--n", "12", "--nrow", "4",
                 "--out", str(rec)]) == 0
    assert "PSNR" in capsys.readouterr().out
    w, h = Image.open(rec).size
    assert h > w  # 12 images in rows of 4: 3 original rows + 3 reconstruction rows


def test_interpolate_between_real_images(vae_run, tiny_npz, tmp_path):
    d = np.load(tiny_npz)
    a, b = tmp_path / "a.png", tmp_path / "b.png"
    Image.fromarray(d["x_test"][0, ..., 0]).save(a)
    Image.fromarray(d["x_test"][1, ..., 0]).save(b)
    out = tmp_path / "walk.gif"
    assert main(["interpolate", str(vae_run), "--image-a", str(a), "--image-b", str(b),
                 "--frames", "5", "--out", str(out)]) == 0
    assert out.is_file()
    assert main(["interpolate", str(vae_run), "--image-a", str(a), "--out", str(out)]) == 2


def test_vae_verbs_reject_gan_and_bad_input(tmp_path, tiny_npz, tiny_overrides, vae_run):
    gan = tmp_path / "gan"
    ov = tiny_overrides(tiny_npz, **{"train.steps": 1, "train.checkpoint_every": 1})
    assert main(["train", "--out", str(gan), "--quiet", *_args(ov)]) == 0
    assert main(["encode", str(gan), "--data", str(tiny_npz), "--out",
                 str(tmp_path / "c.npz")]) == 2
    assert main(["decode", str(vae_run), str(tmp_path / "missing.npz")]) == 2
    bad = tmp_path / "bad.npz"
    np.savez(bad, z=np.zeros((3, 5), np.float32))
    assert main(["decode", str(vae_run), str(bad), "--out", str(tmp_path / "x.png")]) == 2


def test_autoencoder_scores_appended(vae_run, tiny_npz):
    import pixelforge
    from pixelforge.metrics.kinds import autoencoder_scores

    scores = autoencoder_scores(pixelforge.load(vae_run), str(tiny_npz), vae_run, 6, k=4, n=32,
                                seed=0)
    for key in ("neg_elbo", "iwae_nll_k4", "bits_per_dim", "recon_psnr", "recon_ssim",
                "recon_mse", "latent_dim"):
        assert key in scores
    assert scores["iwae_nll_k4"] <= scores["neg_elbo"]
    lines = [json.loads(x) for x in (vae_run / "metrics.jsonl").read_text().splitlines()]
    assert any(r["metric"] == "iwae_nll_k4" and r["protocol"]["split"] == "test" for r in lines)


@pytest.mark.skipif(not _has_generator_metrics(), reason="pixelforge.metrics not installed yet")
def test_eval_reports_vae_scores(vae_run, tiny_npz, capsys):
    capsys.readouterr()
    assert main(["eval", str(vae_run), "--data", str(tiny_npz), "--iwae-k", "4", "--vae-n", "32",
                 "--json", "--eval.n_generated", "64", "--eval.extractor_epochs", "1"]) == 0
    scores = json.loads(capsys.readouterr().out)
    assert "iwae_nll_k4" in scores and "recon_psnr" in scores
