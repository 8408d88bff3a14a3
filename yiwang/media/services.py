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
import weakref
from collections import deque
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from django.core.files.base import ContentFile, File
from django.core.files.storage import FileSystemStorage, Storage, default_storage
from django.db import transaction
from django.db.models import Q

from yiwang.media.processing import Processed, Upload, process, refuse_count

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


def _write(storage: Storage, name: str, content: bytes | Processed) -> bool:
    """Write `content` (bytes, or a processed file's kept bytes streamed from where they are — a video from
    its uploaded file, chunk by chunk) as `name` unless it is already there; True if this call created it."""
    if storage.exists(name):
        return False
    if isinstance(content, bytes):
        saved = storage.save(name, ContentFile(content))
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


def media_cleanup(**signal_kwargs) -> int:
    """Delete the files of rolled-back steps that no attachment refers to; the number deleted. Connected to
    request_finished and called before every write; a database error leaves the suspects for the next run."""
    from yiwang.cases.models import CaseAttachment

    batch = []
    while _suspects:
        batch.append(_suspects.popleft())
    if not batch:
        return 0
    names = {name for _storage, group in batch for name in group}
    try:
        with transaction.atomic():  # inside a step: a failure here must not spoil the step's transaction
            used = {name for pair in CaseAttachment.objects.filter(Q(file__in=names) | Q(thumbnail__in=names))
                    .values_list("file", "thumbnail") for name in pair}
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

    from yiwang.cases.models import CaseAttachment
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
        used = {name for pair in CaseAttachment.objects.filter(Q(file__in=names) | Q(thumbnail__in=names))
                .values_list("file", "thumbnail") for name in pair}
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
