"""Graceful stops: SIGTERM, SIGUSR1 and Ctrl-C ask the trainer to stop at the next step boundary.

A signal only sets a flag here; the loop checks it after each finished step, saves a checkpoint
there and exits with 128 + the signal number (SIGINT 130, SIGUSR1 138, SIGTERM 143), so the saved
state is a whole step and `--resume` continues bit-equal. SIGTERM is what Slurm, Kubernetes and
spot machines send before they kill; SIGUSR1 is Slurm's `--signal=B:USR1@SECONDS` convention.
A second Ctrl-C raises KeyboardInterrupt at once (no new checkpoint). SIGINT keeps the disposition
the process started with: a background job started with SIGINT ignored (`nohup`, `cmd &` in a
script) is meant to be immune to the terminal's Ctrl-C, so it stays ignored; stop such a run with
SIGTERM. See README, "Stopping a training run".
"""

from __future__ import annotations

import logging
import signal
import threading
from types import FrameType

log = logging.getLogger("pixelforge.train")

GRACEFUL = ("SIGTERM", "SIGUSR1")  # always handled while training (main thread only)


def exit_code(signum: int) -> int:
    """The process exit code after a graceful stop on `signum`: the shell's 128 + N."""
    return 128 + int(signum)


class StopRequest:
    """Installs the stop handlers for the duration of a `with` block (restoring the old ones)."""

    def __init__(self) -> None:
        self.signum: int | None = None
        self._old: dict[int, object] = {}

    @property
    def requested(self) -> bool:
        return self.signum is not None

    @property
    def name(self) -> str:
        return signal.Signals(self.signum).name if self.signum is not None else ""

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        if signum == signal.SIGINT and self.signum == signal.SIGINT:
            raise KeyboardInterrupt  # a second Ctrl-C: stop now, without a new checkpoint
        if self.signum is None:
            self.signum = signum
            log.warning("%s received: saving a checkpoint at the end of this step, then exiting "
                        "(exit code %d)", signal.Signals(signum).name, exit_code(signum))

    def __enter__(self) -> StopRequest:
        if threading.current_thread() is not threading.main_thread():
            return self  # handlers can only be set from the main thread (e.g. the API in a worker)
        wanted = [getattr(signal, name) for name in GRACEFUL if hasattr(signal, name)]
        if signal.getsignal(signal.SIGINT) is not signal.SIG_IGN:
            wanted.append(signal.SIGINT)
        for signum in wanted:
            self._old[signum] = signal.signal(signum, self._handle)
        return self

    def __exit__(self, *exc: object) -> None:
        for signum, old in self._old.items():
            signal.signal(signum, old)
        self._old.clear()
