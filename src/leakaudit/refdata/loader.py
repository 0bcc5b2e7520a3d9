"""Load the reference data an audit uses: shipped snapshot + user store, newest release winning.

HCPCS validity is decided per code from the newest release that lists it (a later quarter may
terminate a code), with the shipped supplement of known later changes below any official release
of the same quarter. MUEs are kept for every release loaded, each applied to the dates of service it
is in effect (see :func:`~leakaudit.refdata.releases.in_effect`). Drug prices, the crosswalk and DMEPOS
fees come from the newest release of each.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import polars as pl

from leakaudit.io import InputError
from leakaudit.refdata.filing import FilingLimits, load_filing_limits
from leakaudit.refdata.orthotics import Orthotics, load_orthotics
from leakaudit.refdata.store import DATASETS, ReleaseInfo, releases, shipped_store, user_store

HCPCS_VALIDITY = pl.Schema(
    {
        "code": pl.String(),
        "short_description": pl.String(),
        "effective_from": pl.Date(),
        "termination_date": pl.Date(),
        "replacement": pl.String(),
        "release": pl.String(),
        "source_file": pl.String(),
    }
)
CPT_SCHEMA = pl.Schema({"code": pl.String(), "effective_date": pl.Date(), "termination_date": pl.Date()})


@dataclass(frozen=True)
class RefData:
    """Reference tables as LazyFrames, and the releases they were built from."""

    releases: tuple[ReleaseInfo, ...]
    hcpcs: pl.LazyFrame
    asp: pl.LazyFrame
    crosswalk: pl.LazyFrame
    #: Every loaded release's MUEs, each row with its ``release``: CMS applies those in effect on the date of
    #: service, and a code's MUE changes from quarter to quarter.
    mue: pl.LazyFrame
    dmepos: pl.LazyFrame
    orthotics: Orthotics
    filing_limits: FilingLimits
    cpt: pl.LazyFrame | None = None
    cpt_source: str | None = None

    def release_of(self, dataset: str) -> str | None:
        """The newest loaded release of ``dataset``."""
        labels = self.releases_of(dataset)
        return labels[-1] if labels else None

    def releases_of(self, *datasets: str) -> list[str]:
        """The loaded releases of ``datasets``, oldest first, each once."""
        return sorted({r.release for r in self.releases if r.dataset in datasets})

    def every_release(self, dataset: str) -> pl.LazyFrame:
        """Every row of every loaded release of ``dataset``, with its ``release`` (scanned, not collected).

        The tables above hold the newest release of each key; CMS applies a payment limit or a fee of the
        release in effect on the date of service (see ``pricing.reference``).
        """
        return _scan([r for r in self.releases if r.dataset == dataset], dataset)


def _check_store(store: Path) -> None:
    """Raise :class:`InputError` for an extra store that holds no release: a typo, or CMS's own files.

    NOTE: such a store had been read as empty, and the audit ran on the shipped snapshot alone, silently.
    """
    if not store.is_dir():
        raise InputError(f"--refdata-dir {store}: no such directory")
    if not releases([store]):
        raise InputError(
            f"--refdata-dir {store}: holds no reference-data release (<dataset>/<YYYY-MM>.parquet); "
            "`leakaudit refdata import --store DIR` writes CMS's files there in that form (docs/refdata.md)"
        )


def load_refdata(
    extra_stores: Sequence[Path] = (),
    cpt_codes: Path | None = None,
    include_user_store: bool = True,
    orthotics: Path | None = None,
    filing_limits: Path | None = None,
) -> RefData:
    """Reference data from the shipped snapshot, the user store and ``extra_stores`` (later wins).

    ``cpt_codes`` is a licensed CPT code list; ``orthotics`` a file extending the orthotics vocabulary;
    ``filing_limits`` a file overriding the timely-filing limits.
    """
    stores = [shipped_store()]
    if include_user_store and user_store().is_dir():
        stores.append(user_store())
    for store in extra_stores:
        _check_store(store)
    stores.extend(extra_stores)
    found = releases(stores)
    by_dataset = {name: [r for r in found if r.dataset == name] for name in DATASETS}
    return RefData(
        releases=tuple(found),
        hcpcs=_hcpcs_validity(by_dataset["hcpcs"]),
        asp=_newest(by_dataset["asp"], "asp", ("code",)),
        crosswalk=_newest(by_dataset["crosswalk"], "crosswalk", ("code", "ndc")),
        mue=_every_release(by_dataset["mue"], "mue"),
        dmepos=_newest(by_dataset["dmepos"], "dmepos", ("code", "modifier", "modifier_2", "state", "rural")),
        orthotics=load_orthotics(orthotics),
        filing_limits=load_filing_limits(filing_limits),
        cpt=load_cpt_codes(cpt_codes) if cpt_codes else None,
        cpt_source=str(cpt_codes) if cpt_codes else None,
    )


def _scan(found: Iterable[ReleaseInfo], dataset: str) -> pl.LazyFrame:
    files = [r.path for r in found]
    schema = DATASETS[dataset].schema | {
        "release": pl.String(),
        "source_file": pl.String(),
        "source_sha256": pl.String(),
    }
    if not files:
        return pl.LazyFrame(schema=schema)
    return pl.concat([pl.scan_parquet(f, glob=False) for f in files], how="vertical_relaxed")


def _newest(found: list[ReleaseInfo], dataset: str, keys: tuple[str, ...]) -> pl.LazyFrame:
    """Per key, the row of the newest release that has it (joined, not ordered: deterministic).

    NOTE: collected once here: reference tables are small (the DMEPOS schedule, the largest, is about
    220,000 rows), and every rule and price basis would otherwise recompute the newest release.
    """
    frame = _scan(found, dataset)
    newest = frame.group_by(*keys).agg(pl.col("release").max())
    return frame.join(newest, on=[*keys, "release"], how="semi", nulls_equal=True).collect().lazy()


def _every_release(found: list[ReleaseInfo], dataset: str) -> pl.LazyFrame:
    """Every row of every release, collected once (see :func:`_newest`)."""
    return _scan(found, dataset).collect().lazy()


def _hcpcs_validity(found: list[ReleaseInfo]) -> pl.LazyFrame:
    official = (
        _scan(found, "hcpcs")
        .filter(pl.col("record") == "procedure")
        .select(
            "code",
            "short_description",
            pl.coalesce("add_date", "action_effective_date").alias("effective_from"),
            "termination_date",
            pl.col("xref").str.split(",").list.first().alias("replacement"),
            "release",
            "source_file",
            pl.lit(1).alias("priority"),
        )
    )
    supplement = pl.scan_csv(
        Path(str(resources.files("leakaudit.refdata"))) / "data" / "hcpcs_supplement.csv",
        schema_overrides={"add_date": pl.Date, "termination_date": pl.Date},
        glob=False,
    ).select(
        "code",
        "short_description",
        pl.col("add_date").alias("effective_from"),
        "termination_date",
        "replacement",
        "release",
        pl.lit("hcpcs_supplement.csv").alias("source_file"),
        pl.lit(0).alias("priority"),
    )
    merged = pl.concat([official, supplement], how="vertical_relaxed").with_columns(
        pl.format("{}#{}", "release", "priority").alias("rank")
    )
    best = merged.group_by("code").agg(pl.col("rank").max())
    return merged.join(best, on=["code", "rank"], how="semi").select(list(HCPCS_VALIDITY)).collect().lazy()


def load_cpt_codes(path: Path) -> pl.LazyFrame:
    """A licensed user's CPT code list: CSV with ``code`` and optional ``effective_date``/``termination_date``."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: CPT code list not found")
    frame = pl.read_csv(path, infer_schema=False, glob=False)
    if "code" not in frame.columns:
        raise InputError(f"{path}: missing required column(s): code")
    dates: dict[str, pl.Series] = {}
    for column in ("effective_date", "termination_date"):
        if column in frame.columns:
            parsed = frame[column].str.strip_chars().str.to_date("%Y-%m-%d", strict=False)
            bad = frame.with_row_index("row", offset=1).filter(frame[column].is_not_null() & parsed.is_null())
            if bad.height:
                row = bad.row(0, named=True)
                raise InputError(f"{path}: row {row['row']}, column {column}: {row[column]!r} is not a YYYY-MM-DD date")
            dates[column] = parsed
        else:
            dates[column] = pl.Series(column, [None] * frame.height, dtype=pl.Date)
    return pl.DataFrame({"code": frame["code"].str.strip_chars().str.to_uppercase(), **dates}, schema=CPT_SCHEMA).lazy()
