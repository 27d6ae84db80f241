"""Rate limiting of failed logins (django-axes), wired in settings.AUTHENTICATION_BACKENDS."""

from __future__ import annotations

import ipaddress

from axes.backends import AxesStandaloneBackend

from sanfuwu.core.ratelimit import client_ip


class LoginAttemptsBackend(AxesStandaloneBackend):
    """Refuses a locked-out username+IP before the password is checked.

    axes raises when `authenticate()` is called without a request; a login without an HTTP
    request (Client.login in tests, a management command) cannot be guessed from outside, so
    it is passed on to the next backend instead.
    """

    def authenticate(self, request, username=None, password=None, **kwargs):
        if request is None:
            return None
        return super().authenticate(request, username, password, **kwargs)


def login_client_ip(request) -> str | None:
    """The address axes records: a valid IP or none (a request built in code has no
    REMOTE_ADDR, and PostgreSQL's inet column refuses anything but an address)."""
    value = client_ip(request)
    try:
        return str(ipaddress.ip_address(value))
    except ValueError:
        return None
