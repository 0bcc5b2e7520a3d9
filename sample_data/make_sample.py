"""Write the bundled sample claim-line export, ``sample_data/claims.csv``, from a fixed seed.

A small realistic practice: six rendering providers, six payers, about 900 patients, 18 months of
office, injection, chemotherapy, immunization, hydration, brace and esketamine encounters with paid
amounts and NDC quantities. Each rule's positive and negative cases are planted at known rates,
including a drug billed on a separate claim from its administration (no finding), encounters without a
patient id (the claim is the encounter), drug lines billed with no units, a drug voided as some systems
write a void (the units again at a negative charge) and billed again right, and a free sample billed
with FB; plus a few bad rows that must land in rejects.csv. A third of the Medicare drug claims is
crossed over to Medicaid (dual-eligible patients): a second claim of the same lines, paying the
coinsurance, written last; its errors are the primary claim's, one finding.

Run ``.venv/bin/python sample_data/make_sample.py`` (it uses the installed package's schema) to
regenerate; the output is identical every time.
"""

from __future__ import annotations

import csv
import datetime as dt
import random
from dataclasses import dataclass, field
from pathlib import Path

from leakaudit.schema import LINE_COLUMNS

SEED = 20250101
OUT = Path(__file__).with_name("claims.csv")
#: The canonical claim-line columns, in the order the schema lists them.
COLUMNS = [column.name for column in LINE_COLUMNS]

PROVIDERS = ["1588667638", "1467555294", "1336142936", "1942281078", "1073619582", "1215930367"]
#: payer id, payer type, share of encounters, payment as a multiple of the Medicare rate
PAYERS = [
    ("MCR-SE", "medicare", 0.30, 1.00),
    ("HUM-MA", "medicare_advantage", 0.15, 1.02),
    ("TXMCD", "medicaid", 0.12, 0.72),
    ("BCBS-TX", "commercial", 0.22, 1.35),
    ("AETNA", "commercial", 0.16, 1.28),
    ("SELFPAY", "other", 0.05, 0.60),
]
#: E/M codes and their Medicare rate in dollars
VISITS = {"99212": 57.0, "99213": 92.0, "99214": 130.0, "99215": 183.0}
#: drug code -> (NDC, unit as billed, dose per billing unit, typical billing units, Medicare $ per unit,
#: administration code)
DRUGS = {
    "J3301": ("00003-0293-05", "ME", 10, [4, 4, 4, 8], 0.844, "96372"),
    "J0696": ("00143-9678-01", "GR", 0.25, [4, 4, 2], 0.430, "96372"),
    "J1885": ("00338-0069-10", "ME", 15, [2, 2, 4], 0.303, "96372"),
    "J1100": ("00404-9795-30", "ME", 1, [10, 10, 4], 0.094, "96372"),
    "J3420": ("00143-9619-01", "ME", 1, [1], 1.005, "96372"),
    "J2357": ("50242-0040-62", "ME", 5, [30, 60], 44.596, "96372"),
}
INFUSION_DRUGS = {
    "J9035": ("50242-0060-01", "ME", 10, [40, 50], 73.201, "96413"),
    "J9271": ("00006-3026-02", "ME", 1, [200], 60.291, "96413"),
}
#: body region -> (L-code, charge description, diagnosis codes, Medicare rate)
BRACES = {
    "knee": ("L1812", "Hinged knee brace, prefab", "S83.511A;M23.91", 85.71),
    "ankle": ("L4361", "Walking boot, pneumatic", "S93.401A", 278.40),
    "wrist": ("L3908", "Wrist cock-up splint", "S63.501A;G56.01", 58.12),
    "back": ("L0650", "Lumbar support brace (LSO)", "M54.50;M51.36", 1010.30),
}
ADMIN_RATES = {"96372": 15.0, "96413": 145.0, "96365": 72.0, "96360": 35.0, "90471": 18.0, "G0008": 33.0}
VACCINES = {"90686": 19.5, "90688": 21.0, "Q2035": 18.0}
DIAGNOSES = ["M54.50", "J06.9", "E11.9", "M17.11", "I10", "J45.909", "C34.90", "C18.9", "N39.0", "Z23"]


@dataclass
class Claim:
    """One claim being built: its header and its lines."""

    claim_id: str
    header: dict[str, str]
    lines: list[dict[str, str]] = field(default_factory=list)

    def add(self, code: str, units: float, charge: float, paid: float, **extra: str) -> None:
        line = dict.fromkeys(COLUMNS, "")
        line.update(self.header)
        line.update(
            claim_id=self.claim_id,
            line_number=str(len(self.lines) + 1),
            procedure_code=code,
            units=_num(units),
            charge_amount=f"{charge:.2f}",
            paid_amount=f"{paid:.2f}",
            allowed_amount=f"{paid * 1.25:.2f}" if paid else "0.00",
        )
        line.update(extra)
        self.lines.append(line)


