"""Parse ``/proc/self/mountinfo`` and decide which mounts are data volumes (pure, no I/O).

Line format (proc(5))::

    36 35 98:0 /mnt1 /mnt2 rw,noatime master:1 - ext3 /dev/root rw,errors=continue
    (1)(2)(3)   (4)   (5)      (6)      (7)   (8) (9)    (10)       (11)

mount ID, parent ID, major:minor, root, mount point, mount options, zero or
more optional fields, a single ``-``, filesystem type, mount source, super
options.  The kernel escapes space, tab, newline and backslash in paths as
``\\040``, ``\\011``, ``\\012`` and ``\\134``; the escapes are undone on the raw
bytes and the result decoded as UTF-8 with ``surrogateescape`` (so that a
Japanese label survives and a name that is not UTF-8 still maps back to the
exact bytes the kernel has, as ``os.fsdecode`` would).

Malformed lines are skipped and reported as ``Problem`` values (and, when
asked, logged as warnings); parsing never raises.
"""

from __future__ import annotations

import fnmatch
import logging
import ntpath
import posixpath
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

log = logging.getLogger(__name__)

_OCTAL = re.compile(rb"\\([0-7]{3})")
_DECIMAL = re.compile(rb"[0-9]{1,10}")
_MAJMIN = re.compile(rb"([0-9]{1,10}):([0-9]{1,10})")
_ESCAPED_BYTES = frozenset(b" \t\n\\")
_WINDOWS_PATH = re.compile(r"^[A-Za-z]:[\\/]|^\\\\")


@dataclass(frozen=True)
class MountRecord:
    """One line of a mount table."""

    mount_id: int
    parent_id: int
    major: int
    minor: int
    root: str
    mount_point: str
    mount_options: tuple[str, ...]
    optional_fields: tuple[str, ...]
    fs_type: str
    source: str
    super_options: tuple[str, ...]

    @property
    def dev(self) -> str:
        return f"{self.major}:{self.minor}"

    @property
    def key(self) -> tuple[int, int, int, str, str, str]:
        """Identity of a mount: a remount (options changed) keeps it, a new mount changes it."""
        return (self.mount_id, self.major, self.minor, self.root, self.mount_point, self.source)

    @property
    def read_only(self) -> bool:
        return "ro" in self.mount_options

    def to_line(self) -> str:
        """The record as a mountinfo line (escaped), e.g. for a test's mount-table file."""
        fields = [
            str(self.mount_id),
            str(self.parent_id),
            self.dev,
            escape(self.root),
            escape(self.mount_point),
            ",".join(self.mount_options) or "rw",
            *self.optional_fields,
            "-",
            escape(self.fs_type),
            escape(self.source),
            ",".join(self.super_options) or "rw",
        ]
        return " ".join(fields)


@dataclass(frozen=True)
class Problem:
    """A line that was skipped, and why."""

    line_number: int
    reason: str
    line: str


@dataclass(frozen=True)
class MountTable:
    mounts: tuple[MountRecord, ...]
    problems: tuple[Problem, ...]


@dataclass(frozen=True)
class MountDiff:
    attached: tuple[MountRecord, ...]
    detached: tuple[MountRecord, ...]

    def __bool__(self) -> bool:
        return bool(self.attached or self.detached)


def unescape(field: bytes) -> str:
    """Undo the kernel's octal escapes on bytes, then decode UTF-8 (surrogateescape)."""

    def replace(match: re.Match[bytes]) -> bytes:
        value = int(match.group(1), 8)
        return bytes([value]) if value < 256 else match.group(0)

    return _OCTAL.sub(replace, field).decode("utf-8", "surrogateescape")


def escape(text: str) -> str:
    """The kernel's escaping of a path field (inverse of ``unescape``)."""
    out = bytearray()
    for byte in text.encode("utf-8", "surrogateescape"):
        if byte in _ESCAPED_BYTES:
            out += b"\\%03o" % byte
        else:
            out.append(byte)
    return out.decode("utf-8", "surrogateescape")


def _parse_line(line: bytes) -> MountRecord | str:
    """A record, or the reason the line is malformed."""
    fields = line.split()
    try:
        separator = fields.index(b"-", 6)
    except ValueError:
        return "no ' - ' separator after the sixth field"
    pre, post = fields[:separator], fields[separator + 1 :]
    if len(post) < 2:
        return "fewer than two fields after the separator"
    if not (_DECIMAL.fullmatch(pre[0]) and _DECIMAL.fullmatch(pre[1])):
        return "mount ID or parent ID is not a decimal number"
    majmin = _MAJMIN.fullmatch(pre[2])
    if majmin is None:
        return "major:minor is malformed"
    mount_point = unescape(pre[4])
    if not mount_point.startswith("/"):
        return "mount point is not an absolute path"
    return MountRecord(
        mount_id=int(pre[0]),
        parent_id=int(pre[1]),
        major=int(majmin.group(1)),
        minor=int(majmin.group(2)),
        root=unescape(pre[3]),
        mount_point=mount_point,
        mount_options=tuple(unescape(pre[5]).split(",")),
        optional_fields=tuple(unescape(f) for f in pre[6:]),
        fs_type=unescape(post[0]),
        source=unescape(post[1]),
        super_options=tuple(unescape(post[2]).split(",")) if len(post) > 2 else (),
    )


