"""What an uploaded file really is, and the bytes of it that are kept.

Nothing here trusts a file's name or the content type its sender claims. The first bytes say which format
it may be; then the format's own decoder must read it whole:

- Photos (JPEG, PNG, WebP, HEIC/HEIF) go through Pillow (HEIF through pillow-heif): opened for only the
  sniffed format, `verify()`ed, reopened and decoded. They are turned upright (EXIF orientation), converted
  to sRGB, shrunk to `YIWANG_PHOTO_MAX_SIDE` and re-encoded as JPEG from the pixels alone, so no EXIF, GPS,
  XMP, ICC profile or maker note survives. A 320-pixel JPEG thumbnail is made alongside. The GPS position is
  read before (`photo_position`), for a report that has no location of its own.
- Videos — MP4, and QuickTime MOV as iPhones record it — are read by walking their ISO-BMFF box structure
  (ftyp brand, moov with mvhd, every box inside the file), which also gives the duration. ISO-BMFF grew out
  of QuickTime, so a MOV that starts with an ftyp box (brand `qt  `, as iPhones write it) has the same
  boxes and is walked and decoded the same way, under the same limits; an older QuickTime file without an
  ftyp box is refused by type.

  A phone's video says where it was recorded (`©xyz` in udta, `com.apple.quicktime.location.ISO6709` in meta,
  sometimes a timed metadata track), when, and on which device and software — and it is served to staff, the
  reporter and, when public, anyone. So once the box walk and its limits have passed, the video is remuxed
  (`_remux`): ffmpeg's mov/mp4 demuxer (as below) hands its packets, undecoded, to the muxer of the same
  container (MP4 stays MP4, MOV stays MOV) — the first video stream and the first audio stream only (a sound
  ffmpeg cannot read, or the container cannot hold, is left out: the picture is the evidence), no
  container or stream metadata, no data, timecode, timed-metadata or subtitle track, and creation times of
  zero. Re-encoding would cost seconds of CPU per upload and lose quality; a copy costs a file write. What is
  kept: every packet of those two streams (so the pictures, sound, codec, size and duration), the display matrix
  (codec side data: a video recorded held upright stays upright) and the video's sample entry code (an
  iPhone's `hvc1` HEVC, which Safari needs; ffmpeg would choose `hev1`). The muxer writes the moov first
  (faststart: a phone plays the video before it has all arrived) and bit-exact (no clock, no version string),
  so the same recording always gives the same bytes — files are stored by their SHA-256, and a retried upload
  must find the one stored before. More packets than `PACKETS_PER_SECOND` per second of the video's length
  (plus slack) is no phone's video and is refused as damaged. What is stored — its SHA-256, size, duration,
  width, height and poster — is the remuxed file's.

  A video's poster — its thumbnail — is the first frame that decodes, read with PyAV (whose wheels
  bundle the ffmpeg libraries) from the remuxed file: ffmpeg's mov/mp4 demuxer alone, which reads MP4
  and MOV alike (never one the bytes might steer ffmpeg to), the first video stream alone, one decoding
  thread, at most `POSTER_PACKETS` packets, and no frame over `YIWANG_MAX_PHOTO_PIXELS` (checked on the track
  header, on the decoder's parameters and on the frame; ffmpeg's own `max_pixels`, at twice that, stops a
  decoder from allocating frames far larger than the header said). The frame is scaled down by ffmpeg,
  turned upright (the track's display matrix, as a phone held upright records it) and made into
  the same 320-pixel JPEG as a photo's thumbnail (`_thumbnail`).

  Not every browser plays what a phone records (an iPhone's HEVC: Chrome, Edge and Firefox only where the
  graphics chip decodes it). A stored video records its codecs (`Processed.codecs`); one that is not H.264 with
  AAC or MP3 sound gets a copy every browser plays (`playable_copy`), made later by the task worker
  (yiwang.media.services). The stored video stays as it is: it is the evidence.

  A valid box structure is not yet a video. A file in which PyAV finds no video stream, or one it has no
  decoder for (an audio-only recording, a box structure written by hand), is refused as
  `attachment_no_video`: the file is intact, so "damaged" would mislead the person who sent it. A video
  stream of which no frame decodes within those limits, or a file the demuxer cannot read, is refused as
  `attachment_truncated`, like a cut photo. Any error PyAV raises ends in one of these refusals, never
  in a server error.

An upload is either bytes or a file (Django spools uploads over FILE_UPLOAD_MAX_MEMORY_SIZE to a temporary
file). A file is never read whole into memory: its format is sniffed from its first bytes, its size taken
from the file before anything else is read, a video's boxes are walked by seeking from header to header
(reading only the few header bytes of mvhd/mehd/tkhd), it is remuxed by ffmpeg packet by packet into a
temporary file (in FILE_UPLOAD_TEMP_DIR; its name is removed as soon as it is open, and the file is closed
with the Processed that streams from it), whose SHA-256 is computed chunk by chunk, whose poster is decoded
by ffmpeg through PyAV (the moov index and the first packets only), and from which storage later streams
(`Processed.open`). A video given as bytes gives bytes. A photo (at most YIWANG_MAX_PHOTO_BYTES) is decoded by
Pillow straight from the file.

Decompression bombs (a small file that decodes to gigapixels) are refused from the header, before any pixel
is decoded: `Image.MAX_IMAGE_PIXELS` is set to `YIWANG_MAX_PHOTO_PIXELS` and Pillow's warning is an error.
"""

