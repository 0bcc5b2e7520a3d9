"""Render the report page with Jinja2: autoescaped, StrictUndefined, with ``money``, ``number`` and ``pct`` filters.

Templates are looked up first in a user's ``templates_dir`` (to brand or override any page part),
then in the shipped defaults; ``default:base.html`` always names the shipped file, so an override can
extend the original.
"""

from __future__ import annotations

import base64
import dataclasses
from decimal import Decimal
from importlib import resources
from pathlib import Path

import jinja2

from leakaudit.io import InputError
from leakaudit.report.context import ReportContext


def default_templates_dir() -> Path:
    """The shipped templates: inside the installed package, or ``reports/templates`` in a source tree."""
    packaged = Path(str(resources.files("leakaudit"))) / "templates"
    if packaged.is_dir():
        return packaged
    return Path(__file__).resolve().parents[3] / "reports" / "templates"


LOGO_TYPES = {
    ".png": "image/png",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".gif": "image/gif",
    ".svg": "image/svg+xml",
}


def logo_data_uri(path: Path) -> str:
    """A logo file as a ``data:`` URI, so the report embeds it and opens offline."""
    kind = LOGO_TYPES.get(path.suffix.lower())
    if kind is None:
        raise InputError(f"{path}: a logo must be one of {', '.join(LOGO_TYPES)}")
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise InputError(f"{path}: logo file not found") from None
    return f"data:{kind};base64,{base64.b64encode(data).decode('ascii')}"


def money(value: Decimal | float | int | None) -> str:
    """Dollars with thousands separators and cents; an unknown amount is a dash."""
    if value is None:
        return "—"
    amount = Decimal(value).quantize(Decimal("0.01"))
    sign = "-" if amount < 0 else ""
    return f"{sign}${abs(amount):,.2f}"


def number(value: int) -> str:
    """A count with thousands separators.

    >>> number(2916), number(7)
    ('2,916', '7')
    """
    return f"{value:,}"


def pct(part: float | int | Decimal, whole: float | int | Decimal) -> str:
    """``part`` as a percentage of ``whole`` with one decimal; a zero whole gives a dash."""
    if not whole:
        return "—"
    return f"{Decimal(part) * 100 / Decimal(whole):.1f}%"


def environment(templates_dir: Path | None = None) -> jinja2.Environment:
    """The Jinja2 environment with the user's templates first, then the defaults."""
    defaults = jinja2.FileSystemLoader(default_templates_dir())
    loaders: list[jinja2.BaseLoader] = []
    if templates_dir is not None:
        loaders.append(jinja2.FileSystemLoader(templates_dir))
    loaders += [defaults, jinja2.PrefixLoader({"default": defaults}, delimiter=":")]
    env = jinja2.Environment(
        loader=jinja2.ChoiceLoader(loaders),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["money"] = money
    env.filters["number"] = number
    env.filters["pct"] = pct
    return env


def render_report(context: ReportContext, templates_dir: Path | None = None) -> str:
    """The report page as one self-contained HTML string."""
    if templates_dir is not None and not Path(templates_dir).is_dir():
        raise InputError(f"{templates_dir}: templates directory not found")
    template = environment(templates_dir).get_template("base.html")
    fields = {f.name: getattr(context, f.name) for f in dataclasses.fields(context)}
    return template.render(**fields)
