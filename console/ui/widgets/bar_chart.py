"""A small stacked bar chart drawn with QPainter (PySide6-Essentials has no QtCharts).

Bars are (label, {series: value}) in order; each bar stacks its series in ``series`` order with the
colours given. Vertical bars suit time buckets and cycles, horizontal bars ranked lists (top error
codes). Clicking a bar emits ``sig_bar_clicked(index)``; hovering shows the bar's numbers as a
tooltip. Labels come from imported files, so they are drawn as text and the tooltip is escaped.

Signals:
    sig_bar_clicked(int): the index of the bar the user clicked.
"""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence

from PySide6.QtCore import QPointF, QRectF, QSize, Qt, Signal
from PySide6.QtGui import QColor, QFontMetrics, QMouseEvent, QPainter, QPaintEvent, QPalette
from PySide6.QtWidgets import QSizePolicy, QToolTip, QWidget

Bar = tuple[str, Mapping[str, float]]
_MARGIN = 6
_AXIS = 34  # room for the value axis labels


class BarChart(QWidget):
    sig_bar_clicked = Signal(int)

    def __init__(
        self,
        title: str,
        series: Sequence[str],
        colours: Mapping[str, str],
        *,
        horizontal: bool = False,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.title = title
        self.series = list(series)
        self.colours = {k: QColor(v) for k, v in colours.items()}
        self.horizontal = horizontal
        self.bars: list[Bar] = []
        self.empty_text = "No data"
        self.setMouseTracking(True)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setMinimumHeight(120)

    # ---- Public API
    def set_bars(self, bars: Sequence[Bar]) -> None:
        self.bars = [(str(label), dict(values)) for label, values in bars]
        self.update()

    def total(self, index: int) -> float:
        return float(sum(self.bars[index][1].values()))

    def shown(self) -> int:
        """How many bars are drawn: horizontal bars need a text line each, so the tail is left out."""
        if not self.horizontal:
            return len(self.bars)
        rows = int(self._plot_rect().height() // QFontMetrics(self.font()).height())
        return min(len(self.bars), max(rows, 1))

    def bar_rect(self, index: int) -> QRectF:
        """Where bar ``index`` is drawn (for hit tests and tests)."""
        plot = self._plot_rect()
        n = max(self.shown(), 1)
        if self.horizontal:  # rows at most ~1.6 text lines thick, so three codes do not look like a wall
            h = min(plot.height() / n, QFontMetrics(self.font()).height() * 1.6)
            return QRectF(plot.left(), plot.top() + index * h + 1, plot.width(), max(h - 2, 1))
        w = plot.width() / n
        return QRectF(plot.left() + index * w + 1, plot.top(), max(w - 2, 1), plot.height())

    def bar_at(self, pos: QPointF) -> int | None:
        for i in range(self.shown()):
            if self.bar_rect(i).contains(pos):
                return i
        return None

    def sizeHint(self) -> QSize:
        return QSize(360, 180)

    # ---- Qt overrides
    def mousePressEvent(self, event: QMouseEvent) -> None:
        i = self.bar_at(event.position())
        if i is not None and event.button() == Qt.MouseButton.LeftButton:
            self.sig_bar_clicked.emit(i)
        super().mousePressEvent(event)

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        i = self.bar_at(event.position())
        if i is None:
            QToolTip.hideText()
        else:
            label, values = self.bars[i]
            lines = [html.escape(label)] + [
                f"{html.escape(k)}: {int(v):,}" for k in self.series if (v := values.get(k))
            ]
            QToolTip.showText(event.globalPosition().toPoint(), "<br>".join(lines), self)
        super().mouseMoveEvent(event)

    def paintEvent(self, event: QPaintEvent) -> None:
        p = QPainter(self)
        try:
            self._paint(p)
        finally:
            p.end()

    # ---- drawing
    def _label_width(self) -> int:
        if not self.horizontal or not self.bars:
            return 0
        fm = QFontMetrics(self.font())
        return min(max(fm.horizontalAdvance(label) for label, _ in self.bars) + 8, self.width() * 2 // 5)

    def _plot_rect(self) -> QRectF:
        fm = QFontMetrics(self.font())
        top = fm.height() + _MARGIN * 2
        if self.horizontal:
            left = _MARGIN + self._label_width()
            return QRectF(
                left, top, max(self.width() - left - _MARGIN - 50, 10), max(self.height() - top - _MARGIN, 10)
            )
        bottom = fm.height() + _MARGIN
        return QRectF(
            _AXIS + _MARGIN,
            top,
            max(self.width() - _AXIS - 2 * _MARGIN, 10),
            max(self.height() - top - bottom - _MARGIN, 10),
        )

    def _paint(self, p: QPainter) -> None:
        pal = self.palette()
        text = pal.color(QPalette.ColorRole.WindowText)
        muted = QColor(text)
        muted.setAlpha(140)
        fm = QFontMetrics(self.font())
        p.setPen(text)
        p.drawText(
            QRectF(_MARGIN, _MARGIN, self.width() - 2 * _MARGIN, fm.height()),
            Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter,
            self.title,
        )
        if not self.bars:
            p.setPen(muted)
            p.drawText(self.rect(), Qt.AlignmentFlag.AlignCenter, self.empty_text)
            return
        shown = self.shown()
        peak = max((self.total(i) for i in range(shown)), default=0) or 1.0
        plot = self._plot_rect()
        p.setPen(muted)
        if not self.horizontal:
            p.drawText(
                QRectF(0, plot.top() - fm.height() / 2, _AXIS, fm.height()),
                Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter,
                _short(peak),
            )
            p.drawText(
                QRectF(0, plot.bottom() - fm.height() / 2, _AXIS, fm.height()),
                Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter,
                "0",
            )
            p.drawLine(plot.bottomLeft(), plot.bottomRight())
        p.setPen(Qt.PenStyle.NoPen)
        for i, (_label, values) in enumerate(self.bars[:shown]):
            r = self.bar_rect(i)
            offset = 0.0
            for name in self.series:
                v = float(values.get(name, 0) or 0)
                if v <= 0:
                    continue
                p.setBrush(self.colours.get(name, muted))
                if self.horizontal:
                    w = r.width() * v / peak
                    p.drawRect(QRectF(r.left() + offset, r.top(), w, r.height()))
                    offset += w
                else:
                    h = r.height() * v / peak
                    p.drawRect(QRectF(r.left(), r.bottom() - offset - h, r.width(), h))
                    offset += h
        p.setPen(text)
        if self.horizontal:
            for i, (label, _values) in enumerate(self.bars[:shown]):
                r = self.bar_rect(i)
                p.drawText(
                    QRectF(_MARGIN, r.top(), self._label_width() - 6, r.height()),
                    Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter,
                    fm.elidedText(label, Qt.TextElideMode.ElideMiddle, self._label_width() - 6),
                )
                total = self.total(i)
                end = r.left() + r.width() * total / peak + 4
                p.drawText(
                    QRectF(end, r.top(), 60, r.height()),
                    Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter,
                    f"{int(total):,}",
                )
        else:
            first, last = self.bars[0][0], self.bars[-1][0]
            y = plot.bottom() + 2
            p.setPen(muted)
            p.drawText(
                QRectF(plot.left(), y, plot.width() / 2, fm.height()),
                Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop,
                first,
            )
            if len(self.bars) > 1:
                p.drawText(
                    QRectF(plot.center().x(), y, plot.width() / 2, fm.height()),
                    Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignTop,
                    last,
                )


def _short(v: float) -> str:
    if v >= 1_000_000:
        return f"{v / 1_000_000:.1f}M"
    if v >= 10_000:
        return f"{v / 1000:.0f}k"
    return f"{int(v):,}"
