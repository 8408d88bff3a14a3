"""The phone pages: residents (随手拍) sign in by a code, report, follow and rate their reports; grid workers see
their grids, report on patrol, fix small things on the spot and verify fixes. Each door checks the form and
calls one service; refusals come back next to the field they concern, with nothing typed lost."""

from __future__ import annotations

import secrets

from django.conf import settings
from django.contrib.auth import login
from django.core.cache import cache
from django.core.files.storage import default_storage
from django.core.paginator import Paginator
from django.db.models import Q
from django.http import Http404, HttpResponseRedirect, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from yiwang.cases import services as cases
from yiwang.cases.choices import OPEN, AttachmentKind, Channel, Rating
from yiwang.cases.choices import Status as S
from yiwang.cases.models import Case
from yiwang.cases.selectors import (
    case_duplicates_for,
    case_get_for,
    case_list_for,
    case_timeline,
    light_of,
)
from yiwang.core import clock
from yiwang.core.errors import DomainError, NotFound, PermissionRefused
from yiwang.core.idempotency import fingerprint, idempotent
from yiwang.geo.selectors import grid_locate
from yiwang.media.processing import Upload, refuse_count, uploads_from
from yiwang.media.selectors import attachments_for_cases, photo_report_position
from yiwang.media.views import serve
from yiwang.notifications.views import Inbox
from yiwang.org.selectors import category_by_code
from yiwang.phone import selectors, services
from yiwang.phone.forms import (
    CodeForm,
    PhoneForm,
    RateForm,
    ReportForm,
    ReworkForm,
    SelfHandleForm,
    VerifyForm,
    answers_clean,
)

# Where a service's field names land on the phone forms.
FIELD_OF = {"lat": "location", "lon": "location", "location": "location", "attachments": "photos",
            "reporter_phone": "contact_phone", "phone": "phone", "code": "code", "result": "result",
            "reason": "reason", "rating": "rating", "comment": "comment", "category": "category",
            "description": "description", "address": "address", "answers": "answers",
            "fixed_photos": "after_photos", "fixed_result": "fixed_result"}
ANONYMOUS_PER_HOUR = 10  # reports without an account from one address
KEPT = "phone.kept_photos"  # in the session: {token: a photo of a refused form, kept for that form's next sending}
KEPT_FIELDS = ("photos", "after_photos")
KEPT_HOURS = 20  # within the day after which media_orphans_sweep removes a file no case took
KEPT_MAX = 30  # in one session


class Refused(Exception):
    """A form refused: {field: [messages]} with "__all__" for the form as a whole."""

    def __init__(self, errors: dict):
        self.errors = errors
        super().__init__(errors)


def _errors_of(form) -> dict:
    return {("location" if name in ("lat", "lon") else name): [str(m) for m in messages]
            for name, messages in form.errors.items()}


def _domain_errors(error: DomainError, *, fields: dict | None = None) -> dict:
    fields = fields or FIELD_OF
    if isinstance(error, NotFound):
        raise Http404()
    found: dict = {}
    for name, messages in (error.fields or {}).items():
        found.setdefault(fields.get(name, "__all__"), []).extend(str(m) for m in messages)
    return found or {"__all__": [str(error.message)]}


def _signed_in(request) -> bool:
    return request.user.is_authenticated


def _tile_url() -> str:
    return getattr(settings, "YIWANG_TILE_URL", "")


def _safe_next(request, default: str) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    return target if target and url_has_allowed_host_and_scheme(target, {request.get_host()}) else default


# --- home and sign-in ---------------------------------------------------------------------------------------

@require_GET
def home(request):
    kind = selectors.reporter_kind(request.user)
    if kind == "patrol":
        return redirect("phone:grid")
    mine = Case.objects.filter(reporter=request.user).count() if _signed_in(request) else 0
    return render(request, "phone/home.html", {"kind": kind, "mine": mine, "nav": "home"})


