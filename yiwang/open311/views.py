"""The Open311 GeoReport v2 doors at /open311/v2/. Each parses the spec's arguments, calls one service or
selector, and renders the answer in the format its suffix asks for; every refusal is the spec's error list with
status 400 (bad request), 403 (API key missing, wrong, or outside its jurisdiction), 404 (no such service,
request or token) or 429 (too many requests for the key)."""

from __future__ import annotations

import datetime as dt
import functools
import logging
import re

from django.conf import settings
from django.core.cache import cache
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime
from django.utils.translation import gettext, gettext_noop
from django.views.decorators.csrf import csrf_exempt

from yiwang.cases.models import Case
from yiwang.core import clock
from yiwang.core.errors import DomainError, NotFound, PermissionRefused, invalid
from yiwang.core.idempotency import fingerprint, idempotent
from yiwang.geo.models import Region
from yiwang.open311 import formats, selectors, services
from yiwang.open311.formats import w3c
from yiwang.open311.models import ApiClient
from yiwang.org.models import Category

SPECIFICATION = "http://wiki.open311.org/GeoReport_v2"
log = logging.getLogger(__name__)


class KeyRefused(PermissionRefused):
    code = "api_key_invalid"


class Throttled(DomainError):
    code = "throttled"
    status = 429

    def __init__(self, message, *, retry_after: int):
        super().__init__(message)
        self.retry_after = retry_after


# --- throttling ---------------------------------------------------------------------------------------------

_PERIODS = {"s": 1, "sec": 1, "second": 1, "m": 60, "min": 60, "minute": 60, "h": 3600, "hour": 3600}


def _rate(setting: str, default: str) -> tuple[int, int]:
    count, _slash, period = getattr(settings, setting, default).partition("/")
    return int(count), _PERIODS[period.strip() or "min"]


def _throttle(bucket: str, setting: str, default: str) -> None:
    """A fixed window per key (or per address without one), counted in the shared cache (Redis when
    configured, so every process counts together)."""
    limit, seconds = _rate(setting, default)
    if limit <= 0:
        return
    now = int(clock.now().timestamp())
    window = now // seconds
    name = f"open311:rate:{bucket}:{window}"
    cache.add(name, 0, timeout=seconds + 1)
    try:
        count = cache.incr(name)
    except ValueError:  # expired between add and incr
        cache.add(name, 1, timeout=seconds + 1)
        count = 1
    if count > limit:
        wait = (window + 1) * seconds - now
        raise Throttled(gettext("Too many requests; try again in %(s)d seconds.") % {"s": wait}, retry_after=wait)


# --- the request's key, place and dates ---------------------------------------------------------------------

def _client(request, *, required: bool) -> ApiClient | None:
    key = (request.POST.get("api_key") if request.method == "POST" else None) or request.GET.get("api_key")
    if not key:
        if required:
            raise KeyRefused(gettext("api_key is required to post a request."))
        return None
    client = services.api_client_authenticate(key=key)
    if client is None:
        raise KeyRefused(gettext("Invalid api_key received."))
    return client


def _jurisdiction(request, client: ApiClient | None) -> Region | None:
    code = (request.POST.get("jurisdiction_id") if request.method == "POST" else None) \
        or request.GET.get("jurisdiction_id")
    if not code:
        return None
    region = Region.objects.filter(code=code.strip()).first()
    if region is None:
        raise NotFound(gettext("jurisdiction_id %(code)s was not found.") % {"code": code[:32]},
                       code="jurisdiction_not_found")
    if client is not None and not region.path.startswith(client.region_path):
        raise KeyRefused(gettext("jurisdiction_id is outside this API key's jurisdiction."))
    return region


def _under(jurisdiction: Region | None) -> str | None:
    return jurisdiction.path if jurisdiction is not None else None


