"""The report opens in headless Chromium without console errors; a screenshot is kept for people to look at.

`make test` installs Debian's chromium when it is missing and sets LEAKAUDIT_REQUIRE_BROWSER=1, so a
missing browser fails the suite there instead of skipping. The screenshot of the sample report is
written to tests/artifacts/report.png (ignored by git); `make screenshot` makes the same picture.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from browser import chromium, screenshot
from conftest import ROOT, SAMPLE_CSV
from leakaudit.pipeline import run_audit

needs_browser = pytest.mark.skipif(
    chromium() is None and os.environ.get("LEAKAUDIT_REQUIRE_BROWSER") != "1",
    reason="chromium not installed (make test installs it)",
)


@needs_browser
def test_console_capture_sees_errors(tmp_path: Path) -> None:
    """Negative control: a page that logs an error is caught, so an empty result means something."""
    page = tmp_path / "bad.html"
    page.write_text('<html><body><script>console.error("leakaudit-control")</script></body></html>')
    messages = screenshot(page, tmp_path / "bad.png", 400, 300)
    assert any("leakaudit-control" in m for m in messages)


@needs_browser
def test_sample_report_renders_without_console_errors(tmp_path: Path) -> None:
    run_audit([SAMPLE_CSV], tmp_path / "out")
    artifacts = ROOT / "tests" / "artifacts"
    artifacts.mkdir(exist_ok=True)
    png = artifacts / "report.png"
    messages = screenshot(tmp_path / "out" / "report.html", png)
    assert messages == []
    assert png.stat().st_size > 50_000, "a blank page would be a few kilobytes"
