"""Charts as inline SVG strings: matplotlib ``Figure`` objects on the SVG canvas, no pyplot state.

Everything is drawn in black and greys, bars with hatching, so that charts read in grey-scale print.
A fixed hash salt and no date keep the SVG identical from run to run.

NOTE: matplotlib is imported when the first chart is drawn, not with this module: it takes about 0.3 s,
and ``audit --findings-only``, ``generate`` and ``refdata`` draw no chart.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from typing import TYPE_CHECKING

from markupsafe import Markup

if TYPE_CHECKING:
    from matplotlib.axis import Axis
    from matplotlib.figure import Figure

GREYS = ("#3a3a3a", "#7a7a7a", "#a8a8a8", "#d0d0d0")
HATCHES = ("", "//", "..", "xx")


def _compact(value: float) -> str:
    """Axis money labels: $950, $40k, $1.2M."""
    if abs(value) >= 1_000_000:
        return f"${value / 1_000_000:.1f}M"
    if abs(value) >= 1_000:
        return f"${value / 1_000:.0f}k"
    return f"${value:,.0f}"


def _dollars(axis: Axis) -> None:
    from matplotlib.ticker import FuncFormatter, MaxNLocator

    axis.set_major_locator(MaxNLocator(nbins=5))
    axis.set_major_formatter(FuncFormatter(lambda x, _pos: _compact(x)))


def _figure(width: float, height: float) -> Figure:
    """A figure on the SVG canvas (no pyplot state)."""
    from matplotlib.backends.backend_svg import FigureCanvasSVG
    from matplotlib.figure import Figure

    figure = Figure(figsize=(width, height), dpi=100)
    FigureCanvasSVG(figure)
    return figure


def _svg(figure: Figure) -> Markup:
    import matplotlib

    buffer = io.StringIO()
    with matplotlib.rc_context({"svg.hashsalt": "leakaudit", "svg.fonttype": "none"}):
        figure.savefig(buffer, format="svg", metadata={"Date": None}, bbox_inches="tight")
    svg = buffer.getvalue()
    # The SVG is generated here from numbers and labels matplotlib escapes itself: safe to embed.
    return Markup(svg[svg.index("<svg") :])


def bar_chart_svg(*, labels: Sequence[str], values: Sequence[float], title: str) -> Markup:
    """A horizontal bar chart of dollar values, largest first as given."""
    figure = _figure(7.5, 0.8 + 0.42 * max(len(labels), 1))
    axes = figure.add_subplot()
    positions = list(range(len(labels)))
    bars = axes.barh(positions, values, color=[GREYS[i % len(GREYS)] for i in positions], edgecolor="black")
    for i, bar in enumerate(bars):
        bar.set_hatch(HATCHES[i % len(HATCHES)])
    axes.set_yticks(positions, labels=list(labels))
    axes.invert_yaxis()
    axes.set_title(title)
    axes.set_xlabel("US dollars")
    _dollars(axes.xaxis)
    axes.spines[["top", "right"]].set_visible(False)
    figure.tight_layout()
    return _svg(figure)


def trend_chart_svg(*, periods: Sequence[str], values: Sequence[float], title: str) -> Markup:
    """A line of dollar values over periods (months), with markers."""
    figure = _figure(7.5, 3.2)
    axes = figure.add_subplot()
    positions = list(range(len(periods)))
    axes.plot(positions, values, color="black", marker="o", linewidth=1.5)
    axes.fill_between(positions, values, color=GREYS[3])
    step = max(1, len(periods) // 12)
    axes.set_xticks(positions[::step], labels=list(periods)[::step], rotation=45, ha="right")
    axes.set_title(title)
    axes.set_ylabel("US dollars")
    axes.set_ylim(bottom=0)
    _dollars(axes.yaxis)
    axes.spines[["top", "right"]].set_visible(False)
    figure.tight_layout()
    return _svg(figure)
