"""Through HTTP: who may fetch an attachment, what comes back (whole, ranged, thumbnail, a redirect on object
storage), attachments in the case API, and a photo's GPS position as the location of a report without one."""

import hashlib
import io

import pytest
from django.core.files.storage import FileSystemStorage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from PIL import Image

from yiwang.cases.tests.conftest import IN_A
from yiwang.media.processing import Upload
from yiwang.media.tests import files

pytestmark = pytest.mark.django_db


CLIP = files.padded(files.video(seconds=4, size=(640, 360)), bytes(range(256)) * 4)


@pytest.fixture
def photo_case(media, cast, report):
    case = report(attachments=[Upload("现场.jpg", files.jpeg(lat=40.005, lon=120.005)),
                               Upload("clip.mp4", CLIP)])
    return case, case.attachments.get(kind="photo"), case.attachments.get(kind="video")


def body(response) -> bytes:
    return b"".join(response.streaming_content) if response.streaming else response.content


def test_the_reporter_gets_the_photo_its_thumbnail_and_the_video(photo_case, api, cast, media):
    case, photo, video = photo_case
    resident = api(cast.resident)
    got = resident.get(f"/media/cases/{photo.pk}/", HTTP_ACCEPT="image/avif,image/webp,*/*")
    assert got.status_code == 200 and got["Content-Type"] == "image/jpeg"
    assert body(got) == (media / photo.file.name).read_bytes()
    assert got["Cache-Control"] == "private, max-age=86400" and got["X-Content-Type-Options"] == "nosniff"
    assert got["ETag"] == f'"{photo.sha256}"' and got["Content-Security-Policy"] == "default-src 'none'; sandbox"
    again = resident.get(f"/media/cases/{photo.pk}/", HTTP_IF_NONE_MATCH=f'"{photo.sha256}"')
    assert again.status_code == 304
    thumb = resident.get(f"/media/cases/{photo.pk}/thumb/")
    assert thumb.status_code == 200 and thumb["Content-Type"] == "image/jpeg"
    assert body(thumb) == (media / photo.thumbnail.name).read_bytes()
    clip = resident.get(f"/media/cases/{video.pk}/")
    assert clip["Content-Type"] == "video/mp4"
    # opened on its own, the browser's player may load it, with the sign-in; still no script runs (sandbox)
    assert clip["Content-Security-Policy"] == "default-src 'none'; media-src 'self'; sandbox allow-same-origin"
    sent = body(clip)
    assert sent == (media / video.file.name).read_bytes() and files.tracks(sent) == files.tracks(CLIP)
    poster = resident.get(f"/media/cases/{video.pk}/thumb/")
    assert poster.status_code == 200 and poster["Content-Type"] == "image/jpeg"
    jpeg = body(poster)
    assert jpeg == (media / video.thumbnail.name).read_bytes() and Image.open(io.BytesIO(jpeg)).size == (320, 180)
    for outsider in (cast.resident2, cast.unit_b):
        assert api(outsider).get(f"/media/cases/{video.pk}/thumb/").status_code == 404


def test_a_video_is_served_in_byte_ranges(photo_case, api, cast, media):
    case, photo, video = photo_case
    whole = (media / video.file.name).read_bytes()
    resident = api(cast.resident)
    part = resident.get(f"/media/cases/{video.pk}/", HTTP_RANGE="bytes=100-199")
    assert part.status_code == 206 and body(part) == whole[100:200]
    assert part["Content-Range"] == f"bytes 100-199/{len(whole)}" and part["Content-Length"] == "100"
    tail = resident.get(f"/media/cases/{video.pk}/", HTTP_RANGE="bytes=-10")
    assert tail.status_code == 206 and body(tail) == whole[-10:]
    rest = resident.get(f"/media/cases/{video.pk}/", HTTP_RANGE=f"bytes={len(whole) - 5}-")
    assert body(rest) == whole[-5:]
    beyond = resident.get(f"/media/cases/{video.pk}/", HTTP_RANGE=f"bytes={len(whole)}-")
    assert beyond.status_code == 416 and beyond["Content-Range"] == f"bytes */{len(whole)}"