@require_http_methods(["GET", "POST"])
def sign_in(request):
    """Phone + one-time code: the first step sends the code, the second checks it and signs in."""
    next_url = _safe_next(request, reverse("phone:home"))
    context = {"next": next_url, "nav": "login", "step": "phone"}
    if request.method == "GET":
        context["form"] = PhoneForm()
        return render(request, "phone/login.html", context)
    action = request.POST.get("action", "send")
    form = (CodeForm if action == "verify" else PhoneForm)(request.POST)
    context.update(form=form, step="code" if action == "verify" else "phone")
    if form.is_valid():
        try:
            if action == "verify":
                user = services.login_code_verify(phone=form.cleaned_data["phone"], code=form.cleaned_data["code"])
                login(request, user, backend=settings.AUTHENTICATION_BACKENDS[0])
                return HttpResponseRedirect(next_url)
            services.login_code_send(phone=form.cleaned_data["phone"])
            context.update(step="code", sent=True, form=CodeForm(initial={"phone": form.cleaned_data["phone"]}))
            return render(request, "phone/login.html", context)
        except services.TooSoon as error:
            context.update(step="code" if request.POST.get("step") == "code" else "phone", wait=error.wait_seconds,
                           errors={"phone": [str(error.message)]})
        except DomainError as error:
            context["errors"] = _domain_errors(error)
    else:
        context["errors"] = _errors_of(form)
    return render(request, "phone/login.html", context, status=400)


# --- report 随手拍 / patrol ------------------------------------------------------------------------------------

def _report_context(request, *, patrol: bool, form=None, errors=None, kept=None) -> dict:
    kind = selectors.reporter_kind(request.user)
    path = request.user.region_path if _signed_in(request) and request.user.region_path else ""
    categories = selectors.categories_at(path=path)
    return {
        "form": form, "errors": errors or {}, "kind": kind, "patrol": patrol, "kept": kept or {},
        "anonymous": not _signed_in(request), "categories": categories,
        "questions": _questions_answered(categories, form),
        "tile_url": _tile_url(), "nav": "grid-report" if patrol else "report",
        "grids": _grid_shapes(request.user) if patrol else [],
        "may_fix": patrol and selectors.may_fix_on_the_spot(request.user),
        "max_files": settings.YIWANG_MAX_ATTACHMENTS,
    }


def _questions_answered(categories: dict, form) -> list[dict]:
    """The questions of the category a refused form chose, with what was answered (shown again as sent)."""
    code = form.get("category") if form else ""
    for item in categories["items"] if code else []:
        if item["code"] == code:
            return [{**q, "value": form.get(f"answer_{q['code']}", ""), "chosen": form.getlist(f"answer_{q['code']}")}
                    for q in item["questions"]]
    return []


@require_http_methods(["GET", "POST"])
def report(request, patrol: bool = False):
    """GET: the form. POST: from the page's script (JSON answer, `Idempotency-Key` so a report queued on a
    phone without signal is created once however often it is sent), or a plain form post without a script."""
    if patrol and selectors.reporter_kind(request.user) != "patrol":
        raise Http404()
    if request.method == "GET":
        return render(request, "phone/report.html", _report_context(request, patrol=patrol))
    wants_json = "application/json" in request.headers.get("Accept", "")
    data = request.POST.copy()
    data.pop("csrfmiddlewaretoken", None)
    owner = f"user:{request.user.pk}" if _signed_in(request) else "phone:anonymous"
    try:
        status, body, replayed = idempotent(
            owner=owner, scope="phone.report", key=request.headers.get("Idempotency-Key"),
            request_hash=fingerprint(data, request.FILES), produce=lambda: _submit(request, patrol=patrol))
    except Refused as refused:
        if wants_json:
            return JsonResponse({"errors": refused.errors}, status=400)
        kept = _kept_after_refusal(request, refused.errors, form=_report_form(patrol))
        context = _report_context(request, patrol=patrol, form=request.POST, errors=refused.errors, kept=kept)
        return render(request, "phone/report.html", context, status=400)
    except DomainError as error:  # a reused key, a bad key
        if wants_json:
            return JsonResponse({"errors": {"__all__": [str(error.message)]}}, status=error.status)
        raise
    _kept_forget(request)
    if wants_json:
        response = JsonResponse(body, status=status)
        if replayed:
            response["Idempotent-Replayed"] = "true"
        return response
    return HttpResponseRedirect(body["redirect"])


