"""Files as phones and attackers send them, made in the test: photos with Pillow (HEIC with pillow-heif),
real MP4 and MOV videos with PyAV, MP4 box structures (without any frame) box by box, a decompression bomb by hand."""

from __future__ import annotations

import io
import struct
import zlib

from PIL import ExifTags, Image, ImageCms

# A private marker that must not survive into a stored file (stands for the phone model, owner name …).
SECRET = "SecretPhone-3000 of Zhang San"


def exif(*, lat: float | None = None, lon: float | None = None, orientation: int | None = None) -> Image.Exif:
    data = Image.Exif()
    data[ExifTags.Base.Make] = SECRET
    data[ExifTags.Base.Artist] = SECRET
    if orientation:
        data[ExifTags.Base.Orientation] = orientation
    if lat is not None and lon is not None:
        def dms(value):
            value = abs(value)
            degrees = int(value)
            minutes = int((value - degrees) * 60)
            return (float(degrees), float(minutes), round((value - degrees - minutes / 60) * 3600, 4))
        data[ExifTags.IFD.GPSInfo] = {
            ExifTags.GPS.GPSLatitudeRef: "N" if lat >= 0 else "S", ExifTags.GPS.GPSLatitude: dms(lat),
            ExifTags.GPS.GPSLongitudeRef: "E" if lon >= 0 else "W", ExifTags.GPS.GPSLongitude: dms(lon),
        }
    return data