def _moment(params, name: str) -> dt.datetime | None:
    value = (params.get(name) or "").strip()
    if not value:
        return None
    try:
        # A "+" of an offset sent unescaped in a query string arrives as a space.
        moment = parse_datetime(re.sub(r" (\d{2}:?\d{2})$", r"+\1", value) if "T" in value else value)
    except ValueError:
        moment = None
    if moment is None:
        try:
            day = parse_date(value)
        except ValueError:
            day = None
        if day is None:
            raise invalid(gettext("%(name)s must be a date and time in W3C format, e.g. 2010-01-01T00:00:00Z.")
                          % {"name": name}, "date_invalid", name)
        moment = dt.datetime.combine(day, dt.time())
    return timezone.make_aware(moment) if timezone.is_naive(moment) else moment


def _codes(value: str | None) -> list[str]:
    return list(dict.fromkeys(code.strip() for code in (value or "").split(",") if code.strip()))


# --- the shape of every door --------------------------------------------------------------------------------

def _status(exc: DomainError) -> int:
    return exc.status if exc.status in (403, 404, 429) else 400


def endpoint(*methods: str, key_required_for: tuple[str, ...] = ()):
    """Wraps a view(request, fmt, client, jurisdiction, **kwargs) → (root, data[, status, headers])."""

    def wrap(view):
        @csrf_exempt
        @functools.wraps(view)
        def door(request, fmt: str, **kwargs):
            if request.method not in methods:
                return formats.errors(fmt, 405, [gettext("Method %(m)s is not allowed here.") % {
                    "m": request.method}], headers={"Allow": ", ".join(methods)})
            address = f"ip:{request.META.get('REMOTE_ADDR', '')}"
            try:
                try:
                    client = _client(request, required=request.method in key_required_for)
                except KeyRefused:
                    _throttle(address, "YIWANG_OPEN311_ANON_RATE", "300/min")  # guessing keys counts too
                    raise
                if client is not None:
                    _throttle(f"key:{client.pk}", "YIWANG_OPEN311_RATE", "600/min")
                else:
                    _throttle(address, "YIWANG_OPEN311_ANON_RATE", "300/min")
                jurisdiction = _jurisdiction(request, client)
                answer = view(request, fmt, client=client, jurisdiction=jurisdiction, **kwargs)
            except DomainError as exc:
                # Every field's problem is its own error (the spec's list), else the one message.
                descriptions = [str(m) for messages in exc.fields.values() for m in messages] or [str(exc.message)]
                headers = {"Retry-After": str(exc.retry_after)} if isinstance(exc, Throttled) else None
                return formats.errors(fmt, _status(exc), list(dict.fromkeys(descriptions)), headers=headers)
            except Exception:
                # A fault of ours: logged with its trace for the operators (and the request id, through the
                # log's context), answered in the spec's error format, never as an HTML page. The transaction
                # of a write has rolled back by now, so nothing is half-saved.
                log.exception("Open311 %s %s failed", request.method, request.path)
                return formats.errors(fmt, 500, [gettext(
                    "Something went wrong on our side; nothing was saved. Please try again later.")])
            root, data, *rest = answer
            status = rest[0] if rest else 200
            headers = rest[1] if len(rest) > 1 else None
            return formats.render(fmt, root, data, status=status, headers=headers)

        return door

    return wrap


@csrf_exempt
def unknown(request, rest: str = ""):
    """Anything else under /open311/v2/: the spec's 404 in XML (its required format) unless JSON was asked."""
    fmt = "json" if rest.endswith(".json") else "xml"
    return formats.errors(fmt, 404, [gettext("There is no such resource. See discovery.xml.")])


# --- discovery and services ---------------------------------------------------------------------------------

@endpoint("GET")
def discovery(request, fmt, *, client, jurisdiction):
    changed = w3c(selectors.services_changed_at())
    base = request.build_absolute_uri("/open311/v2")
    return "discovery", {
        "changeset": changed,
        "contact": getattr(settings, "YIWANG_OPEN311_CONTACT", "") or gettext(
            "Ask the platform's administrators (the command centre) for help with this API."),
        "key_service": gettext("API keys are issued per client system by the platform's administrators, in the "
                               "administration site under Open311 clients."),
        "endpoints": [{
            "specification": SPECIFICATION, "url": base, "changeset": changed, "type": "production",
            "formats": ["text/xml", "application/json"],
        }],
    }


