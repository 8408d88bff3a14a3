"""The category catalogue's rules as data: default time limits, urgencies, filing and closing conditions, the
questions a few report forms ask, and what a well-formed form question is.

A catalogue row may override all of these; these are what a category gets when its catalogue says nothing.
The numbers follow the seeds (`seeds/`): a grid responds to the most urgent problems within 15 minutes,
verification takes one to two hours, and the national 数字城管 catalogue's handling limits apply to ordinary
cases.
"""

from __future__ import annotations

import re
from decimal import Decimal

from django.utils.translation import gettext as _

from yiwang.core.errors import invalid
from yiwang.org.choices import LimitStep, QuestionDatatype, Urgency
from yiwang.workcal.choices import LimitUnit

# The last resort of yiwang.org.selectors.category_limit: step → urgency → (amount, unit), used when neither
# the subcategory nor its major category has a row for that step.
DEFAULT_LIMITS: dict[str, dict[str, tuple[Decimal, str]]] = {
    # 响应: red within 15 minutes inside the grid, orange half an hour, then working hours.
    LimitStep.RESPOND: {
        Urgency.RED: (Decimal("0.25"), LimitUnit.NATURAL_HOURS),
        Urgency.ORANGE: (Decimal("0.5"), LimitUnit.NATURAL_HOURS),
        Urgency.YELLOW: (Decimal("2"), LimitUnit.WORKING_HOURS),
        Urgency.GREEN: (Decimal("4"), LimitUnit.WORKING_HOURS),
    },
    # 处置: for subcategories the catalogue file gives no handling limit.
    LimitStep.HANDLE: {
        Urgency.RED: (Decimal("4"), LimitUnit.NATURAL_HOURS),
        Urgency.ORANGE: (Decimal("1"), LimitUnit.WORKING_DAYS),
        Urgency.YELLOW: (Decimal("3"), LimitUnit.WORKING_DAYS),
        Urgency.GREEN: (Decimal("5"), LimitUnit.WORKING_DAYS),
    },
    # 核查: the grid worker verifies within one to two hours.
    LimitStep.VERIFY: {
        Urgency.RED: (Decimal("1"), LimitUnit.NATURAL_HOURS),
        Urgency.ORANGE: (Decimal("2"), LimitUnit.NATURAL_HOURS),
        Urgency.YELLOW: (Decimal("2"), LimitUnit.NATURAL_HOURS),
        Urgency.GREEN: (Decimal("2"), LimitUnit.NATURAL_HOURS),
    },
}

# A handling limit in the catalogue file is the limit for yellow and green cases (stored as the any-urgency
# row); more urgent cases get a share of it, in the same unit.
HANDLE_SHARE: dict[str, Decimal] = {Urgency.ORANGE: Decimal("0.5"), Urgency.RED: Decimal("0.25")}

# The catalogue file's `limit_unit` words.
FILE_LIMIT_UNITS: dict[str, str] = {
    "hour": LimitUnit.NATURAL_HOURS,
    "workhour": LimitUnit.WORKING_HOURS,
    "workday": LimitUnit.WORKING_DAYS,
    **{unit: unit for unit in LimitUnit.values},
}

# Major categories whose subcategories are urgent by default: 突发事件 (national event class 04).
URGENT_MAJORS: dict[str, str] = {"E04": Urgency.RED}
DEFAULT_URGENCY = Urgency.YELLOW

