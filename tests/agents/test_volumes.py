"""Identifying volumes: udev database, /dev/disk links, sysfs serials, superblocks.

The udev, /dev and /sys trees here are real directories laid out as Linux lays
them out (this machine has no udev), handed to ``VolumeProber`` as its roots.
Superblocks are real: an ext4 filesystem made by mkfs.ext4, and boot sectors
built byte by byte from the FAT, exFAT, NTFS and ISO 9660 specifications.
"""

from __future__ import annotations

import os
import struct
from collections.abc import Callable
from pathlib import Path

import pytest

from custody.agents.mountinfo import MountRecord
from custody.agents.volumes import VolumeProber, decode_udev, probe_superblock, read_udev_properties


def _record(source: str, major: int, minor: int, fs_type: str = "vfat", mount_point: str = "/media/u/X",
            options: tuple[str, ...] = ("rw",)) -> MountRecord:
    return MountRecord(300, 27, major, minor, "/", mount_point, options, (), fs_type, source, ("rw",))


def _prober(root: Path, **kw: bool) -> VolumeProber:
    return VolumeProber(dev_root=root / "dev", sys_root=root / "sys", udev_root=root / "run/udev/data", **kw)


def test_decode_udev() -> None:
    assert decode_udev("MY\\x20USB") == "MY USB"
    assert decode_udev("日本\\x2fa") == "日本/a"
    assert decode_udev("plain") == "plain"


def test_udev_database(tmp_path: Path) -> None:
    data = tmp_path / "run/udev/data"
    data.mkdir(parents=True)
    (data / "b8:17").write_bytes(
        b"S:disk/by-uuid/4A3B-1C2D\n"
        b"E:ID_FS_UUID=4A3B-1C2D\n"
        b"E:ID_FS_LABEL=___\n"
        b"E:ID_FS_LABEL_ENC=\\xe6\\x97\\xa5\\xe6\\x9c\\xac\\x20USB\n"
        b"E:ID_FS_TYPE=vfat\n"
        b"E:ID_SERIAL=SanDisk_Cruzer_4C530001230528116193-0:0\n"
        b"E:ID_SERIAL_SHORT=4C530001230528116193\n"
        b"E:ID_VENDOR=SanDisk\n"
        b"E:ID_MODEL=Cruzer\n"
        b"E:ID_BUS=usb\n"
        b"E:ID_PART_ENTRY_NUMBER=1\n"
    )
    props = read_udev_properties(data / "b8:17")
    assert props["ID_SERIAL_SHORT"] == "4C530001230528116193"
    info = _prober(tmp_path).identify(_record("/dev/sdb1", 8, 17))
    assert info.uuid == "4A3B-1C2D"
    assert info.label == "日本 USB"
    assert info.serial == "4C530001230528116193"
    assert (info.vendor, info.model, info.bus) == ("SanDisk", "Cruzer", "usb")
    assert info.volume_id == "uuid:4A3B-1C2D"
    assert info.sources == ("udev",)


def _sysfs_usb_disk(root: Path, serial: str) -> None:
    """A USB stick's sysfs: partition -> disk -> SCSI device -> ... -> USB device with serial."""
    usb = root / "sys/devices/pci0000:00/0000:00:14.0/usb1/1-1"
    scsi = usb / "1-1:1.0/host6/target6:0:0/6:0:0:0"
    disk = scsi / "block/sdz"
    part = disk / "sdz1"
    part.mkdir(parents=True)
    (usb / "idVendor").write_text("0781\n")
    (usb / "serial").write_text(serial + "\n")
    (scsi / "vendor").write_text("SanDisk \n")
    (scsi / "model").write_text("Cruzer Blade    \n")
    (disk / "removable").write_text("1\n")
    (part / "partition").write_text("1\n")
    os.symlink("../../../6:0:0:0", disk / "device")
    links = root / "sys/dev/block"
    links.mkdir(parents=True)
    os.symlink(os.path.relpath(part, links), links / "8:17")


