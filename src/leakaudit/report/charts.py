"""Charts as inline SVG strings: matplotlib ``Figure`` objects on the Agg canvas, no pyplot state.

Bars are drawn in greys with hatching so that they read in grey-scale print.
"""

from __future__ import annotations

import io
from collections.abc import Sequence

import matplotlib
from markupsafe import Markup
from matplotlib.backends.backend_svg import FigureCanvasSVG
from matplotlib.figure import Figure

GREYS = ("#4d4d4d", "#808080", "#a6a6a6", "#cccccc")
HATCHES = ("", "//", "..", "xx")


def bar_chart_svg(*, labels: Sequence[str], values: Sequence[float], title: str) -> Markup:
    """A horizontal bar chart of dollar values, as an SVG string safe to embed."""
    figure = Figure(figsize=(7.5, 0.6 + 0.45 * max(len(labels), 1)), dpi=100)
    FigureCanvasSVG(figure)
    axes = figure.add_subplot()
    positions = list(range(len(labels)))
    bars = axes.barh(positions, values, color=[GREYS[i % len(GREYS)] for i in positions], edgecolor="black")
    for i, bar in enumerate(bars):
        bar.set_hatch(HATCHES[i % len(HATCHES)])
    axes.set_yticks(positions, labels=list(labels))
    axes.invert_yaxis()
    axes.set_title(title)
    axes.set_xlabel("US dollars")
    axes.xaxis.set_major_formatter(lambda x, _pos: f"${x:,.0f}")
    axes.spines[["top", "right"]].set_visible(False)
    figure.tight_layout()
    buffer = io.StringIO()
    # NOTE: a fixed hashsalt and no date keep the SVG, and so the report, identical run to run.
    with matplotlib.rc_context({"svg.hashsalt": "leakaudit", "svg.fonttype": "none"}):
        figure.savefig(buffer, format="svg", metadata={"Date": None}, bbox_inches="tight")
    svg = buffer.getvalue()
    return Markup(svg[svg.index("<svg") :])
