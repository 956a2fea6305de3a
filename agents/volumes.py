"""Identify a mounted volume: filesystem UUID, label, device, device serial.

Linux sources, each optional, merged in this order (the first to give a field wins):

1. udev's database, ``/run/udev/data/b<major>:<minor>`` (``ID_FS_UUID``,
   ``ID_FS_LABEL_ENC``, ``ID_SERIAL_SHORT``, ``ID_VENDOR``, ``ID_MODEL``, ``ID_BUS``);
2. the ``/dev/disk/by-uuid`` and ``/dev/disk/by-label`` symlinks (labels there
   are udev-encoded, ``\\x20`` for a space; UTF-8 is kept as is);
3. sysfs, ``/sys/dev/block/<major>:<minor>``: the whole disk of a partition, its
   ``removable`` flag, ``device/vendor`` and ``device/model``, and a ``serial``
   file on the disk, its device, or the USB device above it;
4. the superblock itself, when the device node is readable (root, or the
   ``disk`` group): ext2/3/4, FAT12/16/32, exFAT, NTFS, ISO 9660.  This is what
   works in containers and minimal systems without udev.

Missing information is normal (tmpfs, network shares, a sandbox without
``/dev``): the field stays ``None``.  All roots are parameters, so a test or a
demo can present a directory tree as ``/dev``, ``/sys`` and ``/run/udev``.

macOS and Windows are separate branches (``_identify_macos`` via ``diskutil``,
``_identify_windows`` via ``GetVolumeInformationW``), reached through
``psutil.disk_partitions()`` records; they cannot be exercised on the Linux
machines this project is tested on.
"""

from __future__ import annotations

import contextlib
import os
import re
import struct
import subprocess
import sys
import uuid as uuidlib
from dataclasses import dataclass, replace
from pathlib import Path

from custody.agents.interfaces import VolumeInfo
from custody.agents.mountinfo import MountRecord

_UDEV_ESCAPE = re.compile(rb"\\x([0-9a-fA-F]{2})")
_SUPERBLOCK_READ = 36 * 1024
_SERIAL_WALK_LIMIT = 8


def decode_udev(text: str) -> str:
    """Undo udev's ``\\xNN`` encoding (by-label names, ``*_ENC`` properties)."""
    raw = text.encode("utf-8", "surrogateescape")
    raw = _UDEV_ESCAPE.sub(lambda m: bytes([int(m.group(1), 16)]), raw)
    return raw.decode("utf-8", "surrogateescape")


def read_udev_properties(path: Path) -> dict[str, str]:
    """The ``E:KEY=VALUE`` properties of one udev database file ({} when absent)."""
    try:
        raw = path.read_bytes()
    except OSError:
        return {}
    props: dict[str, str] = {}
    for line in raw.split(b"\n"):
        if line.startswith(b"E:") and b"=" in line:
            key, _, value = line[2:].partition(b"=")
            props[key.decode("ascii", "replace")] = value.decode("utf-8", "surrogateescape")
    return props


def _read_text(path: Path) -> str | None:
    try:
        value = path.read_bytes().decode("utf-8", "surrogateescape").strip()
    except OSError:
        return None
    return value or None


# --- Superblocks. ---


@dataclass(frozen=True)
class Superblock:
    filesystem: str
    uuid: str | None
    label: str | None


def _clean_label(raw: bytes, encoding: str = "utf-8") -> str | None:
    text = raw.split(b"\x00", 1)[0].decode(encoding, "replace").strip()
    return text or None


def _probe_ext(block: bytes) -> Superblock | None:
    sb = block[1024:2048]
    if len(sb) < 256 or sb[0x38:0x3A] != b"\x53\xef":
        return None
    compat, incompat = struct.unpack_from("<I", sb, 0x5C)[0], struct.unpack_from("<I", sb, 0x60)[0]
    if incompat & 0x40 or incompat & 0x80 or incompat & 0x200:  # extents, 64bit, flex_bg
        fs = "ext4"
    elif compat & 0x4:  # has_journal
        fs = "ext3"
    else:
        fs = "ext2"
    return Superblock(fs, str(uuidlib.UUID(bytes=sb[0x68:0x78])), _clean_label(sb[0x78:0x88]))