def test_an_iphone_mov_is_stored_as_quicktime_and_served_so(media, api, cast, report):
    """Stored under its SHA-256 with .mov, listed and served as video/quicktime (what it is: Safari plays it
    natively, and Chromium's <video> plays an H.264 one served so — test_browser), whole and in byte ranges."""
    sent = files.video(seconds=2, size=(320, 240), container="mov")
    case = report(attachments=[Upload("IMG_0042.MOV", sent)])
    video = case.attachments.get()
    mov = (media / video.file.name).read_bytes()  # remuxed: every packet as sent
    digest = hashlib.sha256(mov).hexdigest()
    assert video.file.name == f"cases/{digest[:2]}/{digest[2:4]}/{digest}.mov"
    assert mov[4:12] == b"ftypqt  " and files.tracks(mov) == files.tracks(sent)
    resident = api(cast.resident)
    [listed] = resident.get(f"/api/v1/cases/{case.pk}/").json()["attachments"]
    assert (listed["kind"], listed["content_type"], listed["duration"]) == ("video", "video/quicktime", 2.0)
    whole = resident.get(listed["url"])
    assert whole.status_code == 200 and whole["Content-Type"] == "video/quicktime" and body(whole) == mov
    assert whole["Content-Disposition"] == f'inline; filename="{video.pk}.mov"'
    assert whole["X-Content-Type-Options"] == "nosniff" and "sandbox" in whole["Content-Security-Policy"]
    part = resident.get(listed["url"], HTTP_RANGE="bytes=0-11")
    assert part.status_code == 206 and part["Content-Type"] == "video/quicktime" and body(part) == mov[:12]
    poster = resident.get(listed["thumb_url"])
    assert poster["Content-Type"] == "image/jpeg" and Image.open(io.BytesIO(body(poster))).size == (320, 240)


def test_who_may_fetch_an_attachment(photo_case, api, cast):
    case, photo, video = photo_case
    url = f"/media/cases/{photo.pk}/"
    assert api(cast.acceptor).get(url).status_code == 200  # staff over the case's street
    assert api(cast.leader).get(f"{url}thumb/").status_code == 200  # the district's leader
    for outsider in (cast.resident2, cast.dispatcher_b, cast.leader_b, cast.unit_b):
        answer = api(outsider).get(url)
        assert answer.status_code == 404 and answer.json()["error"]["code"] == "not_found"
    anonymous = api().get(url)
    assert anonymous.status_code == 401 and anonymous.json()["error"]["code"] == "not_authenticated"
    assert api(cast.resident).get("/media/cases/999999/").status_code == 404
    assert api(cast.resident).get("/media/var/media/" + photo.file.name).status_code == 404  # never by path


def test_a_unit_sees_the_attachments_of_a_case_dispatched_to_it(photo_case, api, cast):
    from yiwang.cases.tests.test_loop import walk_to

    case, photo, video = photo_case
    url = f"/media/cases/{photo.pk}/"
    assert api(cast.unit).get(url).status_code == 404
    walk_to(cast, case, "dispatched")
    assert api(cast.unit).get(url).status_code == 200


def test_the_public_side_sees_public_attachments_only(photo_case, api, cast):
    case, photo, video = photo_case
    video.is_public = False  # no step writes one yet; the rule is here for when one does
    video.save(update_fields=["is_public"])
    assert api(cast.resident).get(f"/media/cases/{video.pk}/").status_code == 404
    assert api(cast.acceptor).get(f"/media/cases/{video.pk}/").status_code == 200
    mine = api(cast.resident).get(f"/api/v1/cases/{case.pk}/").json()["attachments"]
    staff = api(cast.acceptor).get(f"/api/v1/cases/{case.pk}/").json()["attachments"]
    assert [a["id"] for a in mine] == [photo.pk] and [a["id"] for a in staff] == [photo.pk, video.pk]