def parse_mountinfo(data: bytes | str, *, warn: bool = True) -> MountTable:
    """Parse a whole mountinfo text; malformed lines become ``problems``, never exceptions."""
    raw = data.encode("utf-8", "surrogateescape") if isinstance(data, str) else bytes(data)
    mounts: list[MountRecord] = []
    problems: list[Problem] = []
    for number, line in enumerate(raw.split(b"\n"), start=1):
        if not line.strip():
            continue
        result = _parse_line(line)
        if isinstance(result, str):
            problem = Problem(number, result, line.decode("utf-8", "replace")[:200])
            problems.append(problem)
            if warn:
                log.warning("mountinfo line %d ignored: %s: %r", number, result, problem.line)
            continue
        mounts.append(result)
    return MountTable(tuple(mounts), tuple(problems))


def diff(old: Iterable[MountRecord], new: Iterable[MountRecord]) -> MountDiff:
    """Mounts that appeared and disappeared between two tables (by ``MountRecord.key``)."""
    old_list, new_list = list(old), list(new)
    old_keys = {m.key for m in old_list}
    new_keys = {m.key for m in new_list}
    return MountDiff(
        attached=tuple(m for m in new_list if m.key not in old_keys),
        detached=tuple(m for m in old_list if m.key not in new_keys),
    )


# --- Which mounts are data volumes. ---

PSEUDO_FS_TYPES: frozenset[str] = frozenset(
    {
        "proc", "sysfs", "devtmpfs", "devpts", "cgroup", "cgroup2", "securityfs", "pstore", "bpf",
        "debugfs", "tracefs", "configfs", "fusectl", "hugetlbfs", "mqueue", "autofs", "binfmt_misc",
        "overlay", "overlayfs", "aufs", "squashfs", "nsfs", "efivarfs", "rpc_pipefs", "selinuxfs",
        "ramfs", "rootfs", "nfsd", "fuse.lxcfs", "fuse.gvfsd-fuse", "fuse.portal", "fuse.snapfuse",
        "fuse.xdg-document-portal",
    }
)  # fmt: skip

DATA_FS_TYPES: frozenset[str] = frozenset(
    {
        "vfat", "msdos", "exfat", "ntfs", "ntfs3", "fuseblk", "ext2", "ext3", "ext4", "xfs", "btrfs",
        "f2fs", "hfs", "hfsplus", "apfs", "udf", "iso9660", "tmpfs", "nfs", "nfs4", "cifs", "smb3",
        "9p", "virtiofs", "fuse.*",
        # macOS and Windows names as psutil reports them.
        "FAT", "FAT32", "exFAT", "NTFS", "ReFS", "UDF", "CDFS",
    }
)  # fmt: skip

LINUX_MEDIA_ROOTS: tuple[str, ...] = ("/media", "/mnt", "/run/media")

# Filesystems on which inotify sees nothing or only the local side: poll them.
POLLING_FS_TYPES: frozenset[str] = frozenset(
    {"nfs", "nfs4", "cifs", "smb3", "smbfs", "9p", "virtiofs", "fuse.*", "fuseblk", "davfs"}
)


def fs_type_matches(fs_type: str, patterns: Iterable[str]) -> bool:
    return any(fs_type == p or fnmatch.fnmatchcase(fs_type, p) for p in patterns)


def _normalise(path: str) -> tuple[str, bool]:
    """(normalised path, is a Windows path)."""
    if _WINDOWS_PATH.match(path):
        return ntpath.normpath(path).replace("\\", "/").casefold().rstrip("/") or "/", True
    return posixpath.normpath(path), False


def path_is_under(path: str, root: str) -> bool:
    """``path`` equals ``root`` or lies below it (POSIX, or Windows drive paths)."""
    p, _ = _normalise(path)
    r, _ = _normalise(root)
    if r in ("/", "//"):
        return p.startswith("/")
    return p == r or p.startswith(r.rstrip("/") + "/")


@dataclass(frozen=True)
class MountFilter:
    """Which mounts are candidate removable or data volumes.

    ``roots``: a mount counts only if its mount point is one of these or below
    one (empty: anywhere).  ``fs_types``: glob patterns of filesystem types to
    include (``None``: any type not excluded).  ``exclude_fs_types`` always
    wins, as does ``exclude_paths`` (mount points equal to or below them).
    """

    roots: tuple[str, ...] = LINUX_MEDIA_ROOTS
    fs_types: frozenset[str] | None = DATA_FS_TYPES
    exclude_fs_types: frozenset[str] = PSEUDO_FS_TYPES
    exclude_paths: tuple[str, ...] = ()

    def accepts(self, record: MountRecord) -> bool:
        if fs_type_matches(record.fs_type, self.exclude_fs_types):
            return False
        if self.fs_types is not None and not fs_type_matches(record.fs_type, self.fs_types):
            return False
        if any(path_is_under(record.mount_point, p) for p in self.exclude_paths):
            return False
        return not self.roots or any(path_is_under(record.mount_point, r) for r in self.roots)

    def select(self, records: Iterable[MountRecord]) -> list[MountRecord]:
        return [r for r in records if self.accepts(r)]

    def summary(self) -> dict[str, object]:
        return {
            "roots": list(self.roots),
            "fs_types": sorted(self.fs_types) if self.fs_types is not None else None,
            "exclude_paths": list(self.exclude_paths),
        }


def needs_polling(fs_type: str) -> bool:
    """True for filesystems where inotify does not report (all) writes."""
    return fs_type_matches(fs_type, POLLING_FS_TYPES)


def mounts_by_point(records: Sequence[MountRecord]) -> dict[str, MountRecord]:
    """The topmost mount at each mount point (later lines overmount earlier ones)."""
    out: dict[str, MountRecord] = {}
    for record in records:
        out[record.mount_point] = record
    return out
