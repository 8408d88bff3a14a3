"""What is accepted, what is refused and why, and what is kept of a photo: every format, every bad upload,
the GPS position, the metadata that must be gone, orientation, size and thumbnail; a video's poster frame."""

import hashlib
import io
import resource
import time

import pytest
from django.utils import translation
from PIL import Image

from yiwang.core.errors import ValidationFailed
from yiwang.media.processing import Upload, mp4_info, photo_position, process
from yiwang.media.services import media_prepare
from yiwang.media.tests import files

PHOTOS = {
    "jpeg": lambda **kw: files.jpeg(**kw),
    "png": lambda **kw: files.png(**kw),
    "webp": lambda **kw: files.webp(**kw),
    "heic": lambda **kw: files.heic(**kw),
}


def refused(name: str, content: bytes) -> ValidationFailed:
    with pytest.raises(ValidationFailed) as caught, translation.override("en"):
        process(Upload(name=name, content=content))
    return caught.value


def opened(content: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(content))
    image.load()
    return image


# --- accepted -----------------------------------------------------------------------------------------------

@pytest.mark.parametrize("fmt", PHOTOS)
def test_every_photo_format_is_kept_as_a_jpeg_with_a_thumbnail(fmt):
    original = PHOTOS[fmt](lat=40.005, lon=120.005)
    kept = process(Upload(name=f"现场.{fmt}", content=original))
    assert kept.kind == "photo" and kept.content_type == "image/jpeg" and kept.extension == ".jpg"
    image = opened(kept.content)
    assert image.format == "JPEG" and image.mode == "RGB"
    assert image.size == (400, 300) == (kept.width, kept.height)
    assert kept.sha256 == hashlib.sha256(kept.content).hexdigest() and kept.size == len(kept.content)
    thumb = opened(kept.thumbnail)
    assert thumb.format == "JPEG" and thumb.size == (320, 240)
    # the colours survived the trip: left red, right blue
    red, blue = image.getpixel((50, 150)), image.getpixel((350, 150))
    assert red[0] > 200 and red[2] < 60 and blue[2] > 200 and blue[0] < 60


def test_a_transparent_png_lands_on_white_not_black():
    kept = process(Upload(name="shot.png", content=files.png(alpha=True)))
    assert opened(kept.content).getpixel((0, 0)) >= (240, 240, 240)


def test_an_mp4_is_kept_as_the_same_video_with_a_poster_frame():
    original = files.video(seconds=12.5, fps=2, size=(1280, 720))
    kept = process(Upload(name="clip.mov", content=original))  # the name does not matter
    assert kept.kind == "video" and kept.content_type == "video/mp4" and kept.extension == ".mp4"
    # remuxed: every packet as sent, in a new MP4 (which no longer says "Lavf" wrote it)
    assert kept.content[4:12] == b"ftypisom" and kept.content != original
    same_video_with_its_poster(kept, original, duration=12.5)


def same_video_with_its_poster(kept, original, *, duration: float):
    """Every packet of the 1280×720 red|blue `original` kept, the digest and size those of what is kept, and a
    320-pixel poster of the frame's own pixels."""
    assert files.tracks(kept.content) == files.tracks(original)
    assert kept.sha256 == hashlib.sha256(kept.content).hexdigest() and kept.size == len(kept.content)
    assert (kept.duration, kept.width, kept.height) == (duration, 1280, 720)
    poster = opened(kept.thumbnail)
    assert poster.format == "JPEG" and poster.mode == "RGB" and poster.size == (320, 180)
    red, blue = poster.getpixel((40, 90)), poster.getpixel((280, 90))  # the frame's own pixels
    assert red[0] > 200 and red[2] < 60 and blue[2] > 200 and blue[0] < 60


def h264_or_skip() -> str:
    from av.codec.codec import Codec

    try:
        Codec("h264", "w")
    except Exception:  # noqa: BLE001 — an ffmpeg built without an h264 encoder
        pytest.skip("no h264 encoder in this PyAV wheel")
    return "h264"


