"""Small widgets every page uses: plain-text labels and an empty-state panel.

Text that comes from the platform or from files is shown as *plain text*: a QLabel in its default
``AutoText`` mode would render a display name like ``<img src=…>`` as HTML.
"""

from __future__ import annotations

import html

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QVBoxLayout, QWidget

ERROR_COLOR = "#c62828"  # also the readiness view's red


def set_status(label: QLabel, text: str, *, error: bool = False) -> None:
    """A status line: ``text``, in the error colour when it reports a failure."""
    label.setText(text)
    label.setStyleSheet(f"color: {ERROR_COLOR};" if error else "")


TIP_LINE = 100  # characters a tooltip line may have before it wraps


def plain_tip(text: str | None) -> str | None:
    """A tooltip Qt shows verbatim. Qt renders a tooltip as rich text whenever it *might* be
    (``Qt::mightBeRichText``), and every page shows platform and file data in tooltips; so the text
    is escaped and wrapped in a paragraph that keeps its spaces and line breaks: always rich text,
    never markup of the data's own."""
    if not text:
        return None
    # Qt word-wraps a rich tooltip narrowly: keep short lines whole, let only long ones wrap.
    wrap = "pre-wrap" if max(map(len, text.splitlines() or [""])) > TIP_LINE else "pre"
    return f'<p style="white-space:{wrap}">' + html.escape(text, quote=False) + "</p>"


def plain_label(text: str = "", *, role: str | None = None, wrap: bool = False,
                selectable: bool = False) -> QLabel:
    label = QLabel()
    label.setTextFormat(Qt.TextFormat.PlainText)
    label.setText(text)
    label.setWordWrap(wrap)
    if role:
        label.setProperty("role", role)
    if selectable:
        label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    return label


EMPTY_STATE_WIDTH = 520


def fit_wrapped(*labels: QLabel) -> None:
    """Give fixed-width, word-wrapped labels the height their text needs.

    A box layout asks a centred item for its height at the *layout's* width, not the label's fixed
    width, so without this a two-line text was cut to its first line.
    """
    for label in labels:
        label.ensurePolished()
        # heightForWidth() is -1 for an empty text; a negative minimum makes Qt warn.
        label.setMinimumHeight(max(0, label.heightForWidth(label.width())) if label.wordWrap() else 0)


class EmptyState(QWidget):
    """A centred title and explanation, for "nothing here (yet)" and "could not load" states."""

    def __init__(self, title: str = "", text: str = "", parent: QWidget | None = None) -> None:
        super().__init__(parent)
        layout = QVBoxLayout(self)
        layout.addStretch(1)
        self.title = plain_label(title, role="empty-title")
        self.text = plain_label(text, role="muted", wrap=True)
        for label in (self.title, self.text):
            label.setAlignment(Qt.AlignmentFlag.AlignHCenter)
            label.setFixedWidth(EMPTY_STATE_WIDTH)
            layout.addWidget(label, 0, Qt.AlignmentFlag.AlignHCenter)
        layout.addStretch(2)
        fit_wrapped(self.title, self.text)

    def set_message(self, title: str, text: str = "") -> None:
        self.title.setText(title)
        self.text.setText(text)
        self.text.setVisible(bool(text))
        fit_wrapped(self.title, self.text)
