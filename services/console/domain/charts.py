"""Bar charts as the report page draws them in inline SVG: each bar's label, value and length,
computed here so the template only places them (no chart code runs in the browser)."""

from __future__ import annotations

from typing import NamedTuple

BAR_HEIGHT = 28
GAP = 8
LABEL_WIDTH = 0.45  # the share of the width the labels take, the bars the rest


class Bar(NamedTuple):
    label: str
    value: int
    y: int
    width: float  # percent of the bars' area (0 to 100)


class Chart(NamedTuple):
    title: str
    bars: tuple[Bar, ...]
    height: int


def bar_chart(title: str, counts: list[tuple[str, int]]) -> Chart:
    """Bars in the given order, the largest value full length; zeros drawn as no bar."""
    largest = max((value for _label, value in counts), default=0)
    bars = tuple(
        Bar(
            label=label,
            value=value,
            y=i * (BAR_HEIGHT + GAP),
            width=0.0 if largest == 0 else round(100 * value / largest, 1),
        )
        for i, (label, value) in enumerate(counts)
    )
    return Chart(title=title, bars=bars, height=max(1, len(bars)) * (BAR_HEIGHT + GAP))