@pytest.mark.parametrize("codec", ["h264", "mpeg4"])
def test_an_iphone_mov_is_kept_as_the_same_video_as_quicktime_with_a_poster_frame(codec):
    codec = h264_or_skip() if codec == "h264" else codec
    original = files.video(seconds=2.5, fps=10, size=(1280, 720), codec=codec, container="mov")
    assert original[4:12] == b"ftypqt  " and [k for k, *_ in files.top_boxes(original)][:2] == [b"ftyp", b"wide"]
    kept = process(Upload(name="IMG_0042.MOV", content=original))
    assert kept.kind == "video" and kept.content_type == "video/quicktime" and kept.extension == ".mov"
    assert kept.content[4:12] == b"ftypqt  "
    same_video_with_its_poster(kept, original, duration=2.5)


@pytest.mark.parametrize("name", ["photo.jpg", "clip.mp4", "noname"])
def test_a_mov_is_known_by_its_content_not_its_name(name):
    original = files.video(size=(160, 120), container="mov")
    kept = process(Upload(name=name, content=original))
    assert (kept.content_type, kept.extension, kept.content[4:12]) == ("video/quicktime", ".mov", b"ftypqt  ")
    # and an MP4 named .mov stays an MP4
    assert process(Upload("clip.mov", files.video(size=(160, 120)))).content_type == "video/mp4"


def test_the_top_level_boxes_of_a_real_mov_are_read(tmp_path):
    """An iPhone's MOV: wide, mdat, moov after the ftyp; a file moved for streaming: moov before mdat; free and
    skip boxes among them."""
    clip = files.video(seconds=4, size=(320, 240), rotation=-90, audio=True, container="mov")
    starts = {kind: start for kind, start, end in files.top_boxes(clip)}
    assert list(starts) == [b"ftyp", b"wide", b"mdat", b"moov"]
    kept = process(Upload("IMG_0042.MOV", clip))
    assert kept.duration == 4 and opened(kept.thumbnail).size == (240, 320)  # upright
    # moov first, as a file made for streaming has it: ffmpeg's faststart moves it (rewriting the offsets)
    import av

    path = tmp_path / "fast.mov"
    with av.open(io.BytesIO(clip), format="mov") as source, \
            av.open(str(path), "w", format="mov", options={"movflags": "faststart"}) as target:
        streams = {s.index: target.add_stream_from_template(s) for s in source.streams}
        for packet in source.demux():
            if packet.dts is not None:
                packet.stream = streams[packet.stream.index]
                target.mux(packet)
    faststart = path.read_bytes()
    order = [kind for kind, *_ in files.top_boxes(faststart)]
    assert order.index(b"moov") < order.index(b"mdat") and faststart[4:12] == b"ftypqt  "
    # free, skip and wide boxes where they move no sample (the chunk offsets are absolute)
    padding = files.box(b"free", b"\x00" * 32) + files.box(b"skip", b"") + files.box(b"wide", b"")
    moov = starts[b"moov"]
    for content in (faststart, faststart + padding, clip[:moov] + padding + clip[moov:]):
        kept = process(Upload("clip.mov", content))
        assert (kept.content_type, kept.duration) == ("video/quicktime", 4)
        assert files.tracks(kept.content) == files.tracks(clip)
        assert opened(kept.thumbnail).size == (240, 320)


def test_an_hevc_mov_as_an_iphone_records_by_default_gets_its_poster():
    from av.codec.codec import Codec

    try:
        Codec("hevc", "w")
    except Exception:  # noqa: BLE001 — an ffmpeg built without an HEVC encoder
        pytest.skip("no HEVC encoder in this PyAV wheel")
    sent = files.video(codec="hevc", size=(320, 240), container="mov")
    kept = process(Upload("IMG_0042.MOV", sent))
    assert kept.content_type == "video/quicktime" and opened(kept.thumbnail).size == (320, 240)
    # remuxed, it is still `hvc1` as the iPhone wrote it (Safari plays no `hev1`, which ffmpeg would choose)
    assert b"hvc1" in sent and b"hvc1" in kept.content and b"hev1" not in kept.content
    assert files.tracks(kept.content) == files.tracks(sent)


def test_a_poster_is_made_like_a_photos_thumbnail():
    """Same size, same JPEG encoding (progressive, quality 80, no metadata) as the thumbnail of a photo of the
    same picture."""
    photo = process(Upload("still.png", files.png(size=(1280, 720))))
    video = process(Upload("clip.mp4", files.video(size=(1280, 720))))
    still, poster = opened(photo.thumbnail), opened(video.thumbnail)
    assert poster.size == still.size == (320, 180)
    assert poster.info.get("progressive") == still.info.get("progressive") == 1
    assert not {"exif", "icc_profile"} & set(poster.info)
    assert poster.quantization == still.quantization  # the same quality setting