def _anonymous_allowed(request) -> bool:
    key = f"phone:anon-reports:{request.META.get('REMOTE_ADDR', '')}"
    count = cache.get_or_set(key, 0, 3600)
    if count >= ANONYMOUS_PER_HOUR:
        return False
    try:
        cache.incr(key)
    except ValueError:
        cache.set(key, 1, 3600)
    return True


def _submit(request, *, patrol: bool) -> tuple[int, dict]:
    anonymous = not _signed_in(request)
    form = ReportForm(request.POST, anonymous=anonymous, patrol=patrol)
    if not form.is_valid():
        raise Refused(_errors_of(form))
    data = form.cleaned_data
    actor = None if anonymous else request.user
    kept = _kept_chosen(request, "photos", form=_report_form(patrol), strict=True)
    new_photos = uploads_from(request.FILES.getlist("photos"))
    photos = _kept_uploads(kept) + new_photos
    after = (_kept_uploads(_kept_chosen(request, "after_photos", form=_report_form(patrol), strict=True))
             + uploads_from(request.FILES.getlist("after_photos")) if patrol and data["fixed"] else [])
    lat, lon, region = data.get("lat"), data.get("lon"), None
    if lat is None and photos:
        lat, lon = _kept_position(kept) or photo_report_position(new_photos) or (None, None)
    path = ""
    if lat is not None:
        location = grid_locate(lat=lat, lon=lon)
        if location is None:
            raise Refused({"location": [gettext("This place is outside every grid of the platform.")]})
        path = location.grid_path
    else:
        region = selectors.region_from_address(data["address"])
        if region is None:
            message = gettext("Give the place: your position, a point on the map, or an address naming the "
                              "community or street.")
            raise Refused({"location": [message]} if not data["address"] else {"address": [message]})
        path = region.path
    category = None
    if data["category"]:
        category = category_by_code(path=path, code=data["category"])
        if category is None or category.parent_id is None:
            raise Refused({"category": [gettext("Choose a category from the list.")]})
    elif patrol:
        raise Refused({"category": [gettext("Choose the category first.")]})
    answers, wrong = answers_clean(request.POST, selectors.questions_of(category)) if category else ({}, [])
    if wrong:
        raise Refused({"answers": wrong})
    same_as = _same_as(actor, data.get("same_as"), category, lat, lon)
    contact = ""
    if anonymous:
        try:
            contact = services.phone_normalize(data["contact_phone"])
        except DomainError as error:
            raise Refused({"contact_phone": [str(error.message)]}) from None
        if not _anonymous_allowed(request):
            raise Refused({"__all__": [gettext("Too many reports from here in the last hour. Please sign in "
                                               "with your phone to report more.")]})
    kind = selectors.reporter_kind(request.user)
    channel = Channel.PATROL if patrol else (
        Channel.ENTERPRISE if kind == "enterprise" and data["appeal"] else Channel.APP)
    try:
        case = services.phone_report(
            actor=actor, channel=channel, description=data["description"], lat=lat, lon=lon,
            address=data["address"], region=region, category=category, answers=answers, attachments=photos,
            same_as=same_as,
            reporter_phone=contact,
            fixed_result=(data["fixed_result"] or "").strip() if patrol and data["fixed"] else "",
            fixed_photos=after,
        )
    except DomainError as error:
        raise Refused(_domain_errors(error)) from None
    if patrol:
        target = reverse("phone:grid-case", args=[case.pk])
    elif anonymous:
        target = reverse("phone:sent", args=[case.number])
    else:
        target = reverse("phone:mine-case", args=[case.pk])
    return 201, {"id": case.pk, "number": case.number, "status": case.status, "redirect": target}


