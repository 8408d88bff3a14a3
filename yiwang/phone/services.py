"""Writes of the phone pages: sign-in by a one-time code sent by SMS, and a report as a resident or a grid worker
makes it on a phone (the report itself, the "same problem" word, and a fix made on the spot)."""

from __future__ import annotations

import datetime as dt
import re
import secrets
from collections.abc import Iterable

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.crypto import constant_time_compare, salted_hmac
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from yiwang.core import clock
from yiwang.core.errors import DomainError, ValidationFailed, invalid
from yiwang.core.services import audit_write
from yiwang.media.processing import photo_position
from yiwang.media.services import media_prepare, media_write
from yiwang.phone.models import DuplicateClaim, LoginCode

PHONE_PATTERN = re.compile(r"^1[3-9][0-9]{9}$")  # a mainland mobile number: texts reach it


def _setting(name: str, default):
    return getattr(settings, name, default)


def code_ttl() -> dt.timedelta:
    return dt.timedelta(seconds=_setting("YIWANG_LOGIN_CODE_SECONDS", 300))


def resend_after() -> dt.timedelta:
    return dt.timedelta(seconds=_setting("YIWANG_LOGIN_CODE_RESEND_SECONDS", 60))


MAX_ATTEMPTS = 5  # wrong codes before the code is spent
MAX_PER_HOUR = 5  # codes sent to one phone in an hour


class TooSoon(DomainError):
    code = "code_throttled"
    status = 429
    default_message = _("Please wait before asking for another code.")

    def __init__(self, message=None, *, wait_seconds: int = 60, **kwargs):
        self.wait_seconds = wait_seconds
        super().__init__(message, fields={"phone": [str(message or self.default_message)]}, **kwargs)


def mask(phone: str) -> str:
    return f"{phone[:3]}****{phone[-4:]}" if len(phone) >= 8 else "****"


def phone_normalize(phone: str) -> str:
    """Digits only, without a +86 / 86 prefix; refused unless a mainland mobile number."""
    digits = re.sub(r"[\s\-()]", "", phone or "")
    if digits.startswith("+86"):
        digits = digits[3:]
    elif digits.startswith("86") and len(digits) == 13:
        digits = digits[2:]
    if not digits:
        raise invalid(gettext("Enter your mobile phone number."), "phone_required", "phone")
    if not PHONE_PATTERN.match(digits):
        raise invalid(gettext("Enter an 11-digit mobile phone number, such as 13812345678."), "invalid_phone", "phone")
    return digits


def _hash(phone: str, code: str) -> str:
    return salted_hmac("yiwang.phone.login_code", f"{phone}:{code}", algorithm="sha256").hexdigest()


