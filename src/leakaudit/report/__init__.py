"""Report layer: a documented context dataclass → SVG charts → Jinja2 templates; and the xlsx work queue."""

from leakaudit.report.context import (
    ReportContext,
    ReportOptions,
    build_report_context,
    mask_patient,
    rows_of_a_bad_value,
)
from leakaudit.report.render import environment, logo_data_uri, money, pct, render_report
from leakaudit.report.workbook import write_workbook

__all__ = [
    "ReportContext",
    "ReportOptions",
    "build_report_context",
    "environment",
    "logo_data_uri",
    "mask_patient",
    "money",
    "pct",
    "render_report",
    "rows_of_a_bad_value",
    "write_workbook",
]