# Photos of a refused form sent without the page's script (a report, a grid worker's check, rework or fix on the
# spot) are stored at once and held in the sender's session: the page shows them again, carries their tokens in
# hidden fields, and the next sending attaches them, so nothing uploaded is lost. A token names a photo only in
# the session that uploaded it, and only for the form it was uploaded with: the report form, or one step on one
# case (`_report_form`, `_step_form`) — so it cannot be replayed as the evidence of another step.

def _report_form(patrol: bool) -> str:
    return "grid-report" if patrol else "report"


def _step_form(verb: str, case: Case) -> str:
    return f"{verb}:{case.pk}"


def _kept_held(request) -> dict:
    cutoff = clock.now().timestamp() - KEPT_HOURS * 3600
    return {token: entry for token, entry in request.session.get(KEPT, {}).items() if entry.get("at", 0) > cutoff}


def _kept_chosen(request, field: str, *, form: str, strict: bool = False) -> list[tuple[str, dict]]:
    """The kept photos this form carries for `field`, less those marked to remove; only this session's, kept for
    this `form` and field. With `strict`, any other token (expired, never this session's, or kept for another
    form) refuses the sending rather than sending it without the photo."""
    held, removed = _kept_held(request), set(request.POST.getlist("kept_remove"))
    chosen: dict = {}
    for token in request.POST.getlist(f"kept_{field}"):
        if token in removed:
            continue
        entry = held.get(token)
        if entry is not None and entry["field"] == field and entry.get("form") == form:
            chosen[token] = entry
        elif strict:
            raise Refused({field: [_kept_gone()]})
    return list(chosen.items())


def _kept_gone() -> str:
    return gettext("A photo uploaded earlier is no longer available. Please choose it again.")


def _kept_uploads(chosen: list[tuple[str, dict]]) -> list[Upload]:
    """The kept files as uploads read in place, never whole into memory (nine videos are 900 MB): a local file
    by its path, opened whenever it is read; a file in object storage as the storage's file object (which
    spools to a temporary file)."""
    uploads = []
    for _token, entry in chosen:
        name = entry["name"]
        if not default_storage.exists(name):
            raise Refused({entry["field"]: [_kept_gone()]})
        try:
            source = default_storage.path(name)
        except NotImplementedError:
            source = default_storage.open(name, "rb")
        default = "video.mp4" if entry.get("kind") == AttachmentKind.VIDEO else "photo.jpg"
        uploads.append(Upload(name=entry["label"] or default, file=source))
    return uploads


def _kept_position(chosen: list[tuple[str, dict]]) -> tuple[float, float] | None:
    """The position a kept photo carried (read when it arrived), as `photo_report_position` reads a new one."""
    for _token, entry in chosen:
        if entry.get("position") and grid_locate(lat=entry["position"][0], lon=entry["position"][1]) is not None:
            return tuple(entry["position"])
    return None


