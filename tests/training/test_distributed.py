"""The same trainer under `accelerate launch` with 2 processes on a CPU-only machine (DDP on gloo).

Accelerate's `--cpu --num_processes 2` starts one process unless MPI is installed
(`--mpirun_hostfile`); `--multi_gpu` on a machine without GPUs starts torchrun workers that
Accelerate runs as MULTI_CPU with the gloo backend, which is what these tests use. Every launch
gets a free port. A small driver script runs the real Trainer and then writes each rank's weights,
so the tests can check that the ranks agree.
"""

import json
import os
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import torch
import yaml
from safetensors.torch import load_file

from pixelforge.checkpoint import latest_checkpoint, load_state

DRIVER = """
import json, logging, sys
from safetensors.torch import save_file
from pixelforge.config import build_config
from pixelforge.training.trainer import Trainer

logging.basicConfig(level=logging.INFO)
overrides, out = json.loads(sys.argv[1]), sys.argv[2]
trainer = Trainer(build_config({}, overrides), out, progress=False)
trainer.fit()
nets = {n: getattr(trainer.task, n) for n in ("G", "D", "model") if hasattr(trainer.task, n)}
weights = {f"{n}.{k}": p.detach().cpu().contiguous() for n, net in nets.items()
           for k, p in net.named_parameters()}
save_file(weights, f"{out}/rank{trainer.acc.process_index}.safetensors")
"""

VARIANTS = {
    "plain": {},
    # conditional resnet-gan with the stable-GAN toolbox: double backward (GP, R1) through DDP,
    # n_critic, ADA, and the time-budget decision made on the main process
    "toolbox": {"model.name": "resnet-gan", "model.params": "{width: 16}", "model.conditional": True,
                "train.loss": "wasserstein", "gan.gp_weight": 10, "gan.r1_gamma": 1, "gan.r1_every": 2,
                "train.n_critic": 2, "augment.kind": "ada", "train.time_budget": 100},
    # the VAE-GAN: the same DDP path (accelerator.prepare) for its VAE and its adversary
    "vae-gan": {"model.name": "vae-gan", "model.latent_dim": 8,
                "model.params": "{width: 8, disc_width: 8}", "train.lr_g": 1e-3},
}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _launch(tmp_path: Path, overrides: dict, out: Path, processes: int) -> subprocess.CompletedProcess:
    accelerate = Path(sys.executable).with_name("accelerate")
    if not accelerate.exists():
        accelerate = shutil.which("accelerate")
    assert accelerate, "accelerate's CLI must be installed with pixelforge"
    driver = tmp_path / "driver.py"
    driver.write_text(DRIVER)
    ov = {k: yaml.safe_load(v) if isinstance(v, str) and v.startswith("{") else v
          for k, v in overrides.items()}  # "{width: 16}" as on the command line
    args = [str(accelerate), "launch", "--num_processes", str(processes), "--num_machines", "1",
            "--mixed_precision", "no", "--dynamo_backend", "no",
            "--main_process_port", str(_free_port())]
    args += ["--multi_gpu"] if processes > 1 else ["--cpu"]
    args += [str(driver), json.dumps(ov), str(out)]
    env = {**os.environ, "OMP_NUM_THREADS": "1", "CUDA_VISIBLE_DEVICES": ""}
    proc = subprocess.run(args, capture_output=True, text=True, timeout=300, env=env)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return proc


@pytest.mark.slow
@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_accelerate_launch_two_processes(tmp_path, tiny_npz, tiny_overrides, variant):
    run = tmp_path / "ddp"
    ov = tiny_overrides(tiny_npz, **{"train.steps": 2, "train.checkpoint_every": 2,
                                     "train.sample_every": 2, **VARIANTS[variant]})
    proc = _launch(tmp_path, ov, run, 2)
    assert "2 processes" in proc.stderr
    ckpts = [p.name for p in (run / "checkpoints").iterdir() if p.name.startswith("step-")]
    assert ckpts == ["step-0000002"]  # one checkpoint, written once by the main process
    state = load_state(latest_checkpoint(run) / "training_state.safetensors")
    assert state["step"] == 2
    nets = [v for k, v in state["task"].items() if k in ("G", "model", "D")]
    assert len(nets) >= 2
    for net in nets:
        assert all(torch.isfinite(v).all() for v in net.values() if v.is_floating_point())
    # DDP keeps the ranks in lockstep: after training both hold bit-identical weights. (BatchNorm
    # running statistics are not weights: each rank updates them from its own batch and DDP
    # re-broadcasts rank 0's at every forward; the checkpoint holds rank 0's.)
    r0, r1 = load_file(run / "rank0.safetensors"), load_file(run / "rank1.safetensors")
    assert r0.keys() == r1.keys() and len(r0) > 0
    for k in r0:
        assert torch.equal(r0[k], r1[k]), f"{k} differs between the ranks"


@pytest.mark.slow
def test_two_processes_of_batch_b_match_one_process_of_batch_2b(tmp_path, tiny_npz, tiny_overrides):
    """2 x batch 8 == 1 x batch 16 for a model without batch statistics (the MLP VAE, Gaussian
    likelihood): the sampler gives the two ranks the 16 images of the one-process batch, the
    reparameterisation noise is one global draw sliced by rank (sampler.global_randn), and DDP
    averages the two ranks' mean-loss gradients, which is the gradient of the mean over 16.
    What remains is float summation order: tolerance 1e-5 after 3 Adam steps.

    GANs with BatchNorm (the default families) do not match this way, by design: each rank
    normalises with its own batch's statistics (8 images, not 16); test_accelerate_launch_two_
    processes checks what holds for them (identical weights on every rank)."""
    ov = tiny_overrides(tiny_npz, **{
        "model.name": "vae", "model.latent_dim": 8, "train.steps": 3, "train.checkpoint_every": 3,
        "train.sample_every": 3, "model.params": "{arch: mlp, width: 32, likelihood: gaussian}",
        "train.lr_g": 1e-3, "train.betas": [0.9, 0.999]})
    _launch(tmp_path, {**ov, "train.batch_size": 8}, tmp_path / "two", 2)
    _launch(tmp_path, {**ov, "train.batch_size": 16}, tmp_path / "one", 1)
    two, one = load_file(tmp_path / "two" / "rank0.safetensors"), load_file(
        tmp_path / "one" / "rank0.safetensors")
    assert two.keys() == one.keys()
    for k in one:
        assert torch.allclose(two[k], one[k], atol=1e-5, rtol=0), \
            f"{k}: max diff {(two[k] - one[k]).abs().max():.3g}"
    logs = [json.loads(line) for line in (tmp_path / "two" / "train_log.jsonl").read_text().splitlines()]
    ref = [json.loads(line) for line in (tmp_path / "one" / "train_log.jsonl").read_text().splitlines()]
    assert [r["loss"] for r in logs] == pytest.approx([r["loss"] for r in ref], rel=1e-5)
