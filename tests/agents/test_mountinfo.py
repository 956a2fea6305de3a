"""Parsing /proc/self/mountinfo, diffing tables, choosing data volumes."""

from __future__ import annotations

import logging

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from custody.agents.mountinfo import (
    MountFilter,
    MountRecord,
    diff,
    escape,
    needs_polling,
    parse_mountinfo,
    path_is_under,
    unescape,
)

# (line, expected fields or None when the line must be skipped)
PARSE_CASES = [
    pytest.param(
        "36 35 98:0 /mnt1 /mnt2 rw,noatime master:1 - ext3 /dev/root rw,errors=continue",
        {"mount_id": 36, "parent_id": 35, "major": 98, "minor": 0, "root": "/mnt1", "mount_point": "/mnt2",
         "mount_options": ("rw", "noatime"), "optional_fields": ("master:1",), "fs_type": "ext3",
         "source": "/dev/root", "super_options": ("rw", "errors=continue")},
        id="proc5-example",
    ),
    pytest.param(
        "27 1 254:0 / / rw,relatime - ext4 /dev/vda rw,discard",
        {"mount_point": "/", "optional_fields": (), "fs_type": "ext4"},
        id="no-optional-fields",
    ),
    pytest.param(
        "512 29 8:17 / /media/user/MY\\040USB rw,nosuid,nodev,relatime shared:290 - vfat /dev/sdb1 "
        "rw,fmask=0022,dmask=0022,codepage=437,iocharset=utf8,shortname=mixed,errors=remount-ro",
        {"mount_point": "/media/user/MY USB", "fs_type": "vfat", "source": "/dev/sdb1",
         "optional_fields": ("shared:290",)},
        id="space-escaped",
    ),
    pytest.param(
        "513 29 8:33 / /media/user/\\346\\227\\245\\346\\234\\254 rw,nosuid,nodev shared:291 - exfat "
        "/dev/sdc1 rw,uid=1000",
        {"mount_point": "/media/user/日本", "fs_type": "exfat"},
        id="japanese-label-octal-utf8",
    ),
    pytest.param(
        "514 29 8:49 / /run/media/u/a\\011b\\012c\\134d rw shared:1 master:2 propagate_from:3 unbindable "
        "- ntfs3 /dev/sdd1 rw",
        {"mount_point": "/run/media/u/a\tb\nc\\d",
         "optional_fields": ("shared:1", "master:2", "propagate_from:3", "unbindable")},
        id="tab-newline-backslash-and-many-optional-fields",
    ),
    pytest.param(
        "600 27 0:55 / /media/ram rw,relatime - tmpfs tmpfs",
        {"fs_type": "tmpfs", "source": "tmpfs", "super_options": ()},
        id="no-super-options",
    ),
    pytest.param(
        "601 27 0:56 /sub/dir /mnt/bind rw - ext4 /dev/sda2 rw",
        {"root": "/sub/dir", "mount_point": "/mnt/bind"},
        id="bind-mount-root",
    ),
    pytest.param(
        "602 27 0:57 / /media/share rw - fuse.sshfs user@host:/data rw,user_id=0",
        {"fs_type": "fuse.sshfs", "source": "user@host:/data"},
        id="fuse-subtype",
    ),
    pytest.param(
        "603 27 0:58 / /media/bad\\377name rw - vfat /dev/sde1 rw",
        {"mount_point": "/media/bad\udcffname"},
        id="not-utf8-kept-as-surrogateescape",
    ),
    pytest.param("", None, id="empty"),
    pytest.param("36 35 98:0 /mnt1 /mnt2 rw,noatime master:1 ext3 /dev/root rw", None, id="no-separator"),
    pytest.param("36 35 98:0 /mnt1 /mnt2 rw - ext3", None, id="too-few-after-separator"),
    pytest.param("x 35 98:0 / /mnt rw - ext3 /dev/root rw", None, id="id-not-a-number"),
    pytest.param("36 35 98-0 / /mnt rw - ext3 /dev/root rw", None, id="bad-majmin"),
    pytest.param("36 35 98:0 / mnt rw - ext3 /dev/root rw", None, id="relative-mount-point"),
    pytest.param("36 35 - 98:0 / /mnt rw ext3 /dev/root", None, id="separator-too-early"),
    pytest.param("٣ 35 98:0 / /mnt rw - ext3 /dev/root rw", None, id="non-ascii-digit"),
]


@pytest.mark.parametrize(("line", "expected"), PARSE_CASES)
def test_parse_lines(line: str, expected: dict[str, object] | None) -> None:
    table = parse_mountinfo(line + "\n", warn=False)
    if expected is None:
        assert table.mounts == ()
        assert len(table.problems) == (1 if line.strip() else 0)
        return
    assert table.problems == ()
    (record,) = table.mounts
    for name, value in expected.items():
        assert getattr(record, name) == value, name


def test_malformed_lines_are_skipped_with_a_warning(caplog: pytest.LogCaptureFixture) -> None:
    text = (
        "27 1 254:0 / / rw - ext4 /dev/vda rw\n"
        "garbage line\n"
        "513 29 8:33 / /media/user/\\346\\227\\245 rw - exfat /dev/sdc1 rw\n"
        "1 2 3\n"
    )
    with caplog.at_level(logging.WARNING, logger="custody.agents.mountinfo"):
        table = parse_mountinfo(text)
    assert [m.mount_point for m in table.mounts] == ["/", "/media/user/日"]
    assert [p.line_number for p in table.problems] == [2, 4]
    assert sum("ignored" in r.getMessage() for r in caplog.records) == 2