def _kept_after_refusal(request, errors: dict, *, form: str, fields: tuple = KEPT_FIELDS) -> dict:
    """Keep the photos of a refused plain form for its next sending — of this `form` only: those it carried
    already and the good ones just uploaded, for each file field in `fields` (a bad file's message, or that of a
    kept photo no longer available, joins that field's errors). {field: [{token, label, thumb, video}]}"""
    held = _kept_held(request)
    now = clock.now().timestamp()
    shown: dict = {}
    removed = set(request.POST.getlist("kept_remove"))
    for field in fields:
        chosen = [(token, entry) for token, entry in _kept_chosen(request, field, form=form)
                  if default_storage.exists(entry["name"])]
        lost = set(request.POST.getlist(f"kept_{field}")) - removed - {token for token, _entry in chosen}
        if lost and _kept_gone() not in errors.setdefault(field, []):
            errors[field].append(_kept_gone())
        files = request.FILES.getlist(field)
        for file in files:
            file.seek(0)
        room = max(0, settings.YIWANG_MAX_ATTACHMENTS - len(chosen))
        new, refusals = services.photos_keep(uploads=uploads_from(files), room=room)
        if len(new) + len(refusals) < len(files):  # no room for the rest: say so rather than drop them unsaid
            refusals.append(str(refuse_count().message))
        for entry in new:
            token = secrets.token_urlsafe(12)
            held[token] = {**entry, "field": field, "form": form, "at": now}
            chosen.append((token, held[token]))
        for message in refusals:
            if message not in errors.setdefault(field, []):
                errors[field].append(message)
        # An entry kept before kinds were recorded is a photo: only photos were offered then.
        shown[field] = [{"token": token, "label": entry["label"], "thumb": bool(entry["thumbnail"]),
                         "video": entry.get("kind") == AttachmentKind.VIDEO} for token, entry in chosen]
    for token in removed:
        held.pop(token, None)
    newest = sorted(held.items(), key=lambda item: item[1]["at"])[-KEPT_MAX:]
    request.session[KEPT] = dict(newest)
    return shown


def _kept_forget(request) -> None:
    """A report was made or a step taken: the photos it carried are its attachments now."""
    used = {token for field in KEPT_FIELDS for token in request.POST.getlist(f"kept_{field}")}
    held = request.session.get(KEPT)
    if held and used & set(held):
        request.session[KEPT] = {token: entry for token, entry in held.items() if token not in used}


@require_GET
def kept_photo(request, token: str):
    """The thumbnail of a photo (or the poster of a video) kept for this session's refused report (no one else's
    session names it)."""
    entry = _kept_held(request).get(token)
    if entry is None or not entry.get("thumbnail"):
        raise Http404()
    try:
        return serve(request, entry["thumbnail"], "image/jpeg", f'"kept-{token}"', "photo.jpg")
    except NotFound:
        raise Http404() from None


def _same_as(actor, pk, category, lat, lon) -> Case | None:
    """The open case the reporter said is the same problem: it must be one the page offered."""
    if not pk:
        return None
    offered = case_duplicates_for(actor=actor, category=category, lat=lat, lon=lon, at=clock.now())
    for case, _distance in offered:
        if case.pk == pk:
            return case
    raise Refused({"same_as": [gettext("That case is no longer open nearby. Send your report on its own.")]})


@require_GET
def sent(request, number: str):
    return render(request, "phone/sent.html", {"number": number, "nav": "report"})


@require_GET
def categories(request):
    """The subcategories offered at a place (the catalogue for the grid or region at lat/lon)."""
    path = ""
    try:
        lat, lon = float(request.GET["lat"]), float(request.GET["lon"])
        location = grid_locate(lat=lat, lon=lon)
        path = location.grid_path if location else ""
    except (KeyError, ValueError):
        pass
    response = JsonResponse(selectors.categories_at(path=path))
    response["Cache-Control"] = "private, max-age=300"
    return response


@require_GET
def place(request):
    """What a typed address names: the deepest community, street or district in it (for an address alone)."""
    region = selectors.region_from_address(request.GET.get("address", ""))
    if region is None:
        return JsonResponse({"region": None})
    names = []
    node = region
    while node is not None and node.level != "city":
        names.append(node.name)
        node = node.parent
    return JsonResponse({"region": {"code": region.code, "name": region.name, "level": region.level,
                                    "names": list(reversed(names))}})


MAX_MAP_GRIDS = 400