def _catalogue_path(client: ApiClient | None, jurisdiction: Region | None) -> str:
    if jurisdiction is not None:
        return jurisdiction.path
    return client.region_path if client is not None else ""


def _service(category: Category) -> dict:
    group = category.parent
    name = selectors.localized(category.name, category.name_en)
    other = category.name_en if name == category.name else category.name
    keywords = [k for k in (other, group.name, group.name_en, category.code) if k]
    return {
        "service_code": category.code,
        "service_name": name,
        "description": category.filing_condition or group.filing_condition or name,
        "metadata": bool(category.form_questions),
        "type": "realtime",
        "keywords": ", ".join(dict.fromkeys(keywords)),
        "group": selectors.localized(group.name, group.name_en),
    }


@endpoint("GET")
def services_list(request, fmt, *, client, jurisdiction):
    categories = selectors.service_list(path=_catalogue_path(client, jurisdiction))
    return "services", [_service(category) for category in categories]


DATATYPE_HELP = {
    "number": gettext_noop("A number, e.g. 3 or 2.5."),
    "datetime": gettext_noop("A date and time in ISO 8601, e.g. 2026-11-23T09:00:00+08:00."),
    "multivaluelist": gettext_noop("One or more keys from the values, as attribute[code][]=key."),
}


def _attribute(question: dict) -> dict:
    help_text = DATATYPE_HELP.get(question["datatype"])
    attribute = {
        "variable": True,
        "code": question["code"],
        "datatype": question["datatype"],
        "required": bool(question.get("required")),
        "datatype_description": gettext(help_text) if help_text else None,
        "order": question.get("order"),
        "description": selectors.localized(question["label"], question.get("label_en", "")),
    }
    if "values" in question:
        attribute["values"] = [{"key": v["key"], "name": v["name"]} for v in question["values"]]
    return attribute


@endpoint("GET")
def service_definition(request, fmt, *, client, jurisdiction, code):
    category = selectors.service_get(path=_catalogue_path(client, jurisdiction), code=code)
    questions = sorted(category.form_questions or [], key=lambda q: q.get("order") or 0)
    return "service_definition", {"service_code": category.code,
                                  "attributes": [_attribute(q) for q in questions]}


# --- service requests ---------------------------------------------------------------------------------------

def _open311_row(case: Case):
    try:
        return case.open311
    except Case.open311.RelatedObjectDoesNotExist:
        return None


def _request(case: Case, facts: selectors.Facts, notices: dict) -> dict:
    """One service request as the spec lists its fields. Never the reporter's name, phone or e-mail."""
    row = _open311_row(case)
    category = case.category
    closed = selectors.open311_status(case.status) == "closed"
    return {
        "service_request_id": case.number,
        "status": selectors.open311_status(case.status),
        "status_notes": selectors.status_notes(case, facts),
        "service_name": selectors.localized(category.name, category.name_en) if category else None,
        "service_code": category.code if category else None,
        "description": case.description,
        "agency_responsible": case.lead_unit.name if case.lead_unit_id else None,
        "service_notice": selectors.service_notice(category, case.urgency, notices),
        "requested_datetime": w3c(case.reported_at),
        "updated_datetime": w3c(facts.updated_at or case.reported_at),
        "expected_datetime": None if closed else w3c(case.due_at),
        "address": case.address or None,
        "address_id": (row.address_id or None) if row else None,
        "zipcode": None,
        "lat": case.lat,
        "long": case.lon,
        "media_url": (row.media_url or None) if row else None,
    }


def _requests(cases: list[Case]) -> list[dict]:
    facts = selectors.request_facts(cases)
    notices: dict = {}
    return [_request(case, facts[case.pk], notices) for case in cases]


