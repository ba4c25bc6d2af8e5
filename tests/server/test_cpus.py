"""`ttsd.server.cpus`: the cores a process may use, from fake cgroup trees and for real."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from ttsd.server.cpus import AFFINITY, CGROUP_V1, CGROUP_V2, HOST, CoreCount, count_cores


def tree(root: Path, files: dict[str, str]) -> Path:
    """A fake /sys/fs/cgroup with these files (paths relative to it)."""
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root


def proc(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "proc-self-cgroup"
    path.write_text(text)
    return path


def count(root: Path, proc_cgroup: Path, mask: int | None = 64) -> CoreCount:
    return count_cores(root, proc_cgroup, affinity=lambda: mask)


def test_no_cgroup_files_leaves_the_affinity_mask(tmp_path: Path) -> None:
    assert count(tmp_path / "none", tmp_path / "none") == CoreCount(64, AFFINITY)


def test_no_affinity_falls_back_to_the_host_count(tmp_path: Path) -> None:
    assert count(tmp_path, tmp_path / "none", mask=None) == CoreCount(os.cpu_count() or 1, HOST)


@pytest.mark.parametrize(
    ("cpu_max", "cores"),
    [("200000 100000", 2), ("150000 100000", 2), ("50000 100000", 1), ("1 100000", 1),
     ("6400000 100000", 64)],
)  # fmt: skip
def test_cgroup_v2_quota_is_rounded_up(tmp_path: Path, cpu_max: str, cores: int) -> None:
    root = tree(tmp_path / "cg", {"cpu.max": cpu_max})
    assert count(root, proc(tmp_path, "0::/\n")) == CoreCount(
        cores, AFFINITY if cores == 64 else CGROUP_V2
    )


def test_cgroup_v2_without_a_quota(tmp_path: Path) -> None:
    root = tree(tmp_path / "cg", {"cpu.max": "max 100000"})
    assert count(root, proc(tmp_path, "0::/\n")) == CoreCount(64, AFFINITY)


def test_cgroup_v2_quota_of_an_ancestor_bounds_the_process(tmp_path: Path) -> None:
    # A pod's limit is set on the pod's cgroup; its container's own cgroup has none.
    root = tree(
        tmp_path / "cg",
        {"kubepods/pod1/cpu.max": "300000 100000", "kubepods/pod1/ctr/cpu.max": "max 100000"},
    )
    assert count(root, proc(tmp_path, "0::/kubepods/pod1/ctr\n")) == CoreCount(3, CGROUP_V2)
    # The smallest along the way wins, wherever it is.
    tree(root, {"kubepods/pod1/ctr/cpu.max": "100000 100000"})
    assert count(root, proc(tmp_path, "0::/kubepods/pod1/ctr\n")) == CoreCount(1, CGROUP_V2)


def test_a_cgroup_path_not_under_the_mount_reads_the_mount_root(tmp_path: Path) -> None:
    root = tree(tmp_path / "cg", {"cpu.max": "200000 100000"})
    assert count(root, proc(tmp_path, "0::/docker/abc\n")) == CoreCount(2, CGROUP_V2)


def test_cgroup_v1_quota(tmp_path: Path) -> None:
    root = tree(
        tmp_path / "cg",
        {"cpu,cpuacct/cpu.cfs_quota_us": "250000\n", "cpu,cpuacct/cpu.cfs_period_us": "100000\n"},
    )
    cgroup = proc(tmp_path, "4:memory:/x\n2:cpu,cpuacct:/\n0::/\n")
    assert count(root, cgroup) == CoreCount(3, CGROUP_V1)
    tree(root, {"cpu,cpuacct/cpu.cfs_quota_us": "-1\n"})
    assert count(root, cgroup) == CoreCount(64, AFFINITY)


def test_cgroup_v1_quota_in_the_process_cgroup(tmp_path: Path) -> None:
    root = tree(
        tmp_path / "cg",
        {
            "cpu/cpu.cfs_quota_us": "-1",
            "cpu/cpu.cfs_period_us": "100000",
            "cpu/docker/abc/cpu.cfs_quota_us": "100000",
            "cpu/docker/abc/cpu.cfs_period_us": "100000",
        },
    )
    assert count(root, proc(tmp_path, "3:cpu:/docker/abc\n")) == CoreCount(1, CGROUP_V1)


def test_the_affinity_mask_wins_when_smaller_or_equal(tmp_path: Path) -> None:
    root = tree(tmp_path / "cg", {"cpu.max": "400000 100000"})
    assert count(root, proc(tmp_path, "0::/\n"), mask=2) == CoreCount(2, AFFINITY)
    assert count(root, proc(tmp_path, "0::/\n"), mask=4) == CoreCount(4, AFFINITY)


@pytest.mark.parametrize("text", ["garbage", "max", "0 100000", "100000 0", ""])
def test_unreadable_quotas_are_no_bound(tmp_path: Path, text: str) -> None:
    root = tree(tmp_path / "cg", {"cpu.max": text})
    assert count(root, proc(tmp_path, "0::/\n")) == CoreCount(64, AFFINITY)


def test_describe() -> None:
    assert CoreCount(1, AFFINITY).describe() == "1 core (CPU affinity)"
    assert CoreCount(2, CGROUP_V2).describe() == "2 cores (cgroup cpu.max)"


@pytest.mark.skipif(shutil.which("taskset") is None, reason="taskset (util-linux) is missing")
def test_taskset_one_cpu_counts_one_core() -> None:
    """For real: a process pinned to one CPU counts one, whatever the host has."""
    code = "from ttsd.server.cpus import available_cores as a; print(a().describe())"
    out = subprocess.run(
        ["taskset", "-c", "0", sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    assert out == "1 core (CPU affinity)"
