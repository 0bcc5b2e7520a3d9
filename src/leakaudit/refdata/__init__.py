"""Reference data: CMS code sets and prices by release, loaded with importlib.resources."""

from leakaudit.refdata.codesets import CodeSet, codeset, codesets

__all__ = ["CodeSet", "codeset", "codesets"]
