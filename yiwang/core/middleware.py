import uuid

from django.middleware.gzip import GZipMiddleware

from yiwang.core import context


class RequestIdMiddleware:
    """Tags each request with an id (taken from X-Request-ID if a proxy set one) for the journal and logs."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        incoming = request.headers.get("X-Request-ID", "")
        request_id = incoming[:64] if incoming and incoming.isprintable() else uuid.uuid4().hex
        request.request_id = request_id
        token = context.request_id.set(request_id)
        try:
            response = self.get_response(request)
        finally:
            context.request_id.reset(token)
        response["X-Request-ID"] = request_id
        return response


class TextGZipMiddleware(GZipMiddleware):
    """Django's GZipMiddleware for text only: pages, htmx fragments, JSON, CSV. Photos and video are compressed
    already, and a ranged answer (206, what video players ask for) must keep its bytes as they are on disk."""

    TEXT_TYPES = ("text/", "application/json", "application/javascript", "application/xml",
                  "application/geo+json", "application/problem+json", "image/svg+xml")

    def process_response(self, request, response):
        content_type = response.get("Content-Type", "").lower()
        if response.status_code == 206 or response.has_header("Content-Range") or not content_type.startswith(
                self.TEXT_TYPES):
            return response
        return super().process_response(request, response)