@require_GET
def grids(request):
    """Grid outlines in a map view (bbox=west,south,east,north) as GeoJSON, for the report map; the whole area's
    extent without a bbox. Grid names and outlines are public, like the locator's answers."""
    from django.db.models import Max, Min

    from yiwang.geo.models import Grid

    active = Grid.objects.filter(is_active=True)
    try:
        west, south, east, north = (float(v) for v in request.GET["bbox"].split(","))
    except (KeyError, ValueError):
        extent = active.aggregate(w=Min("min_lon"), s=Min("min_lat"), e=Max("max_lon"), n=Max("max_lat"))
        return JsonResponse({"extent": extent})
    found = (active.filter(min_lon__lte=east, max_lon__gte=west, min_lat__lte=north, max_lat__gte=south)
             .select_related("community").order_by("code")[:MAX_MAP_GRIDS + 1])
    features = [{"type": "Feature", "geometry": g.boundary,
                 "properties": {"code": g.code, "name": g.name, "community": g.community.name}} for g in found]
    response = JsonResponse({"type": "FeatureCollection", "features": features[:MAX_MAP_GRIDS],
                             "truncated": len(features) > MAX_MAP_GRIDS})
    response["Cache-Control"] = "public, max-age=300"
    return response


@require_GET
def duplicates(request):
    """Open cases of this category near this point, offered as "the same problem" (an HTML fragment)."""
    try:
        lat, lon = float(request.GET["lat"]), float(request.GET["lon"])
    except (KeyError, ValueError):
        return render(request, "phone/_duplicates.html", {"found": []})
    location = grid_locate(lat=lat, lon=lon)
    category = category_by_code(path=location.grid_path if location else "", code=request.GET.get("category", ""))
    actor = request.user if _signed_in(request) else None
    found = case_duplicates_for(actor=actor, category=category, lat=lat, lon=lon, at=clock.now())[:5] \
        if category is not None and category.parent_id else []
    return render(request, "phone/_duplicates.html", {"found": found, "selected": request.GET.get("same_as", "")})


# --- my reports ----------------------------------------------------------------------------------------------

def _require_sign_in(request):
    if not _signed_in(request):
        return redirect(f"{reverse('phone:login')}?next={request.path}")
    return None


MINE_PAGE = 50  # my reports on a page, newest first; older ones on the next pages


@require_GET
def mine(request):
    if (answer := _require_sign_in(request)) is not None:
        return answer
    found = case_list_for(actor=request.user).filter(reporter=request.user).order_by("-reported_at", "-pk")
    page = Paginator(found, MINE_PAGE).get_page(request.GET.get("page"))
    return render(request, "phone/mine.html", {"cases": page.object_list, "page": page, "nav": "mine"})


def _own_case(request, pk) -> Case:
    case = case_get_for(actor=request.user, pk=pk)
    if case.reporter_id != request.user.pk:
        raise NotFound()
    return case


def _photos_by_step(actor, case) -> dict:
    steps: dict = {}
    for attachment in attachments_for_cases(actor=actor, cases=[case])[case.pk]:
        steps.setdefault(attachment.action, []).append(attachment)
    return steps


@require_http_methods(["GET", "POST"])
def mine_case(request, pk: int):
    """One of my reports: its progress in plain words, the photos, and — once closed — the rating."""
    if (answer := _require_sign_in(request)) is not None:
        return answer
    try:
        case = _own_case(request, pk)
    except NotFound:
        raise Http404() from None
    errors, status, form = {}, 200, None
    if request.method == "POST":
        form = RateForm(request.POST)
        if form.is_valid():
            try:
                cases.case_rate(actor=request.user, case=case, rating=form.cleaned_data["rating"],
                                comment=form.cleaned_data["comment"])
                return redirect("phone:mine-case", pk=case.pk)
            except DomainError as error:
                errors = _domain_errors(error)
        else:
            errors = _errors_of(form)
        status = 400
    context = {
        "case": case, "timeline": case_timeline(actor=request.user, case=case, public=True),
        "photos": _photos_by_step(request.user, case), "errors": errors, "form": request.POST if form else {},
        "may_rate": case.status == S.CLOSED, "ratings": Rating.choices, "nav": "mine",
        "same_as": selectors.same_as_claimed(case) if case.status == S.REPORTED else "",
        "light": light_of(case, clock.now()),
    }
    return render(request, "phone/mine_case.html", context, status=status)


