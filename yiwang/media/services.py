"""Storing checked files: all of a step's files are processed before any is written, each is written once
under the SHA-256 of its bytes, and the files a rolled-back transaction wrote are removed again.

Files are written inside the caller's transaction (next to the rows that point at them), so a crash can never
leave a committed row without its file. Django runs callbacks on commit but has no hook on rollback; a
rollback does, however, drop the transaction's pending `on_commit` callbacks. So the names this transaction
created are held by one small object whose only reference is such a callback: on commit the callback marks
them kept; when Django drops it unrun, the object is released and its finalizer puts the names on a list of
suspects.
`media_cleanup` — after every request and before every write — deletes each suspect no attachment row refers
to. (It checks rows rather than trusting the drop: a failing on-commit callback registered before ours also
drops ours, on a transaction that did commit.) A name that already existed (the same photo stored before) was
not created here and is never deleted here.
"""

from __future__ import annotations

import logging
import os
import weakref
from collections import deque
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import IO

from django.core.files.base import ContentFile, File
from django.core.files.storage import FileSystemStorage, Storage, default_storage
from django.db import transaction
from django.db.models import F, Q

from yiwang.media.processing import (
    AV_ERRORS,
    PLAYS_EVERYWHERE,
    Processed,
    Upload,
    playable_copy,
    plays_everywhere,
    process,
    refuse_count,
    temporary_path,
)

log = logging.getLogger(__name__)


def media_prepare(uploads: Iterable[Upload]) -> list[Processed]:
    """Check and process every file of one step before anything is written; the first bad file refuses the
    step (ValidationFailed with its code) and nothing is stored."""
    from django.conf import settings

    uploads = list(uploads or [])
    if len(uploads) > settings.YIWANG_MAX_ATTACHMENTS:
        raise refuse_count()
    processed, seen = [], set()
    for upload in uploads:
        item = process(upload)
        if item.sha256 not in seen:  # the same file chosen twice is kept once
            seen.add(item.sha256)
            processed.append(item)
    return processed


def storage_name(sha256: str, extension: str) -> str:
    return f"cases/{sha256[:2]}/{sha256[2:4]}/{sha256}{extension}"


def thumbnail_name(sha256: str) -> str:
    return storage_name(sha256, ".thumb.jpg")


@dataclass(frozen=True)
class Stored:
    item: Processed
    name: str
    thumbnail_name: str


def _write(storage: Storage, name: str, content: bytes | Processed | IO[bytes]) -> bool:
    """Write `content` (bytes, a processed file's kept bytes streamed from where they are — a video from
    its uploaded file, chunk by chunk — or an open file) as `name` unless it is already there; True if this
    call created it."""
    if storage.exists(name):
        return False
    if isinstance(content, bytes):
        saved = storage.save(name, ContentFile(content))
    elif not isinstance(content, Processed):
        saved = storage.save(name, File(content, name=name))
    else:
        with content.open() as stream:
            # A plain File over the stream: the storage copies it in chunks (and cannot move a temporary
            # upload away from under the request, which File does not expose).
            saved = storage.save(name, File(stream, name=name))
    if saved != name:  # another writer stored the same bytes a moment ago; theirs is identical
        storage.delete(saved)
        return False
    return True


def _pinned(storage: Storage) -> Storage:
    """The storage as it is now: a local folder is fixed, so a later change of MEDIA_ROOT (tests) cannot
    redirect a deletion."""
    if isinstance(storage, FileSystemStorage):
        return FileSystemStorage(location=storage.location)
    return storage


def _delete(storage: Storage, names: Sequence[str]) -> None:
    for name in names:
        try:
            storage.delete(name)
        except Exception:  # noqa: BLE001 — a file we cannot remove is logged, never raised from a cleanup
            log.exception("could not delete %s after a rollback", name)


# (storage, names) of transactions that were rolled back — or whose commit callbacks did not all run
_suspects: deque = deque()


