"""The four rules' detection as plain DuckDB SQL (no pricing), for the speed comparison.

Like leakaudit, the credit lines and the charges they reverse are set aside first, and the hits on copies
of one service on several claims (a claim crossed over to a second payer) are counted once.

python bench/duckdb_rules.py CLAIMS_GLOB REFERENCE_DIR [MEMORY_LIMIT SPILL_DIR]

With ``MEMORY_LIMIT`` (``4GB``), DuckDB holds to it, writing what does not fit to ``SPILL_DIR``.
"""

from __future__ import annotations

import sys

import duckdb

from leakaudit.rules.jcode_unit_mismatch import DOSAGE_UNIT_MEASURES, NDC_UNIT_MEASURES

#: The units of a line, a void written as the units billed at a negative charge read as a credit line.
CREDITED_UNITS = "CASE WHEN units > 0 AND charge_amount < 0 THEN -units ELSE units END"
#: The claim lines the rules read, from ``{lines}`` (a table expression), with their encounter key; without
#: the credit lines (negative units, or the units billed at a negative charge) and the charges they
#: reverse: for each, the first charge by claim and line number (leakaudit's ``io.reversals``) of its
#: encounter, code and units.
LINES = """
CREATE TEMP VIEW all_lines AS
SELECT * REPLACE ({units} AS units),
  CASE WHEN patient_id IS NOT NULL THEN 'P:' || patient_id || '|' || service_date
       ELSE 'C:' || claim_id END AS enc
FROM {lines};

CREATE TEMP TABLE set_aside AS
WITH credits AS (
  SELECT claim_id, line_number, enc, procedure_code, -units AS units FROM all_lines WHERE units < 0
), wanted AS (
  SELECT enc, procedure_code, units, count(*) AS n FROM credits GROUP BY ALL
), charges AS (
  SELECT claim_id, line_number, n,
    row_number() OVER (PARTITION BY enc, procedure_code, units ORDER BY claim_id, line_number) AS k
  FROM all_lines JOIN wanted USING (enc, procedure_code, units)
  WHERE all_lines.units > 0
)
SELECT claim_id, line_number FROM credits
UNION ALL SELECT claim_id, line_number FROM charges WHERE k <= n;

CREATE TEMP VIEW l AS
SELECT * FROM all_lines ANTI JOIN set_aside USING (claim_id, line_number);
"""

#: The places of service where the facility bills the drug (leakaudit's ``facility_places_of_service``).
FACILITY = ", ".join(
    f"'{p}'" for p in ("19", "21", "22", "23", "24", "26", "31", "34", "41", "42", "51", "52", "53", "56", "61")
)

#: The codes of drug products (leakaudit's codeset ``drug_products``), as a condition on ``{code}``.
IS_DRUG = """({code} BETWEEN 'J0120' AND 'J9999' OR {code} BETWEEN 'Q0138' AND 'Q0249' OR {code} BETWEEN 'Q5101' AND 'Q5199'
  OR {code} BETWEEN 'C9000' AND 'C9399' OR {code} BETWEEN 'A9500' AND 'A9700' OR {code} BETWEEN '90281' AND '90399')
  AND length({code}) = 5"""

#: How each NDC unit and dosage descriptor unit converts (leakaudit's tables), as SQL rows (unit, kind, factor).
NDC_UNITS, DOSAGE_UNITS = (
    " UNION ALL ".join(f"SELECT '{unit}', '{kind}', {factor}" for unit, (kind, factor) in table.items())
    for table in (NDC_UNIT_MEASURES, DOSAGE_UNIT_MEASURES)
)

#: ``ndc11(ndc)``: an NDC in its 11-digit form, as leakaudit's ``refdata.ndc11`` writes it: dashed segments
#: padded, fewer than 10 plain digits padded in front, 10 plain digits kept (resolved by the crosswalk below).
MACROS = r"""
CREATE TEMP MACRO ndc_text(ndc) AS regexp_replace(trim(ndc), '^[Nn]4[\s:*]*', '');
CREATE TEMP MACRO ndc_digits(text) AS regexp_replace(text, '\D', '', 'g');
CREATE TEMP MACRO ndc11_of(text) AS CASE
  WHEN regexp_full_match(text, '\d{1,5}-\d{1,4}-\d{1,2}') THEN lpad(split_part(text, '-', 1), 5, '0')
    || lpad(split_part(text, '-', 2), 4, '0') || lpad(split_part(text, '-', 3), 2, '0')
  WHEN length(ndc_digits(text)) BETWEEN 1 AND 9 THEN lpad(ndc_digits(text), 11, '0')
  ELSE ndc_digits(text) END;
CREATE TEMP MACRO ndc11(ndc) AS ndc11_of(ndc_text(ndc));
"""