def _probe_exfat(block: bytes, read_at: _ReadAt) -> Superblock | None:
    if block[3:11] != b"EXFAT   ":
        return None
    serial = struct.unpack_from("<I", block, 100)[0]
    label = None
    with contextlib.suppress(Exception):  # the label lives in the root directory; best effort
        heap_offset = struct.unpack_from("<I", block, 88)[0]
        root_cluster = struct.unpack_from("<I", block, 96)[0]
        sector_shift, cluster_shift = block[108], block[109]
        if 9 <= sector_shift <= 12 and cluster_shift <= 25 and root_cluster >= 2:
            sector = 1 << sector_shift
            offset = (heap_offset + ((root_cluster - 2) << cluster_shift)) * sector
            directory = read_at(offset, min(sector << cluster_shift, 64 * 1024))
            for pos in range(0, len(directory) - 31, 32):
                entry_type = directory[pos]
                if entry_type == 0x83:
                    count = min(directory[pos + 1], 11)
                    label = directory[pos + 2 : pos + 2 + 2 * count].decode("utf-16-le", "replace") or None
                    break
                if entry_type == 0x00:
                    break
    return Superblock("exfat", f"{serial >> 16:04X}-{serial & 0xFFFF:04X}", label)


def _probe_fat(block: bytes) -> Superblock | None:
    if block[510:512] != b"\x55\xaa":
        return None
    if block[82:87] == b"FAT32" or (block[66] == 0x29 and block[82:85] == b"FAT"):
        serial_at, label_at = 67, 71  # FAT32 extended BPB
    elif block[54:57] == b"FAT" or block[38] == 0x29:
        serial_at, label_at = 39, 43  # FAT12/16 extended BPB
    else:
        return None
    serial = struct.unpack_from("<I", block, serial_at)[0]
    label = _clean_label(block[label_at : label_at + 11], "cp932")
    if label == "NO NAME":
        label = None
    return Superblock("vfat", f"{serial >> 16:04X}-{serial & 0xFFFF:04X}", label)


def _probe_ntfs(block: bytes) -> Superblock | None:
    if block[3:11] != b"NTFS    ":
        return None
    serial = struct.unpack_from("<Q", block, 0x48)[0]
    return Superblock("ntfs", f"{serial:016X}", None)  # the label is in $Volume: not read


def _probe_iso9660(block: bytes) -> Superblock | None:
    pvd = block[32768 : 32768 + 2048]
    if len(pvd) < 2048 or pvd[1:6] != b"CD001":
        return None
    return Superblock("iso9660", None, _clean_label(pvd[40:72], "ascii"))


class _ReadAt:
    def __init__(self, fd: int) -> None:
        self.fd = fd

    def __call__(self, offset: int, size: int) -> bytes:
        return os.pread(self.fd, size, offset)