class _Written:
    """The names one transaction created; suspects unless that transaction commits (see the module doc)."""

    def __init__(self, storage: Storage, names: list[str]):
        self.state = {"kept": False}
        weakref.finalize(self, _suspect_unless_kept, storage, names, self.state)

    def keep(self) -> None:
        self.state["kept"] = True


def _suspect_unless_kept(storage: Storage, names: list[str], state: dict) -> None:
    # Runs where the object is dropped (inside Django's rollback): no database access here.
    if not state["kept"]:
        _suspects.append((storage, names))


def _used(names) -> set[str]:
    """Those of `names` that an attachment row refers to: as its file, its thumbnail or its playable copy."""
    from yiwang.cases.models import CaseAttachment

    rows = CaseAttachment.objects.filter(Q(file__in=names) | Q(thumbnail__in=names) | Q(playable__in=names))
    return {name for row in rows.values_list("file", "thumbnail", "playable") for name in row if name}


def media_cleanup(**signal_kwargs) -> int:
    """Delete the files of rolled-back steps that no attachment refers to; the number deleted. Connected to
    request_finished and called before every write; a database error leaves the suspects for the next run."""
    batch = []
    while _suspects:
        batch.append(_suspects.popleft())
    if not batch:
        return 0
    names = {name for _storage, group in batch for name in group}
    try:
        with transaction.atomic():  # inside a step: a failure here must not spoil the step's transaction
            used = _used(names)
    except Exception:  # noqa: BLE001 — a cleanup must not break the request it follows
        log.exception("could not check rolled-back media; will try again")
        _suspects.extend(batch)
        return 0
    deleted = 0
    for storage, group in batch:
        unused = [name for name in group if name not in used]
        _delete(storage, unused)
        deleted += len(unused)
    return deleted


def media_write(processed: Sequence[Processed], *, using: str | None = None) -> list[Stored]:
    """Write the files (and thumbnails) through the default storage, content-addressed. Inside a transaction,
    the files this call created are deleted again if that transaction (or its savepoint) rolls back."""
    media_cleanup()
    storage = default_storage
    stored, created = [], []
    try:
        for item in processed:
            name = storage_name(item.sha256, item.extension)
            thumb = thumbnail_name(item.sha256) if item.thumbnail is not None else ""
            if _write(storage, name, item):
                created.append(name)
            if thumb and _write(storage, thumb, item.thumbnail):
                created.append(thumb)
            stored.append(Stored(item=item, name=name, thumbnail_name=thumb))
    except Exception:
        _delete(storage, created)
        raise
    if created and transaction.get_connection(using).in_atomic_block:
        # The bound method is the only reference to the _Written object: see the module doc.
        transaction.on_commit(_Written(_pinned(storage), created).keep, using=using, robust=True)
    return stored


def media_orphans_sweep(*, now=None, older_than_hours: float = 24, storage: Storage | None = None) -> int:
    """Delete stored case files that no attachment refers to and that are older than `older_than_hours` — what
    a process killed between writing a file and committing its row (the one case `media_cleanup` cannot see)
    leaves behind. Younger files are left alone: their step may still be committing. Nightly; the number
    deleted."""
    import datetime as dt

    from yiwang.core import clock

    storage = storage or default_storage
    cutoff = (now or clock.now()) - dt.timedelta(hours=older_than_hours)
    deleted = 0

    def files_under(folder: str):
        try:
            folders, files = storage.listdir(folder)
        except FileNotFoundError:
            return
        for name in files:
            yield f"{folder}/{name}"
        for sub in folders:
            yield from files_under(f"{folder}/{sub}")

    batch: list[str] = []

    def settle(names: list[str]) -> int:
        used = _used(names)
        orphans = [name for name in names if name not in used and storage.get_modified_time(name) < cutoff]
        _delete(storage, orphans)
        return len(orphans)

    for name in files_under("cases"):
        batch.append(name)
        if len(batch) >= 500:
            deleted, batch = deleted + settle(batch), []
    if batch:
        deleted += settle(batch)
    if deleted:
        log.info("removed %d orphaned media files", deleted)
    return deleted


