"""The process's point → grid index, kept in step with the database.

Any grid change bumps GeoVersion in the same transaction. The process that made the change drops its index
at once; every other process (web workers, task workers) compares its index's version with the database at
most every YIWANG_LOCATOR_RECHECK_SECONDS and rebuilds when it differs. This process's own changes are uncommitted at first (and
may be rolled back), so the version alone cannot vouch for an index built while they are pending: after a
change here the index is rebuilt once per further change, and again when it is used outside any transaction
or has been in use for YIWANG_LOCATOR_RECHECK_SECONDS, until the change commits.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field

from django.conf import settings

from yiwang.geo.locator import GridIndex


@dataclass
class _State:
    index: GridIndex | None = None
    version: int | None = None
    checked_at: float = float("-inf")
    # grid id → (code, name, kind, path); region code → (id, name, level)
    grids: dict[int, tuple[str, str, str, str]] = field(default_factory=dict)
    regions: dict[str, tuple[int, str, str]] = field(default_factory=dict)
    # This process changed grids; the index may hold rows of a transaction that has not committed (or never will).
    dirty: bool = False
    changes: int = 0  # this process's grid changes so far
    built_for: int = -1  # the value of `changes` the index was built after


_state = _State()
_lock = threading.Lock()


def mark_stale() -> None:
    """Called in the transaction that changed grids."""
    from django.db import transaction

    _state.checked_at = float("-inf")
    _state.dirty = True
    _state.changes += 1
    change = _state.changes

    def committed():
        if _state.changes == change:  # no later change is pending: the next use rebuilds from committed rows
            _state.dirty = False
            _state.index = None

    transaction.on_commit(committed)


def trust_pending() -> None:
    """Use the index as it is now, pending changes included — for a caller that owns the transaction holding
    them and knows they stay until it ends (the demo tests' long-lived city)."""
    current()
    _state.dirty = False


def reset() -> None:
    """Forget the index: the next use builds it afresh (after a caller rolled back the grids it was built on)."""
    _state.index = None
    _state.dirty = False
    _state.checked_at = float("-inf")


def _db_version() -> int:
    from yiwang.geo.models import GeoVersion

    row = GeoVersion.objects.filter(pk=1).values_list("version", flat=True).first()
    return row or 0


def _rebuild(version: int) -> None:
    from yiwang.geo.models import Grid, Region

    rows = list(Grid.objects.filter(is_active=True).values_list("id", "code", "name", "kind", "path", "boundary"))
    _state.index = GridIndex.build((pk, code, boundary) for pk, code, _n, _k, _p, boundary in rows)
    _state.grids = {pk: (code, name, kind, path) for pk, code, name, kind, path, _b in rows}
    _state.regions = {code: (pk, name, level) for pk, code, name, level in
                      Region.objects.values_list("id", "code", "name", "level")}
    _state.version = version


def current() -> _State:
    """The up-to-date state (rebuilding if another process or this one changed the grids)."""
    from django.db import connection

    now = time.monotonic()
    if not _state.dirty and now - _state.checked_at < settings.YIWANG_LOCATOR_RECHECK_SECONDS \
            and _state.index is not None:
        return _state
    with _lock:
        if _state.dirty:
            stale = (_state.built_for != _state.changes or not connection.in_atomic_block
                     or time.monotonic() - _state.checked_at >= settings.YIWANG_LOCATOR_RECHECK_SECONDS)
            if stale or _state.index is None:
                _rebuild(_db_version())
                _state.built_for = _state.changes
                _state.dirty = connection.in_atomic_block
                _state.checked_at = time.monotonic()
        elif time.monotonic() - _state.checked_at >= settings.YIWANG_LOCATOR_RECHECK_SECONDS or _state.index is None:
            version = _db_version()
            if version != _state.version or _state.index is None:
                _rebuild(version)
            _state.checked_at = time.monotonic()
    return _state
