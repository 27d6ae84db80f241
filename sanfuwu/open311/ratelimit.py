"""Fixed-window request limits per client key and per IP (the spec predates rate limits).

Counters live in Django's cache: per process with the default local-memory cache, shared
by all workers when a deployment configures a shared cache (database or Redis).
"""

from __future__ import annotations

import functools
import time

from django.conf import settings
from django.core.cache import cache

from sanfuwu.core.ratelimit import client_ip
from sanfuwu.orgs.models import hash_token

from .render import errors

DEFAULTS = {"window": 60, "per_ip": 300, "per_key": 600}


def limits() -> dict[str, int]:
    return {**DEFAULTS, **getattr(settings, "OPEN311_RATE_LIMITS", {})}


def _hit(name: str, limit: int, window: int) -> int | None:
    """Count one request; return the seconds to wait when over the limit."""
    now = int(time.time())
    slot = now // window
    key = f"open311:rl:{name}:{slot}"
    cache.add(key, 0, timeout=window + 5)
    try:
        count = cache.incr(key)
    except ValueError:  # evicted between add and incr
        cache.set(key, 1, timeout=window + 5)
        count = 1
    return (slot + 1) * window - now if count > limit else None


def rate_limited(view):
    @functools.wraps(view)
    def wrapper(request, fmt: str, *args, **kwargs):
        conf = limits()
        # behind a proxy, the address the deployment's trusted header names
        wait = _hit(f"ip:{client_ip(request)}", conf["per_ip"], conf["window"])
        raw = (
            request.POST.get("api_key") or request.GET.get("api_key")
            if request.method == "POST"
            else None
        )
        if wait is None and raw:
            wait = _hit(f"key:{hash_token(raw)[:16]}", conf["per_key"], conf["window"])
        if wait is not None:
            response = errors(fmt, 429, f"too many requests: retry after {wait} seconds")
            response["Retry-After"] = str(wait)
            return response
        return view(request, fmt, *args, **kwargs)

    return wrapper
