"""Shared fixtures: a small district with one user per role, and an API client per user."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass

import pytest
from django.db import connections
from django.test import Client

from sanfuwu.demands.models import Category
from sanfuwu.demands.sla import clear_calendar_cache
from sanfuwu.orgs.models import ApiToken, Membership, Unit, UnitKind, User, hash_token
from sanfuwu.orgs.roles import Role
from sanfuwu.orgs.services import unit_create


def pytest_configure(config):
    from django.conf import settings

    # PBKDF2's 1M iterations cost 0.3 s per user; tests need no strong hashes
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    # uploaded attachments go to a throwaway folder, never into var/attachments
    import atexit
    import shutil
    import tempfile

    folder = tempfile.mkdtemp(prefix="sanfuwu-attachments-")
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    settings.SANFUWU_ATTACHMENT_ROOT = folder
    settings.STORAGES = {
        **settings.STORAGES,
        "attachments": {
            **settings.STORAGES["attachments"],
            "OPTIONS": {**settings.STORAGES["attachments"]["OPTIONS"], "location": folder},
        },
    }


@pytest.fixture(autouse=True)
def _fresh_calendar_cache():
    clear_calendar_cache()
    yield
    clear_calendar_cache()


@dataclass
class Tiny:
    """区 → 街道 → 社区, 区 → 部门A (科室), 区 → 部门B; one user per role."""

    root: Unit
    street: Unit
    community: Unit
    dept: Unit
    section: Unit
    other_dept: Unit
    category: Category
    users: dict[str, User]


class Api:
    """Drives the real HTTP API as one user (bearer token)."""

    def __init__(self, user: User | None):
        self.client = Client()
        self.headers = {}
        if user is not None:
            raw = ApiToken.new_raw_key()
            ApiToken.objects.create(
                user=user, name="test", key_hash=hash_token(raw), prefix=raw[:8]
            )
            self.headers = {"HTTP_AUTHORIZATION": f"Bearer {raw}"}

    def get(self, path: str, **params):
        return self.client.get("/api" + path, params, **self.headers)

    def post(self, path: str, body: dict | None = None):
        return self.client.post(
            "/api" + path,
            data=json.dumps(body or {}),
            content_type="application/json",
            **self.headers,
        )


def hotline_demand(tiny: Tiny, *, dispatch: bool = False, **fields):
    """A demand recorded by the district dispatcher from a hotline call; dispatched to 住建局
    when `dispatch` is set."""
    from sanfuwu.demands import services

    values = {
        "title": "电梯故障",
        "body": "3幢电梯坏了。",
        "kind": "complaint",
        "channel": "hotline",
        "contact_name": "张三",
        "contact_phone": "13812341234",
        **fields,
    }
    demand = services.demand_submit(by=tiny.users["dispatcher"], **values).demand
    if dispatch:
        services.demand_dispatch(
            demand=demand, by=tiny.users["dispatcher"], lead_unit=tiny.dept, category=tiny.category
        )
        demand.refresh_from_db()
    return demand


def make_user(username: str, unit: Unit | None = None, *roles: str) -> User:
    user = User.objects.create_user(username=username, password="x", display_name=username)
    for role in roles:
        Membership.objects.create(user=user, unit=unit, role=role)
    return user


@pytest.fixture
def tiny(db) -> Tiny:
    root = unit_create(parent=None, code="Q", name="测试区", kind=UnitKind.DISTRICT)
    street = unit_create(parent=root, code="Q-J1", name="测试街道", kind=UnitKind.STREET)
    dept = unit_create(parent=root, code="Q-B1", name="住建局", kind=UnitKind.DEPARTMENT)
    other = unit_create(parent=root, code="Q-B2", name="教育局", kind=UnitKind.DEPARTMENT)
    community = unit_create(parent=street, code="Q-J1-C1", name="幸福社区", kind=UnitKind.COMMUNITY)
    section = unit_create(parent=dept, code="Q-B1-K1", name="物业科", kind=UnitKind.SECTION)
    l1 = Category.objects.create(name="城乡建设", level=1, path="城乡建设", default_unit=dept)
    cat = Category.objects.create(
        name="物业管理", level=2, path="城乡建设/物业管理", parent=l1, default_unit=dept
    )
    users = {
        "dispatcher": make_user("paidan", root, Role.DISPATCHER),
        "street_dispatcher": make_user("jd_paidan", street, Role.DISPATCHER),
        "handler": make_user("chengban", dept, Role.HANDLER),
        "head": make_user("fuzeren", dept, Role.UNIT_HEAD),
        "other_handler": make_user("other", other, Role.HANDLER),
        "other_head": make_user("other_head", other, Role.UNIT_HEAD),
        "leader": make_user("lingdao", root, Role.LEADER),
        "supervisor": make_user("ducha", root, Role.SUPERVISOR),
        "grid_worker": make_user("wgy", community, Role.GRID_WORKER),
        "visitor": make_user("zoufang", street, Role.VISITOR),
        "street_handler": make_user("jd_chengban", street, Role.HANDLER),
        "street_head": make_user("jd_fuzeren", street, Role.UNIT_HEAD),
        "admin": make_user("guanli", root, Role.ADMIN),
        "resident": make_user("qunzhong"),
        "stranger": make_user("stranger"),
    }
    return Tiny(root, street, community, dept, section, other, cat, users)


@pytest.fixture
def api(tiny):
    """api("handler") → an Api client for that fixture user."""
    cache: dict[str, Api] = {}

    def get(name: str) -> Api:
        if name not in cache:
            cache[name] = Api(tiny.users[name] if name != "anonymous" else None)
        return cache[name]

    return get


CHROMIUM = "/usr/bin/chromium"


# Browser tests: mark them `browser` and `django_db(transaction=True)`, use `live_server`.
@pytest.fixture
def page():
    """A fresh page in Debian's headless Chromium (never a downloaded browser)."""
    # Playwright's sync API runs an event loop; Django's ORM calls in the test are still sync.
    os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=CHROMIUM,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
            ],
        )
        context = browser.new_context(locale="zh-CN", viewport={"width": 1200, "height": 900})
        yield context.new_page()
        context.close()
        browser.close()
        # ORM calls made while Playwright runs use their own connection: close it here
        connections.close_all()


def browser_login(page, live_server, username: str, password: str = "x") -> None:
    """Log in through the real login form."""
    page.goto(live_server.url + "/")
    assert "/accounts/login/" in page.url
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    page.click("button[type=submit]")
