"""Attachments stored by the case steps: content-addressed, once per content, nothing written when one file is
bad, and nothing left behind when the step rolls back."""

import gc
import hashlib
import io

import pytest
from django.core.files.storage import FileSystemStorage
from django.db import transaction
from PIL import Image

from yiwang.cases import services as s
from yiwang.cases.choices import Status
from yiwang.cases.models import Case, CaseAttachment
from yiwang.cases.tests.conftest import MONDAY
from yiwang.cases.tests.test_loop import walk_to
from yiwang.core.errors import ValidationFailed
from yiwang.media.processing import Upload, process
from yiwang.media.services import media_cleanup, media_write
from yiwang.media.tests import files
from yiwang.media.tests.conftest import stored_files


def test_a_report_stores_the_clean_photo_and_its_thumbnail_by_content(media, cast, report):
    case = report(attachments=[Upload(name="现场.png", content=files.png(lat=40.005, lon=120.005))])
    attachment = case.attachments.get()
    stored = (media / attachment.file.name).read_bytes()
    digest = hashlib.sha256(stored).hexdigest()
    assert attachment.sha256 == digest and attachment.size == len(stored)
    assert attachment.file.name == f"cases/{digest[:2]}/{digest[2:4]}/{digest}.jpg"
    assert attachment.thumbnail.name == f"cases/{digest[:2]}/{digest[2:4]}/{digest}.thumb.jpg"
    assert (attachment.kind, attachment.content_type, attachment.action) == ("photo", "image/jpeg", "report")
    assert (attachment.width, attachment.height, attachment.uploaded_by) == (400, 300, cast.resident)
    assert stored[:3] == b"\xff\xd8\xff" and files.SECRET.encode() not in stored
    assert stored_files(media) == sorted([attachment.file.name, attachment.thumbnail.name])


def test_the_same_photo_twice_is_stored_once(media, cast, report):
    photo = Upload(name="a.jpg", content=files.jpeg())
    first = report(attachments=[photo])
    second = report(attachments=[photo, Upload("again.jpg", photo.content)])
    a, b = first.attachments.get(), second.attachments.get()  # chosen twice in one step: kept once
    assert a.file.name == b.file.name and a.pk != b.pk
    assert len(stored_files(media)) == 2  # one photo, one thumbnail


def test_each_step_carries_its_own_photos_and_video(media, cast, report):
    case = walk_to(cast, report(attachments=[Upload("before.jpg", files.jpeg())]), Status.IN_PROGRESS)
    clip = files.video(seconds=8)
    s.case_feedback(actor=cast.unit, case=case, result="已清运", now=MONDAY,
                    attachments=[Upload("after.heic", files.heic()), Upload("clip.mp4", clip)])
    rows = list(CaseAttachment.objects.filter(case=case).order_by("id")
                .values_list("action", "kind", "duration"))
    assert rows == [("report", "photo", None), ("feedback", "photo", None), ("feedback", "video", 8.0)]
    video = CaseAttachment.objects.get(case=case, kind="video")
    kept = (media / video.file.name).read_bytes()
    digest = hashlib.sha256(kept).hexdigest()
    assert files.tracks(kept) == files.tracks(clip) and video.sha256 == digest  # remuxed, named by its bytes
    # the poster is stored next to the video, under the video's own SHA-256
    assert video.thumbnail.name == f"cases/{digest[:2]}/{digest[2:4]}/{digest}.thumb.jpg"
    poster = (media / video.thumbnail.name).read_bytes()
    assert poster[:3] == b"\xff\xd8\xff" and Image.open(io.BytesIO(poster)).size == (320, 240)