def test_the_case_api_lists_attachments_with_urls_that_work(photo_case, api, cast):
    case, photo, video = photo_case
    resident = api(cast.resident)
    listed = resident.get(f"/api/v1/cases/{case.pk}/").json()["attachments"]
    assert listed == [
        {"id": photo.pk, "kind": "photo", "content_type": "image/jpeg", "size": photo.size, "width": 400,
         "height": 300, "duration": None, "url": f"http://testserver/media/cases/{photo.pk}/",
         "thumb_url": f"http://testserver/media/cases/{photo.pk}/thumb/", "play_url": None, "action": "report",
         "created_at": "2026-11-23T09:00:00+08:00"},
        {"id": video.pk, "kind": "video", "content_type": "video/mp4", "size": video.size, "width": 640,
         "height": 360, "duration": 4.0, "url": f"http://testserver/media/cases/{video.pk}/",
         "thumb_url": f"http://testserver/media/cases/{video.pk}/thumb/", "play_url": None, "action": "report",
         "created_at": "2026-11-23T09:00:00+08:00"},
    ]
    for item in listed:
        assert resident.get(item["url"]).status_code == 200
        assert resident.get(item["thumb_url"]).status_code == 200


def test_a_list_loads_attachments_in_one_go(media, api, cast, report):
    def listing_queries():
        with CaptureQueriesContext(connection) as queries:
            answer = api(cast.dispatcher).get("/api/v1/cases/")
        assert answer.status_code == 200
        return len(queries), answer.json()

    report(attachments=[Upload("a.jpg", files.jpeg())])
    listing_queries()  # the dispatcher's roles are read once and kept for the request's user
    one, _ = listing_queries()
    for i in range(4):
        report(attachments=[Upload("b.jpg", files.jpeg(size=(120 + i, 100))), Upload("c.mp4", files.video(seconds=1, size=(64, 48)))])
    five, listed = listing_queries()
    assert listed["count"] == 5 and [len(c["attachments"]) for c in listed["results"]] == [2, 2, 2, 2, 1]
    assert five == one  # one query for the attachments of the whole page


def test_the_report_api_takes_a_photo_and_its_gps_position(media, api, cast):
    resident = api(cast.resident)
    heic = files.heic(lat=40.005, lon=120.005)
    photo = SimpleUploadedFile("IMG_0001.HEIC", heic, "application/octet-stream")
    created = resident.post("/api/v1/cases/", {"description": "井盖缺失", "attachments": [photo]},
                            format="multipart")
    assert created.status_code == 201, created.content
    case = created.json()
    assert (case["lat"], case["lon"]) == pytest.approx((40.005, 120.005))
    assert case["grid_code"] == "219901001001001"
    assert [a["content_type"] for a in case["attachments"]] == ["image/jpeg"]
    stored = resident.get(case["attachments"][0]["url"])
    assert b"Exif" not in body(stored) and files.SECRET.encode() not in body(stored)


def test_a_given_location_wins_and_a_photo_elsewhere_is_not_used(media, api, cast):
    resident = api(cast.resident)
    in_b = files.jpeg(lat=40.005, lon=120.105)
    given = resident.post("/api/v1/cases/", {"description": "x", **IN_A, "attachments": [
        SimpleUploadedFile("a.jpg", in_b)]}, format="multipart").json()
    assert given["grid_code"] == "219901001001001"
    named_region = resident.post("/api/v1/cases/", {"description": "x", "region": "219901001001",
                                                    "attachments": [SimpleUploadedFile("a.jpg", in_b)]},
                                 format="multipart").json()  # the photo lies outside that region
    assert named_region["lat"] is None and named_region["region_code"] == "219901001001"
    nowhere = resident.post("/api/v1/cases/", {"description": "x", "attachments": [
        SimpleUploadedFile("a.jpg", files.jpeg(lat=10.0, lon=10.0))]}, format="multipart")
    assert nowhere.status_code == 400 and nowhere.json()["error"]["code"] == "location_required"


