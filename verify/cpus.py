"""How many processors this process may use: the default number of workers for verification and reports.

Two limits, and the smaller one wins:

- the affinity mask (``taskset``, a container's cpuset), what Python 3.13
  calls ``os.process_cpu_count``;
- a CPU bandwidth quota, which the mask does not show: a container started
  with ``--cpus 2`` on a 64-processor host sees all 64 processors but gets
  two processors' worth of time.  Counting 64 there would start 64 workers,
  each holding its own chunk and interpreter (~60 MB), to share the time of
  two.  The quota is cgroup v2's ``cpu.max`` ("$MAX $PERIOD", "max" for
  none) or cgroup v1's ``cpu.cfs_quota_us`` / ``cpu.cfs_period_us`` (-1 for
  none) -- Linux's admin-guide/cgroup-v2.rst and scheduler/sched-bwc.rst.

Only speed and memory depend on the answer, so anything unreadable or
unexpected counts as "no quota"; ``--workers`` overrides in any case.
"""

from __future__ import annotations

import contextlib
import math
import os
from pathlib import Path

PROC_CGROUP = Path("/proc/self/cgroup")
CGROUP_ROOT = Path("/sys/fs/cgroup")


def usable_cpus(*, proc_cgroup: Path = PROC_CGROUP, cgroup_root: Path = CGROUP_ROOT) -> int:
    """The processors this process may run on, capped by its CPU quota; at least 1."""
    count = affinity_cpus()
    quota = cgroup_cpu_limit(proc_cgroup, cgroup_root)
    return count if quota is None else max(1, min(count, quota))


def affinity_cpus() -> int:
    """The processors in this process's affinity mask (``os.cpu_count()`` where there is no mask)."""
    allowed = allowed_cpus()
    return len(allowed) if allowed else os.cpu_count() or 1


def allowed_cpus() -> list[int]:
    """The processors in this process's affinity mask, sorted; [] where there is no mask to read
    (not Linux, or a sandbox that refuses the call)."""
    if hasattr(os, "sched_getaffinity"):
        with contextlib.suppress(OSError):
            return sorted(os.sched_getaffinity(0))
    return []


def quota_cpus(quota: int, period: int) -> int | None:
    """The processors' worth of time a quota grants per period, rounded up; None for no quota."""
    if quota <= 0 or period <= 0:
        return None  # -1 is cgroup v1's "no quota"; anything else non-positive is not a quota either
    return max(1, math.ceil(quota / period))


def parse_cpu_max(text: str) -> int | None:
    """cgroup v2 ``cpu.max``: "$MAX $PERIOD", where $MAX may be "max" (no quota)."""
    parts = text.split()
    if len(parts) != 2 or parts[0] == "max":
        return None
    try:
        return quota_cpus(int(parts[0]), int(parts[1]))
    except ValueError:
        return None


def cgroup_cpu_limit(proc_cgroup: Path = PROC_CGROUP, cgroup_root: Path = CGROUP_ROOT) -> int | None:
    """The tightest CPU quota on this process's cgroup and its ancestors, in processors; None if there is none.

    ``proc_cgroup`` lists the process's cgroups ("ID:CONTROLLERS:PATH" lines;
    v2's line is "0::PATH").  Inside a container the path may name a group
    that is not visible under the container's own mount (its root *is* that
    group), so the mount's root counts as an ancestor too.
    """
    try:
        lines = proc_cgroup.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError):
        return None
    limits: list[int | None] = []
    for line in lines:
        fields = line.split(":", 2)
        if len(fields) != 3:
            continue
        hierarchy, controllers, path = fields
        if hierarchy == "0" and controllers == "":
            for mount in (cgroup_root, cgroup_root / "unified"):
                limits.extend(parse_cpu_max(_text(group / "cpu.max")) for group in _groups(mount, path))
        elif "cpu" in controllers.split(","):
            for mount in {cgroup_root / "cpu", cgroup_root / controllers}:
                for group in _groups(mount, path):
                    quota = _integer(_text(group / "cpu.cfs_quota_us"))
                    period = _integer(_text(group / "cpu.cfs_period_us"))
                    if quota is not None and period is not None:
                        limits.append(quota_cpus(quota, period))
    return min((limit for limit in limits if limit is not None), default=None)


def _groups(mount: Path, path: str) -> list[Path]:
    """The cgroup directory at ``path`` under ``mount`` and every ancestor up to the mount itself."""
    parts = [p for p in path.split("/") if p and p not in (".", "..")]
    return [mount.joinpath(*parts[:depth]) for depth in range(len(parts), -1, -1)]


def _text(file: Path) -> str:
    """A cgroup file's text; "" when it is absent or unreadable."""
    try:
        return file.read_text(encoding="ascii")
    except (OSError, UnicodeDecodeError):
        return ""


def _integer(text: str) -> int | None:
    try:
        return int(text.strip())
    except ValueError:
        return None