@pytest.mark.parametrize("rotation, size", [(None, (320, 240)), (-90, (240, 320)), (90, (240, 320)),
                                            (180, (320, 240))])
def test_the_poster_of_a_video_recorded_held_upright_is_upright(rotation, size):
    # A phone held upright records landscape frames and a display matrix that turns them (-90).
    kept = process(Upload("clip.mp4", files.video(size=(640, 480), rotation=rotation)))
    poster = opened(kept.thumbnail)
    assert poster.size == size
    w, h = size
    red_at = {None: (w // 4, h // 2), -90: (w // 2, h // 4), 90: (w // 2, 3 * h // 4), 180: (3 * w // 4, h // 2)}
    red = poster.getpixel(red_at[rotation])  # the frame's left half, wherever the turn puts it
    assert red[0] > 200 and red[2] < 60


def test_an_h264_video_gets_its_poster_too():
    kept = process(Upload("clip.mp4", files.video(codec=h264_or_skip(), fps=30, seconds=2)))
    assert opened(kept.thumbnail).size == (320, 240)


def test_a_small_video_is_not_enlarged_and_an_audio_track_does_not_matter():
    small = process(Upload("small.mp4", files.video(size=(160, 120), audio=True)))
    assert opened(small.thumbnail).size == (160, 120)


# --- what a stored video keeps of the upload, and what it loses ------------------------------------------------

PRIVATE_BYTES = [files.PLACE.encode(), b"+40.0123", files.SECRET.encode(), b"ISO6709", b"creationdate",
                 b"com.apple.quicktime", b"17.4.1", b"Lavf"]
MUXER_TAGS = {"major_brand", "minor_version", "compatible_brands"}  # what the muxer itself says of the file


@pytest.mark.parametrize("container", ["mp4", "mov"])
@pytest.mark.parametrize("source", ["bytes", "file"])
def test_a_phones_video_is_stored_without_where_when_and_with_what_it_was_recorded(container, source, tmp_path):
    original = files.video(seconds=4, fps=5, size=(320, 240), rotation=-90, audio=True, container=container,
                           metadata=True)
    before = files.described(original)
    # the upload really says where, when and with what (as an iPhone's `meta` keys and the udta atoms)
    assert all(marker in original for marker in PRIVATE_BYTES)
    assert before["metadata"]["location"] == files.PLACE and before["metadata"]["model"] == files.SECRET
    assert all(stream["creation_time"] for stream in before["streams"])
    assert files.header_times(original) != {0}
    if source == "bytes":
        kept = process(Upload(f"IMG_0042.{container}", original))
        content = kept.content
    else:
        path = tmp_path / f"IMG_0042.{container}"
        path.write_bytes(original)
        with open(path, "rb") as f:
            kept = process(Upload(path.name, file=f))
        with kept.open() as stream:
            content = stream.read()
    after = files.described(content)
    assert not [marker for marker in PRIVATE_BYTES if marker in content]
    assert set(after["metadata"]) <= MUXER_TAGS
    assert not [key for stream in after["streams"] for key in stream
                if key in ("creation_time", "location", "timecode", "encoder")]
    assert files.SECRET not in str(after)
    assert files.header_times(content) == {0}  # no recording time in mvhd, tkhd or mdhd either
    # … and the same video: every packet, the codec, the size, the duration and the display matrix
    assert files.tracks(content) == files.tracks(original)
    assert (after["duration"], after["rotation"]) == (before["duration"], before["rotation"]) == (4_000_000, -90)
    assert (kept.duration, kept.width, kept.height, kept.size) == (4, 320, 240, len(content))
    assert kept.sha256 == hashlib.sha256(content).hexdigest()
    assert opened(kept.thumbnail).size == (240, 320)  # the poster of the remuxed file is upright


@pytest.mark.parametrize("rotation", [-90, 90, 180])
def test_a_remuxed_video_keeps_its_display_matrix(rotation):
    original = files.video(size=(320, 240), rotation=rotation, metadata=True, container="mov")
    kept = process(Upload("IMG_0042.MOV", original))
    turned = files.described(kept.content)["rotation"]
    assert turned == files.described(original)["rotation"] and turned % 360 == rotation % 360
    assert files.PLACE.encode() not in kept.content
    assert opened(kept.thumbnail).size == ((320, 240) if rotation == 180 else (240, 320))


@pytest.mark.parametrize("container", ["mp4", "mov"])
def test_a_video_keeps_its_first_picture_and_sound_and_loses_any_other_track(container):
    original = files.video(seconds=3, audio=True, timecode=True, container=container)
    sent = files.tracks(original)
    assert [track[0] for track in sent] == ["video", "audio", "data"]  # a timecode track (tmcd)
    kept = process(Upload("clip", original))
    assert files.tracks(kept.content) == sent[:2] and b"tmcd" in original and b"tmcd" not in kept.content


@pytest.mark.parametrize("container", ["mp4", "mov"])
def test_a_stored_video_starts_with_its_index_so_it_plays_before_it_has_arrived(container):
    original = files.video(seconds=3, audio=True, container=container)
    order = [kind for kind, *_ in files.top_boxes(original)]
    assert order.index(b"mdat") < order.index(b"moov")  # as a phone writes it
    kept = [kind for kind, *_ in files.top_boxes(process(Upload("clip", original)).content)]
    assert kept[0] == b"ftyp" and kept.index(b"moov") < kept.index(b"mdat")


def test_the_same_recording_gives_the_same_stored_bytes_whenever_and_however_it_is_sent(tmp_path):
    """Stored files are named by their SHA-256: a retried upload, or the same recording shared once with and
    once without its location, must find the file stored before."""
    with_place = files.video(seconds=3, audio=True, rotation=-90, container="mov", metadata=True)
    without = files.video(seconds=3, audio=True, rotation=-90, container="mov")
    assert with_place != without and files.tracks(with_place) == files.tracks(without)
    path = tmp_path / "IMG_0042.MOV"
    path.write_bytes(with_place)
    first = process(Upload("IMG_0042.MOV", with_place))
    time.sleep(1.1)  # a muxer that wrote the time would write another second now
    with open(path, "rb") as f:
        again = process(Upload("IMG_0042.MOV", file=f))
        with again.open() as stream:
            assert stream.read() == first.content
    shared = process(Upload("shared.mov", without))
    assert first.sha256 == again.sha256 == shared.sha256 and shared.content == first.content
    assert len(media_prepare([Upload("a.mov", with_place), Upload("b.mov", without)])) == 1
    # a stored video sent again (a phone form keeps the videos of a refused report) is the file stored before
    assert process(Upload("kept.mov", first.content)).content == first.content


def test_a_video_of_more_packets_than_a_phone_records_is_refused():
    # 2000 frames in one second: more than 240 packets a second for the length of the video, and the slack
    crowded = files.video(seconds=1, fps=2000, size=(16, 16))
    assert mp4_info(crowded).duration == 1
    error = refused("clip.mp4", crowded)
    assert error.code == "attachment_truncated"
    assert process(Upload("ok.mp4", files.video(seconds=1, fps=240, size=(16, 16)))).duration == 1


def test_the_remuxed_file_is_temporary_and_goes_with_the_processed_video(settings, tmp_path):
    import gc

    settings.FILE_UPLOAD_TEMP_DIR = str(tmp_path / "spool")
    (tmp_path / "spool").mkdir()
    path = tmp_path / "clip.mp4"
    path.write_bytes(files.video(seconds=3, metadata=True))
    with open(path, "rb") as f:
        kept = process(Upload("clip.mp4", file=f))
        remuxed = kept.source.file
        assert remuxed is not f and not remuxed.closed  # the stored bytes stream from the remuxed file
        assert list((tmp_path / "spool").iterdir()) == []  # which has no name on disk
        with kept.open() as stream:
            assert files.PLACE.encode() not in stream.read()
        del kept
        gc.collect()
        assert remuxed.closed and not f.closed  # closed with the Processed; the upload is the caller's
    path.write_bytes(files.video(seconds=1, fps=2000, size=(16, 16)))  # refused while it is being remuxed
    with open(path, "rb") as f, pytest.raises(ValidationFailed):
        process(Upload("crowded.mp4", file=f))
    assert list((tmp_path / "spool").iterdir()) == []


def test_mp4_variants_phones_write_are_read():
    # 64-bit mvhd, a brand from the compatible list, an mdat that runs to the end (size 0)
    v1 = files.mp4(seconds=30, version=1, brand=b"mp42")
    assert mp4_info(v1).duration == 30
    open_ended = files.mp4(seconds=3)[:-72] + b"\x00\x00\x00\x00mdat" + b"\x01" * 100
    assert mp4_info(open_ended).duration == 3
    large = files.mp4(seconds=3)[:-72] + b"\x00\x00\x00\x01mdat" + (16 + 10).to_bytes(8, "big") + b"\x02" * 10
    assert mp4_info(large).duration == 3


# --- what is kept of a photo --------------------------------------------------------------------------------

@pytest.mark.parametrize("fmt", PHOTOS)
def test_all_metadata_is_gone_from_the_stored_bytes(fmt):
    original = PHOTOS[fmt](lat=40.005, lon=120.005)
    assert files.SECRET.encode() in original and photo_position(Upload("x", original)) is not None
    kept = process(Upload(name="x", content=original))
    for stored in (kept.content, kept.thumbnail):
        assert files.SECRET.encode() not in stored
        assert b"Exif\x00\x00" not in stored and b"ICC_PROFILE" not in stored and b"xmpmeta" not in stored
        assert b"http://ns.adobe.com/xap" not in stored
        image = opened(stored)
        assert not image.getexif() and photo_position(Upload("x", stored)) is None
        assert not {"exif", "icc_profile", "xmp", "XML:com.adobe.xmp"} & set(image.info)


def test_a_jpeg_with_every_kind_of_metadata_is_clean():
    original = files.jpeg(lat=40.005, lon=120.005, orientation=1)
    source = Image.open(io.BytesIO(original))
    assert {"exif", "icc_profile", "xmp"} <= set(source.info)  # the input really carries them
    kept = process(Upload(name="x.jpg", content=original))
    markers = [kept.content[i + 1] for i in range(len(kept.content) - 1)
               if kept.content[i] == 0xFF and 0xE1 <= kept.content[i + 1] <= 0xEF]
    assert 0xE1 not in markers and 0xE2 not in markers  # no APP1 (EXIF/XMP), no APP2 (ICC)


def test_orientation_is_applied_before_the_tags_are_dropped():
    # Stored landscape with "rotate 90° clockwise to view" (6): kept upright as portrait, red on top.
    kept = process(Upload(name="x.jpg", content=files.jpeg(size=(400, 300), orientation=6)))
    image = opened(kept.content)
    assert image.size == (300, 400)
    top, bottom = image.getpixel((150, 50)), image.getpixel((150, 350))
    assert top[0] > 200 and top[2] < 60 and bottom[2] > 200 and bottom[0] < 60
    assert opened(kept.thumbnail).size == (240, 320)


def test_large_photos_are_shrunk_to_the_longest_side(settings):
    kept = process(Upload(name="big.jpg", content=files.jpeg(size=(4000, 3000), metadata=False)))
    assert opened(kept.content).size == (2560, 1920) and opened(kept.thumbnail).size == (320, 240)
    settings.YIWANG_PHOTO_MAX_SIDE = 1000
    kept = process(Upload(name="wide.png", content=files.png(size=(3000, 1000))))
    assert opened(kept.content).size == (1000, 333)
    small = process(Upload(name="small.png", content=files.png(size=(200, 100))))
    assert opened(small.content).size == (200, 100)  # never enlarged


# --- the GPS position --------------------------------------------------------------------------------------

@pytest.mark.parametrize("fmt", PHOTOS)
def test_the_gps_position_is_read_from_the_original(fmt):
    north_east = PHOTOS[fmt](lat=40.005, lon=120.005)
    assert photo_position(Upload("x", north_east)) == pytest.approx((40.005, 120.005), abs=1e-5)
    assert photo_position(Upload("x", PHOTOS[fmt](lat=-33.4569, lon=-70.6483))) == pytest.approx(
        (-33.4569, -70.6483), abs=1e-5)  # south and west are negative


def test_no_position_without_gps_or_without_a_photo():
    assert photo_position(Upload("x", files.jpeg())) is None
    assert photo_position(Upload("x", files.jpeg(metadata=False))) is None
    assert photo_position(Upload("x", files.jpeg(lat=0.0, lon=0.0))) is None  # a camera without a fix
    assert photo_position(Upload("x", files.mp4())) is None
    assert photo_position(Upload("x", b"MZ" + b"\x00" * 100)) is None
    assert photo_position(Upload("x", files.png_bomb())) is None  # and without decoding it


# --- refused -----------------------------------------------------------------------------------------------

DISGUISED = {
    "exe": b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff" + b"\x00" * 200,
    "html": b"<!DOCTYPE html><html><body><script>alert(document.cookie)</script></body></html>",
    "svg": b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>',
    "gif": files.gif(),
    "pdf": b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj<<>>endobj\n",
    # QuickTime from before ISO-BMFF: a real MOV without its ftyp box (wide, mdat, moov straight away)
    "old mov": files.video(container="mov")[files.top_boxes(files.video(container="mov"))[0][2]:],
    "avif": files.mp4(brand=b"avif").replace(b"isomiso2avc1mp41", b"avifmif1miafMA1B"),
    "empty": b"",
}


@pytest.mark.parametrize("kind", DISGUISED)
def test_anything_else_is_refused_whatever_its_name(kind):
    error = refused("photo.jpg", DISGUISED[kind])
    assert error.code == "attachment_type" and error.fields == {"attachments": [error.message]}
    assert error.message == "photo.jpg is not a photo (JPEG, PNG, WebP, HEIC) or an MP4 or MOV video."


def test_oversized_files_are_refused_before_they_are_decoded(settings):
    settings.YIWANG_MAX_PHOTO_BYTES = 5000
    settings.YIWANG_MAX_VIDEO_BYTES = 2000
    photo = files.jpeg(size=(800, 600), metadata=False, quality=95)
    assert len(photo) > 5000
    error = refused("big.jpg", photo)
    assert error.code == "attachment_size" and error.message == "big.jpg is larger than 0 MB."
    assert refused("long.mp4", files.mp4(mdat=b"\x00" * 3000)).code == "attachment_size"
    small = files.video(seconds=1, size=(64, 48))
    assert len(small) < 2000 and process(Upload("ok.mp4", small)).kind == "video"


def test_truncated_photos_are_refused():
    jpeg = files.noisy_jpeg()
    png = files.png(size=(300, 300))
    for name, content in [("cut.jpg", jpeg[: len(jpeg) // 2]), ("cut.jpg", jpeg[:-200]),
                          ("cut.png", png[:-30]), ("cut.png", png[: len(png) // 2]),
                          ("cut.webp", files.webp()[:-40]), ("cut.heic", files.heic()[: len(files.heic()) // 2]), ("head.jpg", jpeg[:4])]:
        error = refused(name, content)
        assert error.code == "attachment_truncated", name
        assert error.message == f"{name} is damaged or incomplete. Please take or choose it again."


def test_corrupt_png_is_refused():
    png = bytearray(files.png(size=(300, 300)))
    png[60] ^= 0xFF  # inside IDAT: its CRC no longer matches
    assert refused("bad.png", bytes(png)).code == "attachment_truncated"


def test_truncated_or_broken_mp4s_are_refused():
    clip = files.mp4(seconds=5, mdat=b"\x00" * 500)
    ftyp = clip[: int.from_bytes(clip[:4], "big")]
    for content in [
        clip[:-100],  # the mdat claims more than arrived
        clip + b"<html>",  # bytes after the last box
        ftyp + files.box(b"mdat", b"\x00" * 100),  # recording stopped before the moov was written
        ftyp + files.box(b"moov", files.box(b"trak", b"")),  # no mvhd
        ftyp + files.box(b"moov", files.mvhd(seconds=0)),  # no length
        clip.replace(b"moov", b"mo\x00v", 1),  # a box name that is not one
    ]:
        assert refused("clip.mp4", content).code == "attachment_truncated"


def test_a_truncated_real_video_is_refused():
    clip = files.video(seconds=5)
    boxes = {kind: (start, end) for kind, start, end in files.top_boxes(clip)}
    for content in [clip[: len(clip) // 2], clip[:-30], clip[: boxes[b"moov"][0]]]:
        error = refused("clip.mp4", content)
        assert error.code == "attachment_truncated"
        assert error.message == "clip.mp4 is damaged or incomplete. Please take or choose it again."


def test_a_video_whose_frames_do_not_decode_is_refused_as_damaged():
    clip = files.video(seconds=5)
    start, end = next((s, e) for kind, s, e in files.top_boxes(clip) if kind == b"mdat")
    blank = clip[: start + 8] + b"\x00" * (end - start - 8) + clip[end:]  # the boxes intact, the frames gone
    assert refused("clip.mp4", blank).code == "attachment_truncated"


def test_an_mp4_without_a_video_picture_is_refused(db):
    # A valid box structure is not yet a video: a sound recording, or boxes with no frame in them.
    audio_only = files.video(seconds=3, frames=False)
    assert mp4_info(audio_only).duration > 2  # it passes the box walk
    for content in (audio_only, files.mp4(seconds=5)):
        error = refused("clip.mp4", content)
        assert error.code == "attachment_no_video" and error.fields == {"attachments": [error.message]}
        assert error.message == "clip.mp4 holds no video picture. Please record the video again or choose a photo."
    with translation.override("zh-hans"), pytest.raises(ValidationFailed) as caught:
        process(Upload("clip.mp4", audio_only))
    assert caught.value.message == "clip.mp4 中没有视频画面，请重新录制视频或选择照片。"


def test_a_mov_without_a_video_picture_or_cut_short_or_with_garbage_is_refused():
    audio_only = files.video(seconds=3, frames=False, container="mov")
    assert audio_only[4:12] == b"ftypqt  " and mp4_info(audio_only).duration > 2
    assert refused("voice.mov", audio_only).code == "attachment_no_video"
    clip = files.video(seconds=5, container="mov")
    boxes = {kind: (start, end) for kind, start, end in files.top_boxes(clip)}
    for content in [clip[: len(clip) // 2], clip[:-30], clip[: boxes[b"moov"][0]], clip + b"<html>"]:
        error = refused("IMG_0042.MOV", content)
        assert error.code == "attachment_truncated"
        assert error.message == "IMG_0042.MOV is damaged or incomplete. Please take or choose it again."
    ftyp = clip[: boxes[b"ftyp"][1]]
    for garbage in [b"<!DOCTYPE html><script>alert(1)</script>", b"\xff" * 500,
                    b"#EXTM3U\n#EXT-X-MEDIA-SEQUENCE:0\nhttp://10.0.0.1/x.ts\n"]:
        assert refused("clip.mov", ftyp + garbage).code == "attachment_truncated"
    frameless = files.mp4(seconds=5, brand=b"qt  ").replace(b"isomiso2avc1mp41", b"qt  qt  qt  qt  ")
    assert refused("clip.mov", frameless).code == "attachment_no_video"  # boxes without a frame


def test_a_mov_has_the_same_limits_as_an_mp4(settings):
    def mov_boxes(**kw):
        return files.mp4(brand=b"qt  ", **kw).replace(b"isomiso2avc1mp41", b"qt  qt  qt  qt  ")

    assert refused("long.mov", mov_boxes(seconds=61)).code == "attachment_duration"
    assert refused("wide.mov", mov_boxes(width=20000, height=20000)).code == "attachment_bomb"
    settings.YIWANG_MAX_PHOTO_PIXELS = 100_000
    assert refused("big.mov", files.video(size=(400, 300), container="mov")).code == "attachment_bomb"
    settings.YIWANG_MAX_VIDEO_BYTES = 2000
    assert refused("big.mov", mov_boxes(mdat=b"\x00" * 3000)).code == "attachment_size"


def test_a_video_over_the_pixel_limit_is_refused_before_it_is_decoded(settings):
    settings.YIWANG_MAX_PHOTO_PIXELS = 100_000
    error = refused("big.mp4", files.video(size=(400, 300)))
    assert error.code == "attachment_bomb"
    assert process(Upload("ok.mp4", files.video(size=(320, 240)))).thumbnail
    # a track header that understates the frame: the decoder's parameters (or ffmpeg's max_pixels) still tell
    clip = files.video(size=(400, 300))
    header = clip.index(b"tkhd")
    size_at = header + 4 + 76  # version 0: the width and height end the box
    lying = clip[:size_at] + (16 << 16).to_bytes(4, "big") * 2 + clip[size_at + 8:]
    assert (mp4_info(lying).width, mp4_info(lying).height) == (16, 16)
    assert refused("big.mp4", lying).code in ("attachment_bomb", "attachment_truncated")


@pytest.mark.parametrize("container", ["mp4", "mov"])
def test_a_damaged_video_is_refused_never_a_server_error(container):
    """Bytes flipped anywhere in a real video: each copy is kept or refused with a code, nothing else."""
    import random

    clip = files.video(seconds=4, audio=True, container=container)
    rng = random.Random(11)
    outcomes = set()
    for _ in range(150):
        damaged = bytearray(clip)
        for _ in range(rng.randint(1, 8)):
            damaged[rng.randrange(32, len(damaged))] = rng.randrange(256)
        try:
            kept = process(Upload("clip.mp4", bytes(damaged)))
            outcomes.add("kept" if kept.thumbnail else "no poster")
        except ValidationFailed as error:
            outcomes.add(error.code)
    assert "no poster" not in outcomes and outcomes <= {"kept", "attachment_truncated", "attachment_no_video",
                                                        "attachment_duration", "attachment_bomb"}


def test_a_decompression_bomb_is_refused_from_its_header_fast():
    bomb = files.png_bomb(20000)  # 400 million pixels in about 50 KB
    assert len(bomb) < 60_000
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    started = time.perf_counter()
    error = refused("bomb.png", bomb)
    assert time.perf_counter() - started < 0.5
    assert error.code == "attachment_bomb"
    assert error.message == "bomb.png has too many pixels (at most 100 megapixels)."
    grown_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before
    assert grown_kb < 100_000  # nothing near the 400 MB the pixels would take


def test_the_pixel_limit_is_deliberate_and_the_bomb_a_valid_png(settings):
    assert process(Upload("small.png", files.png_bomb(2000))).kind == "photo"  # a real PNG, just large
    settings.YIWANG_MAX_PHOTO_PIXELS = 100_000
    assert refused("x.jpg", files.jpeg(size=(400, 300))).code == "attachment_bomb"
    assert refused("x.heic", files.heic(size=(400, 300))).code == "attachment_bomb"
    assert process(Upload("x.jpg", files.jpeg(size=(300, 300)))).kind == "photo"


def test_a_video_too_long_is_refused(settings):
    error = refused("long.mp4", files.mp4(seconds=61))
    assert error.code == "attachment_duration" and error.message == "long.mp4 is longer than 60 seconds."
    assert process(Upload("ok.mp4", files.video(seconds=60, size=(64, 48)))).duration == 60
    settings.YIWANG_MAX_VIDEO_SECONDS = 10
    assert refused("long.mp4", files.mp4(seconds=11, version=1)).code == "attachment_duration"


def test_too_many_files_are_refused_before_any_is_read(settings):
    settings.YIWANG_MAX_ATTACHMENTS = 3
    with pytest.raises(ValidationFailed) as caught, translation.override("en"):
        media_prepare([Upload(f"{i}.jpg", b"not even looked at") for i in range(4)])
    assert caught.value.code == "attachment_count" and caught.value.message == "At most 3 files per step."


def test_a_step_is_refused_by_its_first_bad_file_and_the_same_file_twice_is_kept_once():
    photo = files.jpeg()
    assert len(media_prepare([Upload("a.jpg", photo), Upload("b.jpg", photo)])) == 1
    with pytest.raises(ValidationFailed) as caught:
        media_prepare([Upload("a.jpg", photo), Upload("b.jpg", files.gif())])
    assert caught.value.code == "attachment_type"


def test_a_long_hostile_name_is_shortened_in_the_message():
    error = refused("../../" + "a" * 300 + ".jpg", b"MZ")
    assert error.message.startswith("a" * 60 + "…") and "/" not in error.message.split(" is not")[0]


@pytest.mark.filterwarnings("ignore:.*(EXIF|Tag data):UserWarning")
def test_a_photo_with_corrupt_exif_is_still_taken_clean():
    import struct

    payload = (b"Exif\x00\x00II*\x00" + struct.pack("<IH", 8, 3) + b"\x12\x01\x03\x00\xff\xff\xff\xff"
               + b"\x00" * 20)  # an orientation tag pointing past the end
    plain = files.jpeg(metadata=False)
    broken = plain[:2] + b"\xff\xe1" + struct.pack(">H", len(payload) + 2) + payload + plain[2:]
    kept = process(Upload(name="x.jpg", content=broken))
    assert opened(kept.content).size == (400, 300) and b"Exif" not in kept.content
    assert photo_position(Upload("x.jpg", broken)) is None
