"""How many cores this process may really use: CPU affinity and cgroup CPU quotas.

`os.cpu_count()` is the host's count. Under `taskset -c 0`, in a 2-CPU Kubernetes pod on a
64-core node, or in a container started with `--cpus 2`, ttsd would start 64 ONNX Runtime
threads that the kernel then throttles to the share it grants: every step slower than one
sized to that share (issue 9). The share is the smallest of

- the CPU affinity mask (`os.sched_getaffinity`: `taskset`, cpusets, `docker --cpuset-cpus`);
- the cgroup v2 quota, `cpu.max` ("QUOTA PERIOD" in microseconds, or "max PERIOD" for none;
  Kubernetes CPU limits and `docker --cpus` set it), rounded up to whole cores;
- the cgroup v1 quota, `cpu.cfs_quota_us` / `cpu.cfs_period_us` (-1: none), rounded up.

A quota of a cgroup also bounds every cgroup below it, so the quotas of the process's own
cgroup and of each of its ancestors count (Linux's Documentation/admin-guide/cgroup-v2.rst,
"CPU Interface Files"). The process's cgroup comes from `/proc/self/cgroup`; inside a
container with its own cgroup namespace that is `/`, the mount's root. Where the path it
names is not under the mount (a v1 container without a cgroup namespace sees its host's
path), the mount's root is the container's own cgroup and is read instead.
"""

from __future__ import annotations

import functools
import math
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

__all__ = [
    "AFFINITY",
    "CGROUP_V1",
    "CGROUP_V2",
    "HOST",
    "CoreCount",
    "available_cores",
    "count_cores",
]

#: Where each count comes from, as the ready line names it.
AFFINITY = "CPU affinity"
CGROUP_V2 = "cgroup cpu.max"
CGROUP_V1 = "cgroup cpu.cfs_quota_us"
HOST = "os.cpu_count()"

#: Where cgroup file systems are mounted (systemd, Docker, Kubernetes and podman all use it).
CGROUP_ROOT = Path("/sys/fs/cgroup")
#: The process's cgroup in each hierarchy (proc(5)).
PROC_SELF_CGROUP = Path("/proc/self/cgroup")
#: The cgroup v1 hierarchy directories that may hold the cpu controller.
_V1_CPU_DIRS = ("cpu", "cpu,cpuacct", "cpuacct,cpu")


@dataclass(frozen=True)
class CoreCount:
    """Cores this process may use, and which bound gave that number."""

    cores: int
    source: str

    def describe(self) -> str:
        """E.g. "2 cores (cgroup cpu.max)"."""
        return f"{self.cores} core{'s' if self.cores != 1 else ''} ({self.source})"


def count_cores(
    cgroup_root: Path = CGROUP_ROOT,
    proc_self_cgroup: Path = PROC_SELF_CGROUP,
    affinity: Callable[[], int | None] | None = None,
) -> CoreCount:
    """The smallest of the affinity mask and the cgroup quotas, never below 1.

    The paths and `affinity` (the number of CPUs in the mask, None if unknown) are there
    so that tests can point them at fake files.
    """
    mask = _affinity_cores() if affinity is None else affinity()
    # No affinity mask on this platform (macOS): the host's count.
    found = [CoreCount(mask, AFFINITY) if mask else CoreCount(os.cpu_count() or 1, HOST)]
    groups = _cgroup_paths(proc_self_cgroup)
    v2 = _quota_v2(cgroup_root, groups.get("", "/"))
    if v2 is not None:
        found.append(CoreCount(v2, CGROUP_V2))
    v1 = _quota_v1(cgroup_root, groups.get("cpu", "/"))
    if v1 is not None:
        found.append(CoreCount(v1, CGROUP_V1))
    # min() keeps the first of equal counts: the affinity mask, a hard bound, before a quota.
    best = min(found, key=lambda count: count.cores)
    return CoreCount(max(1, best.cores), best.source)


@functools.cache
def available_cores() -> CoreCount:
    """`count_cores()` of this machine, counted once per process."""
    return count_cores()


def _affinity_cores() -> int | None:
    getaffinity = getattr(os, "sched_getaffinity", None)
    return len(getaffinity(0)) if getaffinity is not None else None


def _cgroup_paths(proc_self_cgroup: Path) -> dict[str, str]:
    """Controller → the process's cgroup path; "" is the v2 hierarchy ("0::/path")."""
    paths: dict[str, str] = {}
    try:
        text = proc_self_cgroup.read_text()
    except OSError:
        return paths
    for line in text.splitlines():
        parts = line.split(":", 2)
        if len(parts) != 3:
            continue
        _, controllers, path = parts
        if not controllers:
            paths[""] = path
        for controller in controllers.split(","):
            paths.setdefault(controller, path)
    return paths


def _directories(mount: Path, path: str) -> Iterator[Path]:
    """The cgroup at `path` under `mount` and its ancestors up to the mount's root; just
    the root where `path` is not under this mount."""
    own = mount / path.lstrip("/")
    if path.strip("/") and not own.is_dir():
        yield mount
        return
    yield own
    while own != mount and mount in own.parents:
        own = own.parent
        yield own


def _quota_v2(cgroup_root: Path, path: str) -> int | None:
    quotas = []
    for directory in _directories(cgroup_root, path):
        fields = _read(directory / "cpu.max").split()
        if len(fields) == 2 and fields[0] != "max":
            quotas.append(_cores(fields[0], fields[1]))
    return min((q for q in quotas if q is not None), default=None)


def _quota_v1(cgroup_root: Path, path: str) -> int | None:
    for name in _V1_CPU_DIRS:
        mount = cgroup_root / name
        if not (mount / "cpu.cfs_quota_us").is_file():
            continue
        quotas = [
            _cores(_read(directory / "cpu.cfs_quota_us"), _read(directory / "cpu.cfs_period_us"))
            for directory in _directories(mount, path)
        ]
        return min((q for q in quotas if q is not None), default=None)
    return None


def _cores(quota: str, period: str) -> int | None:
    """Whole cores a quota grants (rounded up: 1.5 cores of time keep 2 threads busy part of
    the time, better than 1 always); None for no quota (-1) or unreadable files."""
    try:
        q, p = int(quota), int(period)
    except ValueError:
        return None
    if q <= 0 or p <= 0:
        return None
    return max(1, math.ceil(q / p))


def _read(path: Path) -> str:
    try:
        return path.read_text().strip()
    except OSError:
        return ""
