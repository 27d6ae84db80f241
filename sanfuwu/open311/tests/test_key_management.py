"""接口密钥: administrators issue and revoke Open311 api_keys in the workbench."""

from __future__ import annotations

import pytest
from django.contrib.admin.models import LogEntry
from django.core.management import call_command
from django.test import Client as HttpClient

from sanfuwu.core.errors import Conflict, Forbidden, InvalidInput
from sanfuwu.open311 import services
from sanfuwu.open311.models import Client


@pytest.fixture(autouse=True)
def _fresh_rate_limits():
    from django.core.cache import cache

    cache.clear()
    yield
    cache.clear()


def browser_as(user) -> HttpClient:
    client = HttpClient()
    client.force_login(user)
    return client


def submit(raw_key: str, category_pk: int) -> int:
    r = HttpClient().post(
        "/open311/v2/requests.json",
        {
            "api_key": raw_key,
            "service_code": str(category_pk),
            "description": "路灯不亮，晚上看不见路",
            "address_string": "幸福社区5幢",
        },
    )
    return r.status_code


def test_an_admin_issues_a_key_that_is_shown_once_and_works(tiny):
    admin = browser_as(tiny.users["admin"])
    r = admin.post("/keys/open311/issue/", {"name": "城市App", "contact": "市大数据局 王工"})
    assert r.status_code == 302
    page = admin.get("/keys/open311/").content.decode()
    client = Client.objects.get(name="城市App")
    raw = page.split('id="new-key">')[1].split("<")[0]
    assert raw.startswith(client.prefix) and len(raw) > 30
    # only its hash is kept, and the key is not shown a second time
    assert raw not in str(Client.objects.values_list().get(pk=client.pk))
    assert raw not in admin.get("/keys/open311/").content.decode()
    assert client.created_by == tiny.users["admin"]
    assert submit(raw, tiny.category.pk) == 200


def test_a_revoked_key_stops_working_and_both_changes_are_audited(tiny):
    client, raw = services.client_issue(by=tiny.users["admin"], name="第三方App")
    assert submit(raw, tiny.category.pk) == 200
    r = browser_as(tiny.users["admin"]).post(f"/keys/open311/{client.pk}/revoke/")
    assert r.status_code == 302
    assert submit(raw, tiny.category.pk) == 403
    client.refresh_from_db()
    assert client.revoked_by == tiny.users["admin"] and client.revoked_at is not None
    history = services.client_history(client)
    assert [e.change_message for e in history] == [
        f"签发 Open311 api_key（{client.prefix}…）",
        f"吊销 Open311 api_key（{client.prefix}…）",
    ]
    assert all(e.user_id == tiny.users["admin"].pk for e in history)
    with pytest.raises(Conflict):
        services.client_revoke(by=tiny.users["admin"], client=client.pk)


@pytest.mark.parametrize("who", ["dispatcher", "leader", "handler", "resident"])
def test_only_administrators_manage_keys(tiny, who):
    client, _ = services.client_issue(by=tiny.users["admin"], name="城市App")
    browser = browser_as(tiny.users[who])
    assert browser.get("/keys/open311/").status_code == 403
    assert browser.post("/keys/open311/issue/", {"name": "偷偷的App"}).status_code == 403
    assert browser.post(f"/keys/open311/{client.pk}/revoke/").status_code == 403
    assert not Client.objects.filter(name="偷偷的App").exists()
    assert Client.objects.get(pk=client.pk).revoked_at is None
    with pytest.raises(Forbidden):
        services.client_issue(by=tiny.users[who], name="偷偷的App")


def test_anonymous_visitors_are_sent_to_the_login(tiny):
    r = HttpClient().get("/keys/open311/")
    assert r.status_code == 302 and "/accounts/login/" in r["Location"]


def test_a_duplicate_or_empty_name_is_refused_and_the_text_stays(tiny):
    services.client_issue(by=tiny.users["admin"], name="城市App")
    admin = browser_as(tiny.users["admin"])
    r = admin.post("/keys/open311/issue/", {"name": "城市App", "contact": "第二个"})
    assert r.status_code == 422
    page = r.content.decode()
    assert "已存在" in page and 'value="第二个"' in page
    r = admin.post("/keys/open311/issue/", {"name": "  "})
    assert r.status_code == 422
    assert Client.objects.count() == 1
    with pytest.raises(InvalidInput) as exc:
        services.client_issue(by=tiny.users["admin"], name="x" * 101)
    assert exc.value.field == "name"
    assert LogEntry.objects.count() == 1


def test_the_command_issues_a_key_recorded_for_an_administrator(tiny, capsys):
    call_command("create_open311_key", "命令行App", "--by", "guanli")
    raw = capsys.readouterr().out.strip()
    client = Client.objects.get(name="命令行App")
    assert client.created_by == tiny.users["admin"] and raw.startswith(client.prefix)
    assert submit(raw, tiny.category.pk) == 200
