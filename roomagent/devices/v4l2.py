"""Does a capture input carry a picture right now? Asked of the V4L2 driver without holding the device.

The probe opens the node ``O_RDONLY | O_NONBLOCK``, asks, and closes it at once. V4L2 allows any number
of open file handles; only the handle that allocates buffers owns streaming, and the probe never does,
so it neither blocks nor disturbs Chromium or the preview while they stream from the same card.

What is asked, in order:

1. ``VIDIOC_QUERY_DV_TIMINGS`` — HDMI/DVI receivers (tc358743 on a Raspberry Pi, adv76xx, PCIe capture
   cards) sense the incoming timings: success means a locked signal, ``ENOLINK`` no signal, ``ENOLCK`` an
   unstable one, ``ERANGE`` timings the receiver cannot capture (no picture either). ``ENOTTY``/``ENODATA``
   mean the input has no DV timings: go on.
2. ``VIDIOC_G_INPUT`` + ``VIDIOC_ENUMINPUT`` on the current input — its ``status`` flags (``NO_POWER``,
   ``NO_SIGNAL``, ``NO_SYNC``, ``NO_H_LOCK``…) say "no picture". A status of 0 only means "a picture" when
   the input is a decoder that locks onto a signal (``V4L2_IN_CAP_STD`` or ``V4L2_IN_CAP_DV_TIMINGS``);
   a plain camera input (uvcvideo: every USB HDMI dongle and document camera) never fills it in.
3. Anything else — the node is busy (``EBUSY`` from a single-open driver), gone, not permitted, or the
   driver says nothing useful — is *unknown* (``None``), never a guess.

The system calls go through :class:`V4l2Io` so tests can stand in for a driver.
"""

from __future__ import annotations

import ctypes
import errno
import fcntl
import logging
import os
import sys
from typing import Protocol

log = logging.getLogger(__name__)


class V4l2Input(ctypes.Structure):
    """``struct v4l2_input`` (<linux/videodev2.h>); ctypes lays it out with the platform's C ABI."""

    _fields_ = [
        ("index", ctypes.c_uint32), ("name", ctypes.c_uint8 * 32), ("type", ctypes.c_uint32),
        ("audioset", ctypes.c_uint32), ("tuner", ctypes.c_uint32), ("std", ctypes.c_uint64),
        ("status", ctypes.c_uint32), ("capabilities", ctypes.c_uint32), ("reserved", ctypes.c_uint32 * 3),
    ]


def _ioc(direction: int, number: int, size: int) -> int:
    # _IOC() of <asm-generic/ioctl.h>: direction (1 write, 2 read) | size | type 'V' | number.
    return (direction << 30) | (size << 16) | (ord("V") << 8) | number


#: ``struct v4l2_dv_timings`` is packed: 4 + 128 bytes everywhere.
V4L2_DV_TIMINGS_SIZE = 132
VIDIOC_ENUMINPUT = _ioc(3, 26, ctypes.sizeof(V4l2Input))
VIDIOC_G_INPUT = _ioc(2, 38, 4)
VIDIOC_QUERY_DV_TIMINGS = _ioc(2, 99, V4L2_DV_TIMINGS_SIZE)

V4L2_IN_ST_NO_POWER = 0x00000001
V4L2_IN_ST_NO_SIGNAL = 0x00000002
V4L2_IN_ST_NO_H_LOCK = 0x00000100
V4L2_IN_ST_NO_V_LOCK = 0x00000400
V4L2_IN_ST_NO_SYNC = 0x00010000
V4L2_IN_ST_NO_CARRIER = 0x00040000
#: Status bits that each mean "no usable picture on this input".
NO_PICTURE = (V4L2_IN_ST_NO_POWER | V4L2_IN_ST_NO_SIGNAL | V4L2_IN_ST_NO_H_LOCK | V4L2_IN_ST_NO_V_LOCK
              | V4L2_IN_ST_NO_SYNC | V4L2_IN_ST_NO_CARRIER)
V4L2_IN_CAP_DV_TIMINGS = 0x00000002
V4L2_IN_CAP_STD = 0x00000004

_DV_NO_PICTURE = {errno.ENOLINK: "no signal", errno.ENOLCK: "signal not locked", errno.ERANGE: "timings out of range"}


class V4l2Io(Protocol):
    """The three system calls the probe makes; :class:`OsV4l2Io` is the real one."""

    def open(self, devnode: str) -> int:
        """Open ``devnode`` for queries only; raise ``OSError`` (e.g. ``EBUSY``) when that is refused."""

    def ioctl(self, fd: int, request: int, buf: bytearray) -> None:
        """Run ``request`` with ``buf`` as the argument structure, filled in place; raise ``OSError``."""

    def close(self, fd: int) -> None:
        """Close what :meth:`open` returned."""


class OsV4l2Io:
    """The kernel: ``os.open`` read-only and non-blocking, ``fcntl.ioctl``, ``os.close``."""

    def open(self, devnode: str) -> int:
        """Open for queries; never for streaming."""
        return os.open(devnode, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)

    def ioctl(self, fd: int, request: int, buf: bytearray) -> None:
        """``ioctl(2)`` filling ``buf`` in place."""
        fcntl.ioctl(fd, request, buf, True)

    def close(self, fd: int) -> None:
        """``close(2)``."""
        os.close(fd)


def probe_signal(devnode: str, io: V4l2Io) -> bool | None:
    """True: the input carries a picture; False: the driver says it does not; None: unknown (see module)."""
    try:
        fd = io.open(devnode)
    except OSError as exc:
        log.debug("signal probe: cannot open %s: %s", devnode, exc.strerror or exc)
        return None
    try:
        dv = _dv_timings(devnode, fd, io)
        return dv if dv is not None else _input_status(devnode, fd, io)
    finally:
        io.close(fd)


def _dv_timings(devnode: str, fd: int, io: V4l2Io) -> bool | None:
    try:
        io.ioctl(fd, VIDIOC_QUERY_DV_TIMINGS, bytearray(V4L2_DV_TIMINGS_SIZE))
    except OSError as exc:
        if exc.errno in _DV_NO_PICTURE:
            log.debug("signal probe: %s: %s", devnode, _DV_NO_PICTURE[exc.errno])
            return False
        return None  # ENOTTY, ENODATA, EINVAL…: this input has no DV timings to sense
    return True


def _input_status(devnode: str, fd: int, io: V4l2Io) -> bool | None:
    current = bytearray(4)
    try:
        io.ioctl(fd, VIDIOC_G_INPUT, current)
    except OSError:
        current = bytearray(4)  # drivers without input selection have exactly one input, index 0
    info = V4l2Input(index=int.from_bytes(current, sys.byteorder))
    raw = bytearray(info)
    try:
        io.ioctl(fd, VIDIOC_ENUMINPUT, raw)
    except OSError as exc:
        log.debug("signal probe: %s: no input status: %s", devnode, exc.strerror or exc)
        return None
    info = V4l2Input.from_buffer(raw)
    status, caps = info.status, info.capabilities
    if status & NO_PICTURE:
        return False
    if caps & (V4L2_IN_CAP_STD | V4L2_IN_CAP_DV_TIMINGS):
        return True  # a decoder/receiver that reports "no signal" when it has none, and it did not
    return None  # a camera-type input: status 0 is "not reported", not "fine"