from __future__ import annotations

import hashlib
import io
import math
import os
import struct
import tempfile
import warnings
import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import IO, Any

import av
import pillow_heif
from django.conf import settings
from django.utils.translation import gettext
from PIL import ExifTags, Image, ImageCms, ImageOps, UnidentifiedImageError

from yiwang.cases.choices import AttachmentKind
from yiwang.core.errors import invalid

pillow_heif.register_heif_opener()

JPEG_QUALITY = 85
THUMB_SIDE = 320
THUMB_QUALITY = 80
_SRGB = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB"))


HEAD_BYTES = 4096  # enough to sniff any format here (an ftyp box is read up to this size)
CHUNK_BYTES = 1 << 20  # hashing and copying a file go this many bytes at a time


def _read(stream: IO[bytes], count: int) -> bytes:
    """Up to `count` bytes from the stream's position, fewer only at its end (a raw stream may return less
    per read)."""
    data = stream.read(count) or b""
    while len(data) < count:
        more = stream.read(count - len(data))
        if not more:
            break
        data += more
    return data


def _length(stream: IO[bytes]) -> int:
    stream.seek(0, os.SEEK_END)
    return stream.tell()


@dataclass(frozen=True)
class Upload:
    """A file as it arrived: the name it was sent with (for messages only) and its content — either `content`
    (bytes) or `file`: a seekable binary file object (Django's UploadedFile, an open file) or a path. A file
    is read through `open()`, from its start, and never copied whole into memory."""

    name: str
    content: bytes | None = None
    file: Any = None

    def __post_init__(self):
        if (self.content is None) == (self.file is None):
            raise TypeError("An Upload has either content or a file.")

    @contextmanager
    def open(self) -> Iterator[IO[bytes]]:
        """A seekable binary stream at the start of the content; a file object given is left open."""
        if self.content is not None:
            yield io.BytesIO(self.content)  # shares the bytes, does not copy them
        elif isinstance(self.file, str | os.PathLike):
            with open(self.file, "rb") as stream:
                yield stream
        else:
            self.file.seek(0)
            try:
                yield self.file
            finally:
                self.file.seek(0)

    @property
    def size(self) -> int:
        """The length in bytes, from the file itself (its end), without reading it."""
        if self.content is not None:
            return len(self.content)
        with self.open() as stream:
            return _length(stream)

    def head(self, limit: int = HEAD_BYTES) -> bytes:
        if self.content is not None:
            return self.content[:limit]
        with self.open() as stream:
            return _read(stream, limit)


@dataclass(frozen=True)
class Format:
    key: str  # Pillow's format name for photos
    kind: str
    content_type: str
    extension: str


JPEG = Format("JPEG", AttachmentKind.PHOTO, "image/jpeg", ".jpg")
PNG = Format("PNG", AttachmentKind.PHOTO, "image/png", ".png")
WEBP = Format("WEBP", AttachmentKind.PHOTO, "image/webp", ".webp")
HEIF = Format("HEIF", AttachmentKind.PHOTO, "image/heic", ".heic")
MP4 = Format("MP4", AttachmentKind.VIDEO, "video/mp4", ".mp4")
MOV = Format("MOV", AttachmentKind.VIDEO, "video/quicktime", ".mov")

