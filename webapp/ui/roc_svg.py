"""The geometry of a calibration's ROC plot, drawn server-side as inline SVG by ``ui/_roc.html``.

Why server-side: the console loads no chart library (the machines are offline and the Content-Security-Policy
allows scripts from this origin only), and a few polylines and circles need none. This module only turns
fractions into SVG coordinates; the template draws them, so every label passes through Django's escaping.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

WIDTH, HEIGHT = 440, 400
LEFT, RIGHT, TOP, BOTTOM = 56, 16, 16, 56  # margins for tick labels and axis titles
TICKS = (0.0, 0.25, 0.5, 0.75, 1.0)
SERIES = 6  # colour classes roc-c0 .. roc-c5 in app.css; more curves reuse them


@dataclass(frozen=True)
class Point:
    x: float
    y: float


@dataclass(frozen=True)
class Curve:
    """One detector's ROC curve and its chosen operating point."""

    detector: str
    colour: int
    points: str  # SVG polyline "x,y x,y ..."
    marker: Point | None
    fpr: float | None
    tpr: float | None
    auc: float | None


@dataclass(frozen=True)
class Tick:
    value: float
    label: str
    x: float
    y: float


@dataclass
class RocPlot:
    width: int = WIDTH
    height: int = HEIGHT
    left: float = LEFT
    top: float = TOP
    right: float = WIDTH - RIGHT
    bottom: float = HEIGHT - BOTTOM
    curves: list[Curve] = field(default_factory=list)
    ticks: list[Tick] = field(default_factory=list)
    fused: Point | None = None
    fused_fpr: float | None = None
    fused_tpr: float | None = None
    target_x: float | None = None

    @property
    def plot_width(self) -> float:
        return self.right - self.left

    @property
    def plot_height(self) -> float:
        return self.bottom - self.top

    @property
    def fused_diamond(self) -> str:
        """The fused operating point as a diamond, told apart from the detectors' circles without colour."""
        if self.fused is None:
            return ""
        x, y, r = self.fused.x, self.fused.y, 10
        return f"{x},{y - r} {x + r},{y} {x},{y + r} {x - r},{y}"

    @property
    def x_tick_y(self) -> float:
        """Where the x axis's tick labels sit (below the plot)."""
        return self.bottom + 18

    @property
    def y_tick_x(self) -> float:
        """Where the y axis's tick labels end (left of the plot)."""
        return self.left - 8

    @property
    def x_title(self) -> Point:
        return Point((self.left + self.right) / 2, self.height - 12)

    @property
    def y_title(self) -> Point:
        return Point(16, (self.top + self.bottom) / 2)


def _x(fpr: float) -> float:
    return round(LEFT + (WIDTH - LEFT - RIGHT) * min(max(float(fpr), 0.0), 1.0), 1)


def _y(tpr: float) -> float:
    return round(HEIGHT - BOTTOM - (HEIGHT - TOP - BOTTOM) * min(max(float(tpr), 0.0), 1.0), 1)


def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def roc_plot(result: Mapping[str, Any]) -> RocPlot | None:
    """The plot for a calibration's ``result``, or None when no detector has a ROC (no known-synthetic items).

    Each calibrated detector with a ROC gets its curve and a marker at its operating point on the set
    (``fpr_in_sample``, ``tpr``); the fused verdict's point is marked apart, and a vertical line shows the
    target false-positive rate.
    """
    curves = []
    detectors = result.get("detectors") or {}
    for name in sorted(detectors):
        entry = detectors[name]
        roc = entry.get("roc")
        if entry.get("status") != "calibrated" or not roc:
            continue
        fpr, tpr = _number(entry.get("fpr_in_sample")), _number(entry.get("tpr"))
        marker = Point(_x(fpr), _y(tpr)) if fpr is not None and tpr is not None else None
        curves.append(Curve(name, len(curves) % SERIES, " ".join(f"{_x(f)},{_y(t)}" for f, t in roc), marker,
                            fpr, tpr, _number(entry.get("auc"))))
    if not curves:
        return None
    plot = RocPlot(curves=curves)
    plot.ticks = [Tick(v, f"{v:g}", _x(v), _y(v)) for v in TICKS]
    fused = result.get("fused") or {}
    plot.fused_fpr, plot.fused_tpr = _number(fused.get("fpr_in_sample")), _number(fused.get("tpr"))
    if plot.fused_fpr is not None and plot.fused_tpr is not None:
        plot.fused = Point(_x(plot.fused_fpr), _y(plot.fused_tpr))
    target = _number(result.get("target_fpr"))
    plot.target_x = _x(target) if target is not None else None
    return plot