def test_the_report_api_refuses_bad_uploads_with_their_code(media, api, cast):
    resident = api(cast.resident)
    for content, code in [(files.gif(), "attachment_type"), (files.png_bomb(), "attachment_bomb"),
                          (files.noisy_jpeg()[:5000], "attachment_truncated"),
                          (files.mp4(seconds=120), "attachment_duration"),
                          (files.video(frames=False), "attachment_no_video")]:
        answer = resident.post("/api/v1/cases/", {"description": "x", **IN_A, "attachments": [
            SimpleUploadedFile("photo.jpg", content)]}, format="multipart", HTTP_ACCEPT_LANGUAGE="en")
        assert answer.status_code == 400 and answer.json()["error"]["code"] == code
        assert answer.json()["error"]["fields"] == {"attachments": [answer.json()["error"]["message"]]}
    from yiwang.cases.models import Case

    assert not Case.objects.exists()


class SignedUrlStorage(FileSystemStorage):
    """Stands in for S3: files have no local path, and URLs are signed for a while."""

    def path(self, name):
        raise NotImplementedError

    def url(self, name, parameters=None, expire=None, http_method=None):
        return f"https://objects.example/yiwang-media/{name}?X-Amz-Expires={expire}&X-Amz-Signature=abc"


def test_on_object_storage_the_view_redirects_to_a_short_lived_url(photo_case, api, cast, settings):
    case, photo, video = photo_case
    settings.STORAGES = {**settings.STORAGES, "default": {"BACKEND": f"{__name__}.SignedUrlStorage",
                                                          "OPTIONS": {"location": str(settings.MEDIA_ROOT)}}}
    answer = api(cast.resident).get(f"/media/cases/{photo.pk}/")
    assert answer.status_code == 302
    assert answer["Location"] == (f"https://objects.example/yiwang-media/{photo.file.name}"
                                  "?X-Amz-Expires=300&X-Amz-Signature=abc")
    assert api(cast.resident2).get(f"/media/cases/{photo.pk}/").status_code == 404  # still checked first


def test_the_pages_play_a_video_in_place_with_its_poster(photo_case, client, cast):
    """Where a photo shows its thumbnail (a link to the photo), a video is a player with its poster, named as a
    video and by its step. This one (MPEG-4 Part 2, which Chromium does not play) says its copy is coming;
    once it is made, the copy is the player's first source."""
    from yiwang.media.services import media_playable_make

    case, photo, video = photo_case
    pending = ('<span class="hint" data-copy-pending>Being converted so that every browser plays it: reload the '
               'page in a minute.</span>')
    player = (f'<video controls playsinline preload="none" poster="/media/cases/{video.pk}/thumb/" width="160" '
              f'height="120" aria-label="Video 2 (Report received)"><source src="/media/cases/{video.pk}/"></video>')
    client.force_login(cast.acceptor)
    staff = client.get(f"/console/cases/{case.pk}/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert player + pending in staff
    assert (f'<a href="/media/cases/{photo.pk}/" target="_blank" rel="noopener"><img src="/media/cases/{photo.pk}'
            f'/thumb/" alt="Photo 1 (Report received)"') in staff
    client.force_login(cast.resident)
    mine = client.get(f"/m/mine/{case.pk}/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    phone_player = (f'<video controls playsinline preload="none" poster="/media/cases/{video.pk}/thumb/" '
                    f'aria-label="Video 2"><source src="/media/cases/{video.pk}/"></video>')
    assert phone_player + pending in mine

    assert media_playable_make(sha256=video.sha256)
    copy_first = (f'<source src="/media/cases/{video.pk}/play/" type="video/mp4"><source src="/media/cases/'
                  f'{video.pk}/"></video>')
    mine = client.get(f"/m/mine/{case.pk}/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert copy_first in mine and "data-copy-pending" not in mine
    client.force_login(cast.acceptor)
    staff = client.get(f"/console/cases/{case.pk}/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert copy_first in staff and "data-copy-pending" not in staff
    assert client.get(f"/media/cases/{video.pk}/thumb/")["Content-Type"] == "image/jpeg"