# 立案条件 / 结案条件 by major category code; its subcategories inherit them unless they say otherwise.
GENERIC_CONDITIONS = (
    "位置明确、属于本平台受理范围、有现场照片或描述可核实",
    "处置结果经网格员现场核查属实并上传照片",
)
MAJOR_CONDITIONS: dict[str, tuple[str, str]] = {
    "E01": ("位置明确、属于市容环境管理范围、有现场照片可核实",
            "现场已清理或整改到位，网格员现场核查属实并上传处置后照片"),
    "E02": ("位置明确、广告或张贴物可见、有现场照片可核实",
            "违规广告已清除或整改，网格员现场核查属实并上传照片"),
    "E03": ("施工地点明确、问题正在发生或有照片、视频为证",
            "施工单位已整改或停止违规行为，网格员现场核查属实并上传照片"),
    "E04": ("位置明确、险情正在发生或存在明显隐患，接报即立案，先处置后补全材料",
            "险情已排除、现场恢复安全，网格员现场核查属实并上传照片"),
    "E05": ("位置明确、违规行为正在发生或有照片为证、属于街面秩序管理范围",
            "违规行为已制止或现场恢复秩序，网格员现场核查属实并上传照片"),
    "C01": ("部件位置明确、有现场照片显示缺失、破损或故障",
            "部件已修复、补齐或更换，网格员现场核查属实并上传照片"),
    "C02": ("部件位置明确、有现场照片显示缺失、破损或故障",
            "部件已修复或更换、恢复正常使用，网格员现场核查属实并上传照片"),
    "C03": ("部件位置明确、有现场照片显示缺失、破损或脏污",
            "部件已修复、清洁或更换，网格员现场核查属实并上传照片"),
    "C04": ("位置明确、有现场照片显示损毁、缺株、病虫害或脏乱",
            "绿化已补植、修复或清理，网格员现场核查属实并上传照片"),
    "C05": ("部件位置明确、有现场照片显示破损或安全隐患",
            "部件已修复或隐患已消除，网格员现场核查属实并上传照片"),
    "S01": ("当事人、地点明确，纠纷事实有陈述可核实，属于基层调解范围",
            "双方达成调解协议或依法分流，网格员回访当事人确认"),
    "S02": ("诉求人、地点明确，诉求属于民生服务保障范围",
            "诉求已解决或已作出答复，网格员回访诉求人确认"),
    "S03": ("位置明确、隐患有照片或描述可核实",
            "隐患已消除或已落实管控措施，网格员现场核查属实并上传照片"),
    "S04": ("企业名称、联系人明确，诉求内容具体",
            "诉求已办结或已作出答复，回访企业确认"),
}

_MANHOLE = [{"code": "cover_state", "label": "井盖状态", "label_en": "State of the cover",
             "datatype": QuestionDatatype.SINGLEVALUELIST, "required": True, "order": 1,
             "values": [{"key": "missing", "name": "丢失"}, {"key": "broken", "name": "破损"},
                        {"key": "displaced", "name": "移位"}]}]
# The extra questions a few report forms ask (Open311 service attributes), by subcategory code.
FORM_QUESTIONS: dict[str, list[dict]] = {
    "C0101": _MANHOLE, "C0102": _MANHOLE, "C0103": _MANHOLE, "C0105": _MANHOLE, "C0111": _MANHOLE,
    "E0505": [{"code": "plate", "label": "车牌号", "label_en": "Number plate",
               "datatype": QuestionDatatype.STRING, "required": False, "order": 1}],
    "C0120": [{"code": "lamps_out", "label": "不亮的路灯盏数", "label_en": "Lamps out",
               "datatype": QuestionDatatype.NUMBER, "required": True, "order": 1},
              {"code": "since", "label": "发现时间", "label_en": "Noticed since",
               "datatype": QuestionDatatype.DATETIME, "required": False, "order": 2}],
    "E0401": [{"code": "area", "label": "塌陷面积（平方米）", "label_en": "Area (m²)",
               "datatype": QuestionDatatype.NUMBER, "required": False, "order": 1},
              {"code": "traffic", "label": "是否影响通行", "label_en": "Does it block traffic?",
               "datatype": QuestionDatatype.SINGLEVALUELIST, "required": True, "order": 2,
               "values": [{"key": "yes", "name": "是"}, {"key": "no", "name": "否"}]}],
    "E0112": [{"code": "material", "label": "遗撒物", "label_en": "Spilled material",
               "datatype": QuestionDatatype.MULTIVALUELIST, "required": False, "order": 1,
               "values": [{"key": "muck", "name": "渣土"}, {"key": "sand", "name": "砂石"},
                          {"key": "garbage", "name": "垃圾"}, {"key": "other", "name": "其他"}]}],
    "S0101": [{"code": "households", "label": "涉及户数", "label_en": "Households involved",
               "datatype": QuestionDatatype.NUMBER, "required": False, "order": 1},
              {"code": "details", "label": "纠纷经过", "label_en": "What happened",
               "datatype": QuestionDatatype.TEXT, "required": False, "order": 2}],
}