def test_dev_disk_links_and_sysfs_serial(tmp_path: Path) -> None:
    _sysfs_usb_disk(tmp_path, "4C530001230528116193")
    dev = tmp_path / "dev"
    (dev / "disk/by-uuid").mkdir(parents=True)
    (dev / "disk/by-label").mkdir(parents=True)
    (dev / "sdz1").write_bytes(b"")  # stands where the device node would be
    os.symlink("../../sdz1", dev / "disk/by-uuid/4A3B-1C2D")
    os.symlink("../../sdz1", dev / "disk/by-label/\\xe6\\x97\\xa5\\xe6\\x9c\\xac\\x20USB")
    (dev / "other").write_bytes(b"")
    os.symlink("../../other", dev / "disk/by-uuid/0000-0000")
    info = _prober(tmp_path).identify(_record("/dev/sdz1", 8, 17))
    assert info.uuid == "4A3B-1C2D"
    assert info.label == "日本 USB"
    assert info.serial == "4C530001230528116193"
    assert info.vendor == "SanDisk" and info.model == "Cruzer Blade"
    assert info.removable is True
    assert info.sources == ("dev-disk", "sysfs")


def test_serial_only_volume_id(tmp_path: Path) -> None:
    _sysfs_usb_disk(tmp_path, "SER123")
    info = _prober(tmp_path, read_superblock=False).identify(_record("/dev/sdz1", 8, 17))
    assert info.uuid is None
    assert info.volume_id == "serial:SER123/1"


def test_nothing_known(tmp_path: Path) -> None:
    info = _prober(tmp_path).identify(_record("/dev/sdq1", 65, 1))
    assert info.volume_id == "dev:65:1"
    assert (info.uuid, info.label, info.serial, info.removable) == (None, None, None, None)
    tmpfs = _prober(tmp_path).identify(_record("custody-x", 0, 55, fs_type="tmpfs", mount_point="/media/x"))
    assert tmpfs.volume_id == "tmpfs:custody-x@/media/x"
    assert tmpfs.device is None
    ro = _prober(tmp_path).identify(_record("/dev/sdq1", 65, 1, options=("ro", "nosuid")))
    assert ro.read_only


def test_real_ext4_superblock(ext4_image: Callable[[str], tuple[Path, str]], tmp_path: Path) -> None:
    image, fs_uuid = ext4_image("日本")
    found = probe_superblock(image)
    assert found is not None
    assert (found.filesystem, found.uuid, found.label) == ("ext4", fs_uuid, "日本")
    # Through the prober: /dev/loop9 is the image (what root sees for a loop-mounted file).
    (tmp_path / "dev").mkdir(exist_ok=True)
    os.symlink(image, tmp_path / "dev/loop9")
    info = _prober(tmp_path).identify(_record("/dev/loop9", 7, 9, fs_type="ext4"))
    assert info.uuid == fs_uuid and info.label == "日本"
    assert info.volume_id == f"uuid:{fs_uuid}"
    assert info.sources == ("superblock",)
    assert _prober(tmp_path, read_superblock=False).identify(_record("/dev/loop9", 7, 9)).uuid is None


def _boot_sector() -> bytearray:
    sector = bytearray(36 * 1024)
    sector[0:3] = b"\xeb\x58\x90"
    sector[510:512] = b"\x55\xaa"
    return sector


def test_fat32_boot_sector(tmp_path: Path) -> None:
    sector = _boot_sector()
    sector[3:11] = b"MSWIN4.1"
    sector[11:13] = struct.pack("<H", 512)
    sector[66] = 0x29
    sector[67:71] = struct.pack("<I", 0x4A3B1C2D)
    sector[71:82] = b"SHIKUCHOSON"
    sector[82:90] = b"FAT32   "
    path = tmp_path / "fat32.img"
    path.write_bytes(sector)
    found = probe_superblock(path)
    assert found is not None
    assert (found.filesystem, found.uuid, found.label) == ("vfat", "4A3B-1C2D", "SHIKUCHOSON")