def test_a_stored_video_says_nothing_of_where_and_with_what_it_was_recorded(media, cast, report):
    sent = files.video(seconds=3, rotation=-90, audio=True, container="mov", metadata=True)
    assert files.PLACE.encode() in sent and files.SECRET.encode() in sent
    case = report(attachments=[Upload("IMG_0042.MOV", sent)])
    video = case.attachments.get()
    kept = (media / video.file.name).read_bytes()
    assert files.PLACE.encode() not in kept and files.SECRET.encode() not in kept and b"ISO6709" not in kept
    assert "location" not in files.described(kept)["metadata"] and files.described(kept)["rotation"] == -90
    assert files.tracks(kept) == files.tracks(sent) and video.sha256 == hashlib.sha256(kept).hexdigest()
    assert (video.size, video.duration) == (len(kept), 3.0)


def test_one_bad_file_refuses_the_step_and_writes_nothing(media, cast, report):
    good = Upload("good.jpg", files.jpeg())
    cut = files.noisy_jpeg()
    for bad in (Upload("cut.jpg", cut[: len(cut) // 2]), Upload("page.jpg", b"<html>"),
                Upload("bomb.png", files.png_bomb())):
        with pytest.raises(ValidationFailed):
            report(attachments=[good, bad])
    assert not Case.objects.exists() and stored_files(media) == []
    case = walk_to(cast, report(), Status.IN_PROGRESS)
    with pytest.raises(ValidationFailed) as refused:
        s.case_feedback(actor=cast.unit, case=case, result="已清运", now=MONDAY,
                        attachments=[good, Upload("long.mp4", files.mp4(seconds=90))])
    assert refused.value.code == "attachment_duration"
    case.refresh_from_db()
    assert case.status == Status.IN_PROGRESS and stored_files(media) == []


def test_a_video_without_a_picture_refuses_the_step_and_writes_nothing(media, cast, report):
    for content, code in [(files.video(seconds=3, frames=False), "attachment_no_video"),  # sound alone
                          (files.mp4(seconds=3), "attachment_no_video"),  # boxes without a frame
                          (files.video(seconds=3)[:-40], "attachment_truncated")]:
        with pytest.raises(ValidationFailed) as refused:
            report(attachments=[Upload("good.jpg", files.jpeg()), Upload("clip.mp4", content)])
        assert refused.value.code == code
    assert not Case.objects.exists() and stored_files(media) == []


def test_too_many_files_refuse_the_step(media, cast, report, settings):
    settings.YIWANG_MAX_ATTACHMENTS = 2
    with pytest.raises(ValidationFailed) as refused:
        report(attachments=[Upload(f"{i}.jpg", files.jpeg(size=(100 + i, 100))) for i in range(3)])
    assert refused.value.code == "attachment_count"
    assert not Case.objects.exists() and stored_files(media) == []


def _journal_fails(monkeypatch):
    def fail(**kwargs):
        raise RuntimeError("the database went away")
    monkeypatch.setattr(s, "_journal", fail)


def test_files_of_a_step_that_rolls_back_are_removed(media, cast, report, monkeypatch):
    kept = report(attachments=[Upload("kept.jpg", files.jpeg())]).attachments.get()
    before = stored_files(media)
    _journal_fails(monkeypatch)  # after the files are written, inside the step's transaction
    with pytest.raises(RuntimeError):
        report(attachments=[Upload("new.png", files.png()), Upload("again.jpg", files.jpeg())])
    assert Case.objects.count() == 1 and len(stored_files(media)) == len(before) + 2
    assert media_cleanup() == 2  # after the request (request_finished), or before the next write
    # the new photo's files are gone; the photo stored before (same content as "again.jpg") stays
    assert stored_files(media) == before and (media / kept.file.name).exists()


def test_through_http_a_failed_step_leaves_no_file_behind(media, cast, api, monkeypatch):
    from django.core.files.uploadedfile import SimpleUploadedFile

    from yiwang.cases.tests.conftest import IN_A
    from yiwang.core.errors import invalid

    def refuse(**kwargs):  # a refusal after the files were written, inside the step's transaction
        raise invalid("late refusal", "late")
    monkeypatch.setattr(s, "_journal", refuse)
    answer = api(cast.resident).post("/api/v1/cases/", {"description": "x", **IN_A, "attachments": [
        SimpleUploadedFile("a.jpg", files.jpeg())]}, format="multipart")
    assert answer.status_code == 400 and answer.json()["error"]["code"] == "late"
    assert not Case.objects.exists() and stored_files(media) == []


class FlakyStorage(FileSystemStorage):
    """A disk that fills up on the third file."""

    saved: list = []

    def _save(self, name, content):
        FlakyStorage.saved.append(name)
        if len(FlakyStorage.saved) == 3:
            raise OSError("disk full")
        return super()._save(name, content)


def test_a_storage_failure_midway_removes_what_was_written(media, settings, db):
    items = [process(Upload("a.jpg", files.jpeg())), process(Upload("b.png", files.png(size=(50, 50))))]
    settings.STORAGES = {**settings.STORAGES, "default": {"BACKEND": f"{__name__}.FlakyStorage"}}
    FlakyStorage.saved = []
    with pytest.raises(OSError):
        media_write(items)
    assert len(FlakyStorage.saved) == 3 and stored_files(media) == []


@pytest.mark.django_db(transaction=True)
def test_committed_files_stay_and_a_later_rollback_removes_only_its_own(media, cast, report, monkeypatch):
    committed = report(attachments=[Upload("a.jpg", files.jpeg())]).attachments.get()
    gc.collect()
    assert (media / committed.file.name).exists() and (media / committed.thumbnail.name).exists()
    on_disk = stored_files(media)

    _journal_fails(monkeypatch)
    with pytest.raises(RuntimeError):
        report(attachments=[Upload("b.webp", files.webp()), Upload("a-again.jpg", files.jpeg())])
    media_cleanup()
    assert stored_files(media) == on_disk

    monkeypatch.undo()
    with pytest.raises(RuntimeError), transaction.atomic():  # an outer transaction that fails after the step
        report(attachments=[Upload("c.png", files.png())])
        raise RuntimeError("the caller's own failure")
    media_cleanup()
    assert stored_files(media) == on_disk and Case.objects.count() == 1

    def boom():
        raise RuntimeError("a task queue that is down")
    with pytest.raises(RuntimeError), transaction.atomic():  # committed, but a callback before ours fails
        transaction.on_commit(boom)
        report(attachments=[Upload("d.png", files.png(size=(60, 60)))])
    gc.collect()
    media_cleanup()
    assert Case.objects.count() == 2 and len(stored_files(media)) == len(on_disk) + 2  # kept: rows need them


def test_the_nightly_sweep_removes_old_files_no_attachment_refers_to(media, cast, report):
    """A process killed between writing a file and committing its row leaves the file behind; the sweep removes
    it once it is a day old, and never a file a case uses or one whose step may still be committing."""
    import datetime as dt
    import os

    from django.utils import timezone

    from yiwang.media import tasks
    from yiwang.media.services import media_orphans_sweep

    case = report(attachments=[Upload(name="现场.png", content=files.png())])
    kept = sorted([case.attachments.get().file.name, case.attachments.get().thumbnail.name])
    orphan_old, orphan_new = "cases/ab/cd/" + "ab" * 32 + ".jpg", "cases/ef/01/" + "ef" * 32 + ".jpg"
    for name in (orphan_old, orphan_new):
        (media / name).parent.mkdir(parents=True, exist_ok=True)
        (media / name).write_bytes(b"\xff\xd8\xff left behind")
    two_days_ago = (timezone.now() - dt.timedelta(days=2)).timestamp()
    for name in (orphan_old, *kept):  # the case's own files are just as old
        os.utime(media / name, (two_days_ago, two_days_ago))
    assert media_orphans_sweep() == 1
    assert stored_files(media) == sorted([*kept, orphan_new])
    assert tasks.sweep_orphaned_media.call_local() == 0
