"""A copy every browser plays, of a video that not every browser plays (an iPhone's HEVC): what the copy is,
when it is made (after the step commits, by the task worker; the periodic pickup makes what was missed),
what a failure does, how it is served, and that the housekeeping never deletes it."""

import io
import os
import time

import av
import pytest
from django.core.files.storage import default_storage

from yiwang.cases.models import CaseAttachment
from yiwang.core.models import AuditEntry
from yiwang.media import tasks
from yiwang.media.processing import Upload, playable_copy, plays_everywhere, process
from yiwang.media.services import (
    PLAYABLE_TRIES,
    media_cleanup,
    media_orphans_sweep,
    media_playable_backlog,
    media_playable_make,
    playable_name,
)
from yiwang.media.tests import files

pytestmark = pytest.mark.django_db


def hevc_or_skip():
    from av.codec.codec import Codec

    try:
        Codec("hevc", "w")
    except Exception:  # noqa: BLE001 — an ffmpeg built without an HEVC encoder
        pytest.skip("no HEVC encoder in this PyAV wheel")


def copied(clip: bytes, tmp_path) -> dict:
    path = str(tmp_path / "copy.mp4")
    playable_copy(io.BytesIO(clip), path)
    with open(path, "rb") as f:
        data = f.read()
    with av.open(io.BytesIO(data), format="mp4") as container:
        video = container.streams.video[0]
        frames = list(container.decode(video=0))
        audio = [s.codec_context.name for s in container.streams.audio]
        return {"data": data, "codec": video.codec_context.name, "size": (frames[0].width, frames[0].height),
                "rotation": frames[0].rotation, "frames": len(frames), "audio": audio,
                "duration": container.duration / 1e6, "metadata": files.described(data)["metadata"],
                "profile": video.codec_context.profile, "pix_fmt": video.codec_context.pix_fmt,
                "first": frames[0].to_image()}


# --- the copy ------------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("codecs", "everywhere"), [
    ("h264", True), ("h264+aac", True), ("h264+mp3", True), ("hevc", False), ("hevc+aac", False),
    ("mpeg4", False), ("h264+pcm_s16le", False), ("h264+opus", False), ("av1", False),
])
def test_which_stored_videos_every_browser_plays(codecs, everywhere):
    assert plays_everywhere(codecs) is everywhere


def test_the_codecs_of_a_stored_video_are_recorded():
    assert process(Upload("a.mp4", files.video(codec="mpeg4"))).codecs == "mpeg4"
    assert process(Upload("a.mp4", files.video(codec="h264", audio=True))).codecs == "h264+aac"
    assert process(Upload("a.jpg", files.jpeg())).codecs == ""


def test_an_iphones_hevc_recorded_upright_is_copied_as_upright_h264_with_its_sound(tmp_path):
    hevc_or_skip()
    clip = files.video(codec="hevc", size=(640, 360), seconds=3, fps=10, rotation=-90, audio=True,
                       container="mov", metadata=True)
    copy = copied(clip, tmp_path)
    assert copy["codec"] == "h264" and copy["profile"] == "Main" and copy["pix_fmt"] == "yuv420p"
    assert copy["audio"] == ["aac"]
    assert copy["size"] == (360, 640) and not copy["rotation"]  # turned upright, not left to the player
    # the picture's left half is red, its right half blue (files.picture): upright, red is now on top
    red, blue = copy["first"].getpixel((180, 100)), copy["first"].getpixel((180, 540))
    assert red[0] > 180 > red[2] and blue[2] > 180 > blue[0], (red, blue)
    assert copy["frames"] == 30 and copy["duration"] == pytest.approx(3, abs=0.1)
    assert files.SECRET.encode() not in copy["data"] and copy["metadata"].keys() <= {
        "major_brand", "minor_version", "compatible_brands"}
    assert b"moov" in copy["data"][:4096]  # the index first, as for the stored video


