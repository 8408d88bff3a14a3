"""The two formats of GeoReport v2, chosen by the resource's suffix. JSON mirrors the XML by the spec's "Spark
convention": a list root (services, service_requests, errors) is a bare array, even of zero or one item; a
single document (service_definition, discovery) is an object. XML is built with ElementTree (text is escaped by
it), starts with the declaration, has no namespace, and uses the spec's element names for list items."""

from __future__ import annotations

import datetime as dt
import json
import re
import xml.etree.ElementTree as ET

from django.http import HttpResponse
from django.utils import timezone

FORMATS = {"json": "application/json; charset=utf-8", "xml": "text/xml; charset=utf-8"}
# A list's element name → the name of each item in it.
ITEMS = {"services": "service", "service_requests": "request", "errors": "error", "attributes": "attribute",
         "values": "value", "endpoints": "endpoint", "formats": "format"}
# Characters XML 1.0 cannot carry at all (control characters other than tab, newline and carriage return).
_NOT_XML = re.compile("[^\u0009\u000a\u000d\u0020-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def w3c(moment: dt.datetime | None) -> str | None:
    """ISO 8601 (the W3C profile) in local time with its offset, e.g. 2026-11-23T09:00:00+08:00."""
    return None if moment is None else timezone.localtime(moment).isoformat(timespec="seconds")


def _text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return _NOT_XML.sub("", str(value))


def _fill(element: ET.Element, value) -> None:
    if isinstance(value, dict):
        for key, item in value.items():
            _fill(ET.SubElement(element, key), item)
    elif isinstance(value, list):
        name = ITEMS[element.tag]
        for item in value:
            _fill(ET.SubElement(element, name), item)
    else:
        element.text = _text(value)


def to_xml(root: str, data) -> bytes:
    element = ET.Element(root)
    _fill(element, data)
    return b'<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(element, encoding="unicode").encode()


def to_json(data) -> bytes:
    return json.dumps(data, ensure_ascii=False).encode()


def render(fmt: str, root: str, data, *, status: int = 200, headers: dict | None = None) -> HttpResponse:
    body = to_xml(root, data) if fmt == "xml" else to_json(data)
    response = HttpResponse(body, status=status, content_type=FORMATS[fmt])
    for name, value in (headers or {}).items():
        response[name] = value
    return response


def errors(fmt: str, status: int, descriptions: list[str], *, headers: dict | None = None) -> HttpResponse:
    """The spec's error document: a list of {code, description}; the code is the HTTP status."""
    return render(fmt, "errors", [{"code": status, "description": str(text)} for text in descriptions],
                  status=status, headers=headers)