# ISO-BMFF brands (the ftyp box): HEIF stills, the MP4 family, and QuickTime ("qt  ", an iPhone's .MOV), which
# is not MP4 but has the same box structure and is checked the same way. 3GP is neither.
HEIF_BRANDS = {b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx"}
HEIF_GENERIC = {b"mif1", b"msf1"}
AVIF_BRANDS = {b"avif", b"avis"}  # HEIF containers holding AV1, which this platform cannot decode
MP4_BRANDS = {b"isom", b"iso2", b"iso3", b"iso4", b"iso5", b"iso6", b"iso8", b"iso9", b"mp41", b"mp42",
              b"avc1", b"M4V ", b"MSNV", b"dash", b"mmp4"}
MOV_BRANDS = {b"qt  "}


@dataclass(frozen=True)
class Processed:
    """A checked file, ready to store: the bytes to keep (re-encoded for a photo), their SHA-256, and a
    thumbnail (a photo's, or a video's poster frame). A video uploaded as a file keeps no bytes here: `content`
    is None and `source` is its remuxed copy, a nameless temporary file streamed from when it is stored
    (`open()`) and closed when this object goes."""

    name: str
    kind: str
    content_type: str
    extension: str
    content: bytes | None
    sha256: str
    width: int | None = None
    height: int | None = None
    duration: float | None = None
    thumbnail: bytes | None = None
    source: Upload | None = None
    source_size: int | None = None
    codecs: str = ""  # a video's: its video codec, and its audio codec after a "+" ("hevc+aac")

    @property
    def size(self) -> int:
        return len(self.content) if self.content is not None else self.source_size

    @contextmanager
    def open(self) -> Iterator[IO[bytes]]:
        """The bytes to keep as a stream at their start."""
        if self.content is not None:
            yield io.BytesIO(self.content)
        else:
            with self.source.open() as stream:
                yield stream


# --- refusals -----------------------------------------------------------------------------------------------

def _label(upload: Upload) -> str:
    name = os.path.basename((upload.name or "").replace("\\", "/")).strip()
    return (name[:60] + "…") if len(name) > 61 else (name or gettext("The file"))


def refuse_type(upload: Upload):
    return invalid(gettext("%(name)s is not a photo (JPEG, PNG, WebP, HEIC) or an MP4 or MOV video.")
                   % {"name": _label(upload)}, "attachment_type", "attachments")


def refuse_size(upload: Upload, limit: int):
    return invalid(gettext("%(name)s is larger than %(mb)d MB.")
                   % {"name": _label(upload), "mb": limit >> 20}, "attachment_size", "attachments")


def refuse_truncated(upload: Upload):
    return invalid(gettext("%(name)s is damaged or incomplete. Please take or choose it again.")
                   % {"name": _label(upload)}, "attachment_truncated", "attachments")


def refuse_bomb(upload: Upload):
    return invalid(gettext("%(name)s has too many pixels (at most %(mp)d megapixels).")
                   % {"name": _label(upload), "mp": settings.YIWANG_MAX_PHOTO_PIXELS // 1_000_000},
                   "attachment_bomb", "attachments")


def refuse_no_video(upload: Upload):
    return invalid(gettext("%(name)s holds no video picture. Please record the video again or choose a photo.")
                   % {"name": _label(upload)}, "attachment_no_video", "attachments")


def refuse_duration(upload: Upload):
    return invalid(gettext("%(name)s is longer than %(s)d seconds.")
                   % {"name": _label(upload), "s": settings.YIWANG_MAX_VIDEO_SECONDS},
                   "attachment_duration", "attachments")


def refuse_count():
    return invalid(gettext("At most %(n)d files per step.") % {"n": settings.YIWANG_MAX_ATTACHMENTS},
                   "attachment_count", "attachments")


# --- sniffing -----------------------------------------------------------------------------------------------

def _ftyp_brands(content: bytes) -> set[bytes]:
    size = int.from_bytes(content[0:4], "big")
    if size < 16 or size > min(len(content), 4096):
        return set()
    body = content[8:size]
    return {body[0:4]} | {body[i:i + 4] for i in range(8, len(body) - 3, 4)}


def sniff(content: bytes) -> Format | None:
    """The format the first bytes claim (checked in depth by `process`), or None."""
    if content[:3] == b"\xff\xd8\xff":
        return JPEG
    if content[:8] == b"\x89PNG\r\n\x1a\n":
        return PNG
    if content[:4] == b"RIFF" and content[8:12] == b"WEBP":
        return WEBP
    if content[4:8] == b"ftyp":
        brands = _ftyp_brands(content)
        if brands & HEIF_BRANDS or (brands & HEIF_GENERIC and not brands & AVIF_BRANDS):
            return HEIF
        if brands & AVIF_BRANDS:
            return None
        if brands & MOV_BRANDS:  # before MP4: a QuickTime file may list MP4 brands too, and is still a MOV
            return MOV
        if brands & MP4_BRANDS:
            return MP4
    return None


# --- photos -------------------------------------------------------------------------------------------------

class _Bomb(Exception):
    pass


class _Lent:
    """A stream lent to Pillow, which closes the file it was given when the image is closed: reads and seeks
    go through, close() does not (the upload is read again after, and its owner closes it)."""

    def __init__(self, stream: IO[bytes]):
        self._stream = stream

    def __getattr__(self, name):
        return getattr(self._stream, name)

    def close(self) -> None:
        pass


def _open(stream: IO[bytes], fmt: Format) -> Image.Image:
    """Open (header only) for the sniffed format alone — never a plugin the bytes might steer Pillow to.
    Pillow reads the stream from its start; the stream stays open."""
    image = Image.open(_Lent(stream), formats=[fmt.key])
    # Pillow's own check is a warning made an error by the caller; warning filters are process-wide and not
    # thread-safe, so the limit is also checked here.
    width, height = image.size
    if width * height > settings.YIWANG_MAX_PHOTO_PIXELS:
        image.close()
        raise _Bomb()
    return image


def _decoded(upload: Upload, fmt: Format) -> Image.Image:
    Image.MAX_IMAGE_PIXELS = settings.YIWANG_MAX_PHOTO_PIXELS
    side = settings.YIWANG_PHOTO_MAX_SIDE
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with upload.open() as stream:
                with _open(stream, fmt) as probe:
                    probe.verify()
                image = _open(stream, fmt)
                if fmt is JPEG:
                    image.draft("RGB", (side, side))  # decode at 1/2, 1/4 or 1/8 scale when still enough
                image.load()
            return image
    except (_Bomb, Image.DecompressionBombWarning, Image.DecompressionBombError):
        raise refuse_bomb(upload) from None
    except (OSError, SyntaxError, ValueError, EOFError, IndexError, struct.error, UnidentifiedImageError,
            TypeError, ZeroDivisionError):
        raise refuse_truncated(upload) from None


def _srgb(image: Image.Image) -> Image.Image:
    """Colours as the camera meant them (a Display P3 or Adobe RGB profile applied), then the profile is
    dropped: JPEGs without one are read as sRGB."""
    profile = image.info.get("icc_profile")
    if profile and image.mode in ("RGB", "CMYK"):
        try:
            return ImageCms.profileToProfile(image, ImageCms.ImageCmsProfile(io.BytesIO(profile)), _SRGB,
                                             outputMode="RGB")
        except (ImageCms.PyCMSError, OSError, ValueError, TypeError):
            pass  # an unreadable profile: keep the pixels as they are
    return image


def _rgb(image: Image.Image) -> Image.Image:
    """Three 8-bit channels; transparency over white (a transparent PNG would turn black in a JPEG)."""
    if image.mode.startswith("I"):  # 16-bit grey (PNG): to 8 bits
        image = image.convert("I").point(lambda v: v * (1 / 256)).convert("L")
    if image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info):
        rgba = image.convert("RGBA")
        flat = Image.new("RGB", rgba.size, (255, 255, 255))
        flat.paste(rgba, mask=rgba.getchannel("A"))
        return flat
    return image if image.mode == "RGB" else image.convert("RGB")


def _jpeg(image: Image.Image, quality: int) -> bytes:
    image.info = {}  # nothing of the original's metadata may ride along
    out = io.BytesIO()
    image.save(out, "JPEG", quality=quality, optimize=True, progressive=True, exif=b"", icc_profile=None)
    return out.getvalue()


def _thumbnail(pixels: Image.Image) -> bytes:
    """The 320-pixel JPEG of an RGB image (a photo's thumbnail, a video's poster); the image is left as it is."""
    thumb = pixels.copy()
    thumb.thumbnail((THUMB_SIDE, THUMB_SIDE), Image.Resampling.LANCZOS)
    return _jpeg(thumb, THUMB_QUALITY)


def _photo(upload: Upload, fmt: Format) -> Processed:
    image = _decoded(upload, fmt)
    try:
        try:
            upright = ImageOps.exif_transpose(image)
        except (SyntaxError, ValueError, KeyError, TypeError, IndexError, struct.error, OSError):
            upright = image  # unreadable EXIF: the pixels as stored
        pixels = _rgb(_srgb(upright))
        side = settings.YIWANG_PHOTO_MAX_SIDE
        pixels.thumbnail((side, side), Image.Resampling.LANCZOS)
        content = _jpeg(pixels, JPEG_QUALITY)
        thumbnail = _thumbnail(pixels)
    except (OSError, ValueError, SyntaxError, struct.error):  # a decoded image that still cannot be converted
        raise refuse_truncated(upload) from None
    finally:
        image.close()
    return Processed(name=upload.name, kind=fmt.kind, content_type=JPEG.content_type,
                     extension=JPEG.extension, content=content, sha256=hashlib.sha256(content).hexdigest(),
                     width=pixels.width, height=pixels.height, thumbnail=thumbnail)


def _degrees(value, ref) -> float | None:
    try:
        parts = [float(v) for v in (value if isinstance(value, tuple | list) else [value])]
        parts += [0.0] * (3 - len(parts))
        degrees = parts[0] + parts[1] / 60 + parts[2] / 3600
    except (TypeError, ValueError, ZeroDivisionError, IndexError):
        return None
    if isinstance(ref, bytes):
        ref = ref.decode("ascii", "replace")
    ref = (ref or "").strip("\x00 ").upper()
    return -degrees if ref in ("S", "W") else degrees


def photo_position(upload: Upload) -> tuple[float, float] | None:
    """The (lat, lon) in a photo's EXIF GPS data (WGS-84, as phones record it), or None. Reads the header
    only; never raises — a file that is not a readable photo has no position."""
    Image.MAX_IMAGE_PIXELS = settings.YIWANG_MAX_PHOTO_PIXELS
    try:
        fmt = sniff(upload.head())
        if fmt is None or fmt.kind != AttachmentKind.PHOTO:
            return None
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with upload.open() as stream, _open(stream, fmt) as image:
                gps = image.getexif().get_ifd(ExifTags.IFD.GPSInfo)
    except Exception:  # noqa: BLE001 — any unreadable header means "no position"
        return None
    lat = _degrees(gps.get(ExifTags.GPS.GPSLatitude), gps.get(ExifTags.GPS.GPSLatitudeRef))
    lon = _degrees(gps.get(ExifTags.GPS.GPSLongitude), gps.get(ExifTags.GPS.GPSLongitudeRef))
    if lat is None or lon is None or not (math.isfinite(lat) and math.isfinite(lon)):
        return None
    if not (-90 <= lat <= 90 and -180 <= lon <= 180) or (lat == 0 and lon == 0):  # 0,0: no fix
        return None
    return round(lat, 7), round(lon, 7)


# --- video --------------------------------------------------------------------------------------------------

class Mp4Error(Exception):
    pass


class _Data:
    """An MP4 or MOV being walked: bytes, or a seekable file read only where a header is."""

    def __init__(self, source: bytes | IO[bytes]):
        if isinstance(source, bytes | bytearray | memoryview):
            self.buffer, self.stream, self.length = source, None, len(source)
        else:
            self.buffer, self.stream = None, source
            self.length = _length(source)

    def read(self, pos: int, count: int) -> bytes:
        """`count` bytes at `pos` (fewer only at the end of the data)."""
        if self.stream is None:
            return bytes(self.buffer[pos:pos + count])
        self.stream.seek(pos)
        return _read(self.stream, count)


# Boxes at one level of a real MP4 or MOV: a handful (ftyp, wide, moov, mdat, free, skip), or a moof and an
# mdat per fragment — even a fragment per frame of a 60-second 60 fps video stays under this. A file of
# millions of tiny boxes would only cost the time to walk them.
MAX_BOXES = 20_000


def _boxes(data: _Data, start: int, end: int):
    """(type, payload start, box end) of each box between start and end; every box must fit exactly. Reads
    each box's header only."""
    pos, count = start, 0
    while pos < end:
        count += 1
        if count > MAX_BOXES:
            raise Mp4Error("too many boxes")
        if end - pos < 8:
            raise Mp4Error("trailing bytes")
        head = data.read(pos, min(16, end - pos))
        size, kind = struct.unpack_from(">I4s", head, 0)
        header = 8
        if size == 1:
            if end - pos < 16:
                raise Mp4Error("short large size")
            size = struct.unpack_from(">Q", head, 8)[0]
            header = 16
        elif size == 0:  # the last box runs to the end of the file
            size = end - pos
        if size < header or pos + size > end or not all(32 <= c < 127 for c in kind):
            raise Mp4Error(f"box {kind!r} does not fit")
        yield kind, pos + header, pos + size
        pos += size


def _mvhd_duration(data: _Data, start: int, end: int) -> tuple[int, int]:
    payload = data.read(start, min(end - start, 32))
    version = payload[0]
    if version == 1:
        if end - start < 32:
            raise Mp4Error("short mvhd")
        timescale, duration = struct.unpack_from(">IQ", payload, 20)
        unknown = 0xFFFFFFFFFFFFFFFF
    else:
        if end - start < 20:
            raise Mp4Error("short mvhd")
        timescale, duration = struct.unpack_from(">II", payload, 12)
        unknown = 0xFFFFFFFF
    return timescale, 0 if duration == unknown else duration


def _mehd_duration(data: _Data, start: int, end: int) -> int:
    for kind, s, e in _boxes(data, start, end):
        if kind == b"mehd":
            payload = data.read(s, min(e - s, 12))
            wide = e - s >= 12 and payload[0] == 1
            if e - s < 8:
                raise Mp4Error("short mehd")
            return struct.unpack_from(">Q" if wide else ">I", payload, 4)[0]
    return 0


def _track_size(data: _Data, start: int, end: int) -> tuple[int, int]:
    for kind, s, e in _boxes(data, start, end):
        if kind == b"tkhd" and e - s >= 84:
            width, height = struct.unpack(">II", data.read(e - 8, 8))
            return width >> 16, height >> 16
    return 0, 0


@dataclass(frozen=True)
class Mp4Info:
    duration: float
    width: int | None
    height: int | None


def mp4_info(source: bytes | IO[bytes]) -> Mp4Info:
    """Walk an MP4's or a MOV's boxes: an ftyp box first, every box inside the file, a moov box with its mvhd.
    Raises Mp4Error for anything else (a truncated upload, a recording stopped before its moov was written).
    `source` is the bytes or a seekable binary file, of which only the box headers are read."""
    data = _Data(source)
    first = moov = None
    for kind, s, e in _boxes(data, 0, data.length):
        first = first or kind
        if kind == b"moov" and moov is None:
            moov = (s, e)
    if first != b"ftyp":
        raise Mp4Error("no ftyp first")
    if moov is None:
        raise Mp4Error("no moov")
    children = list(_boxes(data, *moov))
    mvhd = next(((s, e) for kind, s, e in children if kind == b"mvhd"), None)
    if mvhd is None:
        raise Mp4Error("no mvhd")
    timescale, duration = _mvhd_duration(data, *mvhd)
    if not duration:  # a fragmented MP4 keeps its length in mvex/mehd
        duration = next((_mehd_duration(data, s, e) for kind, s, e in children if kind == b"mvex"), 0)
    if not timescale or not duration:
        raise Mp4Error("unknown duration")
    width = height = 0
    for kind, s, e in children:
        if kind == b"trak":
            w, h = _track_size(data, s, e)
            width, height = max(width, w), max(height, h)
    return Mp4Info(duration=duration / timescale, width=width or None, height=height or None)


def _sha256(stream: IO[bytes]) -> str:
    digest = hashlib.sha256()
    stream.seek(0)
    while chunk := stream.read(CHUNK_BYTES):
        digest.update(chunk)
    return digest.hexdigest()


# A phone's video starts with a keyframe, and a decoder holding frames back (B-frames) gives its first after a
# few packets; a file whose first this many packets of the video stream give no frame has no poster to give.
POSTER_PACKETS = 64
# The poster frame is scaled by ffmpeg to fit this square before Pillow sees it: a 4K frame would otherwise be
# copied twice into Python memory (PyAV's to_image) to end as a 320-pixel thumbnail.
POSTER_SIDE = 2 * THUMB_SIDE


class _NoVideo(Exception):
    pass


class _NoFrame(Exception):
    pass


# What PyAV raises on a file it cannot read: FFmpegError (each also a ValueError, OSError, EOFError … by
# kind), and the plain errors of its wrappers. A mistake of ours (AttributeError, TypeError) is not a refusal.
AV_ERRORS = (av.FFmpegError, OSError, ValueError, EOFError, RuntimeError, MemoryError)


def _too_many_pixels(width: int | None, height: int | None) -> bool:
    return bool(width and height and width * height > settings.YIWANG_MAX_PHOTO_PIXELS)


def _upright(image: Image.Image, rotation: float) -> Image.Image:
    """The frame as shown: `rotation` is the display matrix's angle, counter-clockwise, as PyAV reports it
    (a phone held upright records -90). Only quarter turns are applied; phones write no others."""
    turn = {90: Image.Transpose.ROTATE_90, -270: Image.Transpose.ROTATE_90, 180: Image.Transpose.ROTATE_180,
            -180: Image.Transpose.ROTATE_180, -90: Image.Transpose.ROTATE_270, 270: Image.Transpose.ROTATE_270}
    method = turn.get(round(rotation or 0))
    return image.transpose(method) if method is not None else image


def _poster_frame(stream: IO[bytes]) -> Image.Image:
    """The first frame of the first video stream that decodes, upright, as an RGB image at most POSTER_SIDE
    on a side. Raises _NoVideo, _NoFrame, _Bomb, or what PyAV raises (`AV_ERRORS`)."""
    # The limit itself is checked on the header's and the frame's size; ffmpeg's max_pixels, which counts
    # the padded buffers a decoder allocates (up to 1.6 times the frame for a small mpeg4 one), is a backstop
    # twice as large against a stream whose frames are larger than its header says.
    limit = settings.YIWANG_MAX_PHOTO_PIXELS
    backstop = {"max_pixels": str(2 * limit)}
    stream.seek(0)  # ffmpeg takes the position it is handed as the start of the file
    # "mp4" forces the mov/mp4 demuxer, which reads a MOV too: the bytes cannot pick another (a playlist that
    # opens URLs, say). The options also bind the decoding that avformat_find_stream_info does while opening.
    with av.open(stream, mode="r", format="mp4", options=backstop) as container:
        video = next(iter(container.streams.video), None)
        if video is None or video.codec_context is None:  # no video, or a codec this ffmpeg cannot decode
            raise _NoVideo()
        codec = video.codec_context
        if _too_many_pixels(codec.width, codec.height):
            raise _Bomb()
        codec.thread_count = 1  # one poster is not worth a thread per core in a web worker
        codec.options = backstop
        frame = None
        for count, packet in enumerate(container.demux(video), start=1):
            if count > POSTER_PACKETS + 1:  # + 1: the empty packet that flushes the decoder at the end
                break
            try:
                frames = packet.decode()
            except av.InvalidDataError:  # a damaged packet: the next may still decode
                continue
            if frames:
                frame = frames[0]
                break
        if frame is None:
            raise _NoFrame()
        if _too_many_pixels(frame.width, frame.height):
            raise _Bomb()
        width, height = frame.width, frame.height
        aspect = video.sample_aspect_ratio
        if aspect and aspect > 0 and aspect != 1:  # anamorphic pixels: shown wider or narrower than stored
            width = max(1, round(width * aspect))
        scale = min(1.0, POSTER_SIDE / max(width, height))
        image = frame.to_image(width=max(1, round(width * scale)), height=max(1, round(height * scale)),
                               interpolation="AREA")
        return _upright(image, frame.rotation)


@contextmanager
def _refusals(upload: Upload) -> Iterator[None]:
    """What goes wrong reading a video with PyAV, as the refusal that says why (never a server error)."""
    try:
        yield
    except _NoVideo:
        raise refuse_no_video(upload) from None
    except _Bomb:
        raise refuse_bomb(upload) from None
    except (_NoFrame, _TooManyPackets, *AV_ERRORS):
        raise refuse_truncated(upload) from None


def _poster(upload: Upload, stream: IO[bytes]) -> bytes:
    """The video's poster as a 320-pixel JPEG, or the refusal that says why it has none."""
    with _refusals(upload):
        image = _poster_frame(stream)
    try:
        return _thumbnail(_rgb(image))
    finally:
        image.close()


# A phone records at most 240 frames a second (slow motion), and an audio track has fewer packets than that
# (AAC at 48 kHz: 47 a second); a stream with more packets than this for its length is not a phone's video.
PACKETS_PER_SECOND = 240
PACKETS_SLACK = 1000

# What the muxer is told: the moov (the index) before the mdat, so a player starts before the whole video has
# arrived; and no clock, version or random value written, so the same upload always gives the same bytes
# (stored files are named by their SHA-256, and a retried upload must find the one stored before).
_MUX_OPTIONS = {"movflags": "+faststart", "fflags": "+bitexact"}


class _TooManyPackets(Exception):
    pass


def temporary_path(suffix: str) -> str:
    directory = settings.FILE_UPLOAD_TEMP_DIR or None
    fd, path = tempfile.mkstemp(prefix="yiwang-remux-", suffix=suffix, dir=directory)
    os.close(fd)
    return path


def _remux(source: IO[bytes], fmt: Format, duration: float, path: str) -> str:
    """The video copied packet by packet (nothing decoded) into a new file of its container (MP4 or MOV): the
    first video stream and the first audio stream, nothing else — no container or stream metadata, no data,
    timed-metadata, timecode or subtitle track. The display matrix is the video stream's codec side data, so a
    video recorded held upright stays upright. Written to `path` (ffmpeg writes the file itself, by its path:
    faststart reopens it to move the moov to the front; "file:" so that no other protocol is ever taken from
    the path). The codecs kept, as `Processed.codecs` names them. Raises _NoVideo, _Bomb, _TooManyPackets, or
    what PyAV raises."""
    limit = settings.YIWANG_MAX_PHOTO_PIXELS
    backstop = {"max_pixels": str(2 * limit)}
    most = math.ceil(duration * PACKETS_PER_SECOND) + PACKETS_SLACK
    source.seek(0)
    with av.open(source, mode="r", format="mp4", options=backstop) as container:
        video = next(iter(container.streams.video), None)
        if video is None or video.codec_context is None:  # as for the poster: a video must decode
            raise _NoVideo()
        if _too_many_pixels(video.codec_context.width, video.codec_context.height):
            raise _Bomb()
        # An audio track this ffmpeg cannot decode is left out rather than the video refused.
        audio = next((s for s in container.streams.audio if s.codec_context is not None), None)
        kept = [video] + ([audio] if audio is not None else [])
        with av.open("file:" + path, mode="w", format=fmt.key.lower(), options=_MUX_OPTIONS) as output:
            copy = output.add_stream_from_template(video)
            # The sample entry's code as the phone wrote it (PyAV clears it for the muxer to choose): an
            # iPhone's HEVC is `hvc1`, the only HEVC Safari plays, where ffmpeg would choose `hev1`.
            copy.codec_tag = video.codec_tag
            copies = {video.index: copy}
            if audio is not None:
                try:
                    copies[audio.index] = output.add_stream_from_template(audio)
                except ValueError:  # a sound this container's muxer cannot hold: the picture is the evidence
                    kept.remove(audio)
            for copy in copies.values():
                copy.metadata.clear()  # the template's is not copied; stated, not assumed
            counts = dict.fromkeys(copies, 0)
            output.metadata.clear()
            for packet in container.demux(kept):
                if packet.dts is None:  # the empty packet that ends each stream
                    continue
                index = packet.stream.index
                counts[index] += 1
                if counts[index] > most:
                    raise _TooManyPackets()
                packet.stream = copies[index]
                output.mux(packet)
    return "+".join(stream.codec_context.name for stream in kept)


def _video(upload: Upload, fmt: Format, size: int) -> Processed:
    with upload.open() as stream:
        try:
            info = mp4_info(upload.content if upload.content is not None else stream)
        except (Mp4Error, struct.error, IndexError):
            raise refuse_truncated(upload) from None
        if info.duration > settings.YIWANG_MAX_VIDEO_SECONDS:
            raise refuse_duration(upload)
        if _too_many_pixels(info.width, info.height):  # the track header's size, before ffmpeg reads a byte
            raise refuse_bomb(upload)
        # A temporary file that no error leaves behind: its name is removed once it is open (or failed).
        path = temporary_path(fmt.extension)
        try:
            with _refusals(upload):
                codecs = _remux(stream, fmt, info.duration, path)
            remuxed = open(path, "rb")  # noqa: SIM115 — closed below, or with the Processed that streams from it
        finally:
            os.unlink(path)
    try:
        # What is kept is the remuxed file: its own boxes, poster and digest.
        try:
            info = mp4_info(remuxed)
        except (Mp4Error, struct.error, IndexError):
            raise refuse_truncated(upload) from None
        thumbnail = _poster(upload, remuxed)
        sha256 = _sha256(remuxed)
        kept_size = _length(remuxed)
        if upload.content is not None:  # bytes in, bytes out: the upload was already held in memory
            remuxed.seek(0)
            kept = {"content": _read(remuxed, kept_size)}
            remuxed.close()
        else:
            kept = {"content": None, "source": Upload(name=upload.name, file=remuxed), "source_size": kept_size}
    except BaseException:
        remuxed.close()
        raise
    processed = Processed(name=upload.name, kind=fmt.kind, content_type=fmt.content_type,
                          extension=fmt.extension, sha256=sha256, width=info.width, height=info.height,
                          duration=round(info.duration, 3), thumbnail=thumbnail, codecs=codecs, **kept)
    if upload.content is None:
        weakref.finalize(processed, remuxed.close)  # the temporary file goes with the Processed
    return processed


# --- a copy every browser plays -----------------------------------------------------------------------------

# What every browser a district's staff and residents use plays in a <video>: H.264 pictures, AAC or MP3 sound
# (or none). An iPhone records HEVC by default, which Chrome, Edge and Firefox play only where the computer's
# graphics chip decodes it — on many office PCs and on Linux, not at all.
EVERYWHERE_VIDEO = {"h264"}
EVERYWHERE_AUDIO = {"", "aac", "mp3"}
PLAYS_EVERYWHERE = sorted(f"{video}+{audio}" if audio else video for video in EVERYWHERE_VIDEO
                          for audio in EVERYWHERE_AUDIO)  # as `Processed.codecs` names them
COPY_SIDE = 1280  # the copy's longer side at most (720p): enough to see what is shown, cheap to make and send
COPY_FPS = 30  # a slow-motion recording (120 or 240 a second) is copied at this rate
COPY_OPTIONS = {"preset": "veryfast", "crf": "26", "profile": "main", "g": "60", "threads": "1"}
COPY_AUDIO_RATE = 48_000
_TURNS = {-90: [("transpose", "clock")], 270: [("transpose", "clock")], 90: [("transpose", "cclock")],
          -270: [("transpose", "cclock")], 180: [("hflip", None), ("vflip", None)],
          -180: [("hflip", None), ("vflip", None)]}


def plays_everywhere(codecs: str) -> bool:
    """Whether a stored video (by its `Processed.codecs`) plays in every browser as it is."""
    video, _, audio = codecs.partition("+")
    return video in EVERYWHERE_VIDEO and audio in EVERYWHERE_AUDIO


def _copy_geometry(source: IO[bytes]) -> tuple[list, int, int]:
    """The filters that turn the first frame upright, and the copy's width and height (even, as H.264 needs,
    at most COPY_SIDE on the longer side)."""
    source.seek(0)
    with av.open(source, mode="r", format="mp4") as container:
        frame = next(container.decode(video=0))
        turns = _TURNS.get(round(frame.rotation or 0), [])
        width, height = frame.width, frame.height
    if turns and turns[0][0] == "transpose":
        width, height = height, width
    scale = min(1.0, COPY_SIDE / max(width, height))
    return turns, max(2, round(width * scale / 2) * 2), max(2, round(height * scale / 2) * 2)


def playable_copy(source: IO[bytes], path: str) -> None:
    """A copy of a stored video that every browser plays, written as an MP4 to `path`: its first video stream
    decoded, turned upright, scaled to at most COPY_SIDE, at most COPY_FPS frames a second, encoded as H.264
    (x264, one thread: this runs in the task worker, beside the web workers), with its first audio stream as
    AAC. Like the stored video, no metadata and the index first. Raises what PyAV raises (`AV_ERRORS`)."""
    backstop = {"max_pixels": str(2 * settings.YIWANG_MAX_PHOTO_PIXELS)}
    turns, width, height = _copy_geometry(source)
    source.seek(0)
    with av.open(source, mode="r", format="mp4", options=backstop) as container:
        video = container.streams.video[0]
        audio = next((s for s in container.streams.audio if s.codec_context is not None), None)
        video.codec_context.thread_count = 1
        fast = video.average_rate is not None and video.average_rate > COPY_FPS
        with av.open("file:" + path, mode="w", format="mp4", options=_MUX_OPTIONS) as output:
            picture = output.add_stream("libx264", rate=COPY_FPS if fast else (video.average_rate or COPY_FPS),
                                        options=COPY_OPTIONS)
            picture.width, picture.height, picture.pix_fmt = width, height, "yuv420p"
            graph = av.filter.Graph()
            nodes = [graph.add_buffer(template=video)]
            nodes += [graph.add(name, argument) for name, argument in turns]
            if fast:
                nodes.append(graph.add("fps", str(COPY_FPS)))
            nodes += [graph.add("scale", f"{width}:{height}"), graph.add("format", "yuv420p"),
                      graph.add("buffersink")]
            graph.link_nodes(*nodes).configure()
            sound = resampler = None
            if audio is not None:
                sound = output.add_stream("aac", rate=COPY_AUDIO_RATE)
                sound.layout, sound.bit_rate = "stereo", 96_000
                resampler = av.AudioResampler(format="fltp", layout="stereo", rate=COPY_AUDIO_RATE,
                                              frame_size=1024)

            def encode_filtered():
                while True:
                    try:
                        frame = graph.vpull()
                    except (av.BlockingIOError, av.EOFError):
                        return
                    if picture.codec_context.time_base is None:
                        picture.codec_context.time_base = frame.time_base
                    frame.pict_type = av.video.frame.PictureType.NONE  # the encoder chooses
                    output.mux(picture.encode(frame))

            for packet in container.demux([video] + ([audio] if audio is not None else [])):
                for frame in packet.decode():
                    if packet.stream is video:
                        graph.vpush(frame)
                        encode_filtered()
                    else:
                        for chunk in resampler.resample(frame):
                            output.mux(sound.encode(chunk))
            graph.vpush(None)
            encode_filtered()
            output.mux(picture.encode())
            if sound is not None:
                for chunk in resampler.resample(None):
                    output.mux(sound.encode(chunk))
                output.mux(sound.encode())


# --- one file -----------------------------------------------------------------------------------------------

def process(upload: Upload) -> Processed:
    """Check one upload and make the bytes to keep. Raises ValidationFailed with a stable code:
    attachment_type, attachment_size, attachment_truncated, attachment_bomb, attachment_duration or
    attachment_no_video."""
    fmt = sniff(upload.head())
    if fmt is None:
        raise refuse_type(upload)
    video = fmt.kind == AttachmentKind.VIDEO
    limit = settings.YIWANG_MAX_VIDEO_BYTES if video else settings.YIWANG_MAX_PHOTO_BYTES
    size = upload.size  # from the file's end: an oversized file is refused without being read
    if size > limit:
        raise refuse_size(upload, limit)
    return _video(upload, fmt, size) if video else _photo(upload, fmt)


def _seekable(f) -> bool:
    try:
        return bool(f.seekable())
    except (AttributeError, ValueError, OSError):
        return False


def uploads_from(files) -> list[Upload]:
    """Uploaded files (Django's, from a form or the API) as Uploads backed by the files themselves, which are
    read in place, never copied whole into memory. A stream that cannot seek is read into memory up to one
    byte past the largest size allowed, so an oversized file is still refused by its size."""
    limit = max(settings.YIWANG_MAX_PHOTO_BYTES, settings.YIWANG_MAX_VIDEO_BYTES) + 1
    return [Upload(name=f.name, file=f) if _seekable(f) else Upload(name=f.name, content=f.read(limit))
            for f in files or []]
