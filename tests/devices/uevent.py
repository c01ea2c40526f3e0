"""Play udevd: send a device event the way systemd's udevd broadcasts it, so a real libudev monitor hears it.

udevd multicasts on NETLINK_KOBJECT_UEVENT, group 2 ("udev"), one datagram per event: a 40-byte header
followed by the device's properties as ``KEY=value`` strings, each NUL-terminated. The header
(systemd's ``monitor_netlink_header``):

====  ==========================  ====================================================================
 0    ``prefix[8]``               ``"libudev\\0"`` (kernel messages start with ``ACTION@DEVPATH`` instead)
 8    ``magic``                   0xfeedcafe, network byte order
12    ``header_size``             40, host order
16    ``properties_off``          40, host order
20    ``properties_len``          host order
24    ``filter_subsystem_hash``   MurmurHash2(subsystem, seed 0), network order
28    ``filter_devtype_hash``     MurmurHash2(devtype) or 0, network order
32    ``filter_tag_bloom_hi/lo``  64-bit bloom of the device's tags, network order, two words
====  ==========================  ====================================================================

A monitor with ``filter_by(subsystem)`` installs a BPF socket filter that compares the hash words with the
ones it computes itself, so they must be exact. The receiver also requires sender credentials of uid 0
(the kernel attaches them; only root can send to the group) and ``ACTION``, ``DEVPATH``, ``SUBSYSTEM`` and
a non-zero ``SEQNUM`` among the properties.
"""

from __future__ import annotations

import fcntl
import itertools
import os
import socket
import struct
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

NETLINK_KOBJECT_UEVENT = 15
UDEV_GROUP = 2
UDEV_MONITOR_MAGIC = 0xFEEDCAFE
HEADER_SIZE = 40
_MASK = 0xFFFFFFFF


def murmur2(data: bytes, seed: int = 0) -> int:
    """MurmurHash2 (32-bit, Austin Appleby), reading 4-byte blocks little-endian as libudev does on x86/ARM."""
    m, length = 0x5BD1E995, len(data)
    h = (seed ^ length) & _MASK
    whole = length - length % 4
    for (k,) in struct.iter_unpack("<I", data[:whole]):
        k = (k * m) & _MASK
        k ^= k >> 24
        k = (k * m) & _MASK
        h = ((h * m) & _MASK) ^ k
    tail = data[whole:]
    if tail:
        for i in reversed(range(len(tail))):
            h ^= tail[i] << (8 * i)
        h = (h * m) & _MASK
    h ^= h >> 13
    h = (h * m) & _MASK
    return h ^ (h >> 15)


def tag_bloom(tags: tuple[str, ...]) -> int:
    """libudev's 64-bit tag bloom: four 6-bit slices of each tag's hash select the bits."""
    bits = 0
    for tag in tags:
        h = murmur2(tag.encode())
        for shift in (0, 6, 12, 18):
            bits |= 1 << ((h >> shift) & 63)
    return bits


def udev_message(properties: dict[str, str], tags: tuple[str, ...] = ()) -> bytes:
    """One udevd datagram for a device with these properties (ACTION, DEVPATH, SUBSYSTEM, SEQNUM…)."""
    body = b"".join(f"{key}={value}".encode() + b"\0" for key, value in properties.items())
    devtype = properties.get("DEVTYPE")
    bloom = tag_bloom(tags)
    header = (b"libudev\0" + struct.pack("!I", UDEV_MONITOR_MAGIC)
              + struct.pack("=III", HEADER_SIZE, HEADER_SIZE, len(body))
              + struct.pack("!IIII", murmur2(properties["SUBSYSTEM"].encode()),
                            murmur2(devtype.encode()) if devtype else 0, bloom >> 32, bloom & _MASK))
    assert len(header) == HEADER_SIZE
    return header + body


#: Held shared by every :class:`FakeUdevd` (senders do not disturb each other: each test follows only its
#: own tagged devices) and exclusively by a test whose agent follows every capture device on the machine,
#: as the agent in the sway session does: it must not hear another test's hot-plugs.
BROADCAST_LOCK = Path(tempfile.gettempdir()) / "roomagent-tests-udev-broadcast.lock"


@contextmanager
def _broadcast_lock(mode: int) -> Iterator[None]:
    with open(BROADCAST_LOCK, "a") as lock:
        fcntl.flock(lock, mode)  # released when the file closes
        yield


def no_foreign_devices():
    """While held, no other test on this machine sends fake device events (a context manager)."""
    return _broadcast_lock(fcntl.LOCK_EX)


class FakeUdevd:
    """Sends device events to every libudev monitor in this network namespace (needs root)."""

    def __init__(self) -> None:
        self._sock: socket.socket | None = None
        self._seqnum = itertools.count(int.from_bytes(os.urandom(3), "big") + 1)
        self._lock = _broadcast_lock(fcntl.LOCK_SH)

    def __enter__(self) -> "FakeUdevd":
        self._lock.__enter__()
        self._sock = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, NETLINK_KOBJECT_UEVENT)
        self._sock.bind((0, 0))
        return self

    def __exit__(self, *exc: object) -> None:
        self._sock.close()
        self._lock.__exit__(None, None, None)

    def send(self, action: str, properties: dict[str, str]) -> None:
        """Broadcast ``action`` (add, remove, change) for a device with ``properties``."""
        message = udev_message({"ACTION": action, **properties, "SEQNUM": str(next(self._seqnum))})
        try:
            self._sock.sendto(message, (0, UDEV_GROUP))
        except ConnectionRefusedError:
            pass  # the kernel says so when no one listens to the group; udevd ignores it too


def capture_device(tag: str, index: int, **extra: str) -> dict[str, str]:
    """udev properties of a USB HDMI capture card's capture node, unique per ``tag`` (tests running in
    parallel on one machine each see only their own devices)."""
    devpath = f"/devices/pci0000:00/0000:00:14.0/usb1/1-{index}/1-{index}:1.0/video4linux/video{tag}"
    return {
        "DEVPATH": devpath, "SUBSYSTEM": "video4linux", "DEVNAME": f"/dev/video-{tag}",
        "MAJOR": "81", "MINOR": str(index), "ID_V4L_VERSION": "2", "ID_V4L_CAPABILITIES": ":capture:",
        "ID_V4L_PRODUCT": "USB3 Video", "ID_VENDOR_ID": "534d", "ID_MODEL_ID": "2109",
        "ID_SERIAL": f"MACROSILICON_USB3_Video_{tag}", "ID_PATH": f"pci-0000:00:14.0-usb-0:{index}:1.0",
        "USEC_INITIALIZED": "1000", **extra,
    }
