"""Labels that show text as text.

A QLabel guesses by default (``Qt.AutoText``) whether its text is rich text, and rich text loads what an
``<img src=…>`` names: a ``show_message`` of ``<img src='/dev/zero'>`` made the agent read /dev/zero
until the kernel killed it. Text from outside the agent (notices, room names, meeting hosts, error
details, input names) reaches the screens only through these labels, which never interpret markup.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QWidget


def plain_label(text: str = "", parent: QWidget | None = None, **properties: object) -> QLabel:
    """A QLabel that shows ``text`` literally (``Qt.PlainText``), links and selection off.

    ``properties`` are Qt properties set at construction, e.g. ``objectName="hint", wordWrap=True``.
    """
    label = QLabel(parent, **properties)
    make_plain(label)
    label.setText(text)
    return label


def make_plain(label: QLabel) -> QLabel:
    """Switch an existing label to plain text (and no link following); returns it."""
    label.setTextFormat(Qt.TextFormat.PlainText)
    label.setOpenExternalLinks(False)
    label.setTextInteractionFlags(Qt.TextInteractionFlag.NoTextInteraction)
    return label
