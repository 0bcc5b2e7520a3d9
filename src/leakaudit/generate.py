"""``leakaudit generate``: realistic synthetic claim lines with leakage planted at known rates.

Vectorised (NumPy random numbers, Polars columns; no per-row Python), written in parts of about a
million encounters so memory stays bounded. Layout of ``--out DIR``::

    DIR/claims/part-00000.parquet ...   the claim lines (audit them with `leakaudit audit DIR/claims`)
    DIR/truth.parquet                   one row per planted finding: rule_id, claim_id, line_number,
                                        true_amount (what the planted error loses, in dollars)

Each encounter is one claim (1-12 lines: its services plus routine lab and therapy lines) of one
patient on one date, with a payer (one of six, or one of a long tail of small payers with a couple of
encounters each: :data:`TAIL_SHARE`) and a rendering provider. A share of the Medicare claims
(:data:`CROSSOVER_RATE`) is crossed over to Medicaid, the patient being dual-eligible: a second claim
of the same lines (but voided ones), numbered from ``C2...``, paying the 20% coinsurance. Its errors
are the primary claim's, counted once: the truth lists them on the primary claim. Encounters are drawn from scenarios
(office visit, injection, chemotherapy, immunization, hydration, brace, esketamine, procedure);
errors are planted in them at the rates of :data:`PLANT_RATES`:

- ``drug-admin-without-drug``: the drug or vaccine line of an administration encounter is left out
  (the administration line mostly gives the drug's diagnosis: :data:`INDICATION_RATE`);
- ``brace-without-lcode``: the L-code of a brace visit is billed as 99070 with its description;
- ``jcode-unit-mismatch``: a drug line is billed as 1 unit, or (:data:`NO_UNITS_SHARE`) as none, which
  is paid $0. With its NDC quantity, the dose check finds it: the quantity in mg or IU, or
  (:data:`CROSSWALK_RATE`) in items or mL converted by the CMS NDC-HCPCS crosswalk, the NDC sometimes
  in the 10 digits of its label (:data:`SCANNED_RATE`); on the lines without an NDC
  (:data:`NO_NDC_RATE`), the provider's typical units do, and no units are a finding by themselves.
  Some of the lines with an NDC carry a quantity written wrong, a hundred times the dose
  (:data:`NDC_TYPO_SHARE`): above the MUE, it is no dose, and the typical units find them too.
  And a second dose of the drug billed the same day takes the day's units above the CMS MUE
  (:data:`ABOVE_MUE_RATE`): the payer denies both lines, and the loss is the units the MUE allows,
  found on the dose of the more units (the first, of two alike);
- ``expired-code``: S0013 billed after its termination on 2025-12-31 instead of J0013.

A drug charge voided by a credit line and never billed again (the correction that did not post) is
also a planted ``drug-admin-without-drug``: the voided drug no longer pays for its administration.

Beside the errors, billing that a careless audit would flag is planted at the rates of
:data:`DECOY_RATES`, and is no finding:

- ``facility``: an administration given in an outpatient hospital (place of service 22), whose drug
  the facility bills: the practice bills the administration alone;
- ``corrected``: a line billed wrong (a drug as 1 unit, S0013 after its termination), voided by a
  credit line and billed again right (about half the drug voids written as the units billed at a
  negative charge, the others as negative units);
- ``free``: a drug given to the practice free of cost (a sample) billed with modifier FB, as 1 unit
  and paid nothing, or as S0013 after its termination: nothing of it is lost;
- ``discarded``: the part of a vial thrown away billed on a line of its own with modifier JW; the
  administered line's NDC quantity is the whole vial, as some systems write it. Without an NDC, the
  administered line's units are below the provider's typical units, the JW line's making them up;
- ``ndc typo``: a drug line billed right whose NDC quantity is written wrong (:data:`NDC_TYPO_FACTOR`
  times the dose): above the MUE, it is no dose, and the units billed are the provider's typical ones.

The true amount is what the line would have been paid had it been billed right.
"""

from __future__ import annotations

import datetime as dt
import multiprocessing
import os
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import polars as pl

from leakaudit.schema import MONEY, QUANTITY

ENCOUNTERS_PER_PART = 1_000_000
START = dt.date(2025, 1, 1)
DAYS = 730  # two years of dates of service
SWITCH = (dt.date(2026, 1, 1) - START).days  # S0013 -> J0013

