"""The journal's hash chain: each entry carries the hash of the one before it, so an edited, deleted or inserted
row shows up when the chain is checked (`journal_verify`, `manage.py verify_journal`).

hash = sha256(prev_hash + canonical(entry)). The canonical form is frozen: changing it would make every
journal written so far look broken, so a new form would need a version of its own.
"""

from __future__ import annotations

import datetime as dt
import decimal
import hashlib
import json
import math
from dataclasses import dataclass

from django.db import DEFAULT_DB_ALIAS, connections
from django.db.transaction import TransactionManagementError

from yiwang.core.models import AuditEntry

# Held by every transaction that appends to the journal on PostgreSQL, until it commits, so writers take turns
# at the tail: b"yiwangJl" as a bigint.
JOURNAL_LOCK = int.from_bytes(b"yiwangJl", "big")

_CHAR_FIELDS = ("actor_name", "action", "object_type", "object_id", "object_repr", "scope_path", "reason",
                "request_id", "prev_hash")


# Values _stable returns as they are, checked before calling it (a bulk import hashes millions of entries).
_AS_IS = frozenset({str, int, bool, type(None)})
_ENCODER = json.JSONEncoder(sort_keys=True, ensure_ascii=False, separators=(",", ":"))


def _stable(value):
    """JSON as it reads back from either database. PostgreSQL's jsonb keeps numbers as decimals and prints an
    integral one such as 1e+23 as 100000000000000000000000, which reads back as an int; so integral floats are
    written as the integer their shortest decimal form names (1.0 → 1, 1e+23 → 10**23)."""
    if isinstance(value, dict):
        return {str(key): item if type(item) in _AS_IS else _stable(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [item if type(item) in _AS_IS else _stable(item) for item in value]
    if isinstance(value, float) and math.isfinite(value) and value.is_integer():
        return int(decimal.Decimal(repr(value)))
    return value


def _utc(value: dt.datetime) -> str:
    if value.tzinfo is None:  # only with USE_TZ off; the project keeps it on
        value = value.replace(tzinfo=dt.UTC)
    return value.astimezone(dt.UTC).isoformat(timespec="microseconds")


def canonical(entry) -> str:
    """Every stored field but id and hash, as deterministic JSON text: the same whether computed before the
    INSERT or from the row read back from SQLite or PostgreSQL."""
    data = {name: "" if (value := getattr(entry, name)) is None else str(value) for name in _CHAR_FIELDS}
    data.update(
        created_at=_utc(entry.created_at),
        actor_id=entry.actor_id,
        actor_roles=_stable(entry.actor_roles),
        before=_stable(entry.before),
        after=_stable(entry.after),
    )
    return _ENCODER.encode(data)


def entry_hash(entry) -> str:
    """The hash an entry must carry, from its content and its prev_hash."""
    return hashlib.sha256((entry.prev_hash + canonical(entry)).encode("utf-8")).hexdigest()


def journal_link(entries: list, *, using: str = DEFAULT_DB_ALIAS) -> None:
    """Chain unsaved entries onto the journal's tail, in list order; the caller inserts them in that order in the
    same transaction. Takes the writers' lock first, which the transaction holds until it ends, so no other
    writer can chain onto the same tail and ids come out in chain order."""
    connection = connections[using]
    if not connection.in_atomic_block:
        raise TransactionManagementError(
            "The journal is written inside the transaction of the change it records (transaction.atomic).")
    table = connection.ops.quote_name(AuditEntry._meta.db_table)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [JOURNAL_LOCK])
        # SQLite needs no lock: write transactions begin IMMEDIATE (config/settings.py), one at a time.
        # Read after the lock: under READ COMMITTED this statement sees the last writer's committed entries.
        cursor.execute(f"SELECT hash FROM {table} ORDER BY id DESC LIMIT 1")
        row = cursor.fetchone()
    tail = row[0] if row else ""
    for entry in entries:
        entry.prev_hash = tail
        entry.hash = tail = entry_hash(entry)


@dataclass(frozen=True)
class JournalReport:
    ok: bool
    checked: int
    first_broken_id: int | None = None
    reason: str = ""
    last_hash: str = ""


def journal_verify(*, start_id: int | None = None, using: str = DEFAULT_DB_ALIAS) -> JournalReport:
    """Walk the journal in id order (from start_id, if given) and stop at the first entry that does not link to
    the one before it (one was deleted, inserted or re-hashed) or whose content does not match its hash (it
    was edited)."""
    entries = AuditEntry.objects.using(using).order_by("id")
    tail = ""
    if start_id is not None:
        before = entries.filter(id__lt=start_id).order_by("-id").values_list("hash", flat=True).first()
        tail = before or ""
        entries = entries.filter(id__gte=start_id)
    checked = 0
    for entry in entries.iterator(chunk_size=2000):
        if entry.prev_hash != tail:
            return JournalReport(False, checked, entry.id, "it does not link to the entry before it: an entry was "
                                                            "deleted, inserted or re-hashed before it", tail)
        if entry.hash != entry_hash(entry):
            return JournalReport(False, checked, entry.id, "its content does not match its hash: it was edited",
                                 tail)
        tail = entry.hash
        checked += 1
    return JournalReport(True, checked, last_hash=tail)