def test_a_large_or_slow_motion_video_is_copied_at_720p_and_30_frames_a_second(tmp_path):
    copy = copied(files.video(codec="mpeg4", size=(1920, 1080), seconds=2, fps=120), tmp_path)
    assert copy["codec"] == "h264" and copy["size"] == (1280, 720) and copy["audio"] == []
    assert copy["frames"] == 60 and copy["duration"] == pytest.approx(2, abs=0.1)


def test_a_small_video_keeps_its_size_and_its_frames(tmp_path):
    copy = copied(files.video(codec="mpeg4", size=(320, 240), seconds=3, fps=1), tmp_path)
    assert copy["size"] == (320, 240) and copy["frames"] == 3


# --- when it is made ---------------------------------------------------------------------------------------

@pytest.fixture
def immediate():
    """The task queue runs tasks in the caller (huey's immediate mode), as the worker would after commit."""
    from huey.contrib.djhuey import HUEY

    was = HUEY.immediate
    HUEY.immediate = True
    yield
    HUEY.immediate = was


def test_after_the_report_commits_its_video_gets_a_copy_every_browser_plays(
        media, report, cast, immediate, django_capture_on_commit_callbacks):
    clip = files.video(codec="mpeg4", size=(320, 240), seconds=2, fps=5)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        case = report(attachments=[Upload("clip.mp4", clip), Upload("a.jpg", files.jpeg())])
    video = case.attachments.get(kind="video")
    assert video.codecs == "mpeg4" and not video.playable and video.copy_pending  # nothing before the commit
    for callback in callbacks:
        callback()
    video.refresh_from_db()
    assert video.playable.name == playable_name(video.sha256) and not video.copy_pending
    assert (media / video.playable.name).is_file() and not case.attachments.get(kind="photo").playable
    entry = AuditEntry.objects.get(action="attachment.playable")
    assert (entry.actor is None and entry.actor_name == "system" and entry.object_id == str(video.pk)
            and entry.object_type == "cases.caseattachment" and entry.scope_path == case.region_path)
    assert entry.before == {"playable": ""} and entry.after == {"playable": video.playable.name}


