"""Rebuild the reference snapshot shipped in the package from the CMS files in ../shared/refdata/raw/.

    python scripts/build_refdata.py [RAW_DIR]

Each file goes through the same importer a user runs (``leakaudit refdata import``), so the snapshot
records each file's name, release and SHA-256. Run it when a newer CMS file is added to the raw folder;
commit the result (``src/leakaudit/refdata/snapshot/``).
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

from leakaudit.refdata import import_file

ROOT = Path(__file__).resolve().parents[1]
RAW = ROOT.parent / "shared" / "refdata" / "raw"

#: dataset -> file under the raw folder (the official CMS format as published)
SOURCES = {
    "hcpcs": "cms_hcpcs_anweb_2025_jan/january-2025-alpha-numeric-hcpcs-file.zip",
    "asp": "cms_asp_pricing_2025_oct/Oct 2025 ASP Pricing File (CPT descriptors removed).csv",
    "crosswalk": "cms_asp_ndc_hcpcs_crosswalk_2025_oct/Oct 2025 ASP NDC-HCPCS Crosswalk (CPT descriptors removed).csv",
    "mue": "cms_ncci_mue_practitioner_2026q2/practitioner_mue_2026q2.csv",
    "dmepos": "cms_dmepos_fee_schedule_2026_jan/DMEPOS26_JAN.xlsx",
}


def main() -> None:
    """Rebuild the snapshot from RAW_DIR (default ../shared/refdata/raw)."""
    raw = Path(sys.argv[1]) if len(sys.argv) > 1 else RAW
    target = ROOT / "src" / "leakaudit" / "refdata" / "snapshot"
    shutil.rmtree(target, ignore_errors=True)
    for dataset, name in SOURCES.items():
        info = import_file(dataset, raw / name, target)
        print(f"{dataset:10} {info.release}  {info.rows:>7} rows  {info.source_file}")


if __name__ == "__main__":
    main()