# --- grid worker 网格员 ----------------------------------------------------------------------------------------

def _grid_shapes(actor) -> list[dict]:
    return [{"id": g.pk, "code": g.code, "name": g.name, "community": g.community.name, "boundary": g.boundary}
            for g in selectors.grids_of(actor)]


def _require_grid_worker(request) -> list:
    if not _signed_in(request):
        raise _Redirect(f"{reverse('phone:login')}?next={request.path}")
    grids = selectors.grids_of(request.user)
    if not grids:
        raise Http404()
    return grids


class _Redirect(Exception):
    def __init__(self, url):
        self.url = url


def _grid_view(view):
    def wrapped(request, *args, **kwargs):
        try:
            return view(request, *args, **kwargs)
        except _Redirect as go:
            return redirect(go.url)
        except NotFound:
            raise Http404() from None
    wrapped.__name__ = view.__name__
    wrapped.__doc__ = view.__doc__
    return wrapped


@require_GET
@_grid_view
def grid_home(request):
    """My grids as a list and on the map: cases to verify, cases reported in my grids, with their lights."""
    grids = _require_grid_worker(request)
    now = clock.now()
    ids = [g.pk for g in grids]
    base = case_list_for(actor=request.user, now=now).filter(grid_id__in=ids)
    # A fix of my own on the spot is checked by someone else: it waits among the open cases, not for my check.
    own_fix = Q(status=S.HANDLED, self_handled=True, self_handled_by=request.user)
    to_verify = list(base.filter(status=S.HANDLED).exclude(own_fix).order_by("due_at")[:100])
    open_cases = list(base.filter(Q(status__in=[s for s in OPEN if s != S.HANDLED]) | own_fix)
                      .order_by("due_at", "-reported_at")[:100])
    for case in [*to_verify, *open_cases]:
        case.light = light_of(case, now)
    points = [{"id": c.pk, "lat": c.lat, "lon": c.lon, "number": c.number, "light": c.light or "none",
               "url": reverse("phone:grid-case", args=[c.pk])}
              for c in [*to_verify, *open_cases] if c.lat is not None]
    overdue = sum(1 for c in [*to_verify, *open_cases] if c.light == "red")
    return render(request, "phone/grid.html", {
        "grids": grids, "to_verify": to_verify, "open_cases": open_cases, "overdue": overdue, "nav": "grid",
        "map_data": {"grids": _grid_shapes(request.user), "points": points, "tile_url": _tile_url()},
    })


@require_http_methods(["GET", "POST"])
@_grid_view
def grid_report(request):
    _require_grid_worker(request)
    return report(request, patrol=True)


@require_GET
@_grid_view
def grid_case(request, pk: int):
    _require_grid_worker(request)
    case = case_get_for(actor=request.user, pk=pk)
    return _grid_case_page(request, case)


def _grid_case_page(request, case, *, errors=None, form=None, which="", kept=None, status=200):
    now = clock.now()
    own_fix = case.self_handled and case.self_handled_by_id == request.user.pk
    steps = selectors.grid_steps_for(request.user, case)
    path = case.region_path
    return render(request, "phone/grid_case.html", {
        "case": case, "light": light_of(case, now), "nav": "grid", "errors": errors or {}, "form": form or {},
        "which": which, "kept": kept or {}, "photos": _photos_by_step(request.user, case),
        "timeline": case_timeline(actor=request.user, case=case),
        "may_verify": "verify" in steps and not own_fix, "own_fix": own_fix and case.status == S.HANDLED,
        "may_self_handle": "self_handle" in steps,
        "categories": selectors.categories_at(path=path) if "self_handle" in steps else None,
        "map_data": {"grids": [], "points": [{"lat": case.lat, "lon": case.lon, "number": case.number,
                                              "light": "none"}] if case.lat is not None else [],
                     "tile_url": _tile_url()},
    }, status=status)


