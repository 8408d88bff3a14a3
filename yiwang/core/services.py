"""The journal every write goes through, and the small helpers services share."""

from __future__ import annotations

import datetime as dt
import decimal

from django.db import models, transaction

from yiwang.core import clock, context
from yiwang.core.models import AuditEntry


def _jsonable(value):
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, decimal.Decimal):
        return str(value)
    return value


def snapshot(obj: models.Model, fields: list[str] | None = None) -> dict:
    """The object's concrete field values (foreign keys as ids), for before/after in the journal."""
    data = {}
    for field in obj._meta.concrete_fields:
        if fields is not None and field.name not in fields and field.attname not in fields:
            continue
        data[field.attname] = _jsonable(getattr(obj, field.attname))
    return data


def diff(before: dict | None, after: dict | None) -> tuple[dict | None, dict | None]:
    """Only the fields that changed, on both sides (creation and deletion keep everything)."""
    if before is None or after is None:
        return before, after
    changed = [key for key in after if before.get(key) != after.get(key)]
    return {k: before.get(k) for k in changed}, {k: after[k] for k in changed}


def _actor_roles(actor) -> list:
    if actor is None:
        return []
    from yiwang.accounts.policies import grants_for

    seen = []
    for grants in grants_for(actor).values():
        for grant in grants:
            entry = [grant.kind, grant.path or "", grant.unit_id]
            if entry not in seen:
                seen.append(entry)
    return seen


def audit_entry(
    *, actor, action: str, obj: models.Model, before: dict | None = None, after: dict | None = None,
    reason: str = "", scope_path: str = "", actor_name: str = "",
) -> AuditEntry:
    """An unsaved journal row; `audit_write` saves one, services writing many use AuditEntry.objects.bulk_create,
    which chains them (see yiwang.core.journal)."""
    before, after = diff(before, after)
    return AuditEntry(
        created_at=clock.now(),
        actor=actor if actor is not None else None,
        actor_name=actor_name or (actor.get_username() if actor is not None else "system"),
        actor_roles=_actor_roles(actor),
        action=action,
        object_type=obj._meta.label_lower,
        object_id=str(obj.pk),
        object_repr=str(obj)[:255],
        scope_path=scope_path,
        before=before,
        after=after,
        reason=reason,
        request_id=context.request_id.get(),
    )


def audit_write(**kwargs) -> AuditEntry:
    """Write one journal entry, chained onto the tail, in the caller's transaction (one is required)."""
    entry = audit_entry(**kwargs)
    AuditEntry.objects.bulk_create([entry])  # links it onto the chain; see AuditEntryQuerySet.bulk_create
    return entry


def bulk_create_journaled(*, actor, objs: list, action: str, reason: str = "", path_attr: str | None = None,
                          batch_size: int = 500) -> list:
    """Insert many new rows and one journal entry each, for bulk loads (imports, the demo city). The caller
    holds the transaction and has validated the rows; the entries are chained in list order under one read
    of the tail."""
    if not objs:
        return objs
    if not transaction.get_connection().in_atomic_block:
        raise transaction.TransactionManagementError("bulk_create_journaled needs the caller's transaction.")
    model = type(objs[0])
    model._default_manager.bulk_create(objs, batch_size=batch_size)
    AuditEntry.objects.bulk_create(
        [audit_entry(actor=actor, action=action, obj=obj, after=snapshot(obj), reason=reason,
                     scope_path=getattr(obj, path_attr) if path_attr else "") for obj in objs],
        batch_size=batch_size,
    )
    return objs
