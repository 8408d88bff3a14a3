"""Writes for Open311 GeoReport v2: issuing and changing client systems' API keys, recognising a key, and a
report posted by a client, which enters the case loop through yiwang.cases.services.case_report like any
other report (channel "open311"), in the name of the client's service user."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import math
import re
import secrets
from dataclasses import dataclass, field

from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.validators import URLValidator
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime
from django.utils.translation import gettext

from yiwang.accounts.models import Role, User
from yiwang.accounts.policies import REGION, ensure_in_scope, grants_for, require
from yiwang.accounts.services import role_assign, user_create, user_update
from yiwang.cases.choices import Channel
from yiwang.cases.services import case_report
from yiwang.core import clock
from yiwang.core.errors import (
    NotFound,
    OutOfScope,
    PermissionRefused,
    ValidationFailed,
    check_editable,
    invalid,
)
from yiwang.core.services import audit_write, snapshot
from yiwang.geo.models import Region
from yiwang.geo.selectors import grid_locate
from yiwang.open311.models import ApiClient, Open311Request
from yiwang.org.choices import QuestionDatatype
from yiwang.org.models import Category
from yiwang.org.selectors import category_by_code

PREFIX_LENGTH = 8
ROLE = "api_client"
# A key a person chose (the demo's) must still be hard to guess by chance; generated keys have 43 characters.
MIN_KEY_LENGTH = 12
KEY_PATTERN = re.compile(rf"^[\x21-\x7e]{{{MIN_KEY_LENGTH},128}}$")
# The usage stamp is a convenience for the admin list, not a journaled change (like a user's last_login):
# written at most once a minute per key, so a busy client does not write on every request.
LAST_USED_EVERY = dt.timedelta(minutes=1)
DESCRIPTION_MAX = 4000  # the spec's limit


def key_hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


TRACKED = ["name", "key_prefix", "region", "contact", "service_user", "is_active"]


def _may(actor, perm: str, path: str) -> None:
    if actor is None or (actor.is_superuser and actor.is_active):
        return
    if not any(g.kind == REGION and path.startswith(g.path) for g in grants_for(actor).get(perm, [])):
        raise PermissionRefused()


def _free_key() -> str:
    for _attempt in range(10):
        key = secrets.token_urlsafe(32)
        prefix = key[:PREFIX_LENGTH]
        if not ApiClient.objects.filter(key_prefix=prefix).exists() \
                and not User.objects.filter(username=f"open311-{prefix}").exists():
            return key
    raise RuntimeError("no free API key prefix after 10 tries")


@transaction.atomic
def api_client_issue(*, actor, name: str, region: Region | None, contact: str = "", key: str | None = None,
                     reason: str = "", now: dt.datetime | None = None) -> tuple[ApiClient, str]:
    """Issue an API key to a client system for a jurisdiction (a region subtree). Returns the client and the key,
    which is stored only as its SHA-256 and must be shown to the person issuing it now, once.

    The client acts through a service user of its own (no password, no staff access) holding the `api_client`
    role in the jurisdiction, so reports are scope-checked and journaled in its name."""
    now = now or clock.now()
    name = (name or "").strip()
    contact = (contact or "").strip()
    if not name:
        raise invalid(gettext("Give the client system a name."), "required", "name")
    if region is None:
        raise invalid(gettext("Choose the jurisdiction the key may report in."), "required", "region")
    _may(actor, "open311.add_apiclient", region.path)
    if key is None:
        key = _free_key()
    elif not KEY_PATTERN.match(key):
        raise invalid(gettext("A key is %(n)d to 128 printable characters without spaces.") % {"n": MIN_KEY_LENGTH},
                      "key_invalid", "key")
    prefix = key[:PREFIX_LENGTH]
    if ApiClient.objects.filter(key_prefix=prefix).exists():
        raise invalid(gettext("Another key starts with the same characters; choose another key."), "key_taken", "key")
    role = Role.objects.filter(code=ROLE).first()
    if role is None:
        raise ValidationFailed(gettext("The role %(code)s is missing; run the migrations.") % {"code": ROLE},
                               code="role_missing")
    with clock.frozen(now):
        user = user_create(actor=actor, username=f"open311-{prefix}", real_name=name[:50], region=region,
                           password=None, reason=reason or gettext("Service user of an Open311 client"))
        role_assign(actor=actor, user=user, role=role, region=region, valid_from=timezone.localdate(now),
                    note=gettext("Open311 client %(name)s") % {"name": name}, reason=reason)
        client = ApiClient(name=name, key_prefix=prefix, key_hash=key_hash(key), region=region,
                           region_path=region.path, contact=contact, service_user=user, created_at=now)
        client.save(force_insert=True)
        ensure_in_scope(client, actor=actor, action="add")
        # The journal keeps the prefix to recognise the key by, never the key or its hash.
        audit_write(actor=actor, action="open311.client_issue", obj=client, after=snapshot(client, TRACKED),
                    reason=reason, scope_path=client.region_path)
    return client, key


EDITABLE = {"name", "contact", "is_active"}


@transaction.atomic
def api_client_update(*, actor, client: ApiClient, reason: str = "", now: dt.datetime | None = None,
                      **changes) -> ApiClient:
    """Rename a client, change its contact, or switch its key off and on (its service user with it). The
    jurisdiction is fixed: a client for another area gets a key of its own."""
    check_editable(changes, EDITABLE)
    now = now or clock.now()
    client = ApiClient.objects.select_for_update().get(pk=client.pk)
    require(client, actor=actor, action="change")
    before = snapshot(client, TRACKED)
    for name, value in changes.items():
        setattr(client, name, value.strip() if isinstance(value, str) else value)
    if not client.name:
        raise invalid(gettext("Give the client system a name."), "required", "name")
    with clock.frozen(now):
        client.save()
        user_changes = {}
        if client.is_active != client.service_user.is_active:
            user_changes["is_active"] = client.is_active
        if client.name[:50] != client.service_user.real_name:
            user_changes["real_name"] = client.name[:50]
        if user_changes:
            user_update(actor=actor, user=client.service_user, reason=reason, **user_changes)
        audit_write(actor=actor, action="open311.client_update", obj=client, before=before,
                    after=snapshot(client, TRACKED), reason=reason, scope_path=client.region_path)
    return client


def api_client_authenticate(*, key: str | None, now: dt.datetime | None = None) -> ApiClient | None:
    """The active client holding `key`, or None. Compares hashes in constant time."""
    if not key or not KEY_PATTERN.match(key):
        return None
    client = (ApiClient.objects.select_related("service_user", "region")
              .filter(key_prefix=key[:PREFIX_LENGTH]).first())
    if client is None or not hmac.compare_digest(client.key_hash, key_hash(key)):
        return None
    if not (client.is_active and client.service_user.is_active):
        return None
    now = now or clock.now()
    if client.last_used_at is None or client.last_used_at < now - LAST_USED_EVERY:
        ApiClient.objects.filter(pk=client.pk).filter(
            Q(last_used_at__isnull=True) | Q(last_used_at__lt=now - LAST_USED_EVERY)).update(last_used_at=now)
    return client


# --- POST requests ------------------------------------------------------------------------------------------

@dataclass
class Submission:
    """What a client posted, as text (the Open311 form fields); `attributes` maps a code to its values."""

    service_code: str = ""
    lat: str = ""
    long: str = ""
    address_string: str = ""
    address_id: str = ""
    description: str = ""
    first_name: str = ""
    last_name: str = ""
    phone: str = ""
    media_url: str = ""
    attributes: dict[str, list[str]] = field(default_factory=dict)


def _refuse(errors: dict[str, str]) -> None:
    if errors:
        first = next(iter(errors.values()))
        raise ValidationFailed(first, code="invalid", fields={name: [text] for name, text in errors.items()})


def _position(submission: Submission) -> tuple[float, float] | None:
    lat, lon = submission.lat.strip(), submission.long.strip()
    if not lat and not lon:
        return None
    try:
        position = float(lat), float(lon)
    except ValueError:
        position = None
    if position is None or not all(math.isfinite(v) for v in position) \
            or not (-90 <= position[0] <= 90 and -180 <= position[1] <= 180):
        raise invalid(gettext("lat and long must both be given, as WGS-84 degrees."), "location_invalid", "lat")
    return position


def _number(value: str):
    try:
        number = int(value)
    except ValueError:
        number = float(value)  # ValueError goes to the caller
        if not math.isfinite(number):
            raise ValueError(value) from None
    return number


def _datetime(value: str) -> str:
    moment = parse_datetime(value)
    if moment is None:
        day = parse_date(value)
        if day is None:
            raise ValueError(value)
        moment = dt.datetime.combine(day, dt.time())
    if timezone.is_naive(moment):
        moment = timezone.make_aware(moment)
    return timezone.localtime(moment).isoformat(timespec="seconds")


def answers_from_attributes(category: Category, attributes: dict[str, list[str]]) -> dict:
    """The Open311 `attribute[code]` / `attribute[code][]` values as the case's answers, each as its question's
    datatype says (a number, an ISO 8601 time with its offset, one key or a list of keys). Whether required
    questions are answered and list values are offered is checked by case_report, for every channel alike."""
    questions = {q["code"]: q for q in category.form_questions or []}
    answers = {}
    for code, raw in attributes.items():
        values = [v.strip() for v in raw if v is not None and v.strip()]
        if not values:
            continue  # an empty argument is an absent one (the spec's "optional arguments")
        question = questions.get(code)
        where = f"attribute[{code}]"
        if question is None:
            raise invalid(gettext("%(attr)s: this service has no such attribute.") % {"attr": where},
                          "attribute_unknown", where)
        datatype = question["datatype"]
        if datatype == QuestionDatatype.MULTIVALUELIST:
            answers[code] = list(dict.fromkeys(values))
            continue
        if len(values) > 1:
            raise invalid(gettext("%(attr)s takes one value.") % {"attr": where}, "attribute_invalid", where)
        value = values[0]
        try:
            if datatype == QuestionDatatype.NUMBER:
                value = _number(value)
            elif datatype == QuestionDatatype.DATETIME:
                value = _datetime(value)
        except ValueError:
            expected = gettext("a number") if datatype == QuestionDatatype.NUMBER else gettext(
                "a date and time in ISO 8601, e.g. 2026-11-23T09:00:00+08:00")
            raise invalid(gettext("%(attr)s must be %(what)s.") % {"attr": where, "what": expected},
                          "attribute_invalid", where) from None
        if datatype == QuestionDatatype.STRING:
            value = " ".join(value.split())  # a string has no line breaks
        answers[code] = value
    return answers


def _reporter_name(first: str, last: str) -> str:
    first, last = first.strip(), last.strip()
    if not first or not last:
        return first or last
    # Chinese names are written family name first, without a space.
    if all(ord(ch) > 0x2E80 for ch in first + last):
        return last + first
    return f"{first} {last}"


def _clean(submission: Submission, client: ApiClient) -> dict:
    errors = {}
    if not submission.service_code.strip():
        errors["service_code"] = gettext("service_code is required.")
    position = None
    try:
        position = _position(submission)
    except ValidationFailed as exc:
        errors["lat"] = str(exc.message)
    if position is None and "lat" not in errors and not submission.address_string.strip() \
            and not submission.address_id.strip():
        errors["lat"] = gettext("A location is required: lat and long, address_string or address_id.")
    description = submission.description.strip()
    if len(description) > DESCRIPTION_MAX:
        errors["description"] = gettext("description is limited to %(n)d characters.") % {"n": DESCRIPTION_MAX}
    name = _reporter_name(submission.first_name, submission.last_name)
    if len(name) > 64:
        errors["first_name"] = gettext("first_name and last_name together are limited to 64 characters.")
    phone = submission.phone.strip()
    if len(phone) > 32:
        errors["phone"] = gettext("phone is limited to 32 characters.")
    media_url = submission.media_url.strip()
    if media_url:
        try:
            if len(media_url) > 500:
                raise DjangoValidationError("too long")
            URLValidator(schemes=["http", "https"])(media_url)
        except DjangoValidationError:
            errors["media_url"] = gettext("media_url must be an http or https URL of at most 500 characters.")
    address = submission.address_string.strip() or submission.address_id.strip()
    if len(address) > 255:
        errors["address_string"] = gettext("address_string is limited to 255 characters.")
    if len(submission.address_id.strip()) > 64:
        errors["address_id"] = gettext("address_id is limited to 64 characters.")
    _refuse(errors)
    return {"position": position, "description": description, "name": name, "phone": phone,
            "media_url": media_url, "address": address, "address_id": submission.address_id.strip()}


def open311_report(*, client: ApiClient, submission: Submission, jurisdiction: Region | None = None,
                   now: dt.datetime | None = None) -> Open311Request:
    """POST requests: a report from a client system. Located by lat/long to its grid (which must lie in the
    key's jurisdiction), or, given only an address, placed at the jurisdiction (`jurisdiction_id`, else the
    key's) for the desk to locate. The service code names a subcategory of the catalogue that applies there.
    The case is reported by the client's service user (channel "open311"), with the submitter's name and phone
    as the reporter's; the Open311 row keeps the token, media URL and address id."""
    now = now or clock.now()
    data = _clean(submission, client)
    if jurisdiction is not None and not jurisdiction.path.startswith(client.region_path):
        raise OutOfScope(gettext("jurisdiction_id is outside this API key's jurisdiction."))
    region = jurisdiction or client.region
    path = region.path
    lat = lon = None
    if data["position"] is not None:
        lat, lon = data["position"]
        location = grid_locate(lat=lat, lon=lon)
        region = None  # the position decides; a point outside every grid is refused by case_report
        path = location.grid_path if location is not None else client.region_path
    code = submission.service_code.strip()
    category = category_by_code(path=path, code=code)
    if category is None or category.parent_id is None or not category.is_active:
        raise NotFound(gettext("service_code %(code)s was not found.") % {"code": code[:32]}, code="service_not_found")
    answers = answers_from_attributes(category, submission.attributes)
    actor = client.service_user
    with clock.frozen(now), transaction.atomic():
        try:
            case = case_report(
                actor=actor, description=data["description"] or category.name, channel=Channel.OPEN311,
                lat=lat, lon=lon, address=data["address"], region=region, category=category, answers=answers,
                reporter_name=data["name"], reporter_phone=data["phone"], now=now)
        except OutOfScope:
            raise OutOfScope(gettext("This place is outside this API key's jurisdiction.")) from None
        row = Open311Request.objects.create(case=case, client=client, token=secrets.token_urlsafe(16),
                                            media_url=data["media_url"], address_id=data["address_id"],
                                            created_at=now)
        audit_write(actor=actor, action="open311.request", obj=row, after={
            "case": case.pk, "number": case.number, "client": client.pk, "media_url": row.media_url,
            "address_id": row.address_id}, scope_path=case.region_path)
    return row