def _num(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:g}"


class Practice:
    """Builds encounters as claims with a seeded random generator."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.claims: list[Claim] = []
        self.next_claim = 1

    def claim(self, patient: str, date: dt.date, npi: str, payer: tuple[str, str, float, float]) -> Claim:
        claim = Claim(
            f"CLM{self.next_claim:07d}",
            {
                "service_date": date.isoformat(),
                "patient_id": patient,
                "payer_id": payer[0],
                "payer_type": payer[1],
                "rendering_npi": npi,
                "diagnosis_codes": ";".join(self.rng.sample(DIAGNOSES, self.rng.randint(1, 3))),
                "place_of_service": "11",
            },
        )
        self.next_claim += 1
        self.claims.append(claim)
        return claim

    def paid(self, medicare_rate: float, payer: tuple[str, str, float, float], denied_share: float = 0.04) -> float:
        if self.rng.random() < denied_share:
            return 0.0
        return round(medicare_rate * payer[3] * self.rng.uniform(0.95, 1.05), 2)

    def visit(self, claim: Claim, payer: tuple[str, str, float, float], modifier: str = "") -> None:
        code = self.rng.choice(list(VISITS))
        claim.add(code, 1, VISITS[code] * 2.2, self.paid(VISITS[code], payer), modifiers=modifier)

    def admin(self, claim: Claim, code: str, payer: tuple[str, str, float, float], units: int = 1) -> None:
        claim.add(code, units, ADMIN_RATES[code] * 2.5, self.paid(ADMIN_RATES[code], payer))

    def drug(
        self,
        claim: Claim,
        code: str,
        spec: tuple[str, str, float, list[int], float, str],
        payer: tuple[str, str, float, float],
    ) -> None:
        """A drug line: billed units, and (on 80% of lines) the NDC with the quantity given in its unit.

        ``spec`` gives the dose of one billing unit in the NDC unit (e.g. 10 mg for J3301 in ME, 0.25 g
        for J0696 in GR, 250 mL for J7050 in ML). A few lines are billed wrong on purpose.
        """
        ndc, unit, dose, typical, rate, _ = spec
        given = self.rng.choice(typical)
        units, with_ndc = given, self.rng.random() < 0.8
        roll = self.rng.random()
        if roll < 0.04 and given > 1:  # POSITIVE: one unit billed for a dose of several
            units = 1
        elif roll < 0.06:  # POSITIVE (exposure): more units billed than given
            units = given + 2
        elif roll < 0.09 and code == "J1885":  # POSITIVE: above the MUE of 8, no NDC on the line
            units, given, with_ndc = 10, 10, False
        extra = {"ndc": ndc, "ndc_quantity": _num(round(given * dose, 3)), "ndc_unit": unit} if with_ndc else {}
        claim.add(code, units, units * rate * 3.0, self.paid(units * rate, payer, 0.02), **extra)

    def brace(self, claim: Claim, payer: tuple[str, str, float, float]) -> None:
        """An E/M visit that supplies an orthosis, mostly billed right with its L-code."""
        region = self.rng.choice(list(BRACES))
        lcode, description, diagnosis, rate = BRACES[region]
        claim.header["diagnosis_codes"] = diagnosis
        self.visit(claim, payer)
        roll = self.rng.random()
        if roll < 0.70:
            claim.add(lcode, 1, rate * 2.0, self.paid(rate, payer), description=description, modifiers="RT")
        elif roll < 0.82:  # POSITIVE: the brace billed as a CPT supply
            claim.add("99070", 1, rate * 2.0, 0.0, description=description)
        elif roll < 0.88:  # POSITIVE: a generic HCPCS supply code on the orthotics revenue code
            claim.add("A9999", 1, rate * 2.0, 0.0, description=description, revenue_code="0274")
        elif roll < 0.94:  # POSITIVE (medium): fitted and trained, no device billed
            claim.add("97760", 1, 95.0, self.paid(45.0, payer))
        else:  # POSITIVE: the description names no region; the diagnosis does
            claim.add("99070", 1, rate * 2.0, 0.0, description="Orthotic brace, prefab")

    def spravato(self, claim: Claim, date: dt.date, payer: tuple[str, str, float, float]) -> None:
        self.visit(claim, payer, "25")
        if payer[1] == "medicare":  # Medicare bills the G-code bundle, not the drug code
            claim.add("G2082", 1, 1900.0, self.paid(906.51, payer))
            return
        units = self.rng.choice([56, 84])
        switched = date >= dt.date(2026, 1, 1)
        code = "J0013" if switched else "S0013"
        if switched and self.rng.random() < 0.3:
            code = "S0013"  # POSITIVE: the old code billed after its termination
        elif not switched and date >= dt.date(2025, 12, 1) and self.rng.random() < 0.3:
            code = "J0013"  # POSITIVE: the new code billed before it is effective
        claim.add(
            code,
            units,
            units * 25.0,
            0.0 if code != ("J0013" if switched else "S0013") else self.paid(units * 10.5, payer, 0.0),
        )


def build(seed: int = SEED) -> list[dict[str, str]]:
    """All sample lines, bad rows included, in claim order."""
    practice = Practice(seed)
    rng = practice.rng
    patients = [f"P{n:05d}" for n in range(1, 901)]
    start = dt.date(2025, 1, 2)
    payer_weights = [p[2] for p in PAYERS]
    for day in range(0, 545):
        date = start + dt.timedelta(days=day)
        if date.weekday() >= 5:
            continue
        for _ in range(rng.randint(2, 6)):
            patient = rng.choice(patients)
            npi = rng.choice(PROVIDERS)
            payer = rng.choices(PAYERS, weights=payer_weights)[0]
            roll = rng.random()
            claim = practice.claim(patient, date, npi, payer)
            if roll < 0.40:  # office visit only
                practice.visit(claim, payer)
            elif roll < 0.62:  # visit + injection + drug on the same claim
                practice.visit(claim, payer, "25")
                code = rng.choice(list(DRUGS))
                practice.admin(claim, "96372", payer)
                practice.drug(claim, code, DRUGS[code], payer)
            elif roll < 0.66:  # drug billed on a separate claim the same day: no finding
                practice.admin(claim, "96372", payer)
                code = rng.choice(list(DRUGS))
                practice.drug(practice.claim(patient, date, npi, payer), code, DRUGS[code], payer)
            elif roll < 0.70:  # POSITIVE: injection with no drug anywhere on the encounter
                practice.visit(claim, payer, "25")
                practice.admin(claim, "96372", payer)
            elif roll < 0.76:  # chemotherapy infusion with its drug
                code = rng.choice(list(INFUSION_DRUGS))
                practice.admin(claim, "96413", payer)
                practice.drug(claim, code, INFUSION_DRUGS[code], payer)
            elif roll < 0.775:  # POSITIVE: chemotherapy administration, drug missing
                practice.admin(claim, "96413", payer)
            elif roll < 0.86:  # immunization with its vaccine
                if payer[1] == "medicare":
                    practice.admin(claim, "G0008", payer)
                    claim.add("Q2035", 1, 45.0, practice.paid(VACCINES["Q2035"], payer))
                else:
                    practice.admin(claim, "90471", payer)
                    vaccine = rng.choice(["90686", "90688"])
                    claim.add(vaccine, 1, 48.0, practice.paid(VACCINES[vaccine], payer))
            elif roll < 0.875:  # POSITIVE: immunization administration, vaccine missing
                practice.visit(claim, payer, "25")
                practice.admin(claim, "90471", payer)
            elif roll < 0.92:  # hydration with saline
                practice.admin(claim, "96360", payer)
                practice.drug(claim, "J7050", ("00264-5802-00", "ML", 250, [4], 0.649, "96360"), payer)
            elif roll < 0.93:  # POSITIVE (low confidence): hydration alone
                practice.admin(claim, "96360", payer)
            elif roll < 0.955:  # esketamine (Spravato) session: S0013 until 2025-12-31, J0013 from 2026-01-01
                practice.spravato(claim, date, payer)
            elif roll < 0.985:  # orthopaedic visit that supplies a brace
                practice.brace(claim, payer)
            else:  # visit with an office procedure, no drug rules apply
                practice.visit(claim, payer, "25")
                claim.add("20610", 1, 210.0, practice.paid(68.0, payer), modifiers="RT")

    # Encounters without a patient id: the claim is the encounter.
    for n in range(6):
        payer, npi, date = PAYERS[3], PROVIDERS[n], start + dt.timedelta(days=30 * n + 3)
        claim = practice.claim("", date, npi, payer)
        practice.admin(claim, "96372", payer)
        if n % 2 == 0:  # satisfied on the same claim
            practice.drug(claim, "J1885", DRUGS["J1885"], payer)
        else:  # POSITIVE: the only drug is on another claim, which cannot be linked without a patient
            other = practice.claim("", date, npi, payer)
            practice.drug(other, "J1885", DRUGS["J1885"], payer)

    # Codes no payer accepts: discontinued in the January 2025 HCPCS release, a typo, an internal code,
    # and J0013 billed before it took effect on 2026-01-01.
    rejected_codes = [("J0135", 2, 10), ("J0135", 2, 55), ("J0001", 1, 100), ("SUPPLY", 1, 145), ("J0013", 56, 347)]
    for n, (code, units, day) in enumerate(rejected_codes):
        payer, npi, date = PAYERS[4], PROVIDERS[n], start + dt.timedelta(days=day)
        claim = practice.claim(f"P{900 - n:05d}", date, npi, payer)
        practice.visit(claim, payer, "25")
        claim.add(code, units, 150.0, 0.0)

    # Written after the others, with no random draw but the claims' diagnoses, so that the lines above are
    # unchanged. POSITIVE: drugs billed with no units, which are paid $0: J2357 with its NDC quantity (the
    # whole dose is missing), J3301 without one (a typical dose of its provider is). A J3301 voided as some
    # systems write a void (the units again, at a negative charge), then billed right: no finding. A free
    # sample billed with FB, and one under a terminated code: no finding.
    payer, date = PAYERS[3], start + dt.timedelta(days=220)
    ndc, unit, dose, _, _, _ = DRUGS["J2357"]
    claim = practice.claim("P00901", date, PROVIDERS[0], payer)
    admin_paid = round(ADMIN_RATES["96372"] * payer[3], 2)
    claim.add("96372", 1, ADMIN_RATES["96372"] * 2.5, admin_paid)
    claim.add("J2357", 0, 0.0, 0.0, ndc=ndc, ndc_quantity=_num(30 * dose), ndc_unit=unit)
    claim = practice.claim("P00902", date, PROVIDERS[1], payer)
    claim.add("96372", 1, ADMIN_RATES["96372"] * 2.5, admin_paid)
    claim.add("J3301", 0, 0.0, 0.0)
    claim = practice.claim("P00903", date, PROVIDERS[2], payer)
    claim.add("96372", 1, ADMIN_RATES["96372"] * 2.5, admin_paid)
    claim.add("J3301", 1, 0.844 * 3.0, 0.0)
    claim.add("J3301", 1, -0.844 * 3.0, 0.0)
    claim.add(
        "J3301",
        4,
        4 * 0.844 * 3.0,
        round(4 * 0.844 * payer[3], 2),
        ndc=DRUGS["J3301"][0],
        ndc_quantity="40",
        ndc_unit="ME",
    )
    # A free sample of J3301 (FB), billed as 1 unit for its 40 mg and paid nothing: no finding.
    claim = practice.claim("P00904", date, PROVIDERS[3], payer)
    claim.add("96372", 1, ADMIN_RATES["96372"] * 2.5, admin_paid)
    claim.add("J3301", 1, 0.0, 0.0, modifiers="FB", ndc=DRUGS["J3301"][0], ndc_quantity="40", ndc_unit="ME")
    # A free sample of esketamine (FB) billed under S0013 after its termination, paid nothing: no finding.
    claim = practice.claim("P00905", dt.date(2026, 2, 16), PROVIDERS[4], payer)
    claim.add("S0013", 56, 0.0, 0.0, modifiers="FB")

    _cross_over(practice)
    lines = [line for claim in practice.claims for line in claim.lines]
    _plant_bad_rows(lines)
    return lines


def _cross_over(practice: Practice) -> None:
    """Bill every third Medicare claim with a drug again to Medicaid, which pays the 20% coinsurance.

    The copies come after every other claim (the bad rows' places are unchanged), with no random draw.
    """
    medicare = [c for c in practice.claims if c.header["payer_id"] == PAYERS[0][0]]
    with_drug = [c for c in medicare if any(line["procedure_code"].startswith("J") for line in c.lines)]
    medicaid = PAYERS[2]
    for primary in with_drug[::3]:
        header = primary.header | {"payer_id": medicaid[0], "payer_type": medicaid[1]}
        copy = Claim(f"CLM{practice.next_claim:07d}", header)
        practice.next_claim += 1
        for line in primary.lines:
            # Medicare's 80% of allowed, so the coinsurance is a quarter of it.
            extra = {k: line[k] for k in ("modifiers", "ndc", "ndc_quantity", "ndc_unit", "description")}
            paid = round(float(line["paid_amount"]) * 0.25, 2)
            copy.add(line["procedure_code"], float(line["units"]), float(line["charge_amount"]), paid, **extra)
        practice.claims.append(copy)


def _plant_bad_rows(lines: list[dict[str, str]]) -> None:
    """Damage a few rows the way real exports are damaged; each must be rejected with its reason."""
    lines[10]["service_date"] = "2025-02-30"
    lines[200]["charge_amount"] = "12O.00"
    lines[400]["claim_id"] = ""
    lines[600]["procedure_code"] = ""
    lines[800]["units"] = "one"
    lines[1000]["line_number"] = "1a"
    lines[1200]["payer_type"] = "workers comp"


def main() -> None:
    """Write ``claims.csv`` beside this script."""
    lines = build()
    with OUT.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=COLUMNS, lineterminator="\n")
        writer.writeheader()
        writer.writerows(lines)
    print(f"wrote {len(lines)} lines to {OUT}")


if __name__ == "__main__":
    main()