PAYERS = [
    ("MCR", "medicare", 1.00),
    ("MA-HUM", "medicare_advantage", 1.02),
    ("MCD", "medicaid", 0.72),
    ("BCBS", "commercial", 1.35),
    ("AETNA", "commercial", 1.28),
    ("SELF", "other", 0.60),
]
PAYER_SHARE = [0.30, 0.15, 0.12, 0.22, 0.16, 0.05]
#: Of the encounters not billed to Medicare, the share billed to a payer of the long tail every practice has
#: (small plans, workers' compensation and auto carriers), each with about :data:`TAIL_ENCOUNTERS` encounters,
#: whatever the size: too few for a price of their own, their findings are valued by every payer's history
#: or the CMS reference prices. Named ``TAIL-<n>``, commercial, paying Medicare's rates.
TAIL_SHARE = 0.005
TAIL_ENCOUNTERS = 2
TAIL_TYPE, TAIL_FACTOR = "commercial", 1.0
#: The random stream of the tail payers (besides a part's own): the other values of a seed do not change.
TAIL_STREAM = 7
VISITS = [("99212", 57.0), ("99213", 92.0), ("99214", 130.0), ("99215", 183.0)]
#: drug code, NDC, NDC unit, dose per billing unit (in the NDC unit), billed units, Medicare $ per unit,
#: CMS practitioner MUE (units a patient's day: MAI 3 for each, the 2026-04 file), and how an export may
#: give the NDC quantity instead (:data:`CROSSWALK_RATE`): in items (UN) or mL, and how many a billing
#: unit is, by the NDC's package size and billing units per item in the CMS NDC-HCPCS crosswalk (J0696's
#: NDC is a 10 g pharmacy bulk package: not given in items); and the ICD-10-CM diagnosis it is given for
#: (:data:`INDICATION_RATE`).
INJECTION_DRUGS = [
    ("J3301", "00003-0293-05", "ME", 10.0, 4, 0.844, 16, "UN", 1 / 4, "M17.11"),  # knee osteoarthritis
    ("J0696", "00143-9678-01", "ME", 250.0, 4, 0.43, 16, "", np.nan, "J18.9"),  # pneumonia
    ("J1885", "00338-0069-10", "ME", 15.0, 2, 0.303, 8, "UN", 1.0, "M54.16"),  # lumbar radiculopathy
    ("J1100", "00404-9795-30", "ME", 1.0, 10, 0.094, 120, "ML", 30 / 120, "J30.9"),  # allergic rhinitis
    ("J2357", "50242-0040-62", "ME", 5.0, 30, 44.596, 120, "UN", 1 / 30, "J45.50"),  # severe asthma
    # Dosed in international units; given to an Rh-negative pregnant patient.
    ("J2791", "44206-0300-10", "F2", 100.0, 15, 4.855, 15, "ML", 2 / 15, "Z29.13"),
]
CHEMO_DRUGS = [
    ("J9035", "50242-0060-01", "ME", 10.0, 40, 73.201, 230, "ML", 4 / 10, "C18.9"),  # colon cancer
    ("J9271", "00006-3026-02", "ME", 1.0, 200, 60.291, 400, "ML", 4 / 100, "C34.90"),  # lung cancer
]
#: The share of administration encounters whose administration and drug lines give the drug's diagnosis
#: (the others give the encounter's, drawn from :data:`DIAGNOSES`): a diagnosis says much of what was given.
INDICATION_RATE = 0.85
BRACES = [
    ("L1812", "Hinged knee brace, prefab", "S83.511A", 85.71),
    ("L4361", "Walking boot, pneumatic", "S93.401A", 278.4),
    ("L3908", "Wrist cock-up splint", "S63.501A", 58.12),
    ("L0650", "Lumbar support brace (LSO)", "M54.50", 1010.3),
]
FILLERS = [
    ("36415", 3.0),
    ("85025", 8.0),
    ("80053", 11.0),
    ("81002", 3.5),
    ("93000", 17.0),
    ("97110", 29.0),
    ("97140", 27.0),
    ("71046", 30.0),
    ("99401", 25.0),
]
DIAGNOSES = ["I10", "E11.9", "J06.9", "M54.50", "Z00.00", "E78.5", "J45.909", "N39.0"]
#: scenario -> share of encounters
SCENARIOS = {
    "office": 0.44,
    "injection": 0.18,
    "chemo": 0.05,
    "immunization": 0.10,
    "hydration": 0.04,
    "brace": 0.06,
    "spravato": 0.04,
    "procedure": 0.09,
}
#: rule -> share of its eligible encounters (or drug lines) planted with the error
PLANT_RATES = {
    "drug-admin-without-drug": 0.05,
    "brace-without-lcode": 0.10,
    "jcode-unit-mismatch": 0.03,
    "expired-code": 0.25,
}
#: Of the drug lines of administration encounters, the share voided and never billed again (a planted
#: ``drug-admin-without-drug``).
VOID_RATE = 0.01
#: Of the drug voids (never billed again, or billed again right), those whose uniform draw is at least this
#: (about half) are written as the units billed at a negative charge, not as negative units.
VOID_BY_CHARGE_DRAW = 0.5
#: Of the drug lines billed right, the share followed by a second dose of the drug on a line of its own
#: that takes the day's units above the MUE (a planted ``jcode-unit-mismatch``: the payer denies both).
ABOVE_MUE_RATE = 0.01
#: Of the administration encounters, the share whose drug lines carry no NDC (commercial payers often do
#: not ask for it): their units are checked against the provider's typical units only.
NO_NDC_RATE = 0.10
#: Of the drug lines with an NDC (but a second dose's and a JW line's), the share whose NDC quantity is
#: given in items or mL: its billing units come from the CMS NDC-HCPCS crosswalk.
CROSSWALK_RATE = 0.20
#: Of those, the share whose NDC is written as the 10 digits of the package label without dashes (as a
#: barcode scanner reads it): which 11-digit NDC it is, the crosswalk tells.
SCANNED_RATE = 0.25
#: Of the drug lines planted with too few units, the share billed with none at all (paid $0).
NO_UNITS_SHARE = 0.2
#: Of the drug lines planted with too few units (not those with none), the share whose NDC quantity is
#: written wrong: a hundred times the dose (a decimal point lost: 40.00 mg as 4000), above every drug's MUE.
NDC_TYPO_SHARE = 0.1
#: What the NDC quantity written wrong is, times the dose.
NDC_TYPO_FACTOR = 100.0
#: decoy -> share of its eligible encounters (or drug lines) planted with it (no finding)
DECOY_RATES = {
    "facility": 0.03,
    "corrected": 0.02,
    "discarded": 0.05,
    "free": 0.01,
    "ndc typo": 0.005,
}
#: The places of service written: the office, and the outpatient hospital of the ``facility`` decoy.
PLACES = ["11", "22"]
#: Of the Medicare encounters, the share billed again to Medicaid after Medicare paid (a crossover claim).
CROSSOVER_RATE = 0.25
#: What the crossover claim pays of a line: the coinsurance, 20% of allowed, a quarter of Medicare's 80%.
COINSURANCE_SHARE = 0.25
#: The first claim number of the encounters' claims, and of their crossover claims (``C1...``, ``C2...``).
CLAIMS_FROM, CROSSOVER_CLAIMS_FROM = 10**10, 2 * 10**10