def probe_superblock(path: str | os.PathLike[str]) -> Superblock | None:
    """Read a filesystem's identity from a device node or an image file; None if unknown or unreadable."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    except OSError:
        return None
    try:
        block = os.pread(fd, _SUPERBLOCK_READ, 0)
        reader = _ReadAt(fd)
        found = _probe_ext(block) or _probe_ntfs(block) or _probe_exfat(block, reader)
        return found or _probe_iso9660(block) or _probe_fat(block)
    except (OSError, struct.error, IndexError, ValueError):
        return None
    finally:
        os.close(fd)


# --- The prober. ---


@dataclass
class _Facts:
    uuid: str | None = None
    label: str | None = None
    serial: str | None = None
    vendor: str | None = None
    model: str | None = None
    bus: str | None = None
    removable: bool | None = None
    filesystem: str | None = None
    partition: str | None = None

    def take(self, source: str, sources: list[str], **values: object) -> None:
        used = False
        for name, value in values.items():
            if value is not None and getattr(self, name) is None:
                setattr(self, name, value)
                used = True
        if used and source not in sources:
            sources.append(source)


class VolumeProber:
    """Identify volumes from mount records; every system root is a parameter."""

    def __init__(
        self,
        *,
        dev_root: str | os.PathLike[str] = "/dev",
        sys_root: str | os.PathLike[str] = "/sys",
        udev_root: str | os.PathLike[str] = "/run/udev/data",
        read_superblock: bool = True,
    ) -> None:
        self.dev_root = Path(dev_root)
        self.sys_root = Path(sys_root)
        self.udev_root = Path(udev_root)
        self.read_superblock = read_superblock

    def identify(self, record: MountRecord) -> VolumeInfo:
        if sys.platform == "win32":  # pragma: no cover - documented branch, not testable here
            return _identify_windows(record)
        if sys.platform == "darwin":  # pragma: no cover - documented branch, not testable here
            return _identify_macos(record)
        return self.identify_linux(record)

    def _device_path(self, source: str) -> Path | None:
        if source.startswith("/dev/"):
            return self.dev_root / source[len("/dev/") :]
        return None

    def identify_linux(self, record: MountRecord) -> VolumeInfo:
        facts = _Facts()
        sources: list[str] = []
        device = record.source if record.source.startswith("/dev/") else None
        block = record.major != 0
        if block:
            for source in (self._from_udev, self._from_links, self._from_sysfs):
                with contextlib.suppress(OSError):  # missing or unreadable: that source says nothing
                    source(record, facts, sources)
            if self.read_superblock and (facts.uuid is None or facts.label is None):
                node = self._device_path(record.source)
                if node is not None:
                    found = probe_superblock(node)
                    if found is not None:
                        facts.take("superblock", sources, uuid=found.uuid, label=found.label)
        if facts.uuid:
            volume_id = f"uuid:{facts.uuid}"
        elif facts.serial:
            volume_id = f"serial:{facts.serial}" + (f"/{facts.partition}" if facts.partition else "")
        elif block:
            volume_id = f"dev:{record.major}:{record.minor}"
        else:
            volume_id = f"{record.fs_type}:{record.source}@{record.mount_point}"
        return VolumeInfo(
            volume_id=volume_id,
            mount_point=record.mount_point,
            filesystem=record.fs_type,
            device=device,
            uuid=facts.uuid,
            label=facts.label,
            serial=facts.serial,
            vendor=facts.vendor,
            model=facts.model,
            bus=facts.bus,
            removable=facts.removable,
            read_only=record.read_only,
            sources=tuple(sources),
        )

    def _from_udev(self, record: MountRecord, facts: _Facts, sources: list[str]) -> None:
        props = read_udev_properties(self.udev_root / f"b{record.major}:{record.minor}")
        if not props:
            return
        label = props.get("ID_FS_LABEL_ENC")
        facts.take(
            "udev",
            sources,
            uuid=props.get("ID_FS_UUID") or None,
            label=(decode_udev(label) if label else props.get("ID_FS_LABEL")) or None,
            serial=props.get("ID_SERIAL_SHORT")
            or props.get("ID_USB_SERIAL_SHORT")
            or props.get("ID_SCSI_SERIAL")
            or None,
            vendor=props.get("ID_VENDOR") or props.get("ID_USB_VENDOR") or None,
            model=props.get("ID_MODEL") or props.get("ID_USB_MODEL") or None,
            bus=props.get("ID_BUS") or None,
            partition=props.get("ID_PART_ENTRY_NUMBER") or None,
        )

    def _node_matches(self, link: Path, record: MountRecord, wanted: Path | None) -> bool:
        try:
            st = link.stat()
        except OSError:
            return False
        if st.st_rdev and os.major(st.st_rdev) == record.major and os.minor(st.st_rdev) == record.minor:
            return True
        if wanted is None:
            return False
        try:
            return os.path.realpath(link) == os.path.realpath(wanted)
        except OSError:
            return False

    def _from_links(self, record: MountRecord, facts: _Facts, sources: list[str]) -> None:
        wanted = self._device_path(record.source)
        for kind in ("by-uuid", "by-label"):
            folder = self.dev_root / "disk" / kind
            try:
                entries = sorted(os.scandir(folder), key=lambda e: e.name)
            except OSError:
                continue
            for entry in entries:
                if self._node_matches(Path(entry.path), record, wanted):
                    if kind == "by-uuid":
                        facts.take("dev-disk", sources, uuid=decode_udev(entry.name))
                    else:
                        facts.take("dev-disk", sources, label=decode_udev(entry.name))
                    break

    def _from_sysfs(self, record: MountRecord, facts: _Facts, sources: list[str]) -> None:
        node = self.sys_root / "dev" / "block" / record.dev
        try:
            here = Path(os.path.realpath(node))
        except OSError:
            return
        if not here.is_dir():
            return
        disk = here
        partition = _read_text(here / "partition")
        if partition is not None:
            disk = here.parent
        removable = _read_text(disk / "removable")
        serial = _read_text(disk / "device" / "serial") or _read_text(disk / "serial")
        if serial is None:
            serial = self._usb_serial(disk / "device")
        facts.take(
            "sysfs",
            sources,
            serial=serial,
            vendor=_read_text(disk / "device" / "vendor"),
            model=_read_text(disk / "device" / "model"),
            removable=(removable == "1") if removable is not None else None,
            partition=partition,
        )

    def _usb_serial(self, device: Path) -> str | None:
        """Walk up from a SCSI device to the USB device that carries ``serial`` (with ``idVendor``)."""
        try:
            here = Path(os.path.realpath(device))
        except OSError:
            return None
        for _ in range(_SERIAL_WALK_LIMIT):
            if (here / "idVendor").exists():
                return _read_text(here / "serial")
            if here.parent == here:
                break
            here = here.parent
        return None


# --- Non-Linux branches (psutil.disk_partitions records). ---


def _identify_macos(record: MountRecord) -> VolumeInfo:  # pragma: no cover - macOS only
    """``diskutil info -plist <mount point>``: VolumeUUID, VolumeName, DeviceIdentifier, Removable."""
    import plistlib

    info = VolumeInfo(
        volume_id=f"{record.fs_type}:{record.source}@{record.mount_point}",
        mount_point=record.mount_point,
        filesystem=record.fs_type,
        device=record.source or None,
        read_only=record.read_only,
    )
    try:
        out = subprocess.run(
            ["/usr/sbin/diskutil", "info", "-plist", record.mount_point],
            capture_output=True,
            timeout=10,
            check=True,
        ).stdout
        data = plistlib.loads(out)
    except (OSError, subprocess.SubprocessError, ValueError):
        return replace(info, sources=("psutil",))
    volume_uuid = data.get("VolumeUUID") or data.get("DiskUUID")
    return replace(
        info,
        volume_id=f"uuid:{volume_uuid}" if volume_uuid else info.volume_id,
        uuid=volume_uuid,
        label=data.get("VolumeName") or None,
        model=data.get("MediaName") or None,
        bus=data.get("BusProtocol") or None,
        removable=bool(data.get("Removable") or data.get("RemovableMedia") or data.get("Ejectable")),
        sources=("psutil", "diskutil"),
    )


def _identify_windows(record: MountRecord) -> VolumeInfo:  # pragma: no cover - Windows only
    """``GetVolumeNameForVolumeMountPointW`` (volume GUID) and ``GetVolumeInformationW`` (label, serial)."""
    info = VolumeInfo(
        volume_id=f"{record.fs_type}:{record.source}@{record.mount_point}",
        mount_point=record.mount_point,
        filesystem=record.fs_type,
        device=record.source or None,
        removable="removable" in record.mount_options,
        read_only=record.read_only,
        sources=("psutil",),
    )
    if sys.platform != "win32":
        return info
    import ctypes

    root = record.mount_point if record.mount_point.endswith("\\") else record.mount_point + "\\"
    kernel32 = ctypes.windll.kernel32
    guid_buf = ctypes.create_unicode_buffer(64)
    guid = None
    if kernel32.GetVolumeNameForVolumeMountPointW(root, guid_buf, 64):
        match = re.search(r"\{([0-9A-Fa-f-]{36})\}", guid_buf.value)
        guid = match.group(1).lower() if match else None
    label_buf = ctypes.create_unicode_buffer(261)
    fs_buf = ctypes.create_unicode_buffer(261)
    serial = ctypes.c_uint32()
    label = fs_name = serial_text = None
    if kernel32.GetVolumeInformationW(root, label_buf, 261, ctypes.byref(serial), None, None, fs_buf, 261):
        label, fs_name = label_buf.value or None, fs_buf.value or None
        serial_text = f"{serial.value >> 16:04X}-{serial.value & 0xFFFF:04X}"
    # The 32-bit volume serial is what blkid reports as the UUID of a FAT or exFAT volume, so a
    # medium registered on Linux matches here; the volume GUID is per machine and only kept as
    # the device.  The USB device serial needs WMI (Win32_DiskDrive.SerialNumber): not read.
    return replace(
        info,
        volume_id=f"uuid:{serial_text}" if serial_text else info.volume_id,
        uuid=serial_text,
        label=label,
        filesystem=fs_name or info.filesystem,
        device=f"\\\\?\\Volume{{{guid}}}\\" if guid else info.device,
        sources=("psutil", "kernel32"),
    )
