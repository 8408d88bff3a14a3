"""No duplicate from a retried request. A client that may retry (a phone on a weak signal, a department
system, an Open311 app) sends an `Idempotency-Key`; the first request's answer is stored in the same transaction
as the change it made, and a retry with the same key gets that answer back without doing anything again.

Two copies racing: the second one's insert of the same key waits on the first transaction (PostgreSQL's
unique index; SQLite serialises writers) and, once the first has committed, fails; the second rolls back its
change and answers with the first one's answer. A request that failed stored nothing, so its retry is tried
afresh. The same key with a different request is refused.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
from collections.abc import Callable

from django.db import IntegrityError, transaction
from django.utils.translation import gettext_lazy as _

from yiwang.core import clock
from yiwang.core.errors import DomainError, invalid
from yiwang.core.models import IdempotencyKey

KEY_PATTERN = re.compile(r"^[\x21-\x7e]{1,128}$")
KEEP = dt.timedelta(days=7)


class KeyReused(DomainError):
    code = "idempotency_key_reused"
    status = 422
    default_message = _("This Idempotency-Key was already used for a different request.")


def fingerprint(data, files: dict | None = None) -> str:
    """A stable hash of a request's fields and the contents of its files."""
    digest = hashlib.sha256()
    fields = {key: data.getlist(key) if hasattr(data, "getlist") else data[key] for key in sorted(data)}
    digest.update(json.dumps(fields, sort_keys=True, default=str, ensure_ascii=False).encode())
    for name in sorted(files or {}):
        for upload in (files.getlist(name) if hasattr(files, "getlist") else [files[name]]):
            upload.seek(0)
            for chunk in upload.chunks():
                digest.update(chunk)
            upload.seek(0)
    return digest.hexdigest()


def idempotent(*, owner: str, scope: str, key: str | None, request_hash: str,
               produce: Callable[[], tuple[int, dict]]) -> tuple[int, dict, bool]:
    """(status, body, replayed): `produce()` makes its change and answer at most once per (owner, scope, key) —
    the answer is stored under the key in the same transaction as the change.

    The key's row is written last, answer and all, in one statement. A copy racing in does its work too, but
    its insert of the same key waits on the first one's unique index entry (PostgreSQL; SQLite serialises
    writers anyway) and, once the first has committed, fails: its transaction — its change — rolls back and it
    answers with the first one's answer. Races are rare (a retry comes after a timeout), so one statement per
    request is worth more than sparing a racing copy its work."""
    if not key:
        status, body = produce()
        return status, body, False
    if not KEY_PATTERN.match(key):
        raise invalid(_("An Idempotency-Key is 1 to 128 printable ASCII characters."), "idempotency_key_invalid")
    taken = False
    try:
        with transaction.atomic():
            status, body = produce()
            try:
                IdempotencyKey.objects.create(owner=owner, endpoint=scope, key=key, request_hash=request_hash,
                                              status_code=status, response=body, created_at=clock.now())
            except IntegrityError:
                taken = True
                raise
            return status, body, False
    except IntegrityError:
        if not taken:  # the change itself broke a constraint: not about the key
            raise
    found = _stored(owner, scope, key)  # the copy that holds the key has committed
    if found is None:  # (the key's row went in the meantime: a purge of week-old keys) tried afresh
        return idempotent(owner=owner, scope=scope, key=key, request_hash=request_hash, produce=produce)
    if found.request_hash != request_hash:
        raise KeyReused()
    return found.status_code, found.response, True


def stored_answer(*, owner: str, scope: str, key: str | None, request_hash: str) -> tuple[int, dict] | None:
    """The first answer to this key, if one committed — a quick look before doing any work for a retry.
    `idempotent` still decides under its transaction; this only saves a retry the checks."""
    if not key:
        return None
    if not KEY_PATTERN.match(key):
        raise invalid(_("An Idempotency-Key is 1 to 128 printable ASCII characters."), "idempotency_key_invalid")
    found = _stored(owner, scope, key)
    if found is None:
        return None
    if found.request_hash != request_hash:
        raise KeyReused()
    return found.status_code, found.response


def _stored(owner: str, scope: str, key: str) -> IdempotencyKey | None:
    return IdempotencyKey.objects.filter(owner=owner, endpoint=scope, key=key).first()


def idempotency_keys_purge(*, now: dt.datetime | None = None) -> int:
    """Forget keys older than a week (a retry comes within minutes or hours)."""
    deleted, _rows = IdempotencyKey.objects.filter(created_at__lt=(now or clock.now()) - KEEP).delete()
    return deleted