def test_bytes_input_and_real_proc_table() -> None:
    with open("/proc/self/mountinfo", "rb") as fh:
        table = parse_mountinfo(fh.read())
    assert table.problems == ()
    assert any(m.mount_point == "/" for m in table.mounts)


def test_escape_round_trip_and_to_line() -> None:
    for text in ["/media/u/日本 語", "/a\tb\nc\\d", "/bad\udcffname", "/plain"]:
        assert unescape(escape(text).encode("utf-8", "surrogateescape")) == text
    record = MountRecord(7, 1, 8, 1, "/", "/media/u/日本 語", ("rw",), ("shared:1",), "vfat", "/dev/sdb1", ("rw",))
    (parsed,) = parse_mountinfo(record.to_line()).mounts
    assert parsed == record


def test_unescape_leaves_out_of_range_octal() -> None:
    assert unescape(b"/a\\777b") == "/a\\777b"
    assert unescape(b"/a\\04") == "/a\\04"


def _rec(mount_id: int, mount_point: str, fs_type: str = "vfat", options: tuple[str, ...] = ("rw",)) -> MountRecord:
    return MountRecord(mount_id, 1, 8, mount_id, "/", mount_point, options, (), fs_type, f"/dev/x{mount_id}", ())


def test_diff_attached_detached_and_remount() -> None:
    a, b, c = _rec(1, "/media/a"), _rec(2, "/media/b"), _rec(3, "/media/c")
    change = diff([a, b], [b, c])
    assert change.attached == (c,)
    assert change.detached == (a,)
    remounted = _rec(2, "/media/b", options=("ro",))  # same mount, new options: no change
    assert not diff([b], [remounted])
    moved = _rec(2, "/media/moved")  # mount --move: the old place went away, a new one appeared
    change = diff([b], [moved])
    assert change.attached == (moved,) and change.detached == (b,)


FILTER_CASES = [
    ("/media/user/USB", "vfat", True),
    ("/media/user/USB", "exfat", True),
    ("/run/media/user/DISK", "ntfs3", True),
    ("/mnt", "ext4", True),
    ("/mnt/backup", "ext4", True),
    ("/media/ram", "tmpfs", True),
    ("/media/share", "fuse.sshfs", True),
    ("/mediafoo/x", "vfat", False),
    ("/home/user", "ext4", False),
    ("/", "ext4", False),
    ("/proc", "proc", False),
    ("/sys/fs/cgroup", "cgroup2", False),
    ("/mnt/container", "overlay", False),
    ("/media/snap", "squashfs", False),
    ("/mnt/x", "devpts", False),
    ("/mnt/lxc", "fuse.lxcfs", False),
]


@pytest.mark.parametrize(("mount_point", "fs_type", "accepted"), FILTER_CASES)
def test_default_filter(mount_point: str, fs_type: str, accepted: bool) -> None:
    assert MountFilter().accepts(_rec(1, mount_point, fs_type)) is accepted


def test_filter_is_configurable() -> None:
    only = MountFilter(roots=("/tmp/test-root/media",), fs_types=None, exclude_paths=("/tmp/test-root/media/skip",))
    assert only.accepts(_rec(1, "/tmp/test-root/media/a", "tmpfs"))
    assert only.accepts(_rec(1, "/tmp/test-root/media/a", "weirdfs"))  # any type not excluded
    assert not only.accepts(_rec(1, "/tmp/test-root/media/a", "proc"))
    assert not only.accepts(_rec(1, "/tmp/test-root/media/skip/x", "vfat"))
    assert not only.accepts(_rec(1, "/media/usb", "vfat"))
    anywhere = MountFilter(roots=())
    assert anywhere.accepts(_rec(1, "/srv/data", "xfs"))


def test_windows_paths_and_polling_types() -> None:
    assert path_is_under("E:\\", "e:\\")
    assert path_is_under("E:\\dir", "E:\\")
    assert not path_is_under("C:\\", "E:\\")
    assert needs_polling("nfs4") and needs_polling("fuse.sshfs") and needs_polling("fuseblk")
    assert not needs_polling("ext4") and not needs_polling("vfat")


@settings(max_examples=400, deadline=None)
@given(st.text())
def test_arbitrary_text_never_raises(text: str) -> None:
    table = parse_mountinfo(text, warn=False)
    for record in table.mounts:
        assert record.mount_point.startswith("/")


@settings(max_examples=300, deadline=None)
@given(st.binary())
def test_arbitrary_bytes_never_raise(data: bytes) -> None:
    parse_mountinfo(data, warn=False)


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.sampled_from(["36", "35", "98:0", "/", "/mnt", "rw", "-", "ext4", "/dev/x", "shared:1", "\\040", "x"]),
        max_size=14,
    )
)
def test_near_miss_lines_never_raise(tokens: list[str]) -> None:
    parse_mountinfo(" ".join(tokens), warn=False)