# --- playable copies ------------------------------------------------------------------------------------------
# A video not every browser plays (an iPhone's HEVC; see yiwang.media.processing.playable_copy) gets an H.264
# copy, made by the task worker after the step that brought it commits, stored next to it as
# `<sha256>.play.mp4` and shared by every row of the same video. The pages and the API offer the copy first.
# A copy that cannot be made is tried again by the periodic pickup, at most PLAYABLE_TRIES times; the video
# itself is kept whatever happens.

PLAYABLE_TRIES = 3


def playable_name(sha256: str) -> str:
    return storage_name(sha256, ".play.mp4")


def _waiting():
    """Video rows that need a copy and have none yet (rows stored before codecs were recorded are left)."""
    from yiwang.cases.choices import AttachmentKind
    from yiwang.cases.models import CaseAttachment

    return (CaseAttachment.objects.filter(kind=AttachmentKind.VIDEO, playable="", playable_tries__lt=PLAYABLE_TRIES)
            .exclude(codecs="").exclude(codecs__in=PLAYS_EVERYWHERE))


def media_playable_later(items: Iterable[Processed]) -> None:
    """After the caller's transaction commits, queue a copy of each of `items` that is a video not every
    browser plays. A queue that is down loses nothing: `media_playable_backlog` finds the rows."""
    digests = sorted({item.sha256 for item in items if item.codecs and not plays_everywhere(item.codecs)})
    if not digests:
        return

    def enqueue():
        from yiwang.media import tasks

        for sha256 in digests:
            try:
                tasks.make_playable(sha256)
            except Exception:  # noqa: BLE001 — the periodic pickup makes it
                log.warning("could not queue a playable copy of %s", sha256, exc_info=True)

    transaction.on_commit(enqueue, robust=True)


def media_playable_make(*, sha256: str) -> str | None:
    """Make the playable copy of the stored video `sha256` and point its rows at it; the copy's name, or None
    when no row waits for one or the video cannot be copied (its rows then count one more try). Journaled per
    row (`attachment.playable`, by the system)."""
    from yiwang.cases.models import CaseAttachment
    from yiwang.core.models import AuditEntry
    from yiwang.core.services import audit_entry

    waiting = list(_waiting().filter(sha256=sha256).values_list("pk", "file"))
    if not waiting:
        return None
    storage = default_storage
    name = playable_name(sha256)
    if not storage.exists(name):
        path = temporary_path(".mp4")
        try:
            try:
                with storage.open(waiting[0][1], "rb") as source:
                    playable_copy(source, path)
            except (*AV_ERRORS, StopIteration, IndexError):
                log.warning("could not make a playable copy of %s", sha256, exc_info=True)
                CaseAttachment.objects.filter(pk__in=[pk for pk, _file in waiting]).update(
                    playable_tries=F("playable_tries") + 1)
                return None
            with open(path, "rb") as copy:
                _write(storage, name, copy)
        finally:
            os.unlink(path)
    with transaction.atomic():
        rows = list(CaseAttachment.objects.select_for_update().select_related("case")
                    .filter(pk__in=[pk for pk, _file in waiting], playable=""))
        for row in rows:
            row.playable = name
        CaseAttachment.objects.bulk_update(rows, ["playable"])
        AuditEntry.objects.bulk_create([
            audit_entry(actor=None, action="attachment.playable", obj=row, before={"playable": ""},
                        after={"playable": name}, scope_path=row.case.region_path)
            for row in rows])
    return name


def media_playable_backlog(*, limit: int = 20) -> int:
    """Make the copies still missing — a queue entry lost, a worker stopped, a try that failed — at most
    `limit` videos a run, oldest first; the number made. Periodic."""
    digests = list(dict.fromkeys(_waiting().order_by("pk").values_list("sha256", flat=True)[:limit * 10]))
    return sum(1 for sha256 in digests[:limit] if media_playable_make(sha256=sha256))