def _filters(params) -> selectors.RequestFilters:
    numbers = _codes(params.get("service_request_id"))
    if numbers:
        return selectors.RequestFilters(numbers=numbers)  # "This overrides all other arguments."
    statuses = [s.lower() for s in _codes(params.get("status"))]
    if any(s not in ("open", "closed") for s in statuses):
        raise invalid(gettext("status must be open, closed or both (comma-separated)."), "status_invalid", "status")
    start, end = _moment(params, "start_date"), _moment(params, "end_date")
    if start is None and end is None:
        end = clock.now()
    if start is None:
        start = end - selectors.WINDOW
    elif end is None:
        end = start + selectors.WINDOW
    if end < start:
        raise invalid(gettext("end_date is before start_date."), "date_order", "end_date")
    if end - start > selectors.WINDOW:
        raise invalid(gettext("start_date and end_date may not span more than 90 days."), "date_span", "end_date")
    return selectors.RequestFilters(service_codes=_codes(params.get("service_code")) or None, start=start,
                                    end=end, statuses=statuses or None)


def _page(params) -> tuple[int, int]:
    """The common `page` / `page_size` extension (GeoReport v2 Extensions); 1000 per page by default."""
    try:
        size = int(params.get("page_size") or selectors.MAX_RESULTS)
        page = int(params.get("page") or 1)
    except ValueError:
        raise invalid(gettext("page and page_size must be whole numbers."), "page_invalid", "page") from None
    if size < 1 or page < 1:
        raise invalid(gettext("page and page_size must be whole numbers."), "page_invalid", "page")
    size = min(size, selectors.MAX_RESULTS)
    return size, (page - 1) * size


@endpoint("GET", "POST", key_required_for=("POST",))
def requests(request, fmt, *, client, jurisdiction):
    if request.method == "POST":
        return _post(request, client, jurisdiction)
    limit, offset = _page(request.GET)
    cases = selectors.request_list(client=client, under=_under(jurisdiction), filters=_filters(request.GET),
                                   limit=limit, offset=offset)
    return "service_requests", _requests(cases)


ATTRIBUTE = re.compile(r"^attribute\[([^\[\]]+)\](\[\d*\])?$")
FIELDS = ["service_code", "lat", "long", "address_string", "address_id", "description", "first_name", "last_name",
          "phone", "media_url"]


def _post(request, client: ApiClient, jurisdiction: Region | None):
    data = request.POST
    attributes: dict[str, list[str]] = {}
    for name, values in data.lists():
        match = ATTRIBUTE.match(name)
        if match:
            attributes.setdefault(match[1], []).extend(values)
    submission = services.Submission(attributes=attributes, **{name: data.get(name) or "" for name in FIELDS})
    account_id = (data.get("account_id") or "").strip() or None

    def produce() -> tuple[int, list]:
        row = services.open311_report(client=client, submission=submission, jurisdiction=jurisdiction)
        case = row.case
        return 200, [{"service_request_id": case.number, "token": row.token,
                      "service_notice": selectors.service_notice(case.category, case.urgency),
                      "account_id": account_id}]

    fields = data.copy()
    fields.pop("api_key", None)
    status, body, replayed = idempotent(owner=f"open311:{client.pk}", scope="open311.requests",
                                        key=request.headers.get("Idempotency-Key"),
                                        request_hash=fingerprint(fields), produce=produce)
    return "service_requests", body, status, ({"Idempotent-Replayed": "true"} if replayed else None)


@endpoint("GET")
def request_one(request, fmt, *, client, jurisdiction, number):
    case = selectors.request_get(client=client, under=_under(jurisdiction), number=number)
    return "service_requests", _requests([case])


@endpoint("GET")
def token_lookup(request, fmt, *, client, jurisdiction, token):
    row = selectors.token_get(client=client, under=_under(jurisdiction), token=token)
    return "service_requests", [{"service_request_id": row.case.number, "token": row.token}]
