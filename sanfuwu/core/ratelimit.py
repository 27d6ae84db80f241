"""Fixed-window request limits on Django's cache, for any page or endpoint.

``hit(scope, key, limit, window)`` counts one request of `key` (an IP, a token, …) in the
named `scope` and returns the seconds to wait when the limit is exceeded. ``rate_limit``
wraps a view with it and answers a friendly Chinese 429 page with ``Retry-After``.

Counters live in Django's cache: per process with the default local-memory cache, shared by
all workers when a deployment configures a shared cache (database or Redis). A deployment
may change any scope's numbers with ``settings.SANFUWU_RATE_LIMITS = {"scope": (limit,
window_seconds)}``.

The client IP is ``REMOTE_ADDR``. Behind a reverse proxy every request comes from the proxy,
so the deployment names the header its proxy sets with ``SANFUWU_TRUSTED_PROXY_HEADER``
(e.g. ``HTTP_X_REAL_IP`` or ``HTTP_X_FORWARDED_FOR``; for the latter the last address, the
one the trusted proxy appended, is used). Never set it when clients reach Django directly:
they could then choose their own IP.
"""

from __future__ import annotations

import functools
import hashlib
import math
import time
from collections.abc import Callable, Iterable
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest, HttpResponse
from django.template import engines
from django.utils.functional import Promise
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

KeyFunc = Callable[..., str | None]

# The texts are translated in Python (makemessages does not read template tags in a .py file).
NOTICE_429 = """<section class="card narrow rate-limited" role="alert">
  <h1>{{ heading }}</h1>
  <p>{{ message }}</p>
  <p>{{ retry }}</p>
  <p class="hint">{{ urgent }}</p>
</section>"""
# the full page; an htmx request gets the notice alone, swapped in where its form was
PAGE_429 = (
    '{% extends "web/base.html" %}{% block title %}{{ heading }}{% endblock %}'
    "{% block content %}" + NOTICE_429 + "{% endblock %}"
)


def limit_for(scope: str, limit: int, window: int) -> tuple[int, int]:
    """The (limit, window) of `scope`: the settings' override, else the given default."""
    override = getattr(settings, "SANFUWU_RATE_LIMITS", {}).get(scope)
    if override is None:
        return limit, window
    lim, win = override
    return int(lim), int(win)


def hit(scope: str, key: str, limit: int, window: int) -> int | None:
    """Count one request of `key` in `scope`; return the seconds to wait when over the limit.

    The limit and window given are defaults that ``settings.SANFUWU_RATE_LIMITS`` overrides.
    """
    limit, window = limit_for(scope, limit, window)
    now = int(time.time())
    slot = now // window
    # hashed: any key (an IPv6 address, a long token) makes a short, safe cache key
    digest = hashlib.sha256(key.encode()).hexdigest()[:24]
    cache_key = f"rl:{scope}:{digest}:{window}:{slot}"
    cache.add(cache_key, 0, timeout=window + 5)
    try:
        count = cache.incr(cache_key)
    except ValueError:  # evicted between add and incr
        cache.set(cache_key, 1, timeout=window + 5)
        count = 1
    return max((slot + 1) * window - now, 1) if count > limit else None


def client_ip(request: HttpRequest) -> str:
    """The client's address: REMOTE_ADDR, or the trusted proxy's header when configured."""
    header = getattr(settings, "SANFUWU_TRUSTED_PROXY_HEADER", "")
    if header:
        value = request.META.get(header, "")
        if value:
            # X-Forwarded-For: client, proxy1, …; the trusted proxy appended the last one
            return value.split(",")[-1].strip()
    return request.META.get("REMOTE_ADDR") or "unknown"


def too_many_requests(request: HttpRequest, wait: int, message: str | Promise = "") -> HttpResponse:
    """The friendly 429 page, with Retry-After."""
    htmx = request.headers.get("HX-Request") == "true"
    template = engines["django"].from_string(NOTICE_429 if htmx else PAGE_429)
    minutes = max(1, math.ceil(wait / 60))
    html = template.render(
        {
            "heading": _("操作过于频繁"),
            "message": message or _("您的请求过于频繁，为防止滥用已暂时限制。"),
            "retry": ngettext("请 %(n)d 分钟后再试。", "请 %(n)d 分钟后再试。", minutes)
            % {"n": minutes},
            "urgent": _("如情况紧急，请拨打 12345 政务服务热线。"),
        },
        request,
    )
    response = HttpResponse(html, status=429)
    response["Retry-After"] = str(wait)
    return response


def by_ip(request: HttpRequest, *args: Any, **kwargs: Any) -> str:
    return client_ip(request)


def rate_limit(
    scope: str,
    *,
    limit: int,
    window: int,
    key: KeyFunc = by_ip,
    methods: Iterable[str] = ("POST",),
    message: str | Promise = "",
):
    """Decorate a view: requests with one of `methods` count against `scope` per `key`.

    `key(request, *args, **kwargs)` returns the counted key (default: the client IP); None
    does not count the request (e.g. a GET without a query).
    """
    wanted = {m.upper() for m in methods}

    def decorate(view):
        @functools.wraps(view)
        def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            if request.method in wanted:
                counted = key(request, *args, **kwargs)
                if counted is not None:
                    wait = hit(scope, counted, limit, window)
                    if wait is not None:
                        return too_many_requests(request, wait, message)
            return view(request, *args, **kwargs)

        return wrapper

    return decorate