def login_code_send(*, phone: str, now: dt.datetime | None = None) -> LoginCode:
    """Send a 6-digit sign-in code to `phone` by SMS. At most one code a minute and five an hour per phone; a new
    code replaces the ones before it. The journal says "code sent to 138****5678", never the code."""
    from yiwang.notifications.services import sms_send

    now = now or clock.now()
    phone = phone_normalize(phone)
    recent = list(LoginCode.objects.filter(phone=phone, created_at__gt=now - dt.timedelta(hours=1))
                  .order_by("-created_at").values_list("created_at", flat=True))
    if recent and now - recent[0] < resend_after():
        wait = int((recent[0] + resend_after() - now).total_seconds()) + 1
        raise TooSoon(gettext("A code was just sent. You can ask for another in %(s)d seconds.") % {"s": wait},
                      wait_seconds=wait)
    if len(recent) >= MAX_PER_HOUR:
        wait = int((recent[-1] + dt.timedelta(hours=1) - now).total_seconds()) + 1
        raise TooSoon(gettext("Too many codes were sent to this number. Please try again in %(m)d minutes.")
                      % {"m": max(1, wait // 60)}, wait_seconds=wait)
    code = f"{secrets.randbelow(10**6):06d}"
    minutes = int(code_ttl().total_seconds() // 60)
    # Sent first: if the gateway refuses, nothing is stored and the person may try again at once.
    sms_send(phone=phone, text=settings.YIWANG_MESSAGE_SIGNATURE + gettext(
        "Your sign-in code is %(code)s, valid for %(m)d minutes. Do not give it to anyone.")
        % {"code": code, "m": minutes})
    with clock.frozen(now), transaction.atomic():
        LoginCode.objects.filter(phone=phone, used_at__isnull=True, expires_at__gt=now).update(expires_at=now)
        row = LoginCode.objects.create(phone=phone, code_hash=_hash(phone, code), created_at=now,
                                       expires_at=now + code_ttl())
        audit_write(actor=None, action="phone.code_sent", obj=row,
                    after={"phone": mask(phone), "expires_at": row.expires_at.isoformat()})
    return row


def login_code_verify(*, phone: str, code: str, now: dt.datetime | None = None):
    """The person whose phone received `code`: an existing resident-side account with that phone (staff sign in
    with their password, never by code), or a new resident. A wrong code counts; five spend it."""
    now = now or clock.now()
    phone = phone_normalize(phone)
    code = re.sub(r"\s", "", code or "")
    if not re.fullmatch(r"[0-9]{6}", code):
        raise invalid(gettext("Enter the 6 digits of the code we sent you."), "code_format", "code")
    with clock.frozen(now):
        with transaction.atomic():
            row = (LoginCode.objects.select_for_update().filter(phone=phone, used_at__isnull=True)
                   .order_by("-created_at").first())
            if row is None or row.expires_at <= now:
                raise invalid(gettext("This code has expired. Ask for a new one."), "code_expired", "code")
            if row.attempts >= MAX_ATTEMPTS:
                raise invalid(gettext("Too many wrong codes. Ask for a new one."), "code_locked", "code")
            if constant_time_compare(row.code_hash, _hash(phone, code)):
                row.used_at = now
                row.save(update_fields=["used_at"])
                user, created = _resident_for(phone, now)
                audit_write(actor=user, action="phone.signed_in", obj=row,
                            after={"phone": mask(phone), "user": user.pk, "new_account": created})
                return user
            LoginCode.objects.filter(pk=row.pk).update(attempts=F("attempts") + 1)
            left = MAX_ATTEMPTS - row.attempts - 1
            audit_write(actor=None, action="phone.code_wrong", obj=row,
                        after={"phone": mask(phone), "attempts": row.attempts + 1})
        # committed: the wrong attempt counts even though the sign-in is refused
        if left <= 0:
            raise invalid(gettext("Too many wrong codes. Ask for a new one."), "code_locked", "code")
        raise invalid(gettext("The code is not right. %(n)d tries left.") % {"n": left}, "code_wrong", "code")


def _resident_for(phone: str, now: dt.datetime):
    """The oldest active non-staff account with this phone, else a new resident (role held over own records)."""
    from yiwang.accounts.models import Role, User
    from yiwang.accounts.services import role_assign, user_create

    existing = User.objects.filter(phone=phone, is_active=True, is_staff=False, is_superuser=False).order_by("pk")
    if existing.exists():
        return existing.first(), False
    username, n = f"m{phone}", 1
    while User.objects.filter(username=username).exists():
        n += 1
        username = f"m{phone}-{n}"
    user = user_create(actor=None, username=username, phone=phone, reason="phone sign-in")
    role_assign(actor=None, user=user, role=Role.objects.get(code="resident"),
                valid_from=timezone.localdate(now), reason="phone sign-in")
    return user, True


# --- reports -----------------------------------------------------------------------------------------------

FIXED_FIELDS = {"attachments": "fixed_photos", "result": "fixed_result"}  # case_self_handle's → phone_report's


def phone_report(*, actor, channel: str, same_as=None, fixed_result: str = "", fixed_photos: Iterable = (),
                 now: dt.datetime | None = None, **report):
    """A report from the phone pages: `case_report`, then — all in one transaction — the reporter's word that it
    is the same problem as the open case `same_as` (kept for the acceptor, who merges it), and for a grid worker
    who fixed it on the spot, `case_self_handle` with the after-photos."""
    from yiwang.cases import services as cases

    now = now or clock.now()
    with transaction.atomic():
        case = cases.case_report(actor=actor, channel=channel, now=now, **report)
        if same_as is not None:
            claim = DuplicateClaim.objects.create(case=case, same_as=same_as, claimed_by=actor, created_at=now)
            with clock.frozen(now):
                audit_write(actor=actor, action="phone.duplicate_claim", obj=claim,
                            after={"case": case.number, "same_as": same_as.number}, scope_path=case.region_path)
        if fixed_result:
            try:
                case = cases.case_self_handle(actor=actor, case=case, result=fixed_result, attachments=fixed_photos,
                                              now=now)
            except DomainError as error:
                # The fix's own fields here: a missing after-photo is not a missing photo of the problem.
                error.fields = {FIXED_FIELDS.get(name, name): messages for name, messages in error.fields.items()}
                raise
    return case


# --- photos kept while a form is refused ----------------------------------------------------------------------

def photos_keep(*, uploads: Iterable, room: int) -> tuple[list[dict], list[str]]:
    """Store the good photos of a report that was refused for another reason, so the person need not pick them
    again: each is checked and stored like any attachment (content-addressed, under cases/), but attached to no
    case yet. Returns (kept, refusals): per kept file {name, kind, thumbnail, label, position} — to be held in the
    sender's session, which alone may use them — and the message of each file refused. At most `room` files are
    kept. A file no report takes is an orphan that `media_orphans_sweep` removes after a day."""
    kept, refusals = [], []
    for upload in uploads:
        if len(kept) >= room:
            break
        try:
            processed = media_prepare([upload])
        except ValidationFailed as error:
            refusals.append(str(error.message))
            continue
        position = photo_position(upload)  # read now: the stored copy carries no EXIF
        for stored in media_write(processed):
            kept.append({"name": stored.name, "kind": str(stored.item.kind), "thumbnail": stored.thumbnail_name,
                         "label": (upload.name or "")[:80], "position": list(position) if position else None})
    return kept, refusals
