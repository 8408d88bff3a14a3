"""Serving attachments. Stored files are never public by path: `GET /media/cases/<id>/` (and `…/thumb/`)
looks the attachment up through the caller's scope (yiwang.media.selectors) and streams it — with byte ranges,
which phones need to play a video — or, on S3-compatible storage, redirects to a presigned URL that lives
`YIWANG_MEDIA_URL_SECONDS`. The case API lists a case's attachments with these URLs."""

from __future__ import annotations

import re

from django.conf import settings
from django.core.files.storage import default_storage
from django.http import FileResponse, HttpResponse, HttpResponseRedirect, StreamingHttpResponse
from django.urls import reverse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.negotiation import BaseContentNegotiation
from rest_framework.permissions import IsAuthenticated
from rest_framework.views import APIView

from yiwang.cases.choices import AttachmentKind
from yiwang.core.errors import NotFound
from yiwang.media.selectors import attachment_get_for, attachments_for_cases

RANGE_RE = re.compile(r"^bytes=(\d*)-(\d*)$")
CHUNK = 64 * 1024


# --- in the case API ---------------------------------------------------------------------------------------

class AttachmentSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    kind = serializers.ChoiceField(choices=AttachmentKind.choices)
    content_type = serializers.CharField()
    size = serializers.IntegerField(help_text="Bytes of the stored file.")
    width = serializers.IntegerField(allow_null=True)
    height = serializers.IntegerField(allow_null=True)
    duration = serializers.FloatField(allow_null=True, help_text="Seconds, for a video.")
    url = serializers.CharField()
    thumb_url = serializers.CharField(allow_null=True, help_text="A 320-pixel JPEG: a photo's thumbnail or a video's poster frame.")
    play_url = serializers.CharField(allow_null=True, help_text=(
        "A video's H.264 MP4 copy that every browser plays, made shortly after the upload when the video "
        "itself is not one (an iPhone's HEVC); null until then, and for a photo or a video every browser plays."))
    action = serializers.CharField(help_text="The step that brought it: report, feedback, verify, rework, "
                                             "self_handle.")
    created_at = serializers.DateTimeField()


def _url(request, name: str, pk: int) -> str:
    path = reverse(name, args=[pk])
    return request.build_absolute_uri(path) if request is not None else path


def attachments_of(serializer, case) -> list[dict]:
    """A case's attachments for `serializer` (a case serializer, alone or in a list). A list loads the
    attachments of all its cases at once."""
    cache = serializer.context.setdefault("_attachments", {})
    if case.pk not in cache:
        batch = getattr(getattr(serializer, "parent", None), "instance", None) or [case]
        batch = [c for c in batch if c.pk not in cache] or [case]
        request = serializer.context.get("request")
        cache.update(attachments_for_cases(actor=getattr(request, "user", None), cases=batch))
    request = serializer.context.get("request")
    return AttachmentSerializer([{
        "id": a.pk, "kind": a.kind, "content_type": a.content_type, "size": a.size, "width": a.width,
        "height": a.height, "duration": a.duration, "url": _url(request, "media:attachment", a.pk),
        "thumb_url": _url(request, "media:thumbnail", a.pk) if a.thumbnail else None,
        "play_url": _url(request, "media:playable", a.pk) if a.playable else None, "action": a.action,
        "created_at": a.created_at,
    } for a in cache.get(case.pk, [])], many=True).data


# --- the file itself -------------------------------------------------------------------------------------

class _FirstRenderer(BaseContentNegotiation):
    """An <img> or <video> asks for image/* or video/*; errors still answer in the one JSON shape."""

    def select_parser(self, request, parsers):
        return parsers[0]

    def select_renderer(self, request, renderers, format_suffix=None):
        return renderers[0], renderers[0].media_type


