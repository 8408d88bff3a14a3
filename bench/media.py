#!/usr/bin/env python
"""Benchmark: what a phone's video costs — on upload, and for its copy that every browser plays.

Run from the repository root:  python bench/media.py        (make bench runs it)

The video is made once with PyAV (its fixed content: the left half red, the right half blue, a green block
moving, and grain over it all, so that it has a phone's bit rate): an iPhone's default recording, HEVC 1920×1080 at 30 frames a second, held upright (display matrix
-90), at 8 Mbit/s, with AAC sound, in a MOV, with a phone's metadata; BENCH_VIDEO_SECONDS long (default 5).

Printed, medians of RUNS runs in this process:
  - upload: `yiwang.media.processing.process` from a file (sniff, box walk, remux without metadata, poster,
    SHA-256) — what the request that brings the video pays;
  - copy: `playable_copy` (decode, upright, 720p, H.264 with x264 on one thread, AAC) — what the task worker
    pays afterwards, once per video; and its ratio to the video's length;
  - the sizes of the video and of its copy.
"""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
os.environ.setdefault("SECRET_KEY", "bench-media")
os.environ.setdefault("YIWANG_VAR_DIR", tempfile.mkdtemp(prefix="yiwang-bench-media-"))

import django  # noqa: E402

django.setup()

import av  # noqa: E402
import numpy as np  # noqa: E402

from yiwang.media.processing import Upload, playable_copy, process  # noqa: E402

SECONDS = int(os.environ.get("BENCH_VIDEO_SECONDS", "5"))
RUNS = int(os.environ.get("BENCH_RUNS", "3"))
SIZE = (1920, 1080)
FPS = 30
SEED = 20261208


def iphone_video(path: str) -> None:
    with av.open(path, "w", format="mov", options={"movflags": "use_metadata_tags"}) as out:
        out.metadata.update({"com.apple.quicktime.make": "Apple", "com.apple.quicktime.model": "iPhone 15",
                             "com.apple.quicktime.location.ISO6709": "+41.1200+122.0700+003.000/"})
        picture = out.add_stream("libx265", rate=FPS, options={"preset": "ultrafast",
                                                               "x265-params": "log-level=error:bitrate=8000"})
        picture.width, picture.height, picture.pix_fmt, picture.codec_tag = *SIZE, "yuv420p", "hvc1"
        picture.set_display_rotation(-90)
        sound = out.add_stream("aac", rate=44100)
        sound.layout = "stereo"
        base = np.zeros((SIZE[1], SIZE[0], 3), np.uint8)
        base[:, : SIZE[0] // 2, 0] = 200
        base[:, SIZE[0] // 2:, 2] = 200
        rng = np.random.default_rng(SEED)
        for i in range(SECONDS * FPS):
            # grain over the whole picture, as a phone's sensor gives, so the video has a phone's bit rate
            image = base + rng.integers(0, 48, size=base.shape, dtype=np.uint8)
            x = (i * 12) % (SIZE[0] - 200)
            image[300:500, x:x + 200, 1] = 255
            frame = av.VideoFrame.from_ndarray(image, format="rgb24")
            frame.pts = i
            out.mux(picture.encode(frame))
        out.mux(picture.encode())
        samples = av.AudioFrame(format="fltp", layout="stereo", samples=1024)
        for plane in samples.planes:
            plane.update(bytes(plane.buffer_size))
        samples.sample_rate = 44100
        for i in range(SECONDS * 44100 // 1024):
            samples.pts = i * 1024
            out.mux(sound.encode(samples))
        out.mux(sound.encode())


def main() -> None:
    folder = Path(tempfile.mkdtemp(prefix="yiwang-bench-media-"))
    source = str(folder / "IMG_0042.MOV")
    started = time.perf_counter()
    iphone_video(source)
    print(f"video: HEVC {SIZE[0]}x{SIZE[1]} {FPS} fps, upright, AAC, {SECONDS} s, "
          f"{os.path.getsize(source) / 1e6:.1f} MB (made in {time.perf_counter() - started:.0f} s)")

    upload_times = []
    for _ in range(RUNS):
        with open(source, "rb") as f:
            started = time.perf_counter()
            kept = process(Upload(name="IMG_0042.MOV", file=f))
            upload_times.append(time.perf_counter() - started)
    print(f"upload (check, remux, poster, digest): median {statistics.median(upload_times):.2f} s "
          f"of {RUNS}; kept {kept.size / 1e6:.1f} MB, codecs {kept.codecs}")

    copy_times, copy = [], str(folder / "copy.mp4")
    for _ in range(RUNS):
        with open(source, "rb") as f:
            started = time.perf_counter()
            playable_copy(f, copy)
            copy_times.append(time.perf_counter() - started)
    median = statistics.median(copy_times)
    with av.open(copy) as c:
        video = c.streams.video[0]
        described = f"{video.codec_context.name} {video.codec_context.width}x{video.codec_context.height}"
    print(f"copy every browser plays ({described}): median {median:.1f} s of {RUNS} "
          f"= {median / SECONDS:.2f} s per second of video; {os.path.getsize(copy) / 1e6:.1f} MB")
    for name in os.listdir(folder):
        os.unlink(folder / name)
    folder.rmdir()


if __name__ == "__main__":
    main()
