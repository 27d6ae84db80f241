"""The JSON API (django-ninja). OpenAPI document at /api/openapi.json, docs at /api/docs."""

from __future__ import annotations

import re

from django.http import Http404
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, HttpError, ValidationError

from sanfuwu.core.errors import DomainError
from sanfuwu.demands.workflow import TransitionError
from sanfuwu.open311.api import router as open311_router

from .auth import AUTH
from .demands import public_router
from .demands import router as demands_router
from .insights import router as insights_router
from .reference import router as reference_router
from .similar import router as similar_router

api = NinjaAPI(
    title="sanfuwu 三服务 API",
    version="1",
    description="诉求闭环（可报、可办、可查、可督、可评）的开放接口。错误统一为 {code, message, field}。",
    auth=AUTH,
    urls_namespace="api",
)


def _error(request, status: int, code: str, message: str, field: str | None = None, **extra):
    body = {"code": code, "message": message, "field": field, **extra}
    return api.create_response(request, body, status=status)


@api.exception_handler(DomainError)
def on_domain_error(request, exc: DomainError):
    return _error(request, exc.status, exc.code, exc.message, exc.field)


@api.exception_handler(TransitionError)
def on_transition_error(request, exc: TransitionError):
    return _error(request, exc.status, exc.code, exc.message, exc.field)


LOCATIONS = {"body", "query", "path", "header", "cookie", "form", "file"}
WRAPPERS = {"payload", "q"}


# pydantic names the member of a union it tried ("lead_unit.int", "category.str",
# "x.function-after[...]"): that is a type, not a field of the request body.
TYPE_TAG = re.compile(r"^(int|str|float|bool|decimal|date|datetime|none|list|dict|[\w-]+\[.*\])$")


def _field_of(loc) -> str | None:
    parts = [str(p) for p in loc]
    if parts and parts[0] in LOCATIONS:
        parts = parts[1:]
    if parts and parts[0] in WRAPPERS:
        parts = parts[1:]
    while parts and TYPE_TAG.match(parts[-1]):
        parts = parts[:-1]
    return ".".join(parts) or None


@api.exception_handler(ValidationError)
def on_validation_error(request, exc: ValidationError):
    errors = [
        {
            "type": e.get("type"),
            "loc": [str(p) for p in e.get("loc", [])],
            "msg": str(e.get("msg", "")),
            "field": _field_of(e.get("loc", [])),
        }
        for e in exc.errors
    ]
    first = errors[0] if errors else {}
    field = first.get("field")
    if first.get("type") == "missing" and not field:
        message = "请求体为空：需要一个 JSON 对象"
    elif first.get("type") == "missing":
        missing = "、".join(e["field"] for e in errors if e.get("type") == "missing" and e["field"])
        message = f"缺少必填字段：{missing}"
    else:
        message = f"{field or '请求'}：{first.get('msg', '格式错误')}"
    return _error(request, 422, "invalid", message, field, errors=errors)


@api.exception_handler(AuthenticationError)
def on_auth_error(request, exc):
    return _error(request, 401, "unauthorized", "需要登录或有效的接口令牌")


@api.exception_handler(Http404)
def on_not_found(request, exc):
    return _error(request, 404, "not_found", "资源不存在")


@api.exception_handler(HttpError)
def on_http_error(request, exc: HttpError):
    code = {400: "bad_request", 403: "forbidden", 404: "not_found", 405: "method_not_allowed"}
    message = str(exc)
    if exc.status_code == 400 and message.startswith("Cannot parse request body"):
        # ninja's own words for JSON that does not parse: say it in the API's language
        message = "请求体不是有效的 JSON"
    return _error(request, exc.status_code, code.get(exc.status_code, "error"), message)


api.add_router("/", reference_router)
api.add_router("/demands", demands_router)
api.add_router("/demands", similar_router)
api.add_router("/public", public_router)
api.add_router("/suggestions", insights_router)
api.add_router("/open311", open311_router)
