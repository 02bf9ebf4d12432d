"""Leakage over time: each run's share of yesterday's spend that went to states with no demand.

The campaign's page draws the last runs' shares as a small bar chart, so the operator sees leakage
fall after CLOSRADS goes live and rise when something breaks; the every-campaign overview shows each
campaign's latest share, so an agency sees which client leaks. This module turns the figures each run
recorded (``measure_spend``'s result, the report's ``spend``) into that chart's geometry; the page's
template only writes it out as SVG (no JavaScript, nothing loaded from anywhere).

A run without a figure (Insights unavailable, a run stopped before it measured) is a gap with a
mark, never a bar at zero: a missing figure must not read as a clean day.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from closrads.core.spend import SpendSummary, money

# How many of a campaign's runs its page charts.
TREND_RUNS = 30
# The chart's value axis ends at the first of these (percent) that holds every share and the alert
# threshold: leakage is mostly a few percent, and a 0-100 axis would flatten it to nothing.
SCALE_TOPS = (5, 10, 20, 25, 50, 100)
# The room a "YYYY-MM-DD" label takes on the time axis, in the chart's units (11 px type).
DATE_LABEL_WIDTH = 70
# How much of a recorded "unavailable" reason a tooltip repeats (the run's map has it whole).
REASON_LIMIT = 300
NOT_MEASURED = "not measured (the run stopped before measure_spend, or is still running)"


@dataclass(frozen=True)
class SpendPoint:
    """One run's leakage figure, or why it has none."""

    run_id: str
    day: str  # the run's date (UTC, YYYY-MM-DD), for the axis and the table
    share: float | None  # percent of yesterday's spend in states with no demand; None: no figure
    text: str  # the figure in words ("4.8% of $240.00 ($11.52 in states with no demand)"), or why none
    alert_percent: float | None = None  # the campaign's alert threshold the run used, if set

    @property
    def above_alert(self) -> bool:
        return self.share is not None and self.alert_percent is not None and self.share > self.alert_percent

    @property
    def share_text(self) -> str:
        return f"{self.share:.1f}%" if self.share is not None else "no figure"


def spend_point(run_id: str, when: datetime | None, spend: object) -> SpendPoint:
    """The point of one run from what it recorded as its spend (``None``: nothing recorded)."""
    day = when.strftime("%Y-%m-%d") if when else ""
    summary = SpendSummary.from_dict(spend)
    if summary is None:
        return SpendPoint(run_id, day, None, NOT_MEASURED)
    if summary.unavailable is not None:
        return SpendPoint(run_id, day, None, f"spend unavailable: {summary.unavailable[:REASON_LIMIT]}")
    yesterday = summary.windows.get("yesterday")
    if yesterday is None:
        return SpendPoint(run_id, day, None, "spend unavailable: Insights returned no figures")
    if not yesterday.total:
        return SpendPoint(run_id, day, None, "nothing was spent yesterday", summary.alert_percent)
    if yesterday.no_demand > yesterday.total:
        return SpendPoint(run_id, day, None, "no figure: the recorded amounts do not add up", summary.alert_percent)
    share = yesterday.no_demand_share or 0.0
    text = (
        f"{share:.1f}% of {money(yesterday.total, summary.currency)} "
        f"({money(yesterday.no_demand, summary.currency)} in states with no demand)"
    )
    return SpendPoint(run_id, day, share, text, summary.alert_percent)


@dataclass(frozen=True)
class Bar:
    """One run's place on the chart (SVG user units); ``height`` 0 with ``gap``: no figure."""

    point: SpendPoint
    x: float
    y: float
    width: float
    height: float

    @property
    def gap(self) -> bool:
        return self.point.share is None


@dataclass(frozen=True)
class Tick:
    percent: float
    y: float

    @property
    def label(self) -> str:
        return f"{self.percent:g}%"


@dataclass(frozen=True)
class SpendChart:
    """The last runs' leakage as bars, oldest on the left; every size in the SVG's own units (its
    ``viewBox``), so the browser scales the whole chart to the tab's width."""

    points: tuple[SpendPoint, ...]  # oldest first
    width: int = 600
    height: int = 170
    left: int = 44  # room for the axis labels
    right: int = 8
    top_margin: int = 12
    bottom: int = 28  # room for the first and last run's date

    @property
    def plot_width(self) -> float:
        return self.width - self.left - self.right

    @property
    def plot_height(self) -> float:
        return self.height - self.top_margin - self.bottom

    @property
    def baseline(self) -> float:
        return self.top_margin + self.plot_height

    @property
    def scale_top(self) -> int:
        """The value axis's end, in percent."""
        highest = max([p.share or 0.0 for p in self.points] + [self.alert_percent or 0.0])
        return next((top for top in SCALE_TOPS if highest <= top), SCALE_TOPS[-1])

    @property
    def alert_percent(self) -> float | None:
        """The alert threshold the newest run that had one used (the line across the chart)."""
        return next((p.alert_percent for p in reversed(self.points) if p.alert_percent is not None), None)

    def y_of(self, percent: float) -> float:
        return round(self.baseline - self.plot_height * min(percent, self.scale_top) / self.scale_top, 1)

    @property
    def slot(self) -> float:
        """Each run's width: fixed for ``TREND_RUNS`` runs, so bars keep their size as runs accumulate."""
        return self.plot_width / max(TREND_RUNS, len(self.points))

    def bars(self) -> list[Bar]:
        bars = []
        for index, point in enumerate(self.points):
            x = round(self.left + index * self.slot + self.slot * 0.15, 1)
            width = round(self.slot * 0.7, 1)
            if point.share is None:
                bars.append(Bar(point, x, self.baseline, width, 0.0))
                continue
            # a share of 0 still shows as a sliver: the run measured, and nothing leaked
            y = min(self.y_of(point.share), self.baseline - 1.5)
            bars.append(Bar(point, x, y, width, round(self.baseline - y, 1)))
        return bars

    def ticks(self) -> list[Tick]:
        return [Tick(p, self.y_of(p)) for p in (0, self.scale_top / 2, self.scale_top)]

    def dates(self) -> list[tuple[float, str, str]]:
        """The time axis's labels, (x, text-anchor, day): the first run's day under its bar, and the last
        run's under its own where it differs and there is room for both."""
        bars = self.bars()
        first, last = bars[0], bars[-1]
        labels = [(first.x, "start", first.point.day)]
        room = last.x + last.width - first.x
        if last.point.day != first.point.day and room >= 2 * DATE_LABEL_WIDTH:
            labels.append((round(last.x + last.width, 1), "end", last.point.day))
        return [label for label in labels if label[2]]

    @property
    def alert_y(self) -> float | None:
        return self.y_of(self.alert_percent) if self.alert_percent is not None else None

    def description(self) -> str:
        """The chart in words (its SVG ``desc``, and what a screen reader says)."""
        measured = [p for p in self.points if p.share is not None]
        if not measured:
            return f"None of the last {len(self.points)} runs has a spend figure."
        latest, highest = measured[-1], max(measured, key=lambda p: p.share or 0.0)
        text = (
            f"{len(measured)} of the last {len(self.points)} runs measured spend. The latest, {latest.run_id}: "
            f"{latest.share_text}; the highest, {highest.run_id}: {highest.share_text}."
        )
        if self.alert_percent is not None:
            text += f" Alert threshold: {self.alert_percent:g}%."
        return text


def spend_chart(points: list[SpendPoint]) -> SpendChart | None:
    """The chart of these points (oldest first), or ``None`` when no run recorded anything to draw."""
    points = points[-TREND_RUNS:]
    return SpendChart(tuple(points)) if points else None
