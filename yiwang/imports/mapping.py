"""Which column of the file holds which of our fields.

The default mapping knows the headers of the common 12345/8890 hotline exports; a user mapping
`{our field: their header}` overrides it field by field (`null` or "" leaves a field out). Headers match after
trimming spaces (also full-width ones) and ignoring case, and our own field names work as headers too.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from yiwang.core.errors import invalid


@dataclass(frozen=True)
class Field:
    name: str
    label: object  # a lazy translation
    headers: tuple[str, ...]  # the default mapping: the first one present in the file is used
    required: bool = False


FIELDS: dict[str, Field] = {f.name: f for f in [
    Field("external_ref", _("original number"), ("工单编号", "工单号", "原始编号", "受理编号", "编号"), required=True),
    Field("reported_at", _("reported at"), ("来电时间", "受理时间", "登记时间", "创建时间", "上报时间"), required=True),
    Field("description", _("description"), ("诉求内容", "来电内容", "问题描述", "工单内容", "内容"), required=True),
    Field("address", _("address"), ("事发地址", "诉求地址", "事发地点", "地址")),
    Field("lon", _("longitude"), ("经度",)),
    Field("lat", _("latitude"), ("纬度",)),
    Field("region", _("region (division code or name)"), ("区划代码", "区域代码", "所属社区", "所属街道", "所属区域")),
    Field("reporter_name", _("reporter name"), ("来电人", "来电人姓名", "诉求人", "联系人")),
    Field("reporter_phone", _("reporter phone"), ("联系电话", "来电号码", "联系方式")),
    Field("category", _("category (code or subcategory name)"), ("分类代码", "诉求类别", "事项分类", "问题分类")),
    Field("urgency", _("urgency"), ("紧急程度", "紧急度", "缓急程度")),
    Field("legacy_status", _("status in the source system"), ("办理状态", "工单状态", "状态")),
    Field("closed_at", _("closed at"), ("办结时间", "结案时间", "完成时间")),
    Field("result", _("result"), ("办理结果", "处理结果", "答复内容")),
    Field("channel", _("channel"), ("来源渠道", "来源")),
]}


def normalise_header(value) -> str:
    return "".join(str(value if value is not None else "").replace("\ufeff", "").split()).casefold()


def check_mapping(mapping) -> dict[str, str | None]:
    """A user mapping as given: our field names to the file's headers (None: leave the field out)."""
    if mapping in (None, ""):
        return {}
    if not isinstance(mapping, dict):
        raise invalid(gettext("The column mapping must be an object {our field: your column header}."),
                      "mapping_invalid", "mapping")
    clean = {}
    for field, header in mapping.items():
        if field not in FIELDS:
            raise invalid(gettext("Unknown field in the column mapping: %(f)s (known: %(known)s)")
                          % {"f": field, "known": ", ".join(FIELDS)}, "mapping_unknown_field", "mapping")
        if header is not None and not isinstance(header, str):
            raise invalid(gettext("Map %(f)s to a column header (text).") % {"f": field}, "mapping_invalid",
                          "mapping")
        clean[field] = (header or "").strip() or None
    return clean


@dataclass(frozen=True)
class Resolved:
    columns: dict[str, str]  # field → the header as written in the file
    index: dict[str, int]  # field → column position
    missing: list[tuple[str, str]]  # (field, header) the user mapped but the file lacks
    absent_required: list[str]  # required fields found nowhere


def resolve(header: list, mapping: dict[str, str | None]) -> Resolved:
    """Match the file's header row against the user mapping, then the default one."""
    positions: dict[str, int] = {}
    for i, cell in enumerate(header):
        positions.setdefault(normalise_header(cell), i)
    columns, index, missing = {}, {}, []
    for name, field in FIELDS.items():
        if name in mapping:
            wanted = mapping[name]
            if wanted is None:
                continue
            candidates = (wanted,)
        else:
            candidates = (*field.headers, name)
        for candidate in candidates:
            position = positions.get(normalise_header(candidate))
            if position is not None:
                columns[name], index[name] = str(header[position]).replace("\ufeff", "").strip(), position
                break
        else:
            if name in mapping:
                missing.append((name, mapping[name]))
    absent = [name for name, field in FIELDS.items() if field.required and name not in index]
    return Resolved(columns=columns, index=index, missing=missing, absent_required=absent)


def looks_like_header(cells: list, mapping: dict[str, str | None]) -> bool:
    """Whether a row is the header: it names the description column and one more of ours. Exports often put a
    title row or two above it (「12345热线工单明细」)."""
    found = resolve(list(cells), mapping)
    return "description" in found.index and len(found.index) >= 2
