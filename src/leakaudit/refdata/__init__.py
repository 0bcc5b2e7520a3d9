"""Reference data: CMS code sets and prices by release, loaded with importlib.resources."""

from leakaudit.refdata.codesets import CodeSet, any_codeset, codeset, codesets
from leakaudit.refdata.filing import FilingLimits, load_filing_limits
from leakaudit.refdata.loader import RefData, load_cpt_codes, load_refdata
from leakaudit.refdata.ndc import ndc10_labels, ndc11
from leakaudit.refdata.orthotics import Orthotics, Region, load_orthotics
from leakaudit.refdata.store import DATASETS, ReleaseInfo, import_file, releases, shipped_store, user_store

__all__ = [
    "DATASETS",
    "CodeSet",
    "FilingLimits",
    "Orthotics",
    "RefData",
    "Region",
    "ReleaseInfo",
    "any_codeset",
    "codeset",
    "codesets",
    "import_file",
    "load_cpt_codes",
    "load_filing_limits",
    "load_orthotics",
    "load_refdata",
    "ndc10_labels",
    "ndc11",
    "releases",
    "shipped_store",
    "user_store",
]
