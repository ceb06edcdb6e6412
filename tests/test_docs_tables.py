"""The docs' results tables are the committed results files': benchmarks/docs_tables.py
regenerates every marked block in memory and the committed docs must equal its output, so a hand
edit inside a block, or a results file committed without regenerating, fails here."""

from __future__ import annotations

import importlib.util
import json
import re
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCS = sorted((ROOT / "docs").glob("*.md"))


@pytest.fixture(scope="module")
def tables():
    spec = importlib.util.spec_from_file_location("docs_tables",
                                                  ROOT / "benchmarks" / "docs_tables.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


@pytest.mark.parametrize("doc", DOCS, ids=lambda p: p.name)
def test_committed_docs_equal_the_generated_blocks(tables, doc):
    text = doc.read_text()
    assert tables.rewrite(text, doc.name) == text, (
        f"{doc.name}: a results block differs from its results file; run "
        ".venv/bin/python benchmarks/docs_tables.py (never edit inside a block by hand)")


def test_every_renderer_has_a_block_in_the_docs(tables):
    found = {m.group(1) for doc in DOCS for m in tables.BLOCK.finditer(doc.read_text())}
    assert found == set(tables.RENDERERS)


def test_a_hand_edit_inside_a_block_is_caught_and_undone(tables):
    doc = ROOT / "docs" / "benchmarks.md"
    text = doc.read_text()
    begin, end = tables.marker("restoration")
    block = text[text.index(begin):text.index(end)]
    assert "| bicubic:2 | L1 model | 33.77 |" in block
    edited = text.replace(block, block.replace("| bicubic:2 | L1 model | 33.77 |",
                                               "| bicubic:2 | L1 model | 34.77 |"))
    assert edited != text
    assert tables.rewrite(edited) == text


def test_the_shipped_models_rows_are_each_training_json(tables):
    """A second reading, without the renderer: each row holds its model's own record."""
    doc = (ROOT / "docs" / "restoration.md").read_text()
    if str(ROOT / "benchmarks") not in sys.path:
        sys.path.insert(0, str(ROOT / "benchmarks"))
    from make_models import SHIPPED  # benchmarks/make_models.py

    for name in SHIPPED:
        folder = ROOT / "src" / "pixelforge" / "assets" / "models" / name
        row = re.search(rf"^\| `{name}` \| .*$", doc.split(tables.marker("shipped-models")[0])[1],
                        re.M).group(0)
        cells = [c.strip() for c in row.strip("|").split("|")]
        if not (folder / "training.json").is_file():
            assert cells[2] == "not shipped yet"
            continue
        t = json.loads((folder / "training.json").read_text())
        assert cells[4] == f"{t['step']:,}" and cells[5] == f"{t['images_seen']:,}"
        assert cells[3] == str(t.get("stages", "-"))
        if "cpu_minutes" in t:
            assert float(cells[2]) == t["cpu_minutes"]


def test_the_protocol_line_names_the_results_files_extractor(tables):
    res = json.loads((ROOT / "benchmarks" / "results" / "restoration.json").read_text())
    label = re.search(r"cnn-v1@[0-9a-f]+", res["protocol"]["fd"]).group(0)
    text = (ROOT / "docs" / "benchmarks.md").read_text()
    assert label in text
    assert set(re.findall(r"cnn-v1@[0-9a-f]+", text.split("## Restoration")[1])) == {label}


def test_bad_markers_are_refused(tables):
    with pytest.raises(SystemExit, match="unknown results block 'nope'"):
        tables.rewrite("<!-- results:nope begin -->\nx\n<!-- results:nope end -->\n", "t.md")
    with pytest.raises(SystemExit, match="no matching end marker"):
        tables.rewrite("<!-- results:judge begin -->\nx\n", "t.md")


def _script(name: str):
    """A benchmark script as a module (by name, as docs_tables.py imports them)."""
    if str(ROOT / "benchmarks") not in sys.path:
        sys.path.insert(0, str(ROOT / "benchmarks"))
    return importlib.import_module(name)


def test_benchmarks_without_results_say_how_to_make_them(tables, tmp_path, monkeypatch):
    monkeypatch.setattr(tables, "RESULTS", tmp_path)
    for name, cmd in (("translation", "table $OUT --json"), ("vae-quality", "--json"),
                      ("gan-quality-10min", "gan_quality_10min.json")):
        text = tables.RENDERERS[name]()
        assert text.startswith("Not generated yet") and cmd in text and "CPU-hour" in text


def test_translation_and_vae_json_writers_feed_their_tables(tables, tmp_path, monkeypatch):
    """Each script's --json output is what its docs block is rendered from (no training: the
    run records a finished benchmark leaves are written by hand here)."""
    monkeypatch.setattr(tables, "RESULTS", tmp_path)
    train = {"budget_cpu_min": 30.0, "steps_planned": 21000, "steps_done": 20345,
             "cpu_minutes": 29.96, "cpu_s_per_epoch": 41.2, "checkpoint": str(tmp_path / "ck")}
    b2a = {"fd": 17.3, "kid": 2.5, "kid_std": 0.01, "l1": 0.163, "psnr": 13.49, "ssim": 0.289,
           "fd_untranslated": 2511.47, "photo_fd": 3.21}
    colour = {"fd": 16.5, "kid": 0.244, "l1": 0.1, "psnr": 17.78, "ssim": 0.766, "photo_fd": 1.47,
              "colourfulness": 46.7, "colourfulness_real": 54.9, "colourfulness_ratio": 0.851,
              "luma_exact": 1.0, "luma_max_error": 0.0}
    records = {"pix2pix_facades": {"name": "pix2pix_facades", "b2a": b2a},
               "colorize_chroma": {"name": "colorize_chroma", "chroma_unet": colour,
                                   "reinhard": {**colour, "fd": 13.8, "luma_exact": 0.088,
                                                "luma_max_error": 42.0},
                                   "n_test_crops": 136, "size": 64}}
    for name, scores in records.items():
        run = tmp_path / "runs" / name
        run.mkdir(parents=True)
        (run / "bench_train.json").write_text(json.dumps(train))
        (run / "scores.json").write_text(json.dumps(scores))
    (tmp_path / "runs" / "speed.json").write_text(json.dumps(
        {"auto_is": "bf16", "pix2pix_facades/b2a/fp32": 2.0, "pix2pix_facades/b2a/auto": 3.0}))
    translation = _script("translation")
    args = type("Args", (), {"out": tmp_path / "runs", "json": tmp_path / "translation.json"})
    translation.cmd_table(args)
    text = tables.translation()
    assert ("| **pix2pix** (L1 x 100 + adversarial) | 30 (30.0) | 20345 (21000) | 17.3 | 2.50 | "
            "0.163 | 13.49 | 0.289 | 3.21 |") in text
    assert "| label maps untranslated | | | 2511.5 |" in text
    assert "| 30 (30.0) | 16.5 | 0.244 | 0.100 | 17.78 | 0.766 | 1.47 | 0.85 | 100.0% (0) |" in text
    assert ("| Reinhard et al. 2001 colour transfer (`reinhard_transfer`) |  | 13.8 |" in text
            and "| 8.8% (42) |" in text)
    assert "| pix2pix_facades | b2a | 41.2 | 2.00 | 3.00 | 1.5x |" in text
    assert "CycleGAN** (" not in text  # no CycleGAN run recorded, no CycleGAN table

    vae = _script("vae_quality")
    row = {"dataset": "mnist", "model": "vae", "steps": 105368, "neg_elbo": 92.98,
           "iwae_nll": 87.39, "bits_per_dim": 0.161, "psnr": 21.05, "ssim": 0.931,
           "fd": {"fd_cnn": 42.69}}
    settings = vae.argparse.Namespace(minutes=20.0, clock="wall", k=1000, n_test=None, fd_n=5000,
                                      seed=0, threads=1)
    vae.write_json(tmp_path / "vae_quality.json", [row, {**row, "model": "vae-gan"}], settings)
    vae.write_json(tmp_path / "vae_quality.json", [{**row, "model": "vae-gan", "steps": 7}],
                   settings)  # a model measured again replaces its row, the others stay
    lines = tables.vae_quality().splitlines()
    assert lines[2] == ("| mnist | vae | 20 wall-min | 105,368 | 92.98 | 87.39 (1000; all images) | 0.1610 | "
                        "21.05 | 0.931 | fd_cnn 42.69 |")
    assert len(lines) == 4 and "| vae-gan | 20 wall-min | 7 |" in lines[3]


def test_gan_json_feeds_its_tables(tables, tmp_path, monkeypatch):
    monkeypatch.setattr(tables, "RESULTS", tmp_path)
    gan = _script("gan_quality")
    base = {"dataset": "mnist", "budget_min": 10.0, "n_gen": 5000, "seed": 0, "status": "ok",
            "steps": 100, "img_s_cpu": 3000.0, "rss_train_mib": 500, "rss_peak_mib": 900,
            "kid": 0.01, "precision": 0.8, "recall": 0.9}
    rows = [{**base, "name": "dcgan-sn", "kind": "pixelforge", "fd": 7.41},
            {**base, "name": "wgan-gp-mlp", "kind": "baseline", "fd": 26.71},
            {**base, "name": "dcgan", "kind": "pixelforge", "fd": 1.0, "budget_min": 3.0}]
    args = gan.argparse.Namespace(budget=10.0, n_gen=5000, seed=0, threads=1)
    (tmp_path / "gan_quality_10min.json").write_text(json.dumps(gan.json_results(rows, args)))
    text = tables.RENDERERS["gan-quality-10min"]()
    assert text.startswith("#### mnist: 10 CPU-minutes per run, 5000 samples")
    assert "best pixelforge config: dcgan-sn, FD 7.41 = 0.28 x wgan-gp-mlp's 26.71" in text
    assert "| dcgan |" not in text  # the 3-minute run belongs to the other table


def test_photo_gan_and_throughput_blocks_render_their_results_files(tables, tmp_path, monkeypatch):
    """Absent: the command that makes the file; present: a row per result, the figures as
    written (photo FD, KID, colourfulness against the photos'), the fractions of peak derived
    from the run's own peaks."""
    monkeypatch.setattr(tables, "RESULTS", tmp_path)
    for name, cmd in (("photo-gan", "photo_gan.py run"), ("train-throughput", "--quick --json"),
                      ("i2i-throughput", "i2i_throughput.py --json")):
        text = tables.RENDERERS[name]()
        assert text.startswith("Not generated yet") and cmd in text
    row = {"recipe": "default", "size": 64, "budget_cpu_min": 10.0, "steps": 3686,
           "photo_fd": 31.469, "photo_kid": 0.35623, "colourfulness": 48.66,
           "colourfulness_real": 48.36, "diversity": 0.702, "near_copies": 0.012}
    (tmp_path / "photo_gan.json").write_text(json.dumps({"rows": [
        row, {**row, "recipe": "plain", "photo_fd": 50.195, "steps": 692}]}))
    lines = tables.RENDERERS["photo-gan"]().splitlines()
    assert lines[2] == ("| default | 64 | 10.0 | 3686 | 31.47 | 0.3562 | 48.7 (48.4) | 0.70 | - "
                        "| 1.2% |")  # no grid: a row recorded before it was scored
    assert lines[3].startswith("| plain | 64 | 10.0 | 692 | 50.20 |")  # sorted by FD
    peaks = {"fp32": 200.0, "bf16": 800.0}
    (tmp_path / "train_throughput.json").write_text(json.dumps({
        "peak_gflops": peaks, "baseline_img_s": 50.0, "rows": [
            {"name": "dcgan bf16", "spec": {"bf16": True}, "train_img_s": 100.0,
             "flops_train_per_img": 4e9, "gen_img_s": 1000.0, "flops_gen_per_img": 0.4e9,
             "train_peak_rss_mib": 1000}]}))
    text = tables.RENDERERS["train-throughput"]()
    assert "| dcgan bf16 | 100.0 | 2.00 | 4.00 | 400 | 50.0% | 1000 | 50.0% | 1000 |" in text