def test_fat16_boot_sector_with_no_name(tmp_path: Path) -> None:
    sector = _boot_sector()
    sector[38] = 0x29
    sector[39:43] = struct.pack("<I", 0x00C0FFEE)
    sector[43:54] = b"NO NAME    "
    sector[54:62] = b"FAT16   "
    path = tmp_path / "fat16.img"
    path.write_bytes(sector)
    found = probe_superblock(path)
    assert found is not None
    assert (found.filesystem, found.uuid, found.label) == ("vfat", "00C0-FFEE", None)


def test_exfat_boot_sector_and_label_entry(tmp_path: Path) -> None:
    image = bytearray(64 * 1024)
    image[0:3] = b"\xeb\x76\x90"
    image[3:11] = b"EXFAT   "
    struct.pack_into("<I", image, 88, 32)  # cluster heap offset, sectors
    struct.pack_into("<I", image, 96, 4)  # first cluster of the root directory
    struct.pack_into("<I", image, 100, 0x12345678)  # volume serial
    image[108] = 9  # 512-byte sectors
    image[109] = 3  # 8 sectors per cluster
    image[510:512] = b"\x55\xaa"
    root = (32 + (4 - 2) * 8) * 512
    label = "住民データ"
    image[root] = 0x83
    image[root + 1] = len(label)
    encoded = label.encode("utf-16-le")
    image[root + 2 : root + 2 + len(encoded)] = encoded
    path = tmp_path / "exfat.img"
    path.write_bytes(image)
    found = probe_superblock(path)
    assert found is not None
    assert (found.filesystem, found.uuid, found.label) == ("exfat", "1234-5678", "住民データ")


def test_ntfs_and_iso9660(tmp_path: Path) -> None:
    ntfs = _boot_sector()
    ntfs[3:11] = b"NTFS    "
    struct.pack_into("<Q", ntfs, 0x48, 0x5A2B3C4D5E6F7081)
    (tmp_path / "ntfs.img").write_bytes(ntfs)
    found = probe_superblock(tmp_path / "ntfs.img")
    assert found is not None and (found.filesystem, found.uuid) == ("ntfs", "5A2B3C4D5E6F7081")
    iso = bytearray(36 * 1024)
    iso[32768] = 1
    iso[32769:32774] = b"CD001"
    iso[32808:32840] = b"BACKUP_2026".ljust(32)
    (tmp_path / "iso.img").write_bytes(iso)
    found = probe_superblock(tmp_path / "iso.img")
    assert found is not None and (found.filesystem, found.label) == ("iso9660", "BACKUP_2026")


def test_unknown_or_unreadable(tmp_path: Path) -> None:
    (tmp_path / "zero.img").write_bytes(bytes(40 * 1024))
    assert probe_superblock(tmp_path / "zero.img") is None
    (tmp_path / "short.img").write_bytes(b"\x00" * 10)
    assert probe_superblock(tmp_path / "short.img") is None
    assert probe_superblock(tmp_path / "missing.img") is None


def test_body_fields_are_json_safe() -> None:
    from custody.agents.interfaces import VolumeInfo

    info = VolumeInfo(volume_id="dev:8:1", mount_point="/media/bad\udcffname", filesystem="vfat", label="日本")
    body = info.body_fields()
    assert body["mount_point"] == "/media/bad\ufffdname"
    assert body["mount_point_b64"] == "L21lZGlhL2JhZP9uYW1l"
    assert body["label"] == "日本"


@pytest.mark.skipif(os.geteuid() != 0, reason="a loop mount needs root")
def test_loop_mounted_ext4_identified(
    ext4_image: Callable[[str], tuple[Path, str]], loop_mounter: Callable[[Path, str], Path]
) -> None:
    from custody.agents.mountinfo import parse_mountinfo

    image, fs_uuid = ext4_image("日本")
    target = loop_mounter(image, "loopdisk")
    with open("/proc/self/mountinfo", "rb") as fh:
        (record,) = [m for m in parse_mountinfo(fh.read()).mounts if m.mount_point == str(target)]
    assert record.fs_type == "ext4" and record.major == 7
    info = VolumeProber().identify(record)
    assert info.uuid == fs_uuid
    assert info.label == "日本"
