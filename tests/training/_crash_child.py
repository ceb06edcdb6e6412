"""Test-only launcher: run `pixelforge ARGS` and SIGKILL itself at a chosen moment.

PF_CRASH_AT picks the moment (unset: run normally):
  opt:K   right after the K-th optimizer step of any optimizer (mid training step for GANs);
  fs:K    at the K-th durability call (os.fsync / os.replace / os.rename), i.e. inside a
          checkpoint write or commit; at an fsync the file being written is first cut to half
          its length, as a write torn by the kill would leave it.
Used by tests/training/test_crash_safety.py only; nothing in pixelforge knows about it.
"""

from __future__ import annotations

import os
import signal
import sys


def _die() -> None:
    sys.stdout.flush()
    sys.stderr.flush()
    os.kill(os.getpid(), signal.SIGKILL)


def _install(spec: str) -> None:
    kind, _, count = spec.partition(":")
    target = int(count)
    calls = {"n": 0}

    def hit() -> bool:
        calls["n"] += 1
        return calls["n"] == target

    if kind == "opt":
        from torch.optim.optimizer import register_optimizer_step_post_hook

        register_optimizer_step_post_hook(lambda *_: _die() if hit() else None)
    elif kind == "fs":
        real_fsync, real_replace, real_rename = os.fsync, os.replace, os.rename

        def fsync(fd):
            if hit():
                try:
                    size = os.fstat(fd).st_size
                    if size and os.path.isfile(f"/proc/self/fd/{fd}"):
                        os.ftruncate(fd, size // 2)  # a torn write
                except OSError:
                    pass
                _die()
            return real_fsync(fd)

        def replace(src, dst, *a, **k):
            if hit():
                _die()
            return real_replace(src, dst, *a, **k)

        def rename(src, dst, *a, **k):
            if hit():
                _die()
            return real_rename(src, dst, *a, **k)

        os.fsync, os.replace, os.rename = fsync, replace, rename
    else:
        raise SystemExit(f"PF_CRASH_AT: unknown kind {kind!r}")


if __name__ == "__main__":
    if os.environ.get("PF_CRASH_AT"):
        _install(os.environ["PF_CRASH_AT"])
    from pixelforge.cli.main import main

    sys.exit(main(sys.argv[1:]))