QUESTION_KEYS = {"code", "label", "label_en", "datatype", "required", "values", "order"}
LIST_DATATYPES = {QuestionDatatype.SINGLEVALUELIST, QuestionDatatype.MULTIVALUELIST}
_SLUG = re.compile(r"^[-a-zA-Z0-9_]+$")


def form_questions_clean(questions) -> list[dict]:
    """Check a category's form questions and return them in a normal shape, sorted by `order`:
    [{"code", "label", "label_en", "datatype", "required", "order"[, "values": [{"key", "name"}]]}].
    `label_en`, `required` and `order` may be left out (empty, false, position in the list)."""

    def refuse(number, message):
        text = _("Form question %(n)s: %(m)s") % {"n": number, "m": message} if number else message
        return invalid(text, "form_questions", "form_questions")

    if questions in (None, ""):
        return []
    if not isinstance(questions, list):
        raise refuse(None, _("The form questions must be a list."))
    cleaned, codes = [], set()
    for number, question in enumerate(questions, start=1):
        if not isinstance(question, dict):
            raise refuse(number, _("each question must be an object."))
        unknown = set(question) - QUESTION_KEYS
        if unknown:
            raise refuse(number, _("unknown keys %(k)s.") % {"k": ", ".join(sorted(unknown))})
        code, label = question.get("code"), question.get("label")
        if not isinstance(code, str) or not _SLUG.match(code):
            raise refuse(number, _("the code must be letters, digits, '-' or '_'."))
        if code in codes:
            raise refuse(number, _("the code %(c)s is used twice.") % {"c": code})
        codes.add(code)
        if not isinstance(label, str) or not label.strip():
            raise refuse(number, _("a label is required."))
        label_en = question.get("label_en", "")
        if not isinstance(label_en, str):
            raise refuse(number, _("the English label must be text."))
        datatype = question.get("datatype")
        if datatype not in QuestionDatatype.values:
            raise refuse(number, _("the datatype must be one of %(d)s.") % {"d": ", ".join(QuestionDatatype.values)})
        required = question.get("required", False)
        if not isinstance(required, bool):
            raise refuse(number, _("'required' must be true or false."))
        order = question.get("order", number)
        if not isinstance(order, int) or isinstance(order, bool):
            raise refuse(number, _("'order' must be a whole number."))
        item = {"code": code, "label": label.strip(), "label_en": label_en.strip(), "datatype": datatype,
                "required": required, "order": order}
        values = question.get("values")
        if datatype in LIST_DATATYPES:
            item["values"] = _clean_values(values, lambda message, n=number: refuse(n, message))
        elif values:
            raise refuse(number, _("only list questions have values."))
        cleaned.append(item)
    return sorted(cleaned, key=lambda q: q["order"])


def _clean_values(values, refuse) -> list[dict]:
    if not isinstance(values, list) or not values:
        raise refuse(_("a list question needs its values."))
    cleaned, keys = [], set()
    for value in values:
        if not isinstance(value, dict) or set(value) != {"key", "name"}:
            raise refuse(_("each value is an object with a key and a name."))
        key, name = value["key"], value["name"]
        if not isinstance(key, str) or not key.strip() or not isinstance(name, str) or not name.strip():
            raise refuse(_("each value is an object with a key and a name."))
        key = key.strip()
        if key in keys:
            raise refuse(_("the value key %(k)s is used twice.") % {"k": key})
        keys.add(key)
        cleaned.append({"key": key, "name": name.strip()})
    return cleaned
