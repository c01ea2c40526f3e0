"""Stand-ins for what cannot exist here: a V4L2 driver behind the signal probe, and a device source."""

from __future__ import annotations

import errno
import itertools
import os
from dataclasses import dataclass

from roomagent.core.sources import DeviceInfo
from roomagent.devices import v4l2
from roomagent.devices.discovery import DeviceSource


@dataclass
class Node:
    """How one fake device node answers. ``dv``: None (no DV timings: ENOTTY), 0 (locked) or an errno;
    ``status``/``caps``: what VIDIOC_ENUMINPUT reports, ``status=None`` for a driver without it."""

    open_errno: int = 0
    dv: int | None = None
    input_index: int | None = 0
    status: int | None = 0
    caps: int = 0


class FakeDriver:
    """Implements :class:`roomagent.devices.v4l2.V4l2Io` over :class:`Node` descriptions; records calls."""

    def __init__(self, **nodes: Node) -> None:
        self.nodes = {f"/dev/{name}": node for name, node in nodes.items()}
        self.open_fds: dict[int, str] = {}
        self.opens: list[str] = []
        self.enum_indexes: list[int] = []
        self._fds = itertools.count(100)

    def open(self, devnode: str) -> int:
        """Refuse like the kernel would, or hand out a descriptor."""
        self.opens.append(devnode)
        node = self.nodes.get(devnode)
        code = errno.ENOENT if node is None else node.open_errno
        if code:
            raise OSError(code, os.strerror(code), devnode)
        fd = next(self._fds)
        self.open_fds[fd] = devnode
        return fd

    def ioctl(self, fd: int, request: int, buf: bytearray) -> None:
        """Answer the three requests the probe makes."""
        node = self.nodes[self.open_fds[fd]]
        if request == v4l2.VIDIOC_QUERY_DV_TIMINGS:
            code = errno.ENOTTY if node.dv is None else node.dv
            if code:
                raise OSError(code, os.strerror(code))
        elif request == v4l2.VIDIOC_G_INPUT:
            if node.input_index is None:
                raise OSError(errno.ENOTTY, os.strerror(errno.ENOTTY))
            buf[:4] = node.input_index.to_bytes(4, "little")
        elif request == v4l2.VIDIOC_ENUMINPUT:
            if node.status is None:
                raise OSError(errno.ENOTTY, os.strerror(errno.ENOTTY))
            info = v4l2.V4l2Input.from_buffer(buf)
            self.enum_indexes.append(info.index)
            info.status, info.capabilities = node.status, node.caps
        else:  # pragma: no cover - the probe asks nothing else
            raise AssertionError(f"unexpected ioctl {request:#x}")

    def close(self, fd: int) -> None:
        """Forget the descriptor."""
        del self.open_fds[fd]


class FakeDeviceSource(DeviceSource):
    """A :class:`DeviceSource` a test plugs devices into."""

    def __init__(self, *initial: DeviceInfo) -> None:
        super().__init__()
        self._initial = initial
        self.started = False

    def start(self) -> None:
        """Present the initial devices."""
        self.started = True
        for device in self._initial:
            self._seed(device)

    def stop(self) -> None:
        """Nothing to release."""
        self.started = False

    def plug(self, device: DeviceInfo) -> None:
        """As if udev said ``add``."""
        self._apply("add", device)

    def unplug(self, device: DeviceInfo) -> None:
        """As if udev said ``remove``."""
        self._apply("remove", device)


def device(tag: str, n: int, product: str = "USB3 Video", **props: str) -> DeviceInfo:
    """A capture node ``/dev/<tag>`` on USB port ``n``."""
    properties = {"ID_V4L_CAPABILITIES": ":capture:", "ID_V4L_PRODUCT": product,
                  "ID_PATH": f"pci-0000:00:14.0-usb-0:{n}:1.0", **props}
    return DeviceInfo(devpath=f"/devices/usb1/1-{n}/video4linux/{tag}", devnode=f"/dev/{tag}", properties=properties)