def _ranged(request, handle, size: int, content_type: str) -> HttpResponse | None:
    """A 206 for one `Range: bytes=a-b` (what video players send), a 416 for one past the end, else None."""
    match = RANGE_RE.match(request.headers.get("Range", "").strip())
    if not match or not (match[1] or match[2]):
        return None
    if match[1]:
        start = int(match[1])
        end = min(int(match[2]), size - 1) if match[2] else size - 1
    else:  # the last N bytes
        start, end = max(size - int(match[2]), 0), size - 1
    if start >= size or start > end:
        handle.close()
        response = HttpResponse(status=416)
        response["Content-Range"] = f"bytes */{size}"
        return response
    handle.seek(start)

    def chunks(left=end - start + 1):
        while left > 0:
            data = handle.read(min(CHUNK, left))
            if not data:
                break
            left -= len(data)
            yield data

    response = StreamingHttpResponse(chunks(), status=206, content_type=content_type)
    response._resource_closers.append(handle.close)
    response["Content-Range"] = f"bytes {start}-{end}/{size}"
    response["Content-Length"] = str(end - start + 1)
    return response


def serve(request, name: str, content_type: str, etag: str, download_name: str) -> HttpResponse:
    storage = default_storage
    try:
        storage.path(name)
    except NotImplementedError:  # object storage: a short-lived signed URL, the bucket itself stays private
        try:
            url = storage.url(name, expire=settings.YIWANG_MEDIA_URL_SECONDS)
        except TypeError:
            url = storage.url(name)
        return HttpResponseRedirect(url)
    if request.headers.get("If-None-Match") == etag:
        response = HttpResponse(status=304)
    else:
        try:
            handle = storage.open(name, "rb")
            size = storage.size(name)
        except FileNotFoundError:
            raise NotFound() from None
        response = (_ranged(request, handle, size, content_type)
                    or FileResponse(handle, content_type=content_type))
        response["Content-Disposition"] = f'inline; filename="{download_name}"'
    response["ETag"] = etag
    response["Accept-Ranges"] = "bytes"
    # The same URL answers differently to different people: browsers may keep it, shared caches may not.
    response["Cache-Control"] = "private, max-age=86400"
    # Nothing served here runs a script. A video opened on its own is the browser's player document, which
    # must load the video itself (media-src) with the sign-in (its own origin, allow-same-origin: harmless
    # where no script runs); without them it stays an empty player.
    if content_type.startswith("video/"):
        response["Content-Security-Policy"] = "default-src 'none'; media-src 'self'; sandbox allow-same-origin"
    else:
        response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    return response


class _AttachmentView(APIView):
    permission_classes = [IsAuthenticated]
    content_negotiation_class = _FirstRenderer
    thumbnail = False
    playable = False

    @extend_schema(responses={(200, "application/octet-stream"): OpenApiTypes.BINARY,
                              (206, "application/octet-stream"): OpenApiTypes.BINARY,
                              302: OpenApiResponse(description="Redirect to a short-lived URL (S3 storage)."),
                              404: OpenApiResponse(description="No such attachment, or not yours to see.")})
    def get(self, request, pk: int):
        attachment = attachment_get_for(actor=request.user, pk=pk)
        if self.thumbnail:
            if not attachment.thumbnail:
                raise NotFound()
            return serve(request, attachment.thumbnail.name, "image/jpeg", f'"{attachment.sha256}-thumb"',
                         f"{attachment.pk}-thumb.jpg")
        if self.playable:
            if not attachment.playable:
                raise NotFound()
            return serve(request, attachment.playable.name, "video/mp4", f'"{attachment.sha256}-play"',
                         f"{attachment.pk}-play.mp4")
        return serve(request, attachment.file.name, attachment.content_type, f'"{attachment.sha256}"',
                     f"{attachment.pk}{attachment.extension}")


class AttachmentView(_AttachmentView):
    """The stored photo (a re-encoded JPEG without metadata) or video of an attachment."""


class ThumbnailView(_AttachmentView):
    """A photo's 320-pixel JPEG thumbnail, or a video's poster frame."""

    thumbnail = True


class PlayableView(_AttachmentView):
    """A video's H.264 copy that every browser plays (404 until it is made, and for a video that needs none)."""

    playable = True
