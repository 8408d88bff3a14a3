"""Large uploads flow through from the file they were spooled to: sniffed from their first bytes, refused by
their size before being read, an MP4's boxes walked header by header, remuxed by ffmpeg packet by packet into a
temporary file, hashed and stored from there chunk by chunk — the memory that processing and storing a 50 MB
video take stays a small fraction of the video."""

from __future__ import annotations

import hashlib
import io
import os
import time
import tracemalloc

import pytest
from PIL import Image

from yiwang.cases.tests.conftest import IN_A
from yiwang.core.errors import ValidationFailed
from yiwang.media.processing import Upload, mp4_info, photo_position, process, uploads_from
from yiwang.media.services import media_prepare, media_write
from yiwang.media.tests import files
from yiwang.media.tests.conftest import stored_files

MB = 1 << 20
PEAK_LIMIT = 8 * MB


def big_mp4(path, *, megabytes: int = 50, seconds: float = 20, cut: int = 0) -> str:
    """A real MP4 of exactly `megabytes`, as a phone's long recording is: a 1920×1080 video of `seconds` (a
    frame a second) encoded by PyAV, each packet after the first carrying random bytes after its frame (the
    decoder reads the frame and stops; a remux copies the packet whole), so the packets are the file, written
    packet by packet to `path`; its SHA-256. `cut` drops that many bytes from the end (an upload that stopped
    short)."""
    import av

    clip = files.video(seconds=seconds, fps=1, size=(1920, 1080))
    block = os.urandom(MB)

    def write(padding: int, last: int) -> int:
        with av.open(io.BytesIO(clip), format="mp4") as source, av.open(str(path), "w", format="mp4") as target:
            (video,) = source.streams.video
            copy = target.add_stream_from_template(video)
            packets = [packet for packet in source.demux(video) if packet.dts is not None]
            for number, packet in enumerate(packets):
                extra = 0 if number == 0 else last if number == len(packets) - 1 else padding
                body = bytes(packet) + b"".join(bytes([number & 0xFF]) + block[1:] for _ in range(extra // MB)) \
                    + block[: extra % MB]  # no two packets alike
                padded = av.Packet(body)
                padded.pts, padded.dts, padded.time_base = packet.pts, packet.dts, packet.time_base
                padded.is_keyframe = packet.is_keyframe
                padded.stream = copy
                target.mux(padded)
        return path.stat().st_size

    frames = round(seconds)
    padding = (megabytes * MB - len(clip)) // (frames - 1)
    size = write(padding, padding)
    size = write(padding, padding + megabytes * MB - size)  # the container's share is known now: exact
    assert size == megabytes * MB
    if cut:
        with open(path, "r+b") as f:
            f.truncate(size - cut)
    return file_sha256(path)


def file_sha256(path) -> str:
    with open(path, "rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


class Counting(io.RawIOBase):
    """A seekable file object that counts the bytes read from it."""

    def __init__(self, path, name="clip.mp4", *, most=None):
        self._f = open(path, "rb")  # noqa: SIM115 — closed by close()
        self.name = name
        self.bytes_read = 0
        self.most = most  # at most this many bytes per read, as a pipe or socket may give

    def readable(self):
        return True

    def seekable(self):
        return True

    def seek(self, offset, whence=os.SEEK_SET):
        return self._f.seek(offset, whence)

    def tell(self):
        return self._f.tell()

    def readinto(self, buffer):
        n = self._f.readinto(memoryview(buffer)[: self.most] if self.most else buffer)
        self.bytes_read += n
        return n

    def close(self):
        self._f.close()
        super().close()


class Peak:
    """The peak of Python memory allocated between start() and stop(), above what was allocated at start."""

    def __init__(self):
        self.value = None
        self._base = 0

    def start(self):
        tracemalloc.start()
        tracemalloc.reset_peak()
        self._base = tracemalloc.get_traced_memory()[0]

    def stop(self):
        self.value = tracemalloc.get_traced_memory()[1] - self._base
        tracemalloc.stop()
        return self.value


@pytest.fixture(autouse=True)
def english():
    from django.utils import translation

    with translation.override("en"):
        yield


@pytest.fixture
def peak():
    measure = Peak()
    yield measure
    if tracemalloc.is_tracing():
        tracemalloc.stop()


def test_a_50_mb_video_from_a_file_is_checked_and_stored_without_being_held_in_memory(media, tmp_path, peak):
    path = tmp_path / "big.mp4"
    sha256 = big_mp4(path)
    with open(path, "rb") as f:
        upload = uploads_from([_Named(f, "现场.mp4")])[0]
        assert upload.content is None and upload.size == 50 * MB
        peak.start()
        started = time.perf_counter()
        checked = media_prepare([upload])
        took = time.perf_counter() - started
        stored = media_write(checked)
        used = peak.stop()
    print(f"\npeak Python memory to process and store a 50 MB video from a file: {used / MB:.2f} MB; "
          f"checked and remuxed in {took:.2f} s")
    assert used < PEAK_LIMIT
    (item,) = checked
    assert (item.kind, item.duration, item.width, item.height) == ("video", 20, 1920, 1080)
    assert item.content is None and 49 * MB < item.size < 50 * MB  # the packets, without the container's tags
    assert Image.open(io.BytesIO(item.thumbnail)).size == (320, 180)  # the poster, read from the remuxed file
    kept = media / stored[0].name
    assert item.sha256 != sha256 and stored[0].name.endswith(f"{item.sha256}.mp4")
    assert file_sha256(kept) == item.sha256 and kept.stat().st_size == item.size
    assert files.tracks(kept.read_bytes()) == files.tracks(path.read_bytes())  # every packet, copied


class _Named:
    """An open file as a form would hand it over: a name and a seekable stream."""

    def __init__(self, f, name):
        self._f, self.name = f, name

    def __getattr__(self, attr):
        return getattr(self._f, attr)


@pytest.mark.django_db(transaction=True)
def test_a_50_mb_video_posted_to_the_api_is_stored_as_the_same_video(cast, api, media, tmp_path, monkeypatch, peak):
    """Through the real API: Django spools the upload to a temporary file, and from the moment the view takes
    the files (uploads_from) until the video is stored (media_write), little memory is added."""
    from django.core.files.uploadedfile import TemporaryUploadedFile

    from yiwang.cases import api as cases_api
    from yiwang.cases import services as cases_services
    from yiwang.cases.models import Case

    path = tmp_path / "big.mp4"
    sha256 = big_mp4(path)
    seen = []
    real_uploads_from, real_write = cases_api.uploads_from, cases_services.media_write

    def measured_uploads_from(files_):
        seen.extend(type(f) for f in files_)
        peak.start()
        return real_uploads_from(files_)

    def measured_write(checked, **kwargs):
        stored = real_write(checked, **kwargs)
        peak.stop()
        return stored

    monkeypatch.setattr(cases_api, "uploads_from", measured_uploads_from)
    monkeypatch.setattr(cases_services, "media_write", measured_write)
    with open(path, "rb") as f:
        response = api(cast.resident).post("/api/v1/cases/", {
            "description": "小区门口垃圾堆积", **IN_A, "category": "E0102", "attachments": [f],
        }, format="multipart")
    assert response.status_code == 201, response.content
    print(f"\npeak Python memory from uploads_from to media_write for a 50 MB video via the API: "
          f"{peak.value / MB:.2f} MB")
    assert seen == [TemporaryUploadedFile]  # spooled to disk by Django, not held in memory
    assert peak.value is not None and peak.value < PEAK_LIMIT
    row = Case.objects.get(pk=response.json()["id"]).attachments.get()
    kept = media / row.file.name
    assert (row.kind, row.size, row.sha256, row.duration) == ("video", kept.stat().st_size, file_sha256(kept), 20)
    assert row.sha256 != sha256 and files.tracks(kept.read_bytes()) == files.tracks(path.read_bytes())
    assert stored_files(media) == sorted([row.file.name, row.thumbnail.name])  # the video and its poster
    assert row.thumbnail.name == row.file.name.replace(".mp4", ".thumb.jpg")


@pytest.mark.django_db(transaction=True)
def test_a_posted_photo_gives_its_position_and_is_then_stored(cast, api, media):
    """The view reads a photo's GPS position, then the step processes the same uploaded file again."""
    from django.core.files.uploadedfile import SimpleUploadedFile

    from yiwang.cases.models import Case

    photo = files.png(size=(1200, 900), lat=40.005, lon=120.005)  # Pillow closes a PNG it was given
    response = api(cast.resident).post("/api/v1/cases/", {
        "description": "小区门口垃圾堆积", "category": "E0102",
        "attachments": [SimpleUploadedFile("现场.png", photo, "image/png"), SimpleUploadedFile(
            "clip.mp4", files.padded(files.video(seconds=3), os.urandom(3 * MB)), "video/mp4")],
    }, format="multipart")
    assert response.status_code == 201, response.content
    case = Case.objects.get(pk=response.json()["id"])
    assert (round(case.lat, 3), round(case.lon, 3)) == (40.005, 120.005)
    assert sorted(case.attachments.values_list("kind", flat=True)) == ["photo", "video"]
    assert len(stored_files(media)) == 4  # the photo, its thumbnail, the video, its poster


def test_an_oversized_video_is_refused_without_reading_it(settings, tmp_path):
    settings.YIWANG_MAX_VIDEO_BYTES = 10 * MB
    path = tmp_path / "big.mp4"
    big_mp4(path, megabytes=30)
    f = Counting(path, "long.mp4")
    with f:
        (upload,) = uploads_from([f])
        with pytest.raises(ValidationFailed) as caught:
            process(upload)
    error = caught.value
    assert error.code == "attachment_size" and error.message == "long.mp4 is larger than 10 MB."
    assert f.bytes_read <= 64 * 1024  # the first bytes to sniff it, nothing near the 30 MB


def test_a_valid_video_is_walked_by_its_headers_and_read_once_to_hash(tmp_path):
    path = tmp_path / "big.mp4"
    big_mp4(path, megabytes=20)
    with Counting(path) as f:
        assert mp4_info(f).duration == 20
        assert f.bytes_read < 4096  # the box headers, not the 20 MB of mdat
        f.bytes_read = 0
        item = process(Upload("clip.mp4", file=f))
        # read once, by the remux (the poster and the hash read the remuxed file), and a few header reads
        assert item.kind == "video" and item.thumbnail and f.bytes_read < 20 * MB + 512 * 1024


def test_a_stream_that_gives_a_few_bytes_per_read_is_read_right(tmp_path):
    path = tmp_path / "small.mp4"
    big_mp4(path, megabytes=1, seconds=7)
    with Counting(path, most=5) as f:
        item = process(Upload("clip.mp4", file=f))
    whole = process(Upload("clip.mp4", path.read_bytes()))
    assert (item.duration, item.sha256, item.size) == (7, whole.sha256, len(whole.content))
    assert files.tracks(whole.content) == files.tracks(path.read_bytes())


@pytest.mark.parametrize("damage", ["short", "trailing", "no moov", "forged size"])
def test_a_truncated_or_forged_video_file_is_refused(tmp_path, damage):
    path = tmp_path / "clip.mp4"
    if damage == "short":
        big_mp4(path, megabytes=12, cut=1000)  # the upload stopped short
    else:
        big_mp4(path, megabytes=12)
        data = path.read_bytes()
        ftyp = data[: int.from_bytes(data[:4], "big")]
        if damage == "trailing":
            data += b"<html>"
        elif damage == "no moov":  # a recording stopped before its moov was written
            data = data[: next(s for kind, s, e in files.top_boxes(data) if kind == b"moov")]
        else:  # a box claiming 4 GB
            data = data[:len(ftyp)] + b"\xff\xff\xff\xffmoov" + data[len(ftyp) + 8:]
        path.write_bytes(data)
    with open(path, "rb") as f, pytest.raises(ValidationFailed) as caught:
        process(Upload("clip.mp4", file=f))
    assert caught.value.code == "attachment_truncated"
    assert caught.value.message == "clip.mp4 is damaged or incomplete. Please take or choose it again."


def test_an_mp4_of_countless_tiny_boxes_is_refused_fast(tmp_path):
    path = tmp_path / "boxes.mp4"
    path.write_bytes(files.mp4(seconds=5) + b"\x00\x00\x00\x08free" * 1_000_000)  # 8 MB of empty boxes
    started = time.perf_counter()
    with open(path, "rb") as f, pytest.raises(ValidationFailed) as caught:
        process(Upload("boxes.mp4", file=f))
    assert caught.value.code == "attachment_truncated" and time.perf_counter() - started < 1
    assert process(Upload("ok.mp4", files.video(seconds=5) + b"\x00\x00\x00\x08free" * 1000)).duration == 5


@pytest.mark.parametrize("make", [files.jpeg, files.png, files.webp, files.heic])
def test_a_photo_from_a_file_is_kept_as_from_bytes(tmp_path, make):
    original = make(lat=40.005, lon=120.005)
    path = tmp_path / "photo"
    path.write_bytes(original)
    from_bytes = process(Upload("x", original))
    with open(path, "rb") as f:
        from_file = process(Upload("x", file=f))
        assert photo_position(Upload("x", file=f)) == photo_position(Upload("x", original)) is not None
        assert not f.closed  # the caller's file is left open
    assert from_file.content == from_bytes.content and from_file.sha256 == from_bytes.sha256
    assert from_file.thumbnail == from_bytes.thumbnail
    assert process(Upload("x", file=str(path))).sha256 == from_bytes.sha256  # a path works too


def test_bad_files_are_refused_the_same_from_a_file(tmp_path):
    cut = files.noisy_jpeg()
    for name, content, code in [("page.jpg", b"<html>", "attachment_type"), ("empty.jpg", b"", "attachment_type"),
                                ("cut.jpg", cut[: len(cut) // 2], "attachment_truncated"),
                                ("bomb.png", files.png_bomb(), "attachment_bomb"),
                                ("long.mp4", files.mp4(seconds=61), "attachment_duration"),
                                ("sound.mp4", files.video(frames=False), "attachment_no_video"),
                                ("cut.mp4", files.video()[:-30], "attachment_truncated")]:
        path = tmp_path / name
        path.write_bytes(content)
        with open(path, "rb") as f, pytest.raises(Exception) as caught:
            process(Upload(name, file=f))
        assert caught.value.code == code, name


def test_a_video_from_a_file_gets_the_poster_it_gets_from_bytes(tmp_path):
    original = files.video(seconds=4, size=(640, 360), audio=True)
    path = tmp_path / "clip.mp4"
    path.write_bytes(original)
    from_bytes = process(Upload("clip.mp4", original))
    with open(path, "rb") as f:
        from_file = process(Upload("clip.mp4", file=f))
        assert not f.closed  # PyAV read the caller's file and left it open
    assert from_file.content is None and from_file.sha256 == from_bytes.sha256
    assert from_file.thumbnail == from_bytes.thumbnail and Image.open(io.BytesIO(from_file.thumbnail)).size == (
        320, 180)


def test_an_upload_has_either_bytes_or_a_file():
    with pytest.raises(TypeError):
        Upload("x")
    with pytest.raises(TypeError):
        Upload("x", b"1", file=io.BytesIO(b"1"))
