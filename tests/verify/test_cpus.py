"""verify.cpus: the default worker count, from the affinity mask and the cgroup CPU quota."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from custody.verify import cpus


def test_the_default_worker_count_is_the_processors_this_process_may_use() -> None:
    """A verifier limited to one processor (taskset, a container's cpuset) runs one worker."""
    if not hasattr(os, "sched_setaffinity"):
        pytest.skip("this platform has no processor affinity: the default is os.cpu_count()")
    allowed = os.sched_getaffinity(0)
    assert cpus.affinity_cpus() == len(allowed)
    try:
        os.sched_setaffinity(0, {min(allowed)})
        assert cpus.affinity_cpus() == 1
        assert cpus.usable_cpus(proc_cgroup=Path("/nonexistent")) == 1
    finally:
        os.sched_setaffinity(0, allowed)


def _tree(root: Path, proc_lines: list[str], files: dict[str, str]) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    proc = root / "proc-self-cgroup"
    proc.write_text("".join(line + "\n" for line in proc_lines), encoding="utf-8")
    for name, text in files.items():
        path = root / "fs" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="ascii")
    (root / "fs").mkdir(exist_ok=True)
    return proc


@pytest.mark.parametrize(
    ("proc_lines", "files", "expected"),
    [
        # cgroup v2, the process's own group and an ancestor: the tighter quota wins.
        (["0::/user.slice/app"], {"user.slice/cpu.max": "150000 100000", "user.slice/app/cpu.max": "max 100000"}, 2),
        (["0::/user.slice/app"], {"user.slice/cpu.max": "max 100000", "user.slice/app/cpu.max": "300000 100000"}, 3),
        # Inside a container: its own group is the mount's root.
        (["0::/"], {"cpu.max": "50000 100000"}, 1),
        (["0::/kubepods/pod1/c1"], {"cpu.max": "200000 100000"}, 2),
        # A hybrid host: v2 mounted at unified/.
        (["0::/a"], {"unified/a/cpu.max": "400000 100000"}, 4),
        # cgroup v1: cpu and cpuacct mounted together, the group's path not visible in the container.
        (["11:memory:/docker/x", "4:cpu,cpuacct:/docker/x"],
         {"cpu,cpuacct/cpu.cfs_quota_us": "250000\n", "cpu,cpuacct/cpu.cfs_period_us": "100000\n"}, 3),
        (["1:cpu:/a"], {"cpu/a/cpu.cfs_quota_us": "100000", "cpu/a/cpu.cfs_period_us": "100000"}, 1),
        # No quota.
        (["1:cpu:/"], {"cpu/cpu.cfs_quota_us": "-1", "cpu/cpu.cfs_period_us": "100000"}, None),
        (["0::/"], {"cpu.max": "max 100000"}, None),
        (["0::/"], {}, None),
        ([], {}, None),
        # Files that do not say a quota: counted as none, never an error.
        (["0::/"], {"cpu.max": "max"}, None),
        (["0::/"], {"cpu.max": ""}, None),
        (["0::/"], {"cpu.max": "lots 100000"}, None),
        (["0::/"], {"cpu.max": "0 100000"}, None),
        (["0::/"], {"cpu.max": "100000 0"}, None),
        (["0::/"], {"cpu.max": "1 2 3"}, None),
        (["1:cpu:/"], {"cpu/cpu.cfs_quota_us": "100000"}, None),
        (["1:cpu:/"], {"cpu/cpu.cfs_quota_us": "x", "cpu/cpu.cfs_period_us": "100000"}, None),
        (["garbage", "1:cpu"], {"cpu.max": "100000 100000"}, None),
        # A path that tries to leave the mount stays inside it.
        (["0::/../../etc"], {"cpu.max": "100000 100000"}, 1),
    ],
)
def test_cgroup_cpu_limit(tmp_path: Path, proc_lines: list[str], files: dict[str, str], expected: int | None) -> None:
    proc = _tree(tmp_path, proc_lines, files)
    assert cpus.cgroup_cpu_limit(proc, tmp_path / "fs") == expected


