"""Read a user's TOML file (a column mapping, a vocabulary extension) with errors that name the file."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

from leakaudit.io.errors import InputError


def read_toml(path: str | Path, what: str) -> dict[str, Any]:
    """Parse ``path``; a missing or malformed file is an :class:`InputError` naming it and ``what`` it is."""
    path = Path(path)
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputError(f"{path}: {what} not found") from None
    except tomllib.TOMLDecodeError as err:
        raise InputError(f"{path}: not valid TOML: {err}") from None