def test_a_video_every_browser_plays_gets_no_copy(media, report, immediate, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        case = report(attachments=[Upload("clip.mp4", files.video(codec="h264", size=(320, 240)))])
    video = case.attachments.get()
    assert video.codecs == "h264" and not video.playable and not video.copy_pending
    assert not any(name.endswith(".play.mp4") for name in _stored(media))
    assert not AuditEntry.objects.filter(action="attachment.playable").exists()


def test_the_same_video_on_two_cases_is_copied_once(media, report, cast):
    clip = files.video(codec="mpeg4", size=(320, 240))
    first = report(attachments=[Upload("clip.mp4", clip)]).attachments.get()
    second = report(attachments=[Upload("again.mp4", clip)], description="另一处").attachments.get()
    assert media_playable_make(sha256=first.sha256) == playable_name(first.sha256)
    first.refresh_from_db()
    second.refresh_from_db()
    assert first.playable.name == second.playable.name == playable_name(first.sha256)
    assert [n for n in _stored(media) if n.endswith(".play.mp4")] == [first.playable.name]
    assert AuditEntry.objects.filter(action="attachment.playable").count() == 2
    assert media_playable_make(sha256=first.sha256) is None  # nothing waits any more


def test_the_periodic_pickup_makes_the_copies_a_lost_queue_entry_left(media, report):
    """No on-commit callback runs here (the test's transaction never commits): as if the queue had lost them."""
    clips = [files.video(codec="mpeg4", size=(320, 240), seconds=s) for s in (1, 2, 3)]
    rows = [report(attachments=[Upload(f"{n}.mp4", clip)], description=f"第{n}处").attachments.get()
            for n, clip in enumerate(clips)]
    rows.append(report(attachments=[Upload("ok.mp4", files.video(codec="h264"))]).attachments.get())
    assert media_playable_backlog(limit=2) == 2
    assert tasks.make_missing_playable.call_local() == 1
    assert tasks.make_missing_playable.call_local() == 0
    for row in rows:
        row.refresh_from_db()
    assert all(row.playable for row in rows[:3]) and not rows[3].playable


def test_a_video_that_cannot_be_copied_is_kept_and_tried_a_few_times(media, report, cast, caplog):
    row = report(attachments=[Upload("clip.mp4", files.video(codec="mpeg4"))]).attachments.get()
    original = (media / row.file.name).read_bytes()
    (media / row.file.name).write_bytes(original[:200])  # the stored file damaged after the upload
    for tries in range(1, PLAYABLE_TRIES + 1):
        assert media_playable_make(sha256=row.sha256) is None
        row.refresh_from_db()
        assert row.playable_tries == tries and not row.playable
    assert not row.copy_pending and media_playable_backlog() == 0  # given up: the page says nothing is coming
    assert "could not make a playable copy" in caplog.text
    assert not any(name.endswith(".play.mp4") for name in _stored(media))
    assert not [p for p in os.listdir(_temp_dir()) if p.startswith("yiwang-remux-")]  # no temporary file left


def _temp_dir() -> str:
    import tempfile

    from django.conf import settings

    return settings.FILE_UPLOAD_TEMP_DIR or tempfile.gettempdir()


def _stored(root) -> list[str]:
    from yiwang.media.tests.conftest import stored_files

    return stored_files(root)


# --- served, and kept ---------------------------------------------------------------------------------------

def test_the_copy_is_served_to_whoever_sees_the_video_and_listed_in_the_api(media, report, api, cast):
    row = report(attachments=[Upload("clip.mp4", files.video(codec="mpeg4", size=(320, 240)))]).attachments.get()
    url = f"/media/cases/{row.pk}/play/"
    resident = api(cast.resident)
    missing = resident.get(url)
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "not_found"  # not made yet
    assert resident.get(f"/api/v1/cases/{row.case_id}/").json()["attachments"][0]["play_url"] is None
    media_playable_make(sha256=row.sha256)
    row.refresh_from_db()
    got = resident.get(url)
    whole = b"".join(got.streaming_content)
    assert got.status_code == 200 and got["Content-Type"] == "video/mp4"
    assert whole == (media / row.playable.name).read_bytes() and got["ETag"] == f'"{row.sha256}-play"'
    part = resident.get(url, HTTP_RANGE="bytes=0-99")
    assert part.status_code == 206 and b"".join(part.streaming_content) == whole[:100]
    listed = resident.get(f"/api/v1/cases/{row.case_id}/").json()["attachments"][0]
    assert listed["play_url"] == f"http://testserver{url}"
    for outsider in (cast.resident2, cast.unit_b):
        assert api(outsider).get(url).status_code == 404
    assert api().get(url).status_code == 401


def test_the_copy_is_never_taken_for_an_orphan(media, report, cast):
    row = report(attachments=[Upload("clip.mp4", files.video(codec="mpeg4"))]).attachments.get()
    name = media_playable_make(sha256=row.sha256)
    old = time.time() - 3 * 86400
    for path in (media / "cases").rglob("*"):
        os.utime(path, (old, old))
    assert media_orphans_sweep() == 0 and default_storage.exists(name)
    from yiwang.media import services

    services._suspects.append((default_storage, [name]))  # as if a rolled-back step had written it
    assert media_cleanup() == 0 and default_storage.exists(name)
    assert CaseAttachment.objects.get().playable.name == name



def test_copies_are_made_one_at_a_time(media, report):
    """While one copy is being made (the lock held), another waits: the task refuses and is tried again later
    (huey retries a locked task), so the other workers stay free for the sweep and the notifications."""
    from huey.contrib.djhuey import HUEY
    from huey.exceptions import TaskLockedException

    row = report(attachments=[Upload("clip.mp4", files.video(codec="mpeg4"))]).attachments.get()
    assert tasks.make_playable.retries > 0
    with HUEY.lock_task(tasks.PLAYABLE_LOCK):
        with pytest.raises(TaskLockedException):
            tasks.make_playable.call_local(row.sha256)
        with pytest.raises(TaskLockedException):
            tasks.make_missing_playable.call_local()
    row.refresh_from_db()
    assert not row.playable
    assert tasks.make_playable.call_local(row.sha256) == playable_name(row.sha256)