def test_a_quota_caps_the_processors(tmp_path: Path) -> None:
    """A container with a quota of one processor on a larger host runs one worker, not one per host processor."""
    proc = _tree(tmp_path, ["0::/"], {"cpu.max": "100000 100000"})
    assert cpus.usable_cpus(proc_cgroup=proc, cgroup_root=tmp_path / "fs") == 1
    generous = _tree(tmp_path / "g", ["0::/"], {"cpu.max": "6400000 100000"})
    assert cpus.usable_cpus(proc_cgroup=generous, cgroup_root=tmp_path / "g" / "fs") == cpus.affinity_cpus()


def test_unreadable_cgroup_files_count_as_no_quota(tmp_path: Path) -> None:
    proc = _tree(tmp_path, ["0::/"], {})
    (tmp_path / "fs" / "cpu.max").mkdir()  # reading it fails with IsADirectoryError
    assert cpus.cgroup_cpu_limit(proc, tmp_path / "fs") is None
    (tmp_path / "bad").write_bytes(b"\xff\xfe0::/\n")
    assert cpus.cgroup_cpu_limit(tmp_path / "bad", tmp_path / "fs") is None


@pytest.mark.parametrize(("quota", "period", "expected"), [
    (100000, 100000, 1), (150000, 100000, 2), (1, 100000, 1), (-1, 100000, None), (0, 100000, None),
    (100000, 0, None), (100000, -5, None),
])
def test_quota_cpus(quota: int, period: int, expected: int | None) -> None:
    assert cpus.quota_cpus(quota, period) == expected


def test_this_machine() -> None:
    """On the machine running the tests, the answer never exceeds the affinity mask and is at least 1."""
    assert 1 <= cpus.usable_cpus() <= cpus.affinity_cpus()


def _writable_cpu_cgroup_v1() -> Path | None:
    """The cgroup v1 cpu controller's mount, when this process may create groups in it."""
    for mount in (Path("/sys/fs/cgroup/cpu"), Path("/sys/fs/cgroup/cpu,cpuacct")):
        if (mount / "cpu.cfs_quota_us").exists() and os.access(mount, os.W_OK):
            return mount
    return None


def test_a_real_cgroup_quota(tmp_path: Path) -> None:
    """A process placed in a real cgroup with a one-processor quota counts one usable processor."""
    import subprocess
    import sys
    import uuid

    mount = _writable_cpu_cgroup_v1()
    if mount is None:
        pytest.skip("no writable cgroup v1 cpu controller here (needs root and a writable /sys/fs/cgroup/cpu); "
                    "the quota logic is covered above on constructed cgroup trees")
    group = mount / f"custody-test-{uuid.uuid4().hex[:8]}"
    try:
        group.mkdir()
    except OSError as exc:
        pytest.skip(f"cannot create a cgroup here: {exc}")
    try:
        try:
            (group / "cpu.cfs_period_us").write_text("100000")
            (group / "cpu.cfs_quota_us").write_text("100000")
        except OSError as exc:
            pytest.skip(f"cannot set a CPU quota here: {exc}")
        script = (
            "import os, sys\n"
            "try:\n"
            f"    open({str(group / 'cgroup.procs')!r}, 'w').write(str(os.getpid()))\n"
            "except OSError as exc:\n"
            "    sys.exit(f'cannot join: {exc}')\n"
            "from verify.cpus import usable_cpus, cgroup_cpu_limit\n"
            "print(usable_cpus(), cgroup_cpu_limit())\n"
        )
        out = subprocess.run([sys.executable, "-c", script], check=False, capture_output=True, text=True, timeout=60)
        if out.returncode == 1 and out.stderr.startswith("cannot join"):
            pytest.skip(f"cannot move a process into a cgroup here: {out.stderr.strip()}")
        assert out.returncode == 0, out.stderr
        assert out.stdout.split() == ["1", "1"]
    finally:
        group.rmdir()  # empty again: the process that joined it has exited
