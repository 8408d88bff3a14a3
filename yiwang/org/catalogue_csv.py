"""The catalogue file: one CSV row per category, majors (大类) and subcategories (小类) together.

Columns (the national file `yiwang/org/fixtures/categories.csv` has the first eight):

    code, parent, kind, name_zh, name_en, handling_limit, limit_unit, note
    [default_unit_kind, default_urgency, filing_condition, closing_condition, form_questions,
     respond_limit, respond_unit, verify_limit, verify_unit]

`kind` is event / component / social; limit units are hour / workhour / workday (or natural_hours /
working_hours / working_days); `form_questions` is a JSON list (see yiwang.org.policies.form_questions_clean).
What a row leaves empty comes from its major category's row, then from yiwang.org.policies.

Reading never touches the database, so the data migration that installs the national catalogue uses it with
historical models, and the journaled loader (yiwang.org.services.catalogue_load_csv) with the real ones.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from pathlib import Path

from django.utils.translation import gettext as _

from yiwang.core.errors import ValidationFailed
from yiwang.org import policies
from yiwang.org.choices import CategoryKind, LimitStep, UnitKind, Urgency

FIXTURE = Path(__file__).resolve().parent / "fixtures" / "categories.csv"
REQUIRED_COLUMNS = ["code", "parent", "kind", "name_zh", "name_en", "handling_limit", "limit_unit"]
OPTIONAL_COLUMNS = ["note", "default_unit_kind", "default_urgency", "filing_condition", "closing_condition",
                    "form_questions", "respond_limit", "respond_unit", "verify_limit", "verify_unit"]
KINDS = {"event": CategoryKind.EVENT, "component": CategoryKind.COMPONENT, "social": CategoryKind.SOCIAL}
_CODE = re.compile(r"^[A-Za-z0-9]{1,16}$")
_CENT = Decimal("0.01")
MAX_AMOUNT = Decimal("999999.99")


@dataclass
class LimitRow:
    step: str
    urgency: str  # "" = any urgency
    amount: Decimal
    unit: str


@dataclass
class CategoryRow:
    number: int  # the line in the file (the header is line 1)
    code: str
    parent: str  # the major category's code, "" for a major category
    kind: str
    name: str
    name_en: str = ""
    default_unit_kind: str = ""
    default_urgency: str = ""
    filing_condition: str = ""
    closing_condition: str = ""
    form_questions: list | None = None  # None: the column was empty
    limits: list[LimitRow] = field(default_factory=list)

    def fields(self) -> dict:
        """The Category fields this row sets (without catalogue and parent)."""
        return {"code": self.code, "name": self.name, "name_en": self.name_en, "kind": self.kind,
                "default_unit_kind": self.default_unit_kind, "default_urgency": self.default_urgency,
                "filing_condition": self.filing_condition, "closing_condition": self.closing_condition,
                "form_questions": self.form_questions or []}


def _text(source) -> str:
    if isinstance(source, str | Path):
        return Path(source).read_text(encoding="utf-8-sig")
    data = source.read()
    return data.decode("utf-8-sig") if isinstance(data, bytes) else data.lstrip("\ufeff")


def _amount(raw: str) -> Decimal:
    """A positive limit with at most two decimals, or ValueError."""
    try:
        amount = Decimal(raw)
    except InvalidOperation:
        raise ValueError(raw) from None
    if not amount.is_finite() or amount <= 0 or amount > MAX_AMOUNT or amount != amount.quantize(_CENT):
        raise ValueError(raw)
    return amount


def read_catalogue_csv(source) -> tuple[list[CategoryRow], list[dict]]:
    """Parse a catalogue file (a path, or a text or binary file). Returns the rows, majors first, with
    everything inherited or defaulted filled in, and the problems found: [{"row", "code", "reason"}]."""
    errors: list[dict] = []

    def fail(number: int, code: str, reason) -> None:
        errors.append({"row": number, "code": code, "reason": str(reason)})

    try:
        text = _text(source)
    except (OSError, UnicodeDecodeError) as exc:
        fail(1, "", _("The file cannot be read as UTF-8 text: %(e)s") % {"e": exc})
        return [], errors
    reader = csv.DictReader(io.StringIO(text))
    missing = [c for c in REQUIRED_COLUMNS if c not in (reader.fieldnames or [])]
    if missing:
        fail(1, "", _("Missing columns: %(c)s") % {"c": ", ".join(missing)})
        return [], errors

    rows: list[CategoryRow] = []
    seen: dict[str, int] = {}
    number = 1
    for record in reader:
        number, line_end = number + 1, reader.line_num
        record = {k: (v or "").strip() for k, v in record.items() if k}
        start, number = number, line_end
        code = record.get("code", "")
        if code in seen:
            fail(start, code, _("The code is already used on row %(n)s.") % {"n": seen[code]})
            continue
        if code:
            seen[code] = start
        row = _read_row(start, record, fail)
        if row is not None:
            rows.append(row)

    by_code = {row.code: row for row in rows}
    for row in rows:
        if not row.parent:
            continue
        major = by_code.get(row.parent)
        if major is None:
            fail(row.number, row.code, _("The major category %(p)s is not in the file.") % {"p": row.parent})
        elif major.parent:
            fail(row.number, row.code, _("Categories have two levels: %(p)s is itself a subcategory.")
                 % {"p": row.parent})
    if not rows and not errors:
        fail(1, "", _("The file has no categories."))
    if errors:
        return [], sorted(errors, key=lambda e: e["row"])
    rows.sort(key=lambda r: (bool(r.parent), r.number))  # majors first: subcategories inherit from them
    for row in rows:
        _inherit(row, by_code.get(row.parent))
    return rows, []


def _read_row(number: int, record: dict, fail) -> CategoryRow | None:
    code = record.get("code", "")
    bad = []

    def refuse(reason):
        bad.append(reason)
        fail(number, code, reason)

    if not _CODE.match(code):
        refuse(_("The code must be 1 to 16 letters or digits."))
    kind = KINDS.get(record.get("kind", ""))
    if kind is None:
        refuse(_("Unknown kind %(k)r: use event, component or social.") % {"k": record.get("kind", "")})
    name = record.get("name_zh", "")
    if not name or len(name) > 100:
        refuse(_("A Chinese name of at most 100 characters is required."))
    if len(record.get("name_en", "")) > 150:
        refuse(_("The English name is longer than 150 characters."))
    unit_kind = record.get("default_unit_kind", "")
    if unit_kind and unit_kind not in UnitKind.values:
        refuse(_("Unknown unit kind %(k)r.") % {"k": unit_kind})
    urgency = record.get("default_urgency", "")
    if urgency and urgency not in Urgency.values:
        refuse(_("Unknown urgency %(u)r: use %(all)s.") % {"u": urgency, "all": ", ".join(Urgency.values)})

    limits: list[LimitRow] = []
    for step, amount_column, unit_column in [(LimitStep.HANDLE, "handling_limit", "limit_unit"),
                                             (LimitStep.RESPOND, "respond_limit", "respond_unit"),
                                             (LimitStep.VERIFY, "verify_limit", "verify_unit")]:
        raw, unit_word = record.get(amount_column, ""), record.get(unit_column, "")
        if not raw and not unit_word:
            continue
        unit = policies.FILE_LIMIT_UNITS.get(unit_word)
        try:
            amount = _amount(raw)
        except ValueError:
            refuse(_("%(c)s must be a positive number with at most two decimals.") % {"c": amount_column})
            continue
        if unit is None:
            refuse(_("%(c)s must be one of %(u)s.") % {"c": unit_column, "u": ", ".join(policies.FILE_LIMIT_UNITS)})
            continue
        limits.append(LimitRow(step=step, urgency="", amount=amount, unit=unit))
        if step == LimitStep.HANDLE:
            limits += [LimitRow(step=step, urgency=urgency_, amount=(amount * share).quantize(_CENT, ROUND_HALF_UP),
                                unit=unit) for urgency_, share in policies.HANDLE_SHARE.items()]

    questions = None
    if record.get("form_questions"):
        try:
            questions = policies.form_questions_clean(json.loads(record["form_questions"]))
        except json.JSONDecodeError as exc:
            refuse(_("form_questions is not valid JSON: %(e)s") % {"e": exc})
        except ValidationFailed as exc:
            refuse(exc.message)
    if bad:
        return None
    return CategoryRow(number=number, code=code, parent=record.get("parent", ""), kind=kind, name=name,
                       name_en=record.get("name_en", ""), default_unit_kind=unit_kind, default_urgency=urgency,
                       filing_condition=record.get("filing_condition", ""),
                       closing_condition=record.get("closing_condition", ""), form_questions=questions,
                       limits=limits)


def _inherit(row: CategoryRow, major: CategoryRow | None) -> None:
    """Fill what the row leaves empty from its major category's row, then from the policies."""
    major_code = major.code if major else row.code
    filing, closing = policies.MAJOR_CONDITIONS.get(major_code, policies.GENERIC_CONDITIONS)
    row.filing_condition = row.filing_condition or (major.filing_condition if major else "") or filing
    row.closing_condition = row.closing_condition or (major.closing_condition if major else "") or closing
    row.default_urgency = (row.default_urgency or (major.default_urgency if major else "")
                           or policies.URGENT_MAJORS.get(major_code, policies.DEFAULT_URGENCY))
    row.default_unit_kind = row.default_unit_kind or (major.default_unit_kind if major else "")
    if row.form_questions is None:
        row.form_questions = policies.form_questions_clean(policies.FORM_QUESTIONS.get(row.code, []))


def write_catalogue_rows(rows: list[CategoryRow], *, catalogue, category_model, limit_model,
                         save: Callable[[list, str], object]) -> dict:
    """Create the categories and time limits of `rows` in `catalogue`: majors, then subcategories, then
    limits, each batch handed to `save(objects, kind)` ("category" or "limit") which inserts them (plain
    bulk_create in a migration, journaled in the loader). Returns the categories by code."""
    by_code: dict = {}
    for level in (False, True):
        batch = [category_model(catalogue=catalogue, parent=by_code.get(row.parent), **row.fields())
                 for row in rows if bool(row.parent) == level]
        save(batch, "category")
        by_code.update({category.code: category for category in batch})
    save([limit_model(category=by_code[row.code], step=limit.step, urgency=limit.urgency, amount=limit.amount,
                      unit=limit.unit) for row in rows for limit in row.limits], "limit")
    return by_code