#: The four detections over ``l``, each into a table of its hits. ``jcode`` checks, as leakaudit's rule: the
#: units against the NDC dose (converted directly by the units' kind, else through the CMS crosswalk), the
#: CMS MUE (per line, or per patient's day and payer), and, without an NDC or with one whose dose is above the
#: MUE, the provider's typical units; and a drug line of no units, without a dose to convert. Lines of drug
#: discarded (JW) or given free of cost (FB) are not checked, and ``expired`` leaves out FB lines too.
DETECTIONS = """
CREATE TEMP TABLE drug_admin AS
WITH marked AS (
  SELECT enc, claim_id, line_number, procedure_code AS code,
    CASE WHEN place_of_service IN ({facility}) AND revenue_code IS NULL THEN NULL
         WHEN code BETWEEN '96360' AND '96361' THEN 'hydration'
         WHEN code BETWEEN '96365' AND '96379' OR code BETWEEN '96401' AND '96549' THEN 'drug'
         WHEN code BETWEEN '90460' AND '90474' OR code BETWEEN 'G0008' AND 'G0010' THEN 'immunization' END AS kind,
    {is_drug} AS is_drug,
    (code BETWEEN '90476' AND '90759' OR code BETWEEN 'Q2034' AND 'Q2039') AND length(code) = 5 AS is_vaccine
  FROM l
), relevant AS (SELECT * FROM marked WHERE kind IS NOT NULL OR is_drug OR is_vaccine),
per_enc AS (SELECT enc, bool_or(is_drug) AS has_drug, bool_or(is_vaccine) AS has_vaccine FROM relevant GROUP BY enc)
SELECT enc, min(claim_id || '|' || lpad(line_number::VARCHAR, 10, '0')) AS anchor
FROM relevant JOIN per_enc USING (enc)
WHERE kind IS NOT NULL AND ((kind = 'immunization' AND NOT has_vaccine) OR (kind <> 'immunization' AND NOT has_drug))
GROUP BY enc;

CREATE TEMP TABLE brace AS
WITH marked AS (
  SELECT enc, claim_id, line_number,
    procedure_code BETWEEN '99202' AND '99215' OR procedure_code BETWEEN '99221' AND '99239'
      OR procedure_code BETWEEN '99242' AND '99255' OR procedure_code BETWEEN '99281' AND '99285'
      OR procedure_code BETWEEN '99341' AND '99350' OR procedure_code BETWEEN '99381' AND '99397' AS is_visit,
    procedure_code BETWEEN 'L0112' AND 'L4631' AND length(procedure_code) = 5 AS is_lcode,
    (procedure_code IN ('99070', 'A4570', 'A9270', 'A9999', 'E1399', 'L9900') OR revenue_code = '0274')
      AND regexp_matches(description, '(?i)\\b(brace|orthosis|orthotic|splint|immobili[sz]er|walking boot|sling|collar|support|afo|kafo|lso|tlso)\\b')
      AND NOT coalesce(place_of_service IN ({facility}) AND revenue_code IS NULL, false) AS is_supplied,
    procedure_code IN ('97760', '97763')
      AND NOT coalesce(place_of_service IN ({facility}) AND revenue_code IS NULL, false)
      AS is_management
  FROM l
)
SELECT enc, min(CASE WHEN is_supplied OR is_management THEN claim_id || '|' || lpad(line_number::VARCHAR, 10, '0') END)
  AS anchor
FROM marked WHERE is_visit OR is_lcode OR is_supplied OR is_management
GROUP BY enc HAVING bool_or(is_visit) AND NOT bool_or(is_lcode) AND bool_or(is_supplied OR is_management);

CREATE TEMP TABLE jcode AS
WITH drug_lines AS (
  SELECT *, units::DOUBLE AS billed, coalesce(modifiers LIKE '%JW%', false) AS jw,
    coalesce(modifiers LIKE '%FB%', false) AS fb
  FROM l WHERE units >= 0 AND {is_drug}
), wasted AS (
  SELECT enc, procedure_code, sum(billed) AS wasted FROM drug_lines WHERE jw GROUP BY ALL
), converted AS (
  SELECT d.*, CASE WHEN n.kind = u.kind THEN d.ndc_quantity::DOUBLE * n.factor / (a.dosage_amount * u.factor) END
    AS direct
  FROM drug_lines d LEFT JOIN read_parquet('{reference}/asp.parquet') a ON d.procedure_code = a.code
  LEFT JOIN ({ndc_units}) n(unit, kind, factor) ON d.ndc_unit = n.unit
  LEFT JOIN ({dosage_units}) u(unit, kind, factor) ON a.dosage_unit = u.unit
  WHERE NOT d.jw AND NOT d.fb
), crosswalk AS (
  SELECT * FROM read_parquet('{reference}/crosswalk.parquet')
), labels AS (
  -- The 10 digits of a package label each NDC may be written as (its padded zero dropped), where they name
  -- one NDC of the code: 10 digits are resolved to the one 11-digit form the crosswalk lists.
  SELECT code, label, any_value(ndc) AS ndc FROM (
    SELECT code, ndc, ndc[2:] AS label FROM crosswalk WHERE length(ndc) = 11 AND ndc[1] = '0'
    UNION ALL SELECT code, ndc, ndc[1:5] || ndc[7:] FROM crosswalk WHERE length(ndc) = 11 AND ndc[6] = '0'
    UNION ALL SELECT code, ndc, ndc[1:9] || ndc[11:] FROM crosswalk WHERE length(ndc) = 11 AND ndc[10] = '0'
  ) GROUP BY ALL HAVING count(DISTINCT ndc) = 1
), via_crosswalk AS (
  -- Only lines the dosage descriptor cannot convert are matched to the crosswalk by their NDC.
  SELECT c.* EXCLUDE (direct, ndc11), CASE WHEN c.ndc_unit = 'UN' THEN c.ndc_quantity::DOUBLE * x.billing_units_per_item
      WHEN c.ndc_unit IN ('ML', 'GR') AND x.package_size > 0
      THEN c.ndc_quantity::DOUBLE / x.package_size * x.billing_units_per_item END AS direct
  FROM (
    SELECT *, ndc11(ndc) AS ndc11 FROM converted
    WHERE direct IS NULL AND ndc_quantity IS NOT NULL AND ndc IS NOT NULL
  ) c LEFT JOIN labels f ON c.procedure_code = f.code AND c.ndc11 = f.label
  LEFT JOIN crosswalk x ON c.procedure_code = x.code AND coalesce(f.ndc, c.ndc11) = x.ndc
), rounded AS (
  SELECT * EXCLUDE (direct), CASE WHEN direct > 0 THEN greatest(1, ceil(direct - 1e-6)) END AS expected FROM (
    SELECT * FROM converted WHERE NOT (direct IS NULL AND ndc_quantity IS NOT NULL AND ndc IS NOT NULL)
    UNION ALL BY NAME SELECT * FROM via_crosswalk
  )
), dosed AS (
  -- A dose above the code's MUE is no dose (an NDC quantity written wrong): checked as a line without one.
  SELECT * EXCLUDE (expected), CASE WHEN NOT above_mue THEN expected END AS expected FROM (
    SELECT r.*, coalesce(r.expected > m.mue, false) AS above_mue, m.mue AS line_mue
    FROM rounded r LEFT JOIN (SELECT code, mue FROM read_parquet('{reference}/mue.parquet') WHERE mue > 0) m
      ON r.procedure_code = m.code
  )
), dose AS (
  -- Units above the dose are exposure, but on a line above the MUE on its own: that line is denied.
  SELECT dosed.*, billed > expected AND NOT coalesce(billed > line_mue, false) AS exposure
  FROM dosed LEFT JOIN wasted USING (enc, procedure_code)
  WHERE billed > expected OR billed + coalesce(wasted, 0) < expected
), matching AS (
  SELECT dosed.*, m.mue, m.mai FROM dosed JOIN read_parquet('{reference}/mue.parquet') m ON procedure_code = m.code
  WHERE m.mue > 0 AND billed > 0 AND (expected IS NULL OR billed = expected)
), day_lines AS (
  -- A payer's day adds each service once: a claim billed again to it repeats its lines.
  SELECT * FROM matching WHERE mai <> 1
  QUALIFY claim_id = first_value(claim_id) OVER (
    PARTITION BY enc, procedure_code, modifiers, units, rendering_npi, payer_id
    ORDER BY coalesce(paid_amount, 0) DESC, claim_id, line_number)
), mue AS (
  SELECT * FROM matching WHERE mai = 1 AND billed > mue
  UNION ALL BY NAME
  SELECT * EXCLUDE (day_units) FROM (
    SELECT *, sum(billed) OVER (PARTITION BY enc, procedure_code, payer_id) AS day_units FROM day_lines
    -- The day's line of the most units (leakaudit's ``_days_over_mue``), then as copies are ordered.
    QUALIFY row_number() OVER (
      PARTITION BY enc, procedure_code, payer_id
      ORDER BY billed DESC, coalesce(paid_amount, 0) DESC, claim_id, line_number) = 1
  ) WHERE day_units > mue
), typical AS (
  SELECT procedure_code, rendering_npi, median(units::DOUBLE) AS typical_units
  FROM (SELECT DISTINCT enc, procedure_code, modifiers, units, rendering_npi FROM dosed
        WHERE rendering_npi IS NOT NULL AND billed > 0)
  GROUP BY ALL HAVING count(*) >= 5
), below AS (
  SELECT dosed.* FROM dosed JOIN typical USING (procedure_code, rendering_npi) LEFT JOIN wasted USING (enc, procedure_code)
  WHERE (dosed.ndc_quantity IS NULL OR above_mue) AND billed > 0 AND typical_units >= 2
    AND billed + coalesce(wasted, 0) <= 0.5 * typical_units
), no_units AS (
  SELECT * FROM dosed WHERE billed = 0 AND expected IS NULL
), flagged AS (
  SELECT * EXCLUDE (mue, mai), false AS exposure FROM mue
  UNION ALL BY NAME SELECT * FROM dose
  UNION ALL BY NAME SELECT *, false AS exposure FROM below
  UNION ALL BY NAME SELECT *, false AS exposure FROM no_units
)
SELECT claim_id, line_number FROM flagged
{once_per_service_and_kind};

CREATE TEMP TABLE expired AS
WITH outside AS (
  SELECT l.*
  FROM l LEFT JOIN read_parquet('{reference}/hcpcs.parquet') h ON l.procedure_code = h.code
  WHERE NOT coalesce(l.modifiers LIKE '%FB%', false) AND (
     (h.code IS NOT NULL AND (l.service_date > h.termination_date OR l.service_date < h.effective_from))
     OR (h.code IS NULL AND regexp_matches(l.procedure_code, '^[A-CE-V][0-9]{{4}}$'))
     OR (h.code IS NULL AND NOT regexp_matches(l.procedure_code, '^[0-9]{{4}}[0-9FTUM]$|^D[0-9]{{4}}$|^[A-CE-V][0-9]{{4}}$')))
)
SELECT claim_id, line_number FROM outside
{once_per_service};
"""

