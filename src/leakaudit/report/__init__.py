"""Report layer: a documented context dataclass → SVG charts → Jinja2 templates in reports/templates/."""

from leakaudit.report.context import ReportContext, build_report_context
from leakaudit.report.render import environment, money, pct, render_report

__all__ = ["ReportContext", "build_report_context", "environment", "money", "pct", "render_report"]