GRID_FORMS = {"verify": VerifyForm, "rework": ReworkForm, "self-handle": SelfHandleForm}
# A service's field names on each grid form (the verify note is the transition's reason).
GRID_FIELDS = {"verify": {**FIELD_OF, "reason": "note"}, "rework": FIELD_OF, "self-handle": FIELD_OF}


@require_POST
@_grid_view
def grid_case_act(request, pk: int, verb: str):
    """核查 verify (close, with an on-site photo), 返工 rework, 自处置 self-handle. A refused form comes back with
    what was typed and its good photos kept for the next sending, as the report page does."""
    _require_grid_worker(request)
    case = case_get_for(actor=request.user, pk=pk)
    if verb not in GRID_FORMS:
        raise Http404()
    form = GRID_FORMS[verb](request.POST)
    try:
        if not form.is_valid():
            raise Refused(_errors_of(form))
        photos = (_kept_uploads(_kept_chosen(request, "photos", form=_step_form(verb, case), strict=True))
                  + uploads_from(request.FILES.getlist("photos")))
        data = form.cleaned_data
        if verb == "verify":
            if not photos:
                raise Refused({"photos": [gettext("Take a photo or a video on site to show it is fixed.")]})
            cases.case_verify(actor=request.user, case=case, note=data["note"], attachments=photos)
            message = gettext("Case %(n)s is closed.")
        elif verb == "rework":
            cases.case_rework(actor=request.user, case=case, reason=data["reason"], attachments=photos)
            message = gettext("Case %(n)s went back for more work.")
        else:
            category = None
            if data["category"]:
                category = category_by_code(path=case.region_path, code=data["category"])
                if category is None or category.parent_id is None:
                    raise Refused({"category": [gettext("Choose a category from the list.")]})
            cases.case_self_handle(actor=request.user, case=case, result=data["result"], category=category,
                                   attachments=photos)
            message = gettext("Case %(n)s is handled on the spot; someone else will check it.")
    except PermissionRefused as error:
        return _grid_case_page(request, case, errors={"__all__": [str(error.message)]}, form=request.POST,
                               which=verb, status=403)
    except (Refused, DomainError) as error:
        refused = isinstance(error, Refused)
        errors = error.errors if refused else _domain_errors(error, fields=GRID_FIELDS[verb])
        status = 400 if refused else error.status
        # kept only while the form is still offered: a case moved on (409) shows no form to send them with
        kept = (_kept_after_refusal(request, errors, form=_step_form(verb, case), fields=("photos",))
                if status == 400 else {})
        return _grid_case_page(request, case, errors=errors, form=request.POST, which=verb, kept=kept,
                               status=status)
    _kept_forget(request)
    from django.contrib import messages

    messages.success(request, message % {"n": case.number})
    return redirect("phone:grid-case", pk=case.pk)


# --- my messages (the in-app inbox; yiwang.notifications.views) -----------------------------------------------

def _messages_context(request) -> dict:
    return {"nav": "grid-messages" if selectors.reporter_kind(request.user) == "patrol" else "messages"}


def _messages_case_url(request, case) -> str:
    """My own report opens as mine; a grid worker's case on the grid pages; other staff's in the console."""
    if case.reporter_id == request.user.pk:
        return reverse("phone:mine-case", args=[case.pk])
    if selectors.reporter_kind(request.user) == "patrol":
        return reverse("phone:grid-case", args=[case.pk])
    return reverse("console:case", args=[case.pk])


MESSAGES = Inbox(namespace="phone", template="phone/messages.html", refuse=_require_sign_in,
                 context=_messages_context, case_url=_messages_case_url)
