"""The OpenAPI document and its docs page work offline."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.django_db


def test_openapi_document_lists_every_transition_endpoint(client):
    r = client.get("/api/openapi.json")
    assert r.status_code == 200
    paths = r.json()["paths"]
    for action in (
        "dispatch",
        "sign",
        "return",
        "redispatch",
        "extension",
        "escalation",
        "reply",
        "revisit",
        "rating",
        "reconcile",
        "withdraw",
    ):
        assert f"/api/demands/{{demand_id}}/{action}" in paths, action
    assert "/api/demands" in paths and "/api/public/rate/{token}" in paths
    schemes = r.json()["components"]["securitySchemes"]
    assert {s["type"] for s in schemes.values()} >= {"http", "apiKey"}


def test_docs_page_loads_its_assets_locally(client):
    r = client.get("/api/docs")
    assert r.status_code == 200
    html = r.content.decode()
    assert "/static/ninja/swagger-ui-bundle.js" in html
    assert "cdn" not in html.lower() and "https://" not in html
    assert client.get("/static/ninja/swagger-ui-bundle.js").status_code == 200