#: Of the hits on copies of one service (the same encounter, code, modifiers, units and provider) on several
#: claims, those on the claim whose line was paid most, then the first by claim and line number (leakaudit's
#: ``rules.same_service``). The jcode hits are kept apart by their kind (units over the dose or under).
ONCE_PER_SERVICE = """QUALIFY claim_id = first_value(claim_id) OVER (
  PARTITION BY {kind}enc, procedure_code, modifiers, units, rendering_npi
  ORDER BY coalesce(paid_amount, 0) DESC, claim_id, line_number)"""


def detect(con: duckdb.DuckDBPyConnection, lines: str, reference: str, units: str = CREDITED_UNITS) -> None:
    """Run the four detections over the table expression ``lines``, its ``units`` the SQL expression given;
    print each one's count of hits."""
    detections = DETECTIONS.format(
        reference=reference,
        facility=FACILITY,
        once_per_service=ONCE_PER_SERVICE.format(kind=""),
        once_per_service_and_kind=ONCE_PER_SERVICE.format(kind="exposure, "),
        is_drug=IS_DRUG.format(code="procedure_code"),
        ndc_units=NDC_UNITS,
        dosage_units=DOSAGE_UNITS,
    )
    con.execute(MACROS + LINES.format(lines=lines, units=units) + detections)
    for table in ("drug_admin", "brace", "jcode", "expired"):
        print(table, con.execute(f"SELECT count(*) FROM {table}").fetchone()[0])


if __name__ == "__main__":
    claims, reference = sys.argv[1], sys.argv[2]
    con = duckdb.connect()
    con.execute("SET threads TO 2")
    if len(sys.argv) > 3:
        con.execute(f"SET memory_limit = '{sys.argv[3]}'")
        con.execute(f"SET temp_directory = '{sys.argv[4]}'")
    detect(con, f"read_parquet('{claims}')", reference)
