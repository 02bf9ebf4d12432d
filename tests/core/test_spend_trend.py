"""The leakage chart's model: each run's share from what it recorded, gaps that never read as zero, and
an axis that keeps a few percent visible."""

from datetime import UTC, datetime

from closrads.core.spend_trend import NOT_MEASURED, TREND_RUNS, SpendChart, spend_chart, spend_point

WHEN = datetime(2026, 12, 6, 7, 0, tzinfo=UTC)


def spend(total: float, no_demand: float, **extra) -> dict:
    window = {"total": total, "no_demand": no_demand, "by_state": {}, "other": 0.0}
    return {"currency": "USD", "yesterday": window, "last_7_days": window, **extra}


def test_a_runs_point_is_its_share_of_yesterdays_spend_in_no_demand_states():
    point = spend_point("r1", WHEN, spend(240.0, 12.0, alert_percent=4.0))
    assert point.share == 5.0 and point.day == "2026-12-06"
    assert point.text == "5.0% of $240.00 ($12.00 in states with no demand)"
    assert point.above_alert and point.share_text == "5.0%"


def test_a_run_without_a_figure_says_why_and_has_no_share():
    assert spend_point("r", WHEN, None).text == NOT_MEASURED
    unavailable = spend_point("r", WHEN, {"unavailable": "Insights answered HTTP 503"})
    assert unavailable.share is None and unavailable.text == "spend unavailable: Insights answered HTTP 503"
    nothing = spend_point("r", WHEN, spend(0.0, 0.0))
    assert nothing.share is None and nothing.text == "nothing was spent yesterday"
    assert spend_point("r", None, ["not", "a", "dict"]).share is None
    assert len(spend_point("r", WHEN, {"unavailable": "x" * 100_000}).text) < 400  # a tooltip, not a dump


def test_hostile_figures_never_make_a_share_above_100_or_below_0():
    point = spend_point("r", WHEN, {"currency": "USD", "yesterday": {"total": "-5", "no_demand": "nan"}})
    assert point.share is None  # a negative total is read as nothing spent
    point = spend_point("r", WHEN, {"currency": "USD", "yesterday": {"total": "10", "no_demand": "1e9"}})
    assert point.share is None and "do not add up" in point.text
    chart = SpendChart((spend_point("r", WHEN, spend(100.0, 100.0)),))
    assert chart.scale_top == 100 and chart.bars()[0].y == chart.top_margin  # the whole axis, not beyond


def test_the_axis_ends_at_the_first_step_holding_every_share_and_the_alert():
    def chart_of(*shares, alert=None):
        return spend_chart(
            [spend_point(f"r{i}", WHEN, spend(100.0, s, alert_percent=alert)) for i, s in enumerate(shares)]
        )

    assert chart_of(0.0, 1.2, 3.0).scale_top == 5
    assert chart_of(0.0, 7.5).scale_top == 10
    assert chart_of(1.0, alert=15).scale_top == 20
    assert chart_of(60.0).scale_top == 100


def test_bars_are_proportional_a_zero_is_a_sliver_and_a_gap_has_no_bar():
    points = [
        spend_point("a", WHEN, spend(100.0, 2.0)),
        spend_point("b", WHEN, spend(100.0, 4.0)),
        spend_point("c", WHEN, spend(100.0, 0.0)),
        spend_point("d", WHEN, {"unavailable": "throttled"}),
    ]
    chart = spend_chart(points)
    a, b, zero, gap = chart.bars()
    assert b.height == 2 * a.height and b.y + b.height == chart.baseline
    assert 0 < zero.height < a.height and not zero.gap
    assert gap.gap and gap.height == 0
    assert a.x < b.x < zero.x < gap.x  # oldest on the left
    assert chart.description().startswith("3 of the last 4 runs measured spend. The latest, c: 0.0%")


def test_only_the_last_runs_are_charted_and_none_means_no_chart():
    points = [spend_point(f"r{i}", WHEN, spend(100.0, 1.0)) for i in range(TREND_RUNS + 5)]
    chart = spend_chart(points)
    assert len(chart.points) == TREND_RUNS and chart.points[0].run_id == "r5"
    assert chart.bars()[-1].x + chart.bars()[-1].width <= chart.width - chart.right
    assert spend_chart([]) is None


def test_the_alert_line_is_the_newest_threshold():
    points = [spend_point("a", WHEN, spend(100.0, 1.0, alert_percent=3.0)), spend_point("b", WHEN, spend(100.0, 1.0))]
    chart = spend_chart(points)
    assert chart.alert_percent == 3.0 and chart.alert_y == chart.y_of(3.0)
    assert "Alert threshold: 3%." in chart.description()


def test_the_time_axis_names_the_first_and_last_day_only_where_both_fit():
    def chart_of(days: list[int]):
        return spend_chart([spend_point(f"r{d}", WHEN.replace(day=d), spend(100.0, 1.0)) for d in days])

    assert [day for _, _, day in chart_of([1, 2, 3, 4, 5, 6, 7, 8]).dates()] == ["2026-12-01", "2026-12-08"]
    assert [day for _, _, day in chart_of([1, 2]).dates()] == ["2026-12-01"]  # too close: no overlap
    assert [day for _, _, day in chart_of([6, 6, 6, 6, 6, 6, 6, 6]).dates()] == ["2026-12-06"]
