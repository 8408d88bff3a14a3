"""The phone pages' forms: they check what a person typed and say what is wrong next to the field; the services
check the rest (and their refusals land next to the field they name)."""

from django import forms
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from yiwang.cases.choices import Rating
from yiwang.org.choices import QuestionDatatype as Q

REQUIRED = {"required": _("This field is required.")}
TOO_LONG = {"max_length": _("At most %(limit_value)d characters (now %(show_value)d).")}


class PhoneForm(forms.Form):
    phone = forms.CharField(label=_("Mobile phone number"), max_length=20,
                            error_messages={"required": _("Enter your mobile phone number.")})


class CodeForm(PhoneForm):
    code = forms.CharField(label=_("Code from the text message"), max_length=10,
                           error_messages={"required": _("Enter the 6 digits of the code we sent you.")})


class ReportForm(forms.Form):
    description = forms.CharField(max_length=4000, error_messages={
        "required": _("Describe the problem."), **TOO_LONG})
    category = forms.CharField(max_length=16, required=False)
    lat = forms.FloatField(required=False, min_value=-90, max_value=90)
    lon = forms.FloatField(required=False, min_value=-180, max_value=180)
    address = forms.CharField(max_length=255, required=False, error_messages=TOO_LONG)
    contact_phone = forms.CharField(max_length=20, required=False)
    same_as = forms.IntegerField(required=False)
    appeal = forms.BooleanField(required=False)  # an enterprise account's appeal (企业诉求)
    fixed = forms.BooleanField(required=False)  # a grid worker fixed it on the spot (自处置)
    fixed_result = forms.CharField(max_length=4000, required=False)

    def __init__(self, *args, anonymous: bool = False, patrol: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        self.anonymous = anonymous
        self.patrol = patrol

    def clean(self):
        data = super().clean()
        if (data.get("lat") is None) != (data.get("lon") is None) and "lat" not in self.errors:
            self.add_error("lat", _("The position is incomplete. Locate it again."))
        if self.anonymous and not (data.get("contact_phone") or "").strip():
            self.add_error("contact_phone", _("Leave a phone number so the staff can call you back."))
        if self.patrol and data.get("fixed") and not (data.get("fixed_result") or "").strip():
            self.add_error("fixed_result", _("Say what you did on the spot."))
        return data


def answers_clean(data, questions: list[dict]) -> tuple[dict, list[str]]:
    """The answers to a category's questions (`selectors.questions_of`) from the report form's `answer_<code>`
    fields, each as its datatype says (a number, an ISO 8601 time with its offset, one key or a list of keys), and
    what is wrong with them. Whether required questions are answered is the report service's check."""
    answers, errors = {}, []
    for question in questions:
        code, name = question["code"], f"answer_{question['code']}"
        if question["datatype"] == Q.MULTIVALUELIST:
            values = list(dict.fromkeys(v for v in data.getlist(name) if v))
            if values:
                answers[code] = values
            continue
        value = " ".join((data.get(name) or "").split()) if question["datatype"] != Q.TEXT \
            else (data.get(name) or "").strip()
        if not value:
            continue
        if question["datatype"] == Q.NUMBER:
            try:
                number = float(value)
            except ValueError:
                errors.append(gettext("%(q)s: enter a number.") % {"q": question["label"]})
                continue
            value = int(number) if number.is_integer() else number
        elif question["datatype"] == Q.DATETIME:
            moment = parse_datetime(value)
            if moment is None:
                errors.append(gettext("%(q)s: enter a date and time.") % {"q": question["label"]})
                continue
            if timezone.is_naive(moment):
                moment = timezone.make_aware(moment)
            value = timezone.localtime(moment).isoformat(timespec="seconds")
        answers[code] = value
    return answers, errors


class RateForm(forms.Form):
    rating = forms.ChoiceField(choices=Rating.choices, widget=forms.RadioSelect,
                               error_messages={"required": _("Choose how satisfied you are.")})
    comment = forms.CharField(max_length=2000, required=False)

    def clean(self):
        data = super().clean()
        if data.get("rating") == Rating.UNSATISFIED and not (data.get("comment") or "").strip():
            self.add_error("comment", _("Tell us what is still wrong, so it can be handled again."))
        return data


class VerifyForm(forms.Form):
    note = forms.CharField(max_length=2000, required=False, error_messages=TOO_LONG)


class ReworkForm(forms.Form):
    reason = forms.CharField(max_length=2000, error_messages={"required": _("Say what is still not done."), **TOO_LONG})


class SelfHandleForm(forms.Form):
    result = forms.CharField(max_length=4000, error_messages={"required": _("Say what you did on the spot."), **TOO_LONG})
    category = forms.CharField(max_length=16, required=False)
