"""train.time_budget kept: stop before a step or a periodic write that would end past the budget.

The contract (docs/gan.md "Time budgets"): a run with a budget of B ends, its final checkpoint and
sample grid written, by B + max(2 s, one step), plus one checkpoint write when no write has been
timed yet. The loop asks `stop_before_next_step` after every step: it stops when the measured
step time plus the final writes (checkpoint + samples, measured, or estimated from the parameter
bytes before the first write) would not fit in what is left. A long step is therefore never
started if it cannot finish in time, and a periodic checkpoint that would overshoot is skipped
(the final one comes soon after and is always written).
"""

from __future__ import annotations

import time

# before any checkpoint was timed: a write costs this much per byte of weights (a slow disk,
# ~100 MB/s, counted twice: exported weights + training state), plus a fixed part
_SECONDS_PER_BYTE = 2 / 100e6
_WRITE_FIXED_S = 0.2


def clock(kind: str) -> float:
    """The budget's clock: process CPU seconds ('cpu') or wall seconds ('wall')."""
    return time.process_time() if kind == "cpu" else time.perf_counter()


class TimeBudget:
    """Times steps and writes on the budget's clock and says when to stop or skip a write."""

    def __init__(self, minutes: float | None, kind: str, *, param_bytes: int = 0) -> None:
        self.seconds = None if minutes is None else minutes * 60.0
        self.kind = kind
        self.start = clock(kind)
        self.step_s = 0.0  # longest of the recent steps (decaying), on the budget's clock
        self.ckpt_s = _WRITE_FIXED_S + param_bytes * _SECONDS_PER_BYTE
        self.sample_s = 0.0
        self._mark = self.start

    @property
    def active(self) -> bool:
        return self.seconds is not None

    def used(self) -> float:
        return clock(self.kind) - self.start

    def step_started(self) -> None:
        self._mark = clock(self.kind)

    def step_ended(self) -> None:
        took = clock(self.kind) - self._mark
        # a step slower than the estimate counts at once; faster ones lower it slowly
        self.step_s = max(took, 0.8 * self.step_s + 0.2 * took)

    def timed(self, what: str, seconds: float) -> None:
        """Record how long a checkpoint ('checkpoint') or sample ('samples') write took."""
        if what == "checkpoint":
            self.ckpt_s = seconds
        else:
            self.sample_s = max(seconds, 0.5 * self.sample_s)

    def final_writes(self) -> float:
        return self.ckpt_s + self.sample_s

    def stop_before_next_step(self, steps: int = 1) -> bool:
        """True when `steps` more steps and then the final writes would end past the budget."""
        if self.seconds is None:
            return False
        return self.used() + steps * self.step_s + self.final_writes() > self.seconds

    def periodic_write_fits(self) -> bool:
        """False when a periodic checkpoint now would leave no time for a step and the final
        writes (the write is then skipped; the final checkpoint follows soon)."""
        if self.seconds is None:
            return True
        return self.used() + self.ckpt_s + self.step_s + self.final_writes() <= self.seconds
