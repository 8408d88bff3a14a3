"""The process's point → grid index, kept in step with the database.

Any grid change bumps GeoVersion in the same transaction. The process that made the change drops its index
at once; every other process (web workers, task workers) compares its index's version with the database at
most every YIWANG_LOCATOR_RECHECK_SECONDS and rebuilds when it differs. A rolled-back change leaves the
database version where it was, so an index built from uncommitted rows is replaced on the next check.
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


_state = _State()
_lock = threading.Lock()


def mark_stale() -> None:
    _state.checked_at = float("-inf")
    _state.dirty = True


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
            _rebuild(_db_version())
            _state.dirty = connection.in_atomic_block
            _state.checked_at = time.monotonic()
        elif time.monotonic() - _state.checked_at >= settings.YIWANG_LOCATOR_RECHECK_SECONDS or _state.index is None:
            version = _db_version()
            if version != _state.version or _state.index is None:
                _rebuild(version)
            _state.checked_at = time.monotonic()
    return _state
