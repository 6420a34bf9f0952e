# -*- test-case-name: tests.workers.test_pool -*-
"""
How many workers a machine can use, and each worker's share of the
server's connection limits.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable


def usableCPUs(
    affinity: Callable[[], set[int]] | None = None,
    cgroups: str = "/proc/self/cgroup",
    root: str = "/sys/fs/cgroup",
) -> int:
    """
    The CPUs this process may use (C{--workers auto}): those it may run on,
    and no more than its cgroups' CPU quota (a container's CPU limit, a
    systemd unit's C{CPUQuota=}), rounded up.
    """
    cpus = len((affinity or (lambda: os.sched_getaffinity(0)))())
    quota = cpuQuota(cgroups, root)
    if quota is not None:
        cpus = min(cpus, math.ceil(quota))
    return max(1, cpus)


def cpuQuota(cgroups: str, root: str) -> float | None:
    """
    How many CPUs' worth of time this process's cgroup, or one above it,
    may use: the least of their quotas (cgroup v2's C{cpu.max}, v1's
    C{cpu.cfs_quota_us} over C{cpu.cfs_period_us}); L{None} if none is set.

    @param cgroups: the process's C{/proc/self/cgroup}.
    @param root: where the cgroup file systems are mounted.
    """
    try:
        with open(cgroups) as text:
            lines = text.read().splitlines()
    except OSError:
        return None
    quotas: list[float] = []
    for line in lines:
        hierarchy, _, rest = line.partition(":")
        controllers, _, path = rest.partition(":")
        if hierarchy == "0" and not controllers:
            mounts = [root]
        elif "cpu" in controllers.split(","):
            mounts = [os.path.join(root, name) for name in ("cpu", controllers)]
        else:
            continue
        for mount in dict.fromkeys(mounts):
            for directory in _ancestors(mount, path):
                quota = _quotaIn(directory)
                if quota is not None:
                    quotas.append(quota)
    return min(quotas) if quotas else None


def _ancestors(mount: str, path: str) -> list[str]:
    # Inside a container the process's own cgroup is the mount itself (its
    # path is the host's), so the mount is always looked at too.
    parts = [part for part in path.split("/") if part]
    return [os.path.join(mount, *parts[:end]) for end in range(len(parts), -1, -1)]


def _quotaIn(directory: str) -> float | None:
    try:
        with open(os.path.join(directory, "cpu.max")) as text:
            limit, _, period = text.read().partition(" ")
        return None if limit == "max" else int(limit) / int(period)
    except (OSError, ValueError):
        pass
    try:
        with open(os.path.join(directory, "cpu.cfs_quota_us")) as text:
            limit = text.read().strip()
        with open(os.path.join(directory, "cpu.cfs_period_us")) as text:
            period = text.read().strip()
        return None if int(limit) < 0 else int(limit) / int(period)
    except (OSError, ValueError):
        return None


def share(total: int, workers: int, number: int) -> int:
    """
    Worker C{number}'s (from 1) share of a server-wide limit of C{total}:
    the shares add up to C{total}, and differ by at most one.
    """
    whole, rest = divmod(total, workers)
    return whole + (1 if number <= rest else 0)


def perAddressShare(total: int, workers: int) -> int:
    """
    Each worker's share of the per-address limit C{total} (0: none, and
    otherwise at least C{workers}): rounded down, so that one address never
    has more than C{total} connections.
    """
    return total // workers
