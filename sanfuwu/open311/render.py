"""GeoReport v2 answers in JSON or XML, shaped as the specification's examples."""

from __future__ import annotations

import json
from typing import Any
from xml.etree import ElementTree as ET

from django.http import HttpResponse

CONTENT_TYPES = {"json": "application/json; charset=utf-8", "xml": "text/xml; charset=utf-8"}


def _xml_value(parent: ET.Element, key: str, value: Any, item_name: str) -> None:
    el = ET.SubElement(parent, key)
    if isinstance(value, list):
        for v in value:
            if isinstance(v, dict):
                _xml_dict(ET.SubElement(el, item_name), v)
            else:
                ET.SubElement(el, item_name).text = _text(v)
    elif isinstance(value, dict):
        _xml_dict(el, value)
    else:
        el.text = _text(value)


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


# the element name of the items of each list field (spec examples)
ITEM_NAMES = {
    "attributes": "attribute",
    "values": "value",
    "endpoints": "endpoint",
    "formats": "format",
}


def _xml_dict(el: ET.Element, data: dict[str, Any]) -> None:
    for key, value in data.items():
        _xml_value(el, key, value, ITEM_NAMES.get(key, "item"))


def render(
    fmt: str, data: Any, *, root: str, item: str | None = None, status: int = 200
) -> HttpResponse:
    """`data` is a list (each item an `item` element under `root`) or a dict (`root` itself)."""
    if fmt == "json":
        body = json.dumps(data, ensure_ascii=False)
    else:
        top = ET.Element(root)
        if isinstance(data, list):
            for entry in data:
                _xml_dict(ET.SubElement(top, item or "item"), entry)
        else:
            _xml_dict(top, data)
        body = '<?xml version="1.0" encoding="utf-8"?>' + ET.tostring(top, encoding="unicode")
    return HttpResponse(body, status=status, content_type=CONTENT_TYPES[fmt])


def errors(fmt: str, status: int, description: str) -> HttpResponse:
    return render(
        fmt,
        [{"code": status, "description": description}],
        root="errors",
        item="error",
        status=status,
    )
