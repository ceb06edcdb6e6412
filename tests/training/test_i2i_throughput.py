"""benchmarks/i2i_throughput.py: its FLOP counts are the hand formulas, and a --smoke run's
table and JSON agree with themselves (GFLOP/s = MP/s x FLOP/MP, % of the measured peaks)."""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from torch import nn

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "benchmarks" / "i2i_throughput.py"
sys.path.insert(0, str(ROOT / "benchmarks"))

import i2i_throughput  # noqa: E402


def dncnn_flop_per_px(depth: int, width: int, channels: int = 3) -> tuple[int, int]:
    """(inference, training) FLOP per pixel of a 3x3 DnCNN: 2 x 9 x (in x out) per conv; a
    training step is forward + input grads + weight grads, less the first conv's input grad."""
    macs = 9 * (channels * width + (depth - 2) * width * width + width * channels)
    first = 9 * channels * width
    return 2 * macs, 2 * (3 * macs - first)


def test_flop_count_of_a_conv_is_the_hand_formula():
    conv = nn.Conv2d(3, 8, 3, stride=2, padding=1)
    x = torch.randn(2, 3, 16, 16)
    flops = i2i_throughput.tt._count_flops(lambda: conv(x))
    assert flops == 2 * 2 * 8 * 8 * 8 * 3 * 3 * 3  # 2 x N x Cout x Hout x Wout x Cin x k x k
    net = nn.Sequential(*(nn.Conv2d(c, w, 3, padding=1) for c, w in ((3, 8), (8, 3))))
    assert dncnn_flop_per_px(2, 8)[0] * 16 * 16 == i2i_throughput.tt._count_flops(
        lambda: net(torch.randn(1, 3, 16, 16)))


@pytest.mark.slow
def test_smoke_run_figures_agree(tmp_path):
    """The DnCNN rows only (--only denoise): their FLOP count has an exact formula, and every
    worker process costs the suite seconds; the pix2pix rows run the same code."""
    out = tmp_path / "i2i.json"
    env = dict(os.environ, OMP_NUM_THREADS="1")
    proc = subprocess.run([sys.executable, str(SCRIPT), "--smoke", "--threads", "1", "--only",
                           "denoise", "--json", str(out)], capture_output=True, text=True,
                          env=env, timeout=600, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr[-3000:]
    res = json.loads(out.read_text())
    pk = res["peak_gflops"]
    assert res["smoke"] and res["threads"] == 1
    from pixelforge.core.precision import cpu_has_fast_bf16

    if cpu_has_fast_bf16():  # native bf16 (AVX512-BF16, AMX) is not 10x slower than fp32
        assert 0 < pk["fp32"] < pk["bf16"] * 10
    else:  # emulated bf16 is slower than fp32, and measured at a size that keeps it seconds
        assert 0 < pk["bf16"] < pk["fp32"] and res["peak_gflops_rounds"][0]["bf16_n"] < 2048
    names = [r["name"] for r in res["rows"]]
    assert names == [f"denoise {mode} {p}" for mode in ("train", "infer") for p in ("auto", "fp32")]
    recipe = i2i_throughput.recipe_config("denoise", smoke=True).model.params  # both modes
    per_px = {"infer": dncnn_flop_per_px(recipe["depth"], recipe["width"])[0],
              "train": dncnn_flop_per_px(recipe["depth"], recipe["width"])[1]}
    for r in res["rows"]:
        assert r["threads"] == 1 and r["omp_num_threads"] == "1"
        assert r["bf16"] is False or r["precision"] == "auto"
        assert r["mp_s"] == pytest.approx(statistics.median(r["mp_s_rounds"]))
        assert r["flop_per_mp"] == pytest.approx(r["flop_per_call"] * 1e6 / r["pixels_per_call"])
        assert r["gflop_s"] == pytest.approx(r["mp_s"] * r["flop_per_mp"] / 1e9)
        assert r["pct_bf16_peak"] == pytest.approx(100 * r["gflop_s"] / pk["bf16"])
        if not r["bf16"]:
            assert r["pct_fp32_peak"] == pytest.approx(100 * r["gflop_s"] / pk["fp32"])
        if r["model"] == "denoise":  # DnCNN is convs only: the count is the formula, exactly
            assert r["flop_per_mp"] == pytest.approx(per_px[r["mode"]] * 1e6, rel=1e-12)
        # the printed row shows the JSON's figures
        row = next(ln for ln in proc.stdout.splitlines() if ln.startswith(r["name"] + " "))
        assert f"{r['mp_s']:.3f}" in row and f"{r['gflop_s']:.1f}" in row
        assert f"{r['flop_per_mp'] / 1e9:.2f}" in row and f"{r['pct_bf16_peak']:.1f}%" in row
    auto = {r["name"]: r for r in res["rows"]}
    for mode in ("train", "infer"):
        a, f = auto[f"denoise {mode} auto"], auto[f"denoise {mode} fp32"]
        assert a["flop_per_mp"] == f["flop_per_mp"]  # same step, whatever the precision
        ratios = [x / y for x, y in zip(a["mp_s_rounds"], f["mp_s_rounds"], strict=True)]
        assert a["x_fp32"] == pytest.approx(statistics.median(ratios))
