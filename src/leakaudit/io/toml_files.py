"""Read a user's TOML file (a column mapping, a vocabulary extension) with errors that name the file."""

from __future__ import annotations

import tomllib
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from leakaudit.io.errors import InputError


def read_toml(path: str | Path, what: str, keys: Sequence[str]) -> dict[str, Any]:
    """Parse ``path``, a file of ``what`` whose top level has ``keys`` only.

    A missing or malformed file, or one with another key (a misspelt table, which would be ignored), is an
    :class:`InputError` naming it and ``what`` it is.
    """
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputError(f"{path}: {what} not found") from None
    except tomllib.TOMLDecodeError as err:
        raise InputError(f"{path}: not valid TOML: {err}") from None
    check_keys(data, keys, f"{path}: {what}")
    return data


def check_keys(table: dict[str, Any], keys: Sequence[str], label: str) -> None:
    """Raise :class:`InputError` when ``table`` has a key not among ``keys``: ``label`` says where."""
    unknown = sorted(set(table) - set(keys))
    if unknown:
        raise InputError(f"{label}: unknown key(s) {', '.join(unknown)}: the keys are {', '.join(keys)}")
