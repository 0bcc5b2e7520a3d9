"""The error raised for input that stops a run before any work (exit status 2)."""

from __future__ import annotations


class InputError(Exception):
    """Input the audit cannot start on: a missing file or column, an unreadable mapping.

    The message always names the file, and the column where one is at fault.
    """