@dataclass(frozen=True)
class Generated:
    """What ``generate`` wrote."""

    lines: int
    encounters: int
    planted: int
    claims_dir: Path
    truth: Path


class Vocabulary:
    """Every text value lines carry, as integer indices (strings are made once, at the end, by gather)."""

    def __init__(self) -> None:
        self.values: list[str | None] = [None]
        self.index: dict[str | None, int] = {None: 0}

    def column(self, table: list[tuple], column: int) -> np.ndarray:  # type: ignore[type-arg]
        """The indices of one text column of a table, to pick from with an index array."""
        return np.array([self.id(str(row[column])) for row in table], dtype=np.int32)

    def id(self, value: str | None) -> int:
        """The index of one value."""
        if value == "":
            value = None
        if value not in self.index:
            self.index[value] = len(self.values)
            self.values.append(value)
        return self.index[value]


TEXT = ("procedure_code", "modifiers", "ndc", "ndc_unit", "description", "diagnosis")
NUMBERS = ("units", "charge", "paid", "ndc_quantity")
#: Per line: whether a crossover claim bills it again (not a voided charge nor its credit line).
CROSSES = "crosses"


def _part(seed: int, part: int, first: int, count: int, total: int) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Lines and truth for encounters ``first`` .. ``first + count - 1`` of ``total``."""
    rng = np.random.default_rng([seed, part])
    ids = np.arange(first, first + count, dtype=np.int64)
    # (patient, date) is unique per encounter: a patient's k-th encounter is a week after the last, and
    # there are just enough patients for the encounters to cover the two years.
    patients = -(-total // (DAYS // 7))
    cycle, patient = np.divmod(ids, patients)
    day = cycle * 7 + patient % 7
    names = list(SCENARIOS)
    scenario = rng.choice(len(names), size=count, p=list(SCENARIOS.values()))

    def is_(*wanted: str) -> np.ndarray:
        return np.isin(scenario, [names.index(w) for w in wanted])

    payer = rng.choice(len(PAYERS), size=count, p=PAYER_SHARE)
    tail_rng = np.random.default_rng([seed, part, TAIL_STREAM])
    tail = (payer != _payer("MCR")) & (tail_rng.random(count) < TAIL_SHARE)
    tail_payers = max(1, round(TAIL_SHARE * total / TAIL_ENCOUNTERS))
    payer = np.where(tail, len(PAYERS) + tail_rng.integers(0, tail_payers, count), payer)
    factor = np.where(tail, TAIL_FACTOR, np.array([p[2] for p in PAYERS])[np.minimum(payer, len(PAYERS) - 1)])
    header = {
        "encounter": ids,
        "day": day,
        "patient": patient,
        "payer": payer,
        "npi": rng.integers(0, 50, count),
        "dx": rng.integers(0, len(DIAGNOSES), count),
        "place": np.zeros(count, dtype=np.int64),
    }
    vocabulary = Vocabulary()
    position = np.ones(count, dtype=np.int64)
    slots: list[dict[str, np.ndarray]] = []
    truth: list[pl.DataFrame] = []

    def add(mask: np.ndarray, **values: object) -> np.ndarray:
        """Add a line to the encounters in ``mask``; return the line numbers it got.

        ``values`` are the line's (:data:`TEXT`, :data:`NUMBERS`), and ``crosses=False`` for a line that a
        crossover claim does not bill again.
        """
        idx = np.flatnonzero(mask)
        numbers = position.copy()
        slot = {"encounter": idx, "line_number": numbers[idx], CROSSES: np.full(idx.size, values.get(CROSSES, True))}
        for name in TEXT:
            codes = values.get(name)  # an index array, or one value for every line
            if isinstance(codes, np.ndarray):
                slot[name] = codes[idx]
            else:
                slot[name] = np.full(idx.size, vocabulary.id(None if codes is None else str(codes)), dtype=np.int32)
        for name in NUMBERS:
            value = values.get(name, np.nan)
            slot[name] = value[idx] if isinstance(value, np.ndarray) else np.full(idx.size, value, dtype=float)
        slots.append(slot)
        position[mask] += 1
        return numbers

    def paid(rate: np.ndarray | float) -> np.ndarray:
        amounts: np.ndarray = np.round(np.asarray(rate) * factor * rng.uniform(0.95, 1.05, count), 2)
        return amounts

    def plant(rule: str, mask: np.ndarray, numbers: np.ndarray, amount: np.ndarray) -> None:
        idx = np.flatnonzero(mask)
        if not idx.size:
            # NOTE: Polars types every column of a frame of empty arrays and a scalar as Null, and the truth
            # then failed to round: generating a few hundred lines, some rule plants nothing.
            return
        truth.append(
            pl.DataFrame(
                {
                    "rule_id": rule,
                    "encounter": ids[idx],
                    "line_number": numbers[idx],
                    "true_amount": np.round(amount[idx], 2),
                }
            )
        )

    v = vocabulary
    visit = rng.integers(0, len(VISITS), count)
    visit_rate = _pick_at(VISITS, visit, 1).astype(float)
    has_visit = is_("office", "injection", "brace", "spravato", "procedure")
    add(
        has_visit,
        procedure_code=v.column(VISITS, 0)[visit],
        units=1.0,
        charge=visit_rate * 2.2,
        paid=paid(visit_rate),
        modifiers=np.where(is_("office"), v.id(None), v.id("25")),
    )

    # Administration + product encounters.
    for name, drugs, admin, admin_rate in (
        ("injection", INJECTION_DRUGS, "96372", 15.0),
        ("chemo", CHEMO_DRUGS, "96413", 145.0),
    ):
        mask = is_(name)
        # In the outpatient hospital the facility bills the drug: the practice bills the administration.
        facility = mask & (rng.random(count) < DECOY_RATES["facility"])
        header["place"][facility] = PLACES.index("22")
        drug = rng.integers(0, len(drugs), count)
        indicated = rng.random(count) < INDICATION_RATE
        diagnosis = np.where(indicated, v.column(drugs, 9)[drug], v.id(None))  # else the encounter's
        admin_numbers = add(
            mask, procedure_code=admin, units=1.0, charge=admin_rate * 2.5, paid=paid(admin_rate), diagnosis=diagnosis
        )
        with_ndc = rng.random(count) >= NO_NDC_RATE
        code, ndc, unit = (v.column(drugs, c)[drug] for c in (0, 1, 2))
        ndc, unit = np.where(with_ndc, ndc, v.id(None)), np.where(with_ndc, unit, v.id(None))
        dose, units, rate, mue = (_pick_at(drugs, drug, c).astype(float) for c in (3, 4, 5, 6))
        dose = np.where(with_ndc, dose, np.nan)  # so that every NDC quantity below is none
        product_paid = paid(units * rate)
        office = mask & ~facility
        missing = office & (rng.random(count) < PLANT_RATES["drug-admin-without-drug"])
        voided = office & ~missing & (rng.random(count) < VOID_RATE)
        billed_right = office & ~missing & ~voided
        draw, rate_under = rng.random(count), PLANT_RATES["jcode-unit-mismatch"]
        under = billed_right & (draw < rate_under)
        # NOTE: of the same draw, so that the lines of other plants are those of the same seed before this one.
        no_units = under & (draw < rate_under * NO_UNITS_SHARE)
        # NOTE: of the same draw's top, apart from ``no_units``, so that the lines of a seed are unchanged but
        # their NDC quantity.
        typo = under & (draw >= rate_under * (1 - NDC_TYPO_SHARE))
        corrected = billed_right & ~under & (rng.random(count) < DECOY_RATES["corrected"])
        # Some of a vial thrown away: its units billed with JW beside the units given (every drug bills 2+).
        wastes = billed_right & ~under & ~corrected & (rng.random(count) < DECOY_RATES["discarded"])
        discarded = np.where(wastes, rng.integers(1, np.maximum(units, 2).astype(np.int64)), 0)
        # A second dose taking the day above the MUE (given with its NDC, so that the dose check passes it).
        above = billed_right & ~under & ~corrected & ~wastes & with_ndc & (rng.random(count) < ABOVE_MUE_RATE)
        second = np.where(above, mue - units + rng.integers(1, units.astype(np.int64) + 1), 0.0)
        # A free sample, billed with FB as 1 unit and paid nothing. NOTE: of the draw of ``under``, above its
        # rate, so that the other lines of a seed are unchanged.
        free = billed_right & ~under & ~corrected & ~wastes & ~above & (draw < rate_under + DECOY_RATES["free"])
        # A line billed right with its NDC quantity written wrong. NOTE: of the draw above ``free``'s, likewise.
        typo_draw = draw - rate_under - DECOY_RATES["free"]
        typo_right = billed_right & ~under & ~corrected & ~wastes & ~above
        typo_right &= (typo_draw >= 0) & (typo_draw < DECOY_RATES["ndc typo"])
        # NOTE: whole items and mL for the units of a dose; a second dose's or a waste's would be fractions.
        form, per_unit = v.column(drugs, 7)[drug], _pick_at(drugs, drug, 8).astype(float)
        in_items = with_ndc & ~above & ~wastes & (form != v.id(None)) & (rng.random(count) < CROSSWALK_RATE)
        unit, dose = np.where(in_items, form, unit), np.where(in_items, per_unit, dose)
        scanned = in_items & (rng.random(count) < SCANNED_RATE)
        ndc = np.where(scanned, np.array([v.id(_label_digits(row[1])) for row in drugs])[drug], ndc)
        drug_line = {"procedure_code": code, "ndc": ndc, "ndc_unit": unit, "diagnosis": diagnosis}
        wrong_units = np.where(corrected, 1.0, units)
        # Half the voids are written as some systems write them: the units billed again, at a negative
        # charge. NOTE: of the draw of ``under`` (independent of the voided and corrected lines), so that
        # the other lines of a seed are unchanged.
        by_charge = draw >= VOID_BY_CHARGE_DRAW
        for sign in (1.0, -1.0):  # billed, then voided by a credit line
            written = np.where(by_charge, 1.0, sign)
            add(
                voided | corrected,
                crosses=False,
                **drug_line,
                units=written * wrong_units,
                charge=sign * wrong_units * rate * 3.0,
                paid=0.0,
                ndc_quantity=written * units * dose,
            )
        billed = np.where(no_units, 0.0, np.where(under | free, 1.0, units - discarded))
        numbers = add(
            billed_right,
            **drug_line,
            units=billed,
            charge=billed * rate * 3.0,
            paid=np.where(above | free, 0.0, np.round(product_paid * billed / units, 2)),
            ndc_quantity=units * dose * np.where(typo | typo_right, NDC_TYPO_FACTOR, 1.0),
            modifiers=np.where(free, v.id("FB"), v.id(None)),
        )
        second_numbers = add(
            above, **drug_line, units=second, charge=second * rate * 3.0, paid=0.0, ndc_quantity=second * dose
        )
        add(
            wastes,
            **drug_line,
            units=discarded.astype(float),
            charge=discarded * rate * 3.0,
            paid=np.round(product_paid * discarded / units, 2),
            modifiers="JW",
            ndc_quantity=discarded * dose,
        )
        plant("drug-admin-without-drug", missing | voided, admin_numbers, product_paid)
        plant("jcode-unit-mismatch", under, numbers, product_paid * (units - billed) / units)
        # What the MUE allows of the day, at the line's price per unit; on the dose of the more units.
        plant(
            "jcode-unit-mismatch", above, np.where(second > billed, second_numbers, numbers), product_paid * mue / units
        )

    mask = is_("immunization")
    add(mask, procedure_code="90471", units=1.0, charge=45.0, paid=paid(18.0))
    missing = mask & (rng.random(count) < PLANT_RATES["drug-admin-without-drug"])
    vaccine_paid = paid(19.5)
    add(mask & ~missing, procedure_code="90686", units=1.0, charge=48.0, paid=vaccine_paid)
    plant("drug-admin-without-drug", missing, position - 1, vaccine_paid)

    mask = is_("hydration")
    add(mask, procedure_code="96360", units=1.0, charge=88.0, paid=paid(35.0))
    add(
        mask,
        procedure_code="J7050",
        units=4.0,
        charge=8.0,
        paid=paid(2.6),
        ndc="00264-5802-00",
        ndc_quantity=1000.0,
        ndc_unit="ML",
    )

    mask = is_("brace")
    brace = rng.integers(0, len(BRACES), count)
    lcode, description, diagnosis = (v.column(BRACES, c)[brace] for c in (0, 1, 2))
    brace_paid = paid(_pick_at(BRACES, brace, 3).astype(float))
    as_supply = mask & (rng.random(count) < PLANT_RATES["brace-without-lcode"])
    numbers = add(
        mask,
        procedure_code=np.where(as_supply, v.id("99070"), lcode),
        units=1.0,
        charge=brace_paid * 2.0,
        paid=np.where(as_supply, 0.0, brace_paid),
        description=description,
        diagnosis=diagnosis,
        modifiers=np.where(as_supply, v.id(None), v.id("RT")),
    )
    plant("brace-without-lcode", as_supply, numbers, brace_paid)

    mask = is_("spravato")
    after = day >= SWITCH
    spravato_units = rng.choice([56.0, 84.0], count)
    spravato_paid = paid(spravato_units * 10.5)
    draw, rate_expired = rng.random(count), PLANT_RATES["expired-code"]
    expired = mask & after & (draw < rate_expired)
    corrected = mask & after & ~expired & (rng.random(count) < DECOY_RATES["corrected"])
    # A free sample billed with FB under the terminated code, paid nothing: no loss. NOTE: of the draw of
    # ``expired``, above its rate, so that the other lines of a seed are unchanged.
    free = mask & after & ~expired & ~corrected & (draw < rate_expired + DECOY_RATES["free"])
    for sign in (1.0, -1.0):  # S0013 billed after its termination, voided by a credit line
        add(
            corrected,
            crosses=False,
            procedure_code="S0013",
            units=sign * spravato_units,
            charge=sign * spravato_units * 25.0,
            paid=0.0,
        )
    numbers = add(
        mask,
        procedure_code=np.where(after & ~expired & ~free, v.id("J0013"), v.id("S0013")),
        units=spravato_units,
        charge=spravato_units * 25.0,
        paid=np.where(expired | free, 0.0, spravato_paid),
        modifiers=np.where(free, v.id("FB"), v.id(None)),
    )
    plant("expired-code", expired, numbers, spravato_paid)

    mask = is_("procedure")
    add(mask, procedure_code="20610", units=1.0, charge=210.0, paid=paid(68.0), modifiers="RT")

    # Routine lines so that claims have 1 to 12 lines.
    extra = np.minimum(rng.geometric(0.45, count) - 1, 12 - position + 1)
    for k in range(int(extra.max(initial=0))):
        filler = rng.integers(0, len(FILLERS), count)
        rate = _pick_at(FILLERS, filler, 1).astype(float)
        add(extra > k, procedure_code=v.column(FILLERS, 0)[filler], units=1.0, charge=rate * 2.5, paid=paid(rate))

    header["crossover"] = (payer == _payer("MCR")) & (rng.random(count) < CROSSOVER_RATE)
    lines = _in_order(header, slots, position - 1)
    # NOTE: the crossover claims follow the part's claims, as they are billed later.
    crossovers = lines.filter(pl.col("crossover") & pl.col(CROSSES)).with_columns(
        pl.lit(_payer("MCD")).alias("payer"), (pl.col("paid") * COINSURANCE_SHARE).round(2).alias("paid")
    )
    finished = [_finish(lines, vocabulary, CLAIMS_FROM), _finish(crossovers, vocabulary, CROSSOVER_CLAIMS_FROM)]
    return pl.concat(finished), _finish_truth(pl.concat(truth) if truth else None)


def _payer(payer_id: str) -> int:
    """The index of a payer in :data:`PAYERS`."""
    return [p[0] for p in PAYERS].index(payer_id)


def _in_order(header: dict[str, np.ndarray], slots: list[dict[str, np.ndarray]], counts: np.ndarray) -> pl.DataFrame:
    """The lines of every slot placed in encounter and line order; each takes its encounter's header.

    NOTE: each line's place is known (its encounter's first place plus its line number), so the slots are
    scattered into place rather than concatenated and sorted, and the header columns are gathered once:
    a third of the time of a part.
    """
    starts = np.cumsum(counts) - counts
    of_line = np.repeat(np.arange(counts.size), counts)
    columns = {name: column[of_line] for name, column in header.items()}
    columns["line_number"] = np.arange(of_line.size) - starts[of_line] + 1
    places = [starts[slot["encounter"]] + slot["line_number"] - 1 for slot in slots]
    for name in (*TEXT, *NUMBERS, CROSSES):
        placed = np.empty(of_line.size, dtype=slots[0][name].dtype)
        for slot, place in zip(slots, places, strict=True):
            placed[place] = slot[name]
        columns[name] = placed
    # What the payer allowed: the crossover claim, paying the coinsurance, keeps the primary's.
    columns["allowed"] = columns["paid"] * 1.25
    return pl.DataFrame(columns)


def _label_digits(ndc: str) -> str:
    """The 10 digits of a package label, from its 11-digit NDC: the segment padded for billing unpadded.

    >>> _label_digits("00003-0293-05"), _label_digits("50242-0040-62")
    ('0003029305', '5024204062')
    """
    digits = ndc.replace("-", "")
    padded = next(i for i in (0, 5, 9) if digits[i] == "0")
    return digits[:padded] + digits[padded + 1 :]


def _pick_at(table: list[tuple], index: np.ndarray, column: int) -> np.ndarray:  # type: ignore[type-arg]
    picked: np.ndarray = np.array([row[column] for row in table])[index]
    return picked


def _money(dollars: pl.Expr) -> pl.Expr:
    # Float to Decimal casts round to the nearest cent.
    return dollars.round(2).cast(MONEY)


def _finish(lines: pl.DataFrame, vocabulary: Vocabulary, claims_from: int) -> pl.DataFrame:
    """The claim lines written, their claims numbered from ``claims_from`` on (see :data:`CLAIMS_FROM`)."""
    words = pl.Series("words", vocabulary.values, dtype=pl.String)
    # The payers' names and types, the tail's (``TAIL-<n>``, see :data:`TAIL_SHARE`) after the main ones.
    payers = lines["payer"].cast(pl.UInt32)
    tail = range(max(0, int(lines["payer"].to_numpy().max(initial=0)) + 1 - len(PAYERS)))
    payer_ids = pl.Series([p[0] for p in PAYERS] + [f"TAIL-{n}" for n in tail]).gather(payers)
    payer_types = pl.Series([p[1] for p in PAYERS] + [TAIL_TYPE] * len(tail)).gather(payers)
    diagnoses = pl.Series(DIAGNOSES)

    def text(name: str) -> pl.Series:
        return words.gather(lines[name].cast(pl.UInt32))

    def labelled(prefix: str, offset: int, numbers: pl.Series) -> pl.Series:
        """``prefix`` + (``offset`` + number), made once per distinct number and gathered (lines repeat them)."""
        values = numbers.to_numpy()
        low, high = (int(values.min()), int(values.max())) if values.size else (0, -1)
        names = pl.select(pl.format(prefix + "{}", pl.int_range(low, high + 1) + offset))
        return names.to_series().gather((numbers - low).cast(pl.UInt32))

    return (
        pl.DataFrame(
            {
                # Fixed-width ids without zfill: C + claims_from + the encounter number (cheap at 100 M lines).
                "claim_id": labelled("C", claims_from, lines["encounter"]),
                "line_number": lines["line_number"],
                "service_date": lines.select(
                    (pl.lit(START) + pl.duration(days=pl.col("day"))).cast(pl.Date)
                ).to_series(),
                "procedure_code": text("procedure_code"),
                "modifiers": text("modifiers"),
                "units": lines["units"],
                "charge_amount": lines["charge"],
                "paid_amount": lines["paid"],
                "allowed_amount": lines["allowed"],
                "patient_id": labelled("P", 10**8, lines["patient"]),
                "payer_id": payer_ids,
                "payer_type": payer_types,
                "rendering_npi": (lines["npi"] * 7919 + 1_000_000_000).cast(pl.String),
                "diagnosis_codes": text("diagnosis").fill_null(diagnoses.gather(lines["dx"].cast(pl.UInt32))),
                "ndc": text("ndc"),
                "ndc_quantity": lines["ndc_quantity"].fill_nan(None),
                "ndc_unit": text("ndc_unit"),
                "description": text("description"),
            }
        )
        .with_columns(
            pl.lit(None, dtype=pl.String).alias("revenue_code"),
            pl.Series("place_of_service", PLACES).gather(lines["place"].cast(pl.UInt32)),
        )
        .with_columns(
            pl.col("units", "ndc_quantity").cast(QUANTITY),
            _money(pl.col("charge_amount")),
            _money(pl.col("paid_amount")),
            _money(pl.col("allowed_amount")),
        )
    )


def _finish_truth(truth: pl.DataFrame | None) -> pl.DataFrame:
    schema = pl.Schema(
        {"rule_id": pl.String(), "claim_id": pl.String(), "line_number": pl.Int64(), "true_amount": MONEY}
    )
    if truth is None:
        return pl.DataFrame(schema=schema)
    return truth.select(
        "rule_id",
        pl.concat_str(pl.lit("C"), (pl.col("encounter") + CLAIMS_FROM).cast(pl.String)).alias("claim_id"),
        pl.col("line_number").cast(pl.Int64),
        _money(pl.col("true_amount")).alias("true_amount"),
    )


def _write_part(job: tuple[int, int, int, int, int, str, str]) -> tuple[int, pl.DataFrame]:
    """Generate and write one part (runs in a worker process); return its line count and truth."""
    seed, part, first, count, total, fmt, claims_dir = job
    frame, truth = _part(seed, part, first, count, total)
    target = Path(claims_dir) / f"part-{part:05d}.{fmt}"
    if fmt == "parquet":
        frame.write_parquet(target, compression="zstd", compression_level=1, statistics=False)
    else:
        frame.write_csv(target)
    return frame.height, truth


def generate(lines: int, seed: int, out: Path, fmt: str = "parquet", workers: int | None = None) -> Generated:
    """Write about ``lines`` claim lines (and the planted truth) under ``out``.

    Parts are generated by ``workers`` processes (default: one per core); each part's random numbers
    come from (seed, part), so the output does not depend on how many workers there are.
    """
    if fmt not in ("parquet", "csv"):
        raise ValueError(f"format {fmt!r}: use parquet or csv")
    claims_dir = Path(out) / "claims"
    claims_dir.mkdir(parents=True, exist_ok=True)
    for old in claims_dir.glob("part-*"):
        old.unlink()
    encounters = max(1, round(lines / LINES_PER_ENCOUNTER))
    jobs = [
        (seed, part, first, min(ENCOUNTERS_PER_PART, encounters - first), encounters, fmt, str(claims_dir))
        for part, first in enumerate(range(0, encounters, ENCOUNTERS_PER_PART))
    ]
    workers = min(workers or os.cpu_count() or 1, len(jobs))
    if workers > 1:
        # NOTE: spawn, not fork: a forked child of a process running Polars' thread pool can deadlock.
        with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn")) as pool:
            results = list(pool.map(_write_part, jobs))
    else:
        results = [_write_part(job) for job in jobs]
    truth_path = Path(out) / "truth.parquet"
    all_truth = pl.concat([truth for _, truth in results]).sort("rule_id", "claim_id", "line_number")
    all_truth.write_parquet(truth_path)
    return Generated(sum(n for n, _ in results), encounters, all_truth.height, claims_dir, truth_path)


#: Average lines per encounter of the scenario mix, crossover claims included (measured), to turn --lines
#: into encounters.
LINES_PER_ENCOUNTER = 3.18


def score(findings: pl.DataFrame, truth: pl.DataFrame) -> pl.DataFrame:
    """Per rule: planted, found, true positives, precision, recall, estimated and true dollars.

    A finding matches a planted error when rule, claim and line agree. Only lost-revenue findings count
    (the generator plants no over-billing); ``estimated`` sums the matched findings' amounts.
    """
    keys = ["rule_id", "claim_id", "line_number"]
    found = findings.filter(pl.col("finding_kind") == "lost_revenue").select(*keys, "estimated_amount")
    matched = found.join(truth, on=keys, how="inner")
    rules = sorted(set(truth["rule_id"]) | set(found["rule_id"]))
    rows = []
    for rule in rules:
        planted = truth.filter(pl.col("rule_id") == rule)
        mine = found.filter(pl.col("rule_id") == rule)
        hits = matched.filter(pl.col("rule_id") == rule)
        rows.append(
            {
                "rule_id": rule,
                "planted": planted.height,
                "found": mine.height,
                "true_positives": hits.height,
                "precision": hits.height / mine.height if mine.height else None,
                "recall": hits.height / planted.height if planted.height else None,
                "estimated": float(hits["estimated_amount"].fill_null(0).sum() or 0),
                "true_amount": float(planted["true_amount"].sum() or 0),
            }
        )
    return pl.DataFrame(rows)
