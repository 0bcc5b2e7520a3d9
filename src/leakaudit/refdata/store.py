"""The reference-data store: one Parquet file per dataset and release, each row carrying its provenance.

Layout: ``<store>/<dataset>/<release>.parquet`` with the dataset's columns plus ``release``,
``source_file`` and ``source_sha256``, so the file itself says where it came from. Two stores are
read: the snapshot shipped inside the package (built by ``scripts/build_refdata.py`` from the CMS
files), and the user's store (``$LEAKAUDIT_REFDATA``, else ``~/.local/share/leakaudit/refdata``),
where ``leakaudit refdata import`` writes the next quarter's files.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import polars as pl

from leakaudit.io import InputError
from leakaudit.refdata import cms_asp, cms_crosswalk, cms_dmepos, cms_hcpcs, cms_mue
from leakaudit.refdata.releases import check_release, release_from_name
from leakaudit.refdata.tables import effective_release

PROVENANCE = ("release", "source_file", "source_sha256")


@dataclass(frozen=True)
class Dataset:
    """One kind of reference file: its parser and what it holds."""

    name: str
    title: str
    parse: Callable[[Path], tuple[pl.DataFrame, str]]
    schema: pl.Schema
    sort_by: tuple[str, ...]


DATASETS: dict[str, Dataset] = {
    d.name: d
    for d in (
        Dataset("hcpcs", "CMS HCPCS Level II codes and dates", cms_hcpcs.parse, cms_hcpcs.SCHEMA, ("code", "record")),
        Dataset("asp", "CMS ASP drug payment limits", cms_asp.parse, cms_asp.SCHEMA, ("code",)),
        Dataset("crosswalk", "CMS ASP NDC-HCPCS crosswalk", cms_crosswalk.parse, cms_crosswalk.SCHEMA, ("code", "ndc")),
        Dataset("mue", "CMS NCCI practitioner MUE table", cms_mue.parse, cms_mue.SCHEMA, ("code",)),
        Dataset(
            "dmepos",
            "CMS DMEPOS fee schedule",
            cms_dmepos.parse,
            cms_dmepos.SCHEMA,
            ("code", "modifier", "modifier_2", "state", "rural"),
        ),
    )
}


@dataclass(frozen=True)
class ReleaseInfo:
    """One stored release of a dataset."""

    dataset: str
    release: str
    source_file: str
    source_sha256: str
    rows: int
    path: Path


def shipped_store() -> Path:
    """The snapshot shipped in the package."""
    return Path(str(resources.files("leakaudit.refdata"))) / "snapshot"


def user_store() -> Path:
    """Where imports go unless told otherwise: ``$LEAKAUDIT_REFDATA`` or ``~/.local/share/leakaudit/refdata``."""
    configured = os.environ.get("LEAKAUDIT_REFDATA")
    return Path(configured) if configured else Path.home() / ".local" / "share" / "leakaudit" / "refdata"


def sha256(path: Path) -> str:
    """Hex SHA-256 of a file."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def import_file(dataset: str, path: Path, store: Path, release: str | None = None) -> ReleaseInfo:
    """Parse an official CMS file and write it to ``store`` as one release; return what was stored.

    The release is ``release`` when given, else read from the file's title block ("Effective October
    1, 2025 ...") or its name (``HCPC2025_JAN``, ``DMEPOS26_JAN``, ``..._2026q2``).
    """
    kind = DATASETS[dataset]
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: no such file")
    frame, title = kind.parse(path)
    label = release or effective_release(title) or release_from_name(path.name)
    if label is None:
        raise InputError(f"{path}: cannot tell which release this is; give --release YYYY-MM")
    check_release(label, str(path))
    if frame.height == 0:
        raise InputError(f"{path}: no {dataset} rows found")
    stored = frame.sort(list(kind.sort_by), nulls_last=True).with_columns(
        pl.lit(label).alias("release"),
        pl.lit(path.name).alias("source_file"),
        pl.lit(sha256(path)).alias("source_sha256"),
    )
    target = store / dataset / f"{label}.parquet"
    target.parent.mkdir(parents=True, exist_ok=True)
    stored.write_parquet(target, compression="zstd", statistics=False)
    return ReleaseInfo(dataset, label, path.name, stored["source_sha256"][0], stored.height, target)


def releases(stores: Iterable[Path]) -> list[ReleaseInfo]:
    """Every release found in ``stores``; a later store's release replaces an earlier one of the same name."""
    found: dict[tuple[str, str], ReleaseInfo] = {}
    for store in stores:
        for dataset in DATASETS:
            for file in sorted((store / dataset).glob("*.parquet")):
                stored = pl.scan_parquet(file, glob=False)
                head = stored.select(PROVENANCE).head(1).collect()
                if head.height == 0:
                    continue
                row = head.row(0, named=True)
                rows = int(stored.select(pl.len()).collect().item())
                found[(dataset, row["release"])] = ReleaseInfo(
                    dataset, row["release"], row["source_file"], row["source_sha256"], rows, file
                )
    return sorted(found.values(), key=lambda r: (r.dataset, r.release))
