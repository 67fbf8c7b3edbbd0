"""The provisioning-log charts: events over time by status, top error codes, events per cycle.

The numbers are SQL aggregates of the filtered view (``Dataset.timeline/top_errors/per_cycle``)
computed by the page on a worker; this widget only draws them and turns a click on a bar into a
filter request (a time bucket, an error code, a cycle).

Signals:
    sig_time_clicked(object, object): a time bucket was clicked: (since, until) as aware datetimes.
    sig_error_clicked(str): an error-code bar was clicked.
    sig_cycle_clicked(str): a cycle bar was clicked.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QHBoxLayout, QVBoxLayout, QWidget

from console.core.entra_log_schema import STATUSES
from console.ui.widgets.bar_chart import BarChart
from console.ui.widgets.common import plain_label

SERIES = (*STATUSES, "(none)")
COLOURS = {
    "success": "#2e7d32",
    "failure": "#c62828",
    "skipped": "#8a8a8a",
    "warning": "#d08a00",
    "(none)": "#5c6bc0",
}


@dataclass(frozen=True)
class ChartData:
    bucket: str = "day"
    timeline: list[tuple[datetime, dict[str, int]]] = field(default_factory=list)
    errors: list[tuple[str, int]] = field(default_factory=list)
    cycles: list[tuple[str, Any, dict[str, int]]] = field(default_factory=list)

    @classmethod
    def from_rows(
        cls,
        bucket: str,
        timeline_rows: list[tuple[Any, ...]],
        errors: list[tuple[str, int]],
        cycles: list[tuple[str, Any, dict[str, int]]],
    ) -> ChartData:
        buckets: dict[datetime, dict[str, int]] = {}
        for start, status, n in timeline_rows:
            buckets.setdefault(start, {})[str(status)] = int(n)
        return cls(bucket, sorted(buckets.items()), errors, cycles)


class LogChartsPanel(QWidget):
    sig_time_clicked = Signal(object, object)
    sig_error_clicked = Signal(str)
    sig_cycle_clicked = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.data = ChartData()
        self.timeline = BarChart("Events over time by status", SERIES, COLOURS)
        self.errors = BarChart("Top error codes", ("count",), {"count": COLOURS["failure"]}, horizontal=True)
        self.cycles = BarChart("Events per cycle (newest 30)", SERIES, COLOURS)
        self.errors.empty_text = "No errors in this view"
        legend = QHBoxLayout()
        for status in SERIES:
            swatch = plain_label("■")
            swatch.setStyleSheet(f"color: {COLOURS[status]};")
            legend.addWidget(swatch)
            legend.addWidget(plain_label(status, role="muted"))
        legend.addStretch(1)
        self.hint = plain_label("Click a bar to filter the table.", role="muted")
        legend.addWidget(self.hint)
        top = QHBoxLayout()
        top.addWidget(self.timeline, 3)
        top.addWidget(self.errors, 2)
        outer = QVBoxLayout(self)
        outer.setContentsMargins(4, 4, 4, 4)
        outer.addLayout(legend)
        outer.addLayout(top, 1)
        outer.addWidget(self.cycles, 1)
        self.timeline.sig_bar_clicked.connect(self._on_time)
        self.errors.sig_bar_clicked.connect(lambda i: self.sig_error_clicked.emit(self.data.errors[i][0]))
        self.cycles.sig_bar_clicked.connect(lambda i: self.sig_cycle_clicked.emit(self.data.cycles[i][0]))

    # ---- Public API
    def set_data(self, data: ChartData) -> None:
        self.data = data
        fmt = "%Y-%m-%d %H:00" if data.bucket == "hour" else "%Y-%m-%d"
        self.timeline.title = f"Events over time by status (per {data.bucket}, UTC)"
        self.timeline.set_bars([(start.strftime(fmt), counts) for start, counts in data.timeline])
        self.errors.set_bars([(code, {"count": n}) for code, n in data.errors])
        self.cycles.set_bars([(cycle, counts) for cycle, _t, counts in data.cycles])
        # The platform's own log has no cycles: give the space to the other charts instead.
        self.cycles.setVisible(bool(data.cycles) or not data.timeline)

    def clear(self) -> None:
        self.set_data(ChartData())

    # ---- slots
    def _on_time(self, index: int) -> None:
        start = self.data.timeline[index][0]
        step = timedelta(hours=1) if self.data.bucket == "hour" else timedelta(days=1)
        self.sig_time_clicked.emit(start, start + step)
