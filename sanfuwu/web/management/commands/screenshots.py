"""Regenerate the screenshots of the main pages into docs/screenshots/ (not part of the tests).

    python manage.py screenshots              # serves the configured database itself
    python manage.py screenshots --base-url http://127.0.0.1:8000

The database must hold the demo district (``manage.py load_demo``, done by ``scripts/run``).
The pages are taken in Debian's headless Chromium, at 1440 px and at 375 px (a phone).
"""

from __future__ import annotations

import os
import socketserver
import threading
from dataclasses import dataclass
from pathlib import Path
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.core.wsgi import get_wsgi_application

CHROMIUM = "/usr/bin/chromium"
DEMO_PASSWORD = "demo12345"
DESKTOP = {"width": 1440, "height": 900}
PHONE = {"width": 375, "height": 812}


@dataclass(frozen=True)
class Shot:
    name: str
    path: str  # a path, or a selector name resolved against the demo data (see _resolve)
    user: str | None = None  # None: not logged in
    phone: bool = False


SHOTS = [
    Shot("login", "/accounts/login/"),
    Shot("dispatcher-home", "/", "qu_paidan"),
    Shot("demand-list", "/demands/?light=red", "qu_paidan"),
    Shot("demand-detail", "@handling", "qu_paidan"),
    Shot("handler-home", "/", "bm01_chengban1"),
    Shot("leader-home", "/", "qu_lingdao"),
    Shot("record-demand", "/demands/new/", "qu_paidan"),
    Shot("inbox", "/inbox/", "bm01_fuzeren"),
    Shot("portal", "/portal/"),
    Shot("portal-submit", "/portal/submit/resident/"),
    Shot("phone-grid-worker-record", "/demands/new/", "wgy001", phone=True),
    Shot("phone-handler-detail", "@handling", "bm01_chengban1", phone=True),
    Shot("phone-portal-submit", "/portal/submit/enterprise/", phone=True),
]


class _ThreadingServer(socketserver.ThreadingMixIn, WSGIServer):
    daemon_threads = True


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format, *args):
        pass


def _resolve(path: str, username: str | None) -> str:
    """`@handling`: a demand in 办理中 that this demo user may see."""
    if not path.startswith("@"):
        return path
    from sanfuwu.demands.access import demands_visible_to
    from sanfuwu.orgs.models import User

    user = User.objects.get(username=username)
    demand = demands_visible_to(user).filter(state=path[1:]).order_by("-id").first()
    if demand is None:
        raise CommandError(f"{username} sees no demand in state {path[1:]}: load the demo first")
    return f"/demands/{demand.pk}/"


class Command(BaseCommand):
    help = "Regenerate the screenshots of the main pages into docs/screenshots/."

    def add_arguments(self, parser):
        parser.add_argument("--out", default=str(Path(settings.BASE_DIR) / "docs" / "screenshots"))
        parser.add_argument("--base-url", default="", help="a running server (default: serve here)")
        parser.add_argument("--only", nargs="*", default=[], help="names of shots to take")

    def handle(self, *args, **options):
        if not Path(CHROMIUM).exists():
            raise CommandError(f"{CHROMIUM} is missing: apt-get install -y chromium")
        from sanfuwu.orgs.models import User

        if not User.objects.filter(username="qu_paidan").exists():
            raise CommandError("the demo district is not loaded: python manage.py load_demo")
        out = Path(options["out"])
        out.mkdir(parents=True, exist_ok=True)
        server = None
        base = options["base_url"].rstrip("/")
        if not base:
            server = make_server(
                "127.0.0.1",
                0,
                get_wsgi_application(),
                server_class=_ThreadingServer,
                handler_class=_QuietHandler,
            )
            threading.Thread(target=server.serve_forever, daemon=True).start()
            base = f"http://127.0.0.1:{server.server_port}"
        shots = [s for s in SHOTS if not options["only"] or s.name in options["only"]]
        # Playwright's sync API runs an event loop in this thread; the ORM calls are sync.
        os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
        from playwright.sync_api import sync_playwright

        try:
            with sync_playwright() as p:
                browser = p.chromium.launch(
                    executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"]
                )
                for shot in shots:
                    path = _resolve(shot.path, shot.user)
                    context = browser.new_context(
                        locale="zh-CN",
                        timezone_id="Asia/Shanghai",
                        viewport=PHONE if shot.phone else DESKTOP,
                        device_scale_factor=1,
                    )
                    page = context.new_page()
                    if shot.user:
                        page.goto(base + "/accounts/login/")
                        page.fill("input[name=username]", shot.user)
                        page.fill("input[name=password]", DEMO_PASSWORD)
                        page.click("button[type=submit]")
                        page.wait_for_load_state("networkidle")
                    page.goto(base + path)
                    page.wait_for_load_state("networkidle")
                    target = out / f"{shot.name}.png"
                    page.screenshot(path=str(target), full_page=not shot.phone)
                    self.stdout.write(f"{target}  ←  {path}")
                    context.close()
                browser.close()
        finally:
            if server is not None:
                server.shutdown()
