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
    #: The order rows are stored in, which is also what names a row.
    sort_by: tuple[str, ...]
    #: A file lists each row's ``sort_by`` once: the rules join lines or hits to it on those columns, and a
    #: key listed twice would count each of them twice (see :func:`import_file`).
    one_row_a_key: bool = False


DATASETS: dict[str, Dataset] = {
    d.name: d
    for d in (
        Dataset("hcpcs", "CMS HCPCS Level II codes and dates", cms_hcpcs.parse, cms_hcpcs.SCHEMA, ("code", "record")),
        Dataset("asp", "CMS ASP drug payment limits", cms_asp.parse, cms_asp.SCHEMA, ("code",), True),
        Dataset("crosswalk", "CMS ASP NDC-HCPCS crosswalk", cms_crosswalk.parse, cms_crosswalk.SCHEMA, ("code", "ndc")),
        Dataset("mue", "CMS NCCI practitioner MUE table", cms_mue.parse, cms_mue.SCHEMA, ("code",), True),
        Dataset(
            "dmepos",
            "CMS DMEPOS fee schedule",
            cms_dmepos.parse,
            cms_dmepos.SCHEMA,
            ("code", "modifier", "modifier_2", "state", "rural"),
            True,
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
    1, 2025 ...") or its name (``HCPC2025_JAN``, ``DMEPOS26_JAN``, ``..._2026q2``). Where the dataset
    lists each key once (:attr:`Dataset.one_row_a_key`), rows repeated alike are stored once, and a key
    listed with different values is an :class:`InputError` naming it.
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
    if kind.one_row_a_key:
        frame = _one_row_a_key(frame, kind, path)
    stored = frame.sort(list(kind.sort_by), nulls_last=True).with_columns(
        pl.lit(label).alias("release"),
        pl.lit(path.name).alias("source_file"),
        pl.lit(sha256(path)).alias("source_sha256"),
    )
    target = store / dataset / f"{label}.parquet"
    target.parent.mkdir(parents=True, exist_ok=True)
    stored.write_parquet(target, compression="zstd", statistics=False)
    return ReleaseInfo(dataset, label, path.name, stored["source_sha256"][0], stored.height, target)


def _one_row_a_key(frame: pl.DataFrame, kind: Dataset, path: Path) -> pl.DataFrame:
    """``frame`` with rows repeated alike kept once; an :class:`InputError` for a key listed with different values.

    NOTE: an error, not a pick: which of two MUEs or payment limits a file means cannot be told, and either
    would change every estimate of the code.
    """
    keys = list(kind.sort_by)
    once = frame.unique(maintain_order=True)
    listed = once.group_by(keys).len().filter(pl.col("len") > 1).sort(keys, nulls_last=True)
    if listed.is_empty():
        return once
    first = listed.row(0, named=True)
    key = ", ".join(f"{name} {first[name]}" for name in keys if first[name] is not None)
    more = f" (and {listed.height - 1} more)" if listed.height > 1 else ""
    raise InputError(
        f"{path}: {key} is listed {first['len']} times with different values{more}; the {kind.title} lists "
        "it once: correct the file and import it again"
    )


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
