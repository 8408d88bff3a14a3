"""What each code of an import means, in words. Row errors and run failures are stored as a code and its values;
the words are chosen when someone reads them, in their language."""

from django.utils.translation import gettext_lazy as _

# (code, variant) → message; a variant refines the wording of a code ("future" for a bad_date …).
ROW_MESSAGES = {
    ("missing_number", None): _("The original number is missing; it is what makes importing the same file twice "
                                "harmless."),
    ("missing_description", None): _("The description of the problem is missing."),
    ("missing_date", None): _("The time of the report is missing."),
    ("bad_date", None): _("%(value)s is not a date and time (such as 2024-03-05 14:23)."),
    ("bad_date", "future"): _("%(value)s lies in the future."),
    ("bad_date", "before_report"): _("The case closes (%(value)s) before it was reported."),
    ("close_time_required", None): _("The case is finished in the source system (%(value)s) but has no close "
                                     "time."),
    ("bad_coordinates", None): _("%(value)s is not a longitude and latitude in range."),
    ("bad_coordinates", "one"): _("Give both longitude and latitude, or neither."),
    ("outside_area", None): _("The position %(value)s is outside every grid, and no region is given."),
    ("no_location", None): _("Neither a position nor a region is given."),
    ("unknown_region", None): _("No region has the code or name %(value)s."),
    ("ambiguous_region", None): _("Several regions are called %(value)s; give the division code."),
    ("unknown_category", None): _("No category %(value)s in the catalogue that applies here."),
    ("category_invalid", None): _("%(value)s is a major category or no longer in use; give a subcategory."),
    ("bad_urgency", None): _("Unknown urgency %(value)s (red, orange, yellow, green, or 特急, 紧急, 一般, 不急)."),
    ("bad_channel", None): _("Unknown channel %(value)s."),
    ("too_long", None): _("Longer than %(max)s characters."),
    ("duplicate_in_file", None): _("The number %(value)s is already on row %(first)s of this file."),
    ("already_imported", None): _("Already imported as case %(case)s."),
    ("out_of_scope", None): _("This place is outside the area you may import cases for."),
}

RUN_MESSAGES = {
    "file_type": _("The file is not a CSV or XLSX file (an old .xls must be saved as .xlsx first)."),
    "file_encoding": _("The file's text is neither UTF-8 nor GB18030/GBK; save it as \"CSV UTF-8\"."),
    "file_unreadable": _("The file cannot be read (row %(row)s): %(detail)s"),
    "file_too_big_unpacked": _("The XLSX file unpacks to far more than an export holds; it was refused."),
    "file_missing": _("The uploaded file is no longer stored."),
    "header_missing": _("No header row naming the description column was found in the first 20 rows."),
    "columns_missing": _("The file lacks these columns: %(columns)s."),
    "mapping_header_missing": _("The column mapping names columns the file does not have: %(columns)s."),
    "internal": _("The import stopped on an unexpected error (%(detail)s); resume it to try again."),
}


def row_message(code: str, params: dict) -> str:
    template = ROW_MESSAGES.get((code, params.get("variant"))) or ROW_MESSAGES.get((code, None))
    if template is None:
        return code
    try:
        return str(template) % params
    except (KeyError, TypeError, ValueError):
        return str(template)


def run_message(code: str, params: dict) -> str:
    if not code:
        return ""
    template = RUN_MESSAGES.get(code)
    if template is None:
        return code
    try:
        return str(template) % params
    except (KeyError, TypeError, ValueError):
        return str(template)
