"""Which video capture devices are plugged in, followed through hot-plug.

:class:`DeviceSource` is the small interface the rest of the agent sees; :class:`UdevDeviceSource` is the
real one: it lists the ``video4linux`` devices udev knows and listens to udev's netlink monitor through a
``QSocketNotifier`` on the monitor's descriptor, so hot-plug arrives in Qt's event loop without threads or
polling. Only capture nodes count (``ID_V4L_CAPABILITIES`` contains ``capture``).
"""

from __future__ import annotations

import logging

import pyudev
from PySide6.QtCore import QObject, QSocketNotifier, Signal

from roomagent.core.sources import DeviceInfo

log = logging.getLogger(__name__)

SUBSYSTEM = "video4linux"


class DeviceSource(QObject):
    """The capture devices present now, and signals when that changes.

    ``device_added``/``device_removed`` carry the :class:`DeviceInfo`; ``devices_changed`` follows every
    change (also a device whose udev properties changed), after the specific signal.
    """

    device_added = Signal(object)
    device_removed = Signal(object)
    devices_changed = Signal()

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._devices: dict[str, DeviceInfo] = {}

    def start(self) -> None:
        """Learn the devices present and begin following hot-plug (no signals for the initial list)."""
        raise NotImplementedError

    def stop(self) -> None:
        """Stop following hot-plug."""
        raise NotImplementedError

    def devices(self) -> tuple[DeviceInfo, ...]:
        """The capture devices present, in no particular order."""
        return tuple(self._devices.values())

    def _seed(self, device: DeviceInfo) -> None:
        """Record a device found while starting (no signal: nobody has asked yet)."""
        if device.is_capture:
            self._devices[device.devpath] = device

    def _apply(self, action: str, device: DeviceInfo) -> None:
        """Apply one udev event (``add``, ``change``, ``remove``…) and emit what changed."""
        known = self._devices.get(device.devpath)
        if action == "remove" or not device.is_capture:
            # A node that stops being a capture device (a "change" that drops the capability) leaves, too.
            if known is not None:
                del self._devices[device.devpath]
                log.info("capture device removed: %s (%s)", known.devnode, known.product)
                self.device_removed.emit(known)
                self.devices_changed.emit()
            return
        if action not in ("add", "change", "bind", "move", "online"):
            return
        self._devices[device.devpath] = device
        if known is None:
            log.info("capture device added: %s (%s)", device.devnode, device.product)
            self.device_added.emit(device)
            self.devices_changed.emit()
        elif known != device:
            self.devices_changed.emit()


class UdevDeviceSource(DeviceSource):
    """:class:`DeviceSource` over pyudev: enumeration plus udev's monitor in the Qt event loop."""

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._context = None
        self._monitor = None
        self._notifier: QSocketNotifier | None = None

    def start(self) -> None:
        """Subscribe to udev's events, then enumerate; raise ``OSError`` when the netlink socket fails."""
        if self._notifier is not None:
            return
        self._context = pyudev.Context()
        # Listen to the udev daemon's messages (group "udev"), not the kernel's: they come after udev's rules
        # ran, so they carry ID_V4L_CAPABILITIES, ID_PATH and friends.
        self._monitor = pyudev.Monitor.from_netlink(self._context, source="udev")
        self._monitor.filter_by(SUBSYSTEM)  # installs a socket filter: other subsystems never wake us
        self._monitor.start()
        # Subscribed first, enumerated second: a card plugged in between is seen twice rather than never.
        self._devices.clear()
        for device in self._context.list_devices(subsystem=SUBSYSTEM):
            self._seed(_device_info(device))
        self._notifier = QSocketNotifier(self._monitor.fileno(), QSocketNotifier.Type.Read, self)
        self._notifier.activated.connect(self._on_notifier_activated)
        log.info("following %s devices: %d capture device(s) present", SUBSYSTEM, len(self._devices))

    def stop(self) -> None:
        """Disable the notifier before the monitor (and its descriptor) goes away."""
        if self._notifier is not None:
            self._notifier.setEnabled(False)
            self._notifier.deleteLater()
            self._notifier = None
        self._monitor = None
        self._context = None

    def _on_notifier_activated(self) -> None:
        # Drain what is queued; the notifier is level-triggered, so anything left wakes us again.
        while self._monitor is not None:
            device = self._monitor.poll(timeout=0)
            if device is None:
                return
            self._apply(device.action or "", _device_info(device))


def _device_info(device) -> DeviceInfo:
    properties = {str(k): str(v) for k, v in device.properties.items()}
    return DeviceInfo(devpath=device.device_path, devnode=device.device_node or properties.get("DEVNAME", ""),
                      properties=properties)
