"""Settings for sanfuwu: one file, configured from the environment.

SQLite is the embedded default; set DATABASE_URL=postgres://user@host:port/name for PostgreSQL.
"""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

BASE_DIR = Path(__file__).resolve().parent.parent
PACKAGE_DIR = Path(__file__).resolve().parent


def env_str(name: str, default: str) -> str:
    return os.environ.get(name, default)


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_int(name: str, default: int) -> int:
    value = os.environ.get(name)
    return int(value) if value else default


def env_list(name: str, default: list[str]) -> list[str]:
    value = os.environ.get(name)
    if value is None:
        return default
    return [item.strip() for item in value.split(",") if item.strip()]


def database_from_url(url: str) -> dict[str, object]:
    """Turn DATABASE_URL into a Django DATABASES entry (sqlite:///path or postgres://...)."""
    parsed = urlparse(url)
    if parsed.scheme in {"postgres", "postgresql"}:
        return {
            "ENGINE": "django.db.backends.postgresql",
            "NAME": unquote(parsed.path.lstrip("/")) or "sanfuwu",
            "USER": unquote(parsed.username or "postgres"),
            "PASSWORD": unquote(parsed.password or ""),
            "HOST": parsed.hostname or "127.0.0.1",
            "PORT": str(parsed.port or 5432),
            "CONN_MAX_AGE": env_int("DB_CONN_MAX_AGE", 60),
            "CONN_HEALTH_CHECKS": True,
            "TEST": {"NAME": env_str("TEST_DATABASE_NAME", "test_sanfuwu")},
        }
    if parsed.scheme == "sqlite":
        path = unquote(parsed.path)
        if path.startswith("/") and url.startswith("sqlite:////"):
            name = path
        else:
            name = str(BASE_DIR / path.lstrip("/"))
        return sqlite_database(name)
    raise ValueError(f"DATABASE_URL: unsupported scheme {parsed.scheme!r}")


def sqlite_database(name: str) -> dict[str, object]:
    # WAL + IMMEDIATE transactions + a busy timeout: the web server, the worker and the
    # sweeper take turns as writers instead of failing with "database is locked".
    return {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": name,
        "OPTIONS": {
            "transaction_mode": "IMMEDIATE",
            "timeout": 20,
            "init_command": (
                "PRAGMA journal_mode=WAL;"
                "PRAGMA synchronous=NORMAL;"
                "PRAGMA foreign_keys=ON;"
                "PRAGMA busy_timeout=20000;"
            ),
        },
        "TEST": {"NAME": os.environ.get("TEST_SQLITE_NAME") or None},
    }


DEBUG = env_bool("DEBUG", False)
SECRET_KEY = env_str("SECRET_KEY", "dev-insecure-change-me-in-production-sanfuwu-0123456789")
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost", "testserver", "[::1]"])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])

DATA_DIR = Path(env_str("SANFUWU_DATA_DIR", str(BASE_DIR / "var")))
DATA_DIR.mkdir(parents=True, exist_ok=True)
(DATA_DIR / "static").mkdir(exist_ok=True)

DATABASES = {
    "default": database_from_url(env_str("DATABASE_URL", ""))
    if os.environ.get("DATABASE_URL")
    else sqlite_database(str(DATA_DIR / "sanfuwu.sqlite3"))
}

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "treebeard",
    "django_tasks",
    "django_tasks_db",
    "ninja",
    "axes",
    "sanfuwu.core",
    "sanfuwu.orgs",
    "sanfuwu.directory",
    "sanfuwu.demands",
    "sanfuwu.insights",
    "sanfuwu.search",
    "sanfuwu.open311",
    "sanfuwu.attachments",
    "sanfuwu.inbox",
    "sanfuwu.portal",
    "sanfuwu.api",
    "sanfuwu.reports",
    "sanfuwu.visits",
    "sanfuwu.metrics",
    "sanfuwu.points",
    "sanfuwu.supervision",
    "sanfuwu.web",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # last: turns a locked-out login attempt into the login page with the lockout message
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "sanfuwu.urls"
WSGI_APPLICATION = "sanfuwu.wsgi.application"
AUTH_USER_MODEL = "orgs.User"
LOGIN_URL = "/accounts/login/"
LOGIN_REDIRECT_URL = "/"
LOGOUT_REDIRECT_URL = "/"
AUTHENTICATION_BACKENDS = [
    "sanfuwu.web.login_security.LoginAttemptsBackend",  # django-axes: refuses locked-out logins
    "django.contrib.auth.backends.ModelBackend",
]

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "sanfuwu.web.context_processors.frame",
                "sanfuwu.inbox.context_processors.inbox",  # inbox_unread_count (the badge)
                "sanfuwu.supervision.context_processors.nav",  # the 督办 nav link
            ],
        },
    },
]

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
]

LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", "简体中文"), ("en", "English")]
LOCALE_PATHS = [BASE_DIR / "locale"]  # English catalogue; msgids are Chinese (scripts/i18n)
TIME_ZONE = "Asia/Shanghai"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = DATA_DIR / "static"
MEDIA_ROOT = DATA_DIR / "media"
# Attachments (附件): outside STATIC_ROOT and without a URL; only the views of
# sanfuwu.attachments serve them, after the access check. Point the "attachments" storage
# at object storage in a deployment if you like.
SANFUWU_ATTACHMENT_ROOT = Path(env_str("SANFUWU_ATTACHMENT_ROOT", str(DATA_DIR / "attachments")))
SANFUWU_ATTACHMENT_MAX_BYTES = env_int("SANFUWU_ATTACHMENT_MAX_BYTES", 10 * 1024 * 1024)
SANFUWU_ATTACHMENT_MAX_COUNT = env_int("SANFUWU_ATTACHMENT_MAX_COUNT", 9)
SANFUWU_ATTACHMENT_MAX_TOTAL_BYTES = env_int("SANFUWU_ATTACHMENT_MAX_TOTAL_BYTES", 30 * 1024 * 1024)
# Request sizes: form text up to 2.5 MB in memory, uploads above 2.5 MB stream to a temporary
# file, at most 20 files a request. The public portal refuses a submission larger than the
# attachments' total plus 1 MB unread (override: SANFUWU_PORTAL_MAX_REQUEST_BYTES).
DATA_UPLOAD_MAX_MEMORY_SIZE = 2_621_440
FILE_UPLOAD_MAX_MEMORY_SIZE = 2_621_440
DATA_UPLOAD_MAX_NUMBER_FILES = 20
# The attachment field ("files") keeps no bytes past the attachment limits: an oversized
# file reaches attachments_add as a placeholder and is refused next to the field.
FILE_UPLOAD_HANDLERS = [
    "sanfuwu.attachments.uploads.AttachmentLimitHandler",
    "django.core.files.uploadhandler.MemoryFileUploadHandler",
    "django.core.files.uploadhandler.TemporaryFileUploadHandler",
]

# Abuse limits of the public portal (sanfuwu/core/ratelimit.py): scope -> (requests, seconds),
# counted in the cache (configure a shared cache when several processes serve the site).
SANFUWU_RATE_LIMITS: dict[str, tuple[int, int]] = {
    "portal_submit": (10, 3600),  # per IP
    "portal_lookup": (20, 600),  # tracking-code lookups per IP
    "portal_signup": (5, 3600),  # per IP
    "portal_token_action": (10, 3600),  # ratings and withdrawals per personal link
}
# Behind a reverse proxy, the request.META key of the header in which the proxy passes the
# client's address (e.g. HTTP_X_REAL_IP); empty: REMOTE_ADDR. Never set it without a proxy.
SANFUWU_TRUSTED_PROXY_HEADER = env_str("SANFUWU_TRUSTED_PROXY_HEADER", "")
# Ledger exports (sanfuwu/reports): written by the worker outside the web root, served only
# to the user who asked, deleted after SANFUWU_EXPORT_KEEP_HOURS.
SANFUWU_EXPORT_ROOT = Path(env_str("SANFUWU_EXPORT_ROOT", str(DATA_DIR / "exports")))
SANFUWU_EXPORT_KEEP_HOURS = env_int("SANFUWU_EXPORT_KEEP_HOURS", 72)
# auto: serialise the cells in a second process when the machine has a second core; on/off
SANFUWU_EXPORT_PIPE = env_str("SANFUWU_EXPORT_PIPE", "auto")
# Open311 GeoReport v2 (sanfuwu/open311, docs/open311.md): the jurisdiction_ids served
# (empty: one jurisdiction, the parameter is ignored) and the POST answer (realtime: the
# service_request_id; batch: a token for GET tokens/{token}).
OPEN311_JURISDICTIONS = env_list("OPEN311_JURISDICTIONS", [])
OPEN311_SERVICE_TYPE = env_str("OPEN311_SERVICE_TYPE", "realtime")
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "attachments": {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {
            "location": str(SANFUWU_ATTACHMENT_ROOT),
            "base_url": None,
            "file_permissions_mode": 0o640,
            "directory_permissions_mode": 0o750,
        },
    },
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = DEBUG

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# an idle timeout: every request pushes the expiry SESSION_COOKIE_AGE seconds further
SESSION_COOKIE_AGE = env_int("SESSION_COOKIE_AGE", 8 * 3600)
SESSION_SAVE_EVERY_REQUEST = True
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"
# pages hand the token to htmx through hx-headers on <body>, no script reads the cookie
CSRF_COOKIE_HTTPONLY = True

# Failed logins (django-axes): lock a username from one IP after N failures for M minutes.
AXES_FAILURE_LIMIT = env_int("SANFUWU_LOGIN_FAILURE_LIMIT", 5)
AXES_COOLOFF_TIME = timedelta(minutes=env_int("SANFUWU_LOGIN_LOCK_MINUTES", 15))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
# the client's address as the portal's rate limits see it (SANFUWU_TRUSTED_PROXY_HEADER)
AXES_CLIENT_IP_CALLABLE = "sanfuwu.web.login_security.login_client_ip"
AXES_VERBOSE = False

# The demo district's logins are shown on the login page (scripts/run loads the demo).
SANFUWU_DEMO = env_bool("SANFUWU_DEMO", DEBUG)

SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"

TASKS = {
    "default": {
        "BACKEND": env_str("TASKS_BACKEND", "django_tasks_db.DatabaseBackend"),
        "QUEUES": ["default"],
    }
}

# Business settings (see docs/adr/0004-working-day-deadlines.md).
SANFUWU: dict[str, Any] = {
    "SIGN_DEADLINE_WORKING_DAYS": env_int("SANFUWU_SIGN_DAYS", 1),
    "YELLOW_SHARE": 0.8,
    "REOPEN_MIN_WORKING_DAYS": 2,
    "SWEEP_INTERVAL_SECONDS": env_int("SANFUWU_SWEEP_INTERVAL", 60),
    # recording a demand warns of similar open demands of the last N days (demands/duplicates)
    "DUPLICATE_DAYS": env_int("SANFUWU_DUPLICATE_DAYS", 30),
}

# External notifiers after the in-app inbox (sanfuwu/core/notify.py, docs/adr/0007):
# dotted class paths; the defaults only log. The old single SANFUWU_NOTIFIER still works.
SANFUWU_NOTIFIERS = env_list(
    "SANFUWU_NOTIFIERS",
    ["sanfuwu.core.notify.LogSmsNotifier", "sanfuwu.core.notify.LogEmailNotifier"],
)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}
