"""`--threads` / PIXELFORGE_THREADS: how many intra-op threads torch uses for one CLI job.

Default: OMP_NUM_THREADS when set, else torch's own choice (one thread per physical core) capped
at the CPUs this process may run on (its affinity mask and cgroup quota, which torch ignores):
right for one job per machine. Several jobs on one machine should split
the CPUs between them: oversubscribed OpenMP threads spin-wait on each other and throughput
collapses (measured in docs/benchmarks.md, "Several jobs on one machine").
"""

from __future__ import annotations

import logging
import os

log = logging.getLogger("pixelforge.cli")


def available_cpus() -> int:
    """CPUs this process may use: the affinity mask, capped by a cgroup v2 CPU quota if any."""
    try:
        n = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        n = os.cpu_count() or 1
    try:
        quota, period = open("/sys/fs/cgroup/cpu.max").read().split()[:2]
        if quota != "max":
            n = min(n, max(1, int(int(quota) // int(period))))
    except (OSError, ValueError):
        pass
    return max(1, n)


_torch_default: list[int] = []  # torch's thread count before pixelforge first changed it


def default_threads() -> int | None:
    """The thread count for a job given no --threads; None leaves torch's own choice alone."""
    if os.environ.get("OMP_NUM_THREADS", "").strip().isdigit():
        return None  # torch already follows OMP_NUM_THREADS
    import torch

    if not _torch_default:
        _torch_default.append(torch.get_num_threads())
    return min(_torch_default[0], available_cpus())


def apply_threads(threads: int | None) -> int:
    """Set torch's intra-op threads to `threads` (or the default); returns the count in force."""
    import torch

    if not _torch_default:
        _torch_default.append(torch.get_num_threads())
    n = threads if threads is not None else default_threads()
    if n is not None and n != torch.get_num_threads():
        torch.set_num_threads(n)
    log.debug("torch intra-op threads: %d", torch.get_num_threads())
    return torch.get_num_threads()