def picture(size=(400, 300), mode="RGB") -> Image.Image:
    """Left half red, right half blue: orientation is visible in the pixels."""
    image = Image.new(mode, size, (0, 0, 255) if mode == "RGB" else (0, 0, 255, 255))
    image.paste((255, 0, 0) if mode == "RGB" else (255, 0, 0, 255), (0, 0, size[0] // 2, size[1]))
    return image


XMP = (b'<x:xmpmeta xmlns:x="adobe:ns:meta/">'
       b'<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
       b'<rdf:Description xmlns:dc="http://purl.org/dc/elements/1.1/" dc:creator="' + SECRET.encode()
       + b'"/></rdf:RDF></x:xmpmeta>')


def icc_profile() -> bytes:
    profile = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB"))
    return profile.tobytes()


def save(image: Image.Image, fmt: str, **options) -> bytes:
    out = io.BytesIO()
    image.save(out, fmt, **options)
    return out.getvalue()


def jpeg(size=(400, 300), *, lat=None, lon=None, orientation=None, metadata=True, quality=90) -> bytes:
    options = {"quality": quality}
    if metadata:
        options.update(exif=exif(lat=lat, lon=lon, orientation=orientation), icc_profile=icc_profile(),
                       xmp=XMP)
    return save(picture(size), "JPEG", **options)


def noisy_jpeg(size=(600, 400)) -> bytes:
    """Random pixels: a JPEG whose scan data is most of the file, so cutting it truncates the pixels."""
    import random

    rng = random.Random(7)
    image = Image.frombytes("RGB", size, bytes(rng.getrandbits(8) for _ in range(size[0] * size[1] * 3)))
    return save(image, "JPEG", quality=90)


def png(size=(400, 300), *, lat=None, lon=None, alpha=False) -> bytes:
    image = picture(size, "RGBA" if alpha else "RGB")
    if alpha:
        image.putpixel((0, 0), (0, 0, 0, 0))
    return save(image, "PNG", exif=exif(lat=lat, lon=lon))


def webp(size=(400, 300), *, lat=None, lon=None) -> bytes:
    return save(picture(size), "WEBP", quality=90, exif=exif(lat=lat, lon=lon))


def heic(size=(400, 300), *, lat=None, lon=None) -> bytes:
    import pillow_heif

    pillow_heif.register_heif_opener()
    return save(picture(size), "HEIF", quality=80, exif=exif(lat=lat, lon=lon).tobytes())


def gif(size=(40, 30)) -> bytes:
    return save(picture(size), "GIF")


def png_bomb(side=20000) -> bytes:
    """A valid black-and-white PNG of side × side pixels, all black: about 50 KB that would decode to
    `side`² pixels (400 million for 20000 — gigabytes once converted for re-encoding)."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    compressor = zlib.compressobj(9)
    row = b"\x00" * (1 + (side + 7) // 8)  # filter byte + one bit per pixel
    body = b"".join(compressor.compress(row) for _ in range(side)) + compressor.flush()
    header = struct.pack(">IIBBBBB", side, side, 1, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", body) + chunk(b"IEND", b"")


# --- MP4, box by box ----------------------------------------------------------------------------------------

def box(kind: bytes, payload: bytes) -> bytes:
    return struct.pack(">I", 8 + len(payload)) + kind + payload


def mvhd(*, seconds: float, timescale: int = 1000, version: int = 0) -> bytes:
    duration = int(seconds * timescale)
    if version == 1:
        times = struct.pack(">QQIQ", 0, 0, timescale, duration)
    else:
        times = struct.pack(">IIII", 0, 0, timescale, duration)
    rest = struct.pack(">IH10x36s24xI", 0x00010000, 0x0100, b"\x00" * 36, 2)  # rate, volume, matrix, next id
    return box(b"mvhd", bytes([version, 0, 0, 0]) + times + rest)


def tkhd(width: int, height: int) -> bytes:
    payload = bytes([0, 0, 0, 3]) + struct.pack(">IIII", 0, 0, 1, 0) + struct.pack(">I", 0) + b"\x00" * 8 \
        + struct.pack(">hhhH", 0, 0, 0, 0) + b"\x00" * 36 + struct.pack(">II", width << 16, height << 16)
    return box(b"tkhd", payload)


def mp4(*, seconds: float = 5.0, brand: bytes = b"isom", version: int = 0, mdat: bytes = b"\x00" * 64,
        width: int = 640, height: int = 360) -> bytes:
    ftyp = box(b"ftyp", brand + struct.pack(">I", 0x200) + b"isomiso2avc1mp41")
    moov = box(b"moov", mvhd(seconds=seconds, version=version) + box(b"trak", tkhd(width, height)))
    return ftyp + moov + box(b"mdat", mdat)


# --- MP4 and MOV, encoded -----------------------------------------------------------------------------------

# What a phone writes about where, when and with what a video was recorded (as an iPhone's `meta` keys and the
# older udta atoms); none of it may survive into a stored file.
PLACE = "+40.0123+120.0456/"
PHONE_METADATA = {
    "location": PLACE, "com.apple.quicktime.location.ISO6709": "+40.0123+120.0456+050.000/",
    "creation_time": "2024-05-01T10:00:00Z", "com.apple.quicktime.creationdate": "2024-05-01T18:00:00+0800",
    "make": "Apple", "model": SECRET, "com.apple.quicktime.software": "17.4.1",
}


def video(*, seconds: float = 3, size=(320, 240), fps: float = 1, codec: str = "mpeg4", rotation: int | None = None,
          audio: bool = False, frames: bool = True, container: str = "mp4", metadata: bool = False,
          timecode: bool = False) -> bytes:
    """A real MP4 encoded by PyAV in memory: `seconds` of `picture(size)` (left red, right blue) at `fps`
    frames a second, with an AAC track if `audio`; with `frames=False`, the audio track alone. `rotation` is
    written into the track's display matrix, counter-clockwise as PyAV takes it (a phone held upright: -90).
    mpeg4, because the wheel's encoders vary and it is always there; the decoders are the same.
    `container="mov"` writes a QuickTime MOV as an iPhone does: ftyp brand `qt  `, then wide, mdat, moov.
    `metadata` writes PHONE_METADATA into the container (as `meta` keys, like an iPhone) and a recording time
    and a handler name into each track; `timecode` adds a timecode track (`tmcd`, a data track)."""
    from fractions import Fraction

    import av

    out = io.BytesIO()
    rate = Fraction(fps).limit_denominator(1000)
    options = {"movflags": "use_metadata_tags"} if metadata else {}
    if timecode:
        options["write_tmcd"] = "on"
    with av.open(out, "w", format=container, options=options) as muxer:
        if metadata:
            muxer.metadata.update(PHONE_METADATA)
        stream = sound = None
        if frames:
            stream = muxer.add_stream(codec, rate=rate)
            stream.width, stream.height, stream.pix_fmt = size[0], size[1], "yuv420p"
            if codec == "hevc":
                stream.codec_tag = "hvc1"  # as an iPhone writes it (the only HEVC that Safari plays)
            if rotation is not None:
                stream.set_display_rotation(rotation)
            if timecode:
                stream.metadata["timecode"] = "10:00:00:00"
        if audio or not frames:
            sound = muxer.add_stream("aac", rate=8000)
            sound.layout = "mono"
        if metadata:
            for track in (stream, sound):
                if track:
                    track.metadata.update(creation_time="2024-05-01T10:00:00Z", handler_name=SECRET)
        if stream:
            frame = av.VideoFrame.from_image(picture(size))
            for i in range(round(seconds * fps)):
                frame.pts = i
                muxer.mux(stream.encode(frame))
            muxer.mux(stream.encode())
        if sound:
            samples = av.AudioFrame(format="fltp", layout="mono", samples=1024)
            for plane in samples.planes:
                plane.update(bytes(plane.buffer_size))
            samples.sample_rate = 8000
            for i in range(max(1, round(seconds * 8000 / 1024))):
                samples.pts = i * 1024
                muxer.mux(sound.encode(samples))
            muxer.mux(sound.encode())
    return out.getvalue()


def top_boxes(data: bytes) -> list[tuple[bytes, int, int]]:
    """(type, start, end) of each top-level box of an MP4 (32-bit sizes, as PyAV writes them)."""
    found, pos = [], 0
    while pos < len(data):
        size, kind = struct.unpack_from(">I4s", data, pos)
        found.append((kind, pos, pos + size))
        pos += size
    return found


def padded(clip: bytes, extra: bytes) -> bytes:
    """The video with `extra` bytes at the end of its mdat: still the same video (the sample offsets point
    before them), only larger — a phone's long recording without encoding one."""
    (start, end), = [(s, e) for kind, s, e in top_boxes(clip) if kind == b"mdat"]
    return clip[:start] + struct.pack(">I", end - start + len(extra)) + clip[start + 4:end] + extra + clip[end:]


def tracks(data: bytes) -> list[tuple]:
    """What a video is made of, stream by stream: (type, codec, width, height, number of packets, SHA-256 of
    the packets' bytes in order). Two files with the same tracks hold the same pictures and sound."""
    import hashlib

    import av

    with av.open(io.BytesIO(data), format="mp4") as source:
        found = []
        for stream in source.streams:
            digest, count = hashlib.sha256(), 0
            for packet in source.demux(stream):
                if packet.dts is not None:
                    digest.update(bytes(packet))
                    count += 1
            source.seek(0)
            codec = stream.codec_context.name if stream.codec_context else None
            width = getattr(stream.codec_context, "width", None) if stream.type == "video" else None
            height = getattr(stream.codec_context, "height", None) if stream.type == "video" else None
            found.append((stream.type, codec, width, height, count, digest.hexdigest()))
    return found


def described(data: bytes) -> dict:
    """What ffmpeg reads about a video: its duration, its container's metadata, each stream's metadata, and
    the rotation of its first frame."""
    import av

    with av.open(io.BytesIO(data), format="mp4") as source:
        first = next(source.decode(video=0), None) if source.streams.video else None
        return {"duration": source.duration, "metadata": dict(source.metadata),
                "streams": [dict(stream.metadata) for stream in source.streams],
                "rotation": first.rotation if first is not None else None}


def header_times(data: bytes) -> set[int]:
    """The creation and modification times of every mvhd, tkhd and mdhd box (version 0, as ffmpeg writes
    them for times before 2040)."""
    times = set()
    for kind in (b"mvhd", b"tkhd", b"mdhd"):
        pos = data.find(kind)
        while pos >= 0:
            if data[pos + 4] == 0:
                times.update(struct.unpack_from(">II", data, pos + 8))
            pos = data.find(kind, pos + 4)
    return times
