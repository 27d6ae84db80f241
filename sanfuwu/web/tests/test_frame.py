"""The page frame: languages, login security, sessions and the English catalogue."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from datetime import timedelta
from html.parser import HTMLParser
from pathlib import Path

import pytest
from django.conf import settings
from django.contrib.sessions.models import Session
from django.template.loader import render_to_string
from django.test import Client, RequestFactory
from django.utils import timezone

from sanfuwu.conftest import browser_login

CHROMIUM = "/usr/bin/chromium"
LOGIN = "/accounts/login/"
PO_FILE = Path(settings.BASE_DIR) / "locale" / "en" / "LC_MESSAGES" / "django.po"
MO_FILE = PO_FILE.with_suffix(".mo")


class _Forms(HTMLParser):
    """The forms of a page: action, method and the values of their named inputs and selects."""

    def __init__(self) -> None:
        super().__init__()
        self.forms: list[dict] = []
        self._select: str | None = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "form":
            self.forms.append({"action": a.get("action") or "", "fields": {}, "options": {}})
        elif not self.forms:
            return
        elif tag == "input" and a.get("name"):
            self.forms[-1]["fields"][a["name"]] = a.get("value") or ""
        elif tag == "select" and a.get("name"):
            self._select = a["name"]
            self.forms[-1]["options"][self._select] = []
        elif tag == "option" and self._select:
            self.forms[-1]["options"][self._select].append(a.get("value"))

    def handle_endtag(self, tag):
        if tag == "select":
            self._select = None


def forms_of(response) -> list[dict]:
    parser = _Forms()
    parser.feed(response.content.decode())
    return parser.forms


def form_with_action(response, action: str) -> dict:
    matches = [f for f in forms_of(response) if f["action"] == action]
    assert len(matches) == 1, f"expected one form posting to {action}"
    return matches[0]


def html_lang(response) -> str:
    match = re.search(r'<html lang="([^"]+)"', response.content.decode())
    assert match
    return match.group(1)


def login_through_the_form(client: Client, username: str, password: str = "x", **extra):
    page = client.get(LOGIN, **extra)
    fields = form_with_action(page, LOGIN)["fields"]
    fields.update(username=username, password=password)
    return client.post(LOGIN, fields, **extra)


def switch_language_through_the_form(client: Client, page, language: str):
    form = form_with_action(page, "/i18n/setlang/")
    assert language in form["options"]["language"]
    return client.post(form["action"], {**form["fields"], "language": language}, follow=True)


# ---- languages -------------------------------------------------------------------------------


def test_pages_are_chinese_by_default_and_english_after_the_language_switch(tiny):
    client = Client(enforce_csrf_checks=True)
    assert login_through_the_form(client, "paidan").status_code == 302
    home = client.get("/")
    assert html_lang(home) == "zh-hans"
    text = home.content.decode()
    assert "工作台" in text and "诉求列表" in text and "录入诉求" in text
    assert form_with_action(home, "/i18n/setlang/")["options"]["language"] == ["zh-hans", "en"]

    english = switch_language_through_the_form(client, home, "en")
    assert english.redirect_chain[-1][0] == "/"
    assert html_lang(english) == "en"
    text = english.content.decode()
    assert "Workbench" in text and "Demands" in text and "Log out" in text
    assert "工作台" not in text

    back = switch_language_through_the_form(client, english, "zh-hans")
    assert html_lang(back) == "zh-hans"
    assert "工作台" in back.content.decode()


def test_the_login_page_follows_the_language_switch_for_anonymous_visitors(db):
    client = Client(enforce_csrf_checks=True)
    page = client.get(LOGIN + "?next=/demands/")
    assert "工作人员登录" in page.content.decode()
    english = switch_language_through_the_form(client, page, "en")
    assert english.redirect_chain[-1][0] == LOGIN + "?next=/demands/"
    text = english.content.decode()
    assert html_lang(english) == "en"
    assert "Staff login" in text and "Username" in text and "Password" in text
    # the next parameter survives in the form
    assert form_with_action(english, LOGIN)["fields"]["next"] == "/demands/"


def test_choice_labels_of_the_demands_are_translated():
    from django.utils import translation

    from sanfuwu.demands.models import Channel, Kind, Level
    from sanfuwu.demands.sla import Light
    from sanfuwu.demands.workflow import State

    assert str(State.DISPATCHED.label) == "待签收"
    with translation.override("en"):
        assert str(State.DISPATCHED.label) == "To sign for"
        assert str(Kind.COMPLAINT.label) == "Complaint"
        assert str(Channel.HOTLINE.label) == "Hotline"
        assert str(Level.UPPER.label) == "Escalated"
        assert str(Light.RED.label) == "Red"
        # every label of these choices has an English translation
        for choices in (State, Kind, Channel, Level, Light):
            for _, label in choices.choices:
                assert not re.search(r"[\u4e00-\u9fff]", str(label)), label


# ---- the frame ------------------------------------------------------------------------------


def test_the_frame_has_a_skip_link_main_landmark_htmx_and_the_csrf_header(tiny):
    client = Client()
    login_through_the_form(client, "paidan")
    text = client.get("/").content.decode()
    assert '<a class="skip-link" href="#main">' in text
    assert '<main id="main"' in text
    assert re.search(r'<script src="/static/web/vendor/htmx-2\.0\.11\.min\.js" defer>', text)
    token = re.search(r"hx-headers='\{\"X-CSRFToken\": \"([A-Za-z0-9]+)\"\}'", text)
    assert token and len(token.group(1)) == 64


def test_the_unread_badge_shows_only_a_positive_count(tiny):
    request = RequestFactory().get("/")
    request.user = tiny.users["handler"]

    def render(count):
        return render_to_string("web/base.html", {"inbox_unread_count": count}, request=request)

    assert re.search(r'<span class="badge">.*?7</span>', render(7))
    assert 'class="badge"' not in render(0)
    assert 'class="badge"' not in render_to_string("web/base.html", {}, request=request)


def test_the_frame_renders_django_messages(tiny):
    from django.contrib import messages
    from django.contrib.messages.storage.fallback import FallbackStorage
    from django.contrib.sessions.backends.db import SessionStore

    request = RequestFactory().get("/")
    request.user = tiny.users["handler"]
    request.session = SessionStore()
    request._messages = FallbackStorage(request)
    messages.success(request, "已签收")
    text = render_to_string("web/base.html", {}, request=request)
    assert '<ul class="messages" role="status">' in text
    assert '<li class="msg success">已签收</li>' in text


def test_service_object_accounts_and_visitors_get_no_workbench_nav(tiny):
    anonymous = Client().get(LOGIN).content.decode()
    assert 'href="/portal/"' in anonymous and "录入诉求" not in anonymous
    resident = Client()
    login_through_the_form(resident, "qunzhong")
    text = resident.get(LOGIN).content.decode()
    assert "录入诉求" not in text and 'href="/portal/"' in text
    assert "退出" in text


def test_demo_logins_are_shown_only_for_the_demo(db, settings):
    settings.SANFUWU_DEMO = False
    assert "demo12345" not in Client().get(LOGIN).content.decode()
    settings.SANFUWU_DEMO = True
    assert "demo12345" in Client().get(LOGIN).content.decode()


# ---- login security -------------------------------------------------------------------------


def test_login_is_locked_after_five_failures_with_a_chinese_message(tiny):
    limit = settings.AXES_FAILURE_LIMIT
    assert limit == int(os.environ.get("SANFUWU_LOGIN_FAILURE_LIMIT", 5))
    client = Client()
    for _ in range(limit - 1):
        response = login_through_the_form(client, "paidan", "wrong")
        assert response.status_code == 200
        assert "用户名或密码错误" in response.content.decode()
    locked = login_through_the_form(client, "paidan", "wrong")
    assert locked.status_code == 429
    text = locked.content.decode()
    assert "登录失败次数过多，已暂时锁定" in text
    assert f"连续输错 {limit} 次密码" in text and "分钟后再试" in text
    # the lockout is the login page in the frame, not a bare error page
    assert '<main id="main"' in text and 'name="password"' in text

    # even the right password is refused now, and no session is opened
    refused = login_through_the_form(client, "paidan", "x")
    assert refused.status_code == 429
    assert "_auth_user_id" not in client.session
    assert client.get("/").status_code == 302

    # another user from the same address, and the same user from elsewhere, may log in
    assert login_through_the_form(Client(), "chengban").status_code == 302
    elsewhere = Client(REMOTE_ADDR="10.1.2.3")
    assert login_through_the_form(elsewhere, "paidan").status_code == 302


def test_the_lock_expires_after_the_cool_off_time(tiny, settings):
    from axes.models import AccessAttempt

    client = Client()
    for _ in range(settings.AXES_FAILURE_LIMIT):
        login_through_the_form(client, "paidan", "wrong")
    assert login_through_the_form(client, "paidan").status_code == 429
    AccessAttempt.objects.filter(username="paidan").update(
        attempt_time=timezone.now() - settings.AXES_COOLOFF_TIME - timedelta(seconds=1)
    )
    assert login_through_the_form(client, "paidan").status_code == 302


def test_logout_takes_a_post_only(tiny):
    client = Client()
    login_through_the_form(client, "paidan")
    assert client.get("/accounts/logout/").status_code == 405
    assert client.get("/").status_code == 200
    response = client.post("/accounts/logout/")
    assert response.status_code == 302
    assert client.get("/").status_code == 302


def test_the_login_form_enforces_csrf(tiny):
    client = Client(enforce_csrf_checks=True)
    forged = client.post(LOGIN, {"username": "paidan", "password": "x"})
    assert forged.status_code == 403
    assert "_auth_user_id" not in client.session
    assert login_through_the_form(client, "paidan").status_code == 302


def test_the_session_is_an_idle_timeout_with_safe_cookies(tiny):
    age = settings.SESSION_COOKIE_AGE
    assert age == int(os.environ.get("SESSION_COOKIE_AGE", 8 * 3600))
    assert settings.SESSION_SAVE_EVERY_REQUEST
    client = Client()
    response = login_through_the_form(client, "paidan")
    session_cookie = response.cookies[settings.SESSION_COOKIE_NAME]
    assert session_cookie["httponly"] and session_cookie["samesite"] == "Lax"
    assert int(session_cookie["max-age"]) == age
    csrf_cookie = client.cookies[settings.CSRF_COOKIE_NAME]
    assert csrf_cookie["httponly"] and csrf_cookie["samesite"] == "Lax"

    # each request pushes the expiry further: an idle timeout, not a fixed lifetime
    key = client.session.session_key
    Session.objects.filter(pk=key).update(expire_date=timezone.now() + timedelta(minutes=1))
    assert client.get("/").status_code == 200
    expiry = Session.objects.get(pk=key).expire_date
    assert abs((expiry - timezone.now()).total_seconds() - age) < 60

    # an expired session means logging in again
    Session.objects.filter(pk=key).update(expire_date=timezone.now() - timedelta(seconds=1))
    response = client.get("/")
    assert response.status_code == 302 and response["Location"].startswith(LOGIN)


# ---- the English catalogue ------------------------------------------------------------------


def _po_entries(text: str) -> list[tuple[str, str, bool]]:
    """(msgid, msgstr, fuzzy) of every entry but the header; msgid_plural entries use msgstr[0]."""
    entries = []
    for block in text.strip().split("\n\n"):
        lines = block.splitlines()
        if all(line.startswith("#~") or line.startswith("#") for line in lines):
            continue
        fuzzy = any(line.startswith("#,") and "fuzzy" in line for line in lines)
        parts: dict[str, str] = {}
        current = None
        for line in lines:
            if line.startswith("#"):
                continue
            match = re.match(r'^(msgid|msgid_plural|msgstr(?:\[\d+\])?) "(.*)"$', line)
            if match:
                current = match.group(1)
                parts[current] = match.group(2)
            elif line.startswith('"') and current:
                parts[current] += line[1:-1]
        msgid = parts.get("msgid", "")
        if msgid == "":
            continue
        entries.append((msgid, parts.get("msgstr", parts.get("msgstr[0]", "")), fuzzy))
    return entries


def test_the_english_catalogue_is_complete_and_compiled():
    entries = _po_entries(PO_FILE.read_text(encoding="utf-8"))
    assert len(entries) > 50
    empty = [msgid for msgid, msgstr, _ in entries if not msgstr]
    fuzzy = [msgid for msgid, _, is_fuzzy in entries if is_fuzzy]
    assert not empty, f"untranslated in {PO_FILE.name} (run scripts/i18n): {empty[:20]}"
    assert not fuzzy, f"fuzzy in {PO_FILE.name} (check and clear the flag): {fuzzy[:20]}"
    assert MO_FILE.exists(), "compile the catalogue: scripts/i18n"
    if not shutil.which("msgfmt"):
        pytest.skip("msgfmt is not installed: the .mo is not compared with the .po")
    compiled = subprocess.run(
        ["msgfmt", "--check", "-o", "-", str(PO_FILE)], capture_output=True, check=True
    ).stdout
    assert compiled == MO_FILE.read_bytes(), "django.mo is older than django.po: scripts/i18n"


# ---- a phone in a real browser --------------------------------------------------------------


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(not shutil.which(CHROMIUM), reason="Debian chromium is not installed")
def test_on_a_phone_the_menu_opens_nothing_overflows_and_the_language_switches(
    tiny, live_server, page
):
    page.set_viewport_size({"width": 375, "height": 740})
    browser_login(page, live_server, "paidan")
    page.wait_for_url(live_server.url + "/")
    assert page.evaluate("typeof htmx") == "object"
    # a form re-rendered with its errors (400/422) is swapped in like a success
    assert page.evaluate("htmx.config.responseHandling.some(r => r.code === '422' && r.swap)")
    assert page.evaluate("document.documentElement.scrollWidth") <= 375

    menu = page.locator("details.menu")
    nav_link = menu.get_by_role("link", name="诉求列表")
    assert not nav_link.is_visible()
    menu.locator("summary").click()
    assert nav_link.is_visible()
    assert menu.get_by_role("button", name="退出").is_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= 375
    page.keyboard.press("Tab")  # the first link of the open menu is reachable by keyboard
    assert page.evaluate("document.activeElement.textContent.trim()") == "工作台"

    page.select_option("#lang-select", "en")
    page.locator(".lang-switch button[type=submit]").click()
    page.wait_for_function("document.documentElement.lang === 'en'")
    assert page.url == live_server.url + "/"
    menu.locator("summary").click()
    assert menu.get_by_role("link", name="Demands", exact=True).is_visible()
    assert menu.get_by_role("button", name="Log out").is_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= 375

    # on a wide screen the same nav is a plain row, no menu to open
    page.set_viewport_size({"width": 1440, "height": 900})
    page.reload()
    assert not menu.locator("summary").is_visible()
    assert menu.get_by_role("link", name="Notifications").is_visible()
