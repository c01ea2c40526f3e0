"""The room's video inputs (HDMI capture cards, document cameras) as plain values, free of Qt and udev.

The devices edge reports what udev sees as :class:`DeviceInfo` values and what each input carries as a
signal map; :func:`resolve_sources` turns those plus the profile's ``[[sources]]`` entries into one
:class:`SourceState` per input, the shape the core publishes. Configured inputs are always listed
(``present=False`` while unplugged); capture devices nobody configured are listed under their product name.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Protocol

from pydantic import BaseModel, ConfigDict

from roomagent.core.ids import NAME

#: Source ids as the profile spells them (``SourceSection.id``); generated ids follow the same rule.
SOURCE_ID = NAME
_ID_MAX = 64
#: Chromium appends the USB vendor and product id to the V4L2 card name: "Webcam C170 (046d:082b)".
_LABEL = re.compile(r"^(?P<name>.*?)(?: \((?P<model>[0-9a-fA-F]{4}:[0-9a-fA-F]{4})\))?$", re.DOTALL)
_NOT_SLUG = re.compile(r"[^a-z0-9]+")


class SourceSpec(Protocol):
    """What the core needs of a configured input (``roomagent.profile.SourceSection`` satisfies it)."""

    id: str
    name: str
    match: Mapping[str, str]
    mrl: str


class DeviceInfo(BaseModel):
    """One video4linux device as udev describes it: its sysfs path, device node and udev properties."""

    model_config = ConfigDict(frozen=True)

    devpath: str
    devnode: str = ""
    properties: dict[str, str] = {}

    @property
    def is_capture(self) -> bool:
        """True for a node that delivers pictures (udev's v4l_id writes ``ID_V4L_CAPABILITIES=:capture:``);
        a UVC camera's second node (metadata) has no ``capture`` and is not an input."""
        return "capture" in self.properties.get("ID_V4L_CAPABILITIES", "").split(":")

    @property
    def product(self) -> str:
        """The product name: the V4L2 card name udev read (``ID_V4L_PRODUCT``), else the USB model."""
        props = self.properties
        return props.get("ID_V4L_PRODUCT") or props.get("ID_MODEL") or self.devnode.rsplit("/", 1)[-1]

    @property
    def identity(self) -> str:
        """What stays the same when the card is unplugged and plugged back: the port (``ID_PATH``), else the
        serial (``ID_SERIAL``); the device node is not stable (video0 may come back as video2)."""
        return self.properties.get("ID_PATH") or self.properties.get("ID_SERIAL") or self.devpath

    def matches(self, match: Mapping[str, str]) -> bool:
        """True when every ``udev property = value`` pair of a profile entry holds for this device."""
        return bool(match) and all(self.properties.get(key) == value for key, value in match.items())


class SourceState(BaseModel):
    """One video input of the room as the core and the MQTT ``state`` see it."""

    model_config = ConfigDict(frozen=True)

    id: str
    name: str
    present: bool
    #: True: a picture arrives; False: the input reports no signal; None: unknown (busy, or the driver
    #: cannot tell, e.g. a plain UVC camera).
    signal: bool | None = None
    #: The device node, e.g. ``/dev/video0``; empty while unplugged.
    device: str = ""
    #: Best guess of the camera label Chromium shows (``MediaDeviceInfo.label``); empty while unplugged.
    label: str = ""
    product: str = ""


def chromium_label(device: DeviceInfo) -> str:
    """The ``MediaDeviceInfo.label`` Chromium gives this device: the V4L2 card name (which is what udev
    stores as ``ID_V4L_PRODUCT``) followed by `` (vid:pid)`` for a USB device."""
    props = device.properties
    vendor, model = props.get("ID_VENDOR_ID", ""), props.get("ID_MODEL_ID", "")
    name = props.get("ID_V4L_PRODUCT") or device.product
    return f"{name} ({vendor.lower()}:{model.lower()})" if vendor and model else name


def label_matches(source: SourceState, media_device_label: str) -> bool:
    """True when a browser camera label (``MediaDeviceInfo.label``) names this source's device.

    The card names must be equal (whitespace and case aside); the ``(vid:pid)`` suffix is compared only
    when both sides carry one, since non-USB capture devices have none."""
    if not source.present or not source.label or not media_device_label.strip():
        return False
    ours, theirs = _LABEL.match(source.label.strip()), _LABEL.match(media_device_label.strip())
    if ours["name"].strip().casefold() != theirs["name"].strip().casefold():
        return False
    return not (ours["model"] and theirs["model"]) or ours["model"].lower() == theirs["model"].lower()


def slugify(text: str) -> str:
    """A source id from a product name: lower-case letters, digits and dashes ("USB3 Video" → "usb3-video")."""
    slug = _NOT_SLUG.sub("-", text.lower()).strip("-")[:_ID_MAX].strip("-")
    return slug or "input"


def _unique(base: str, taken: set[str]) -> str:
    candidate, n = base, 1
    while candidate in taken:
        n += 1
        suffix = f"-{n}"
        candidate = base[: _ID_MAX - len(suffix)] + suffix
    taken.add(candidate)
    return candidate


def _devnode_order(device: DeviceInfo) -> tuple[int, str]:
    # video2 before video10: the first capture node of a card is its main one.
    digits = re.search(r"(\d+)$", device.devnode)
    return (int(digits[1]) if digits else 1 << 30, device.devnode)


def resolve_sources(
    configured: Sequence[SourceSpec],
    devices: Iterable[DeviceInfo],
    signals: Mapping[str, bool | None] | None = None,
) -> tuple[SourceState, ...]:
    """The room's inputs: every configured source (in profile order, present or not), then every other
    capture device under its product name with a unique id derived from it.

    ``signals`` maps device nodes to the last probe result. A configured source takes every capture
    device its ``match`` selects (a card with two capture nodes is still one input); the lowest node is
    the one shown.
    """
    signals = signals or {}
    free = sorted((d for d in devices if d.is_capture), key=_devnode_order)
    states: list[SourceState] = []
    for spec in configured:
        mine = [d for d in free if d.matches(spec.match)]
        free = [d for d in free if d not in mine]
        if mine:
            states.append(_state(spec.id, spec.name, mine[0], signals))
        else:
            states.append(SourceState(id=spec.id, name=spec.name, present=False))
    taken = {spec.id for spec in configured}
    # Ids of unknown devices depend on port order, not plug order, so they stay put across replugs.
    for device in sorted(free, key=lambda d: (d.product.casefold(), d.identity, _devnode_order(d))):
        states.append(_state(_unique(slugify(device.product), taken), device.product, device, signals))
    return tuple(states)


def _state(source_id: str, name: str, device: DeviceInfo, signals: Mapping[str, bool | None]) -> SourceState:
    return SourceState(id=source_id, name=name, present=True, signal=signals.get(device.devnode),
                       device=device.devnode, label=chromium_label(device), product=device.product)


def source_mrl(source: SourceState, configured: Sequence[SourceSpec] = ()) -> str | None:
    """What the local preview plays for ``source``: the profile's ``mrl`` override when set, else the
    device through VLC's V4L2 access (``v4l2:///dev/video0``); None for an unplugged source without one."""
    override = next((spec.mrl for spec in configured if spec.id == source.id and spec.mrl), "")
    if override:
        return override
    return f"v4l2://{source.device}" if source.present and source.device else None
