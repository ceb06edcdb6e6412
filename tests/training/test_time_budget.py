"""train.time_budget's stated tolerance (training/budget.py): the run ends, final checkpoint
included, by budget + max(2 s, one step), even when steps and checkpoint writes are slow."""

from __future__ import annotations

import time

import pytest

from pixelforge.checkpoint import latest_checkpoint
from pixelforge.config import build_config
from pixelforge.training import train
from pixelforge.training import trainer as trainer_mod
from pixelforge.training.budget import TimeBudget
from pixelforge.training.gan import GANTask

STEP_S, WRITE_S, BUDGET_S = 0.25, 2.5, 6.0


@pytest.mark.slow
def test_a_budget_with_slow_steps_and_slow_checkpoints_ends_within_tolerance(
        tmp_path, tiny_npz, tiny_overrides, monkeypatch):
    """Steps of 0.25 s and checkpoint writes of 2.5 s (made slow here, as a big model on a slow
    disk is). Stopping only once the budget is used, then writing, ended ~3.7 s late (a periodic
    write near the end, then the final one); the tolerance is 2 s."""
    real_step, real_write = GANTask.train_step, trainer_mod.write_components
    steps: list[tuple[float, float]] = []  # (start, end) of each step

    def slow_step(self, batch, step):
        t = time.perf_counter()
        time.sleep(STEP_S)
        out = real_step(self, batch, step)
        steps.append((t, time.perf_counter()))
        return out

    def slow_write(*args, **kwargs):
        time.sleep(WRITE_S)
        return real_write(*args, **kwargs)

    monkeypatch.setattr(GANTask, "train_step", slow_step)
    monkeypatch.setattr(trainer_mod, "write_components", slow_write)
    ov = tiny_overrides(tiny_npz, **{"train.steps": 10_000, "train.time_budget": BUDGET_S / 60,
                                     "train.checkpoint_every": 4, "train.sample_every": 10_000,
                                     "train.log_every": 1})
    run = tmp_path / "run"
    res = train(build_config({}, ov), run, progress=False)
    ended = time.perf_counter()
    took = ended - steps[0][0]
    step_s = max(b - a for a, b in steps)
    tolerance = max(2.0, step_s)
    assert took <= BUDGET_S + tolerance, (took, res.step)
    assert res.step >= 4 and latest_checkpoint(run).name == f"step-{res.step:07d}"
    assert took >= BUDGET_S - WRITE_S - 2 * step_s  # it did not stop absurdly early either


def test_the_estimates_skip_a_periodic_write_and_stop_before_a_step_that_cannot_fit():
    b = TimeBudget(1.0, "wall")
    b.seconds, b.step_s, b.ckpt_s = 10.0, 1.0, 3.0
    b.used = lambda: 5.0  # 5 s used: a step (1) and the final write (3) still fit, 9 <= 10
    assert not b.stop_before_next_step()
    assert not b.periodic_write_fits()  # 5 + 3 + 1 + 3 = 12 > 10: skip it
    b.used = lambda: 6.5  # 6.5 + 1 + 3 > 10: stop now, the final write ends at 9.5
    assert b.stop_before_next_step()
    assert TimeBudget(None, "wall").periodic_write_fits()
    assert not TimeBudget(None, "wall").stop_before_next_step()
