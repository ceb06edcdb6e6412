"""The same trainer under `accelerate launch` with 2 processes on a CPU-only machine (DDP on gloo).

Accelerate's `--cpu --num_processes 2` starts one process unless MPI is installed
(`--mpirun_hostfile`); `--multi_gpu` on a machine without GPUs starts torchrun workers that
Accelerate runs as MULTI_CPU with the gloo backend, which is what this test uses.
"""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from pixelforge.checkpoint import latest_checkpoint, load_state

VARIANTS = {
    "plain": {},
    # conditional resnet-gan with the stable-GAN toolbox: double backward (GP, R1) through DDP,
    # n_critic, ADA, and the time-budget decision made on the main process
    "toolbox": {"model.name": "resnet-gan", "model.params": "{width: 16}", "model.conditional": True,
                "train.loss": "wasserstein", "gan.gp_weight": 10, "gan.r1_gamma": 1, "gan.r1_every": 2,
                "train.n_critic": 2, "augment.kind": "ada", "train.time_budget": 100},
    # the VAE family's own gradient sync (VAEGANTask._sync_grads)
    "vae-gan": {"model.name": "vae-gan", "model.latent_dim": 8,
                "model.params": "{width: 8, disc_width: 8}", "train.lr_g": 1e-3},
}


@pytest.mark.slow
@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_accelerate_launch_two_processes(tmp_path, tiny_npz, tiny_overrides, variant):
    accelerate = Path(sys.executable).with_name("accelerate")
    if not accelerate.exists():
        accelerate = shutil.which("accelerate")
    assert accelerate, "accelerate's CLI must be installed with pixelforge"
    run = tmp_path / "ddp"
    ov = tiny_overrides(tiny_npz, **{"train.steps": 2, "train.checkpoint_every": 2,
                                     "train.sample_every": 2, **VARIANTS[variant]})
    args = [str(accelerate), "launch", "--multi_gpu", "--num_processes", "2", "--num_machines", "1",
            "--mixed_precision", "no", "--dynamo_backend", "no", "--main_process_port", str(29533 + sorted(VARIANTS).index(variant)),
            "-m", "pixelforge.cli.main", "train", "--out", str(run), "--quiet"]
    for k, v in ov.items():
        args += [f"--{k}", str(v)]
    env = {**os.environ, "OMP_NUM_THREADS": "1", "CUDA_VISIBLE_DEVICES": ""}
    proc = subprocess.run(args, capture_output=True, text=True, timeout=300, env=env)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "2 processes" in proc.stderr
    ckpts = [p.name for p in (run / "checkpoints").iterdir() if p.name.startswith("step-")]
    assert ckpts == ["step-0000002"]  # one checkpoint, written once by the main process
    state = load_state(latest_checkpoint(run) / "training_state.safetensors")
    assert state["step"] == 2
    nets = [v for k, v in state["task"].items() if k in ("G", "model", "D")]
    assert len(nets) >= 2
    for net in nets:
        assert all(torch.isfinite(v).all() for v in net.values() if v.is_floating_point())
