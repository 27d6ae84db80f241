"""The optional portal account: sign-up, log-in, and the list of what I submitted."""

from __future__ import annotations

import pytest

from sanfuwu.conftest import hotline_demand, make_user
from sanfuwu.orgs.models import Membership, User

from .helpers import submitted

pytestmark = pytest.mark.django_db

SIGNUP = {
    "username": "zhang_qiye",
    "display_name": "张老板",
    "phone": "138 0000 2222",
    "password1": "correct-horse-9",
    "password2": "correct-horse-9",
}


def test_mine_lists_only_my_demands_with_their_personal_links(tiny, client):
    me, other = tiny.users["resident"], make_user("lisi")
    client.force_login(other)
    theirs = submitted(client, title="别人的诉求标题")
    client.force_login(me)
    mine = submitted(client, title="我的诉求标题")
    anonymous = hotline_demand(tiny, title="热线诉求标题")
    html = client.get("/portal/mine/").content.decode()
    assert "我的诉求标题" in html and f"/portal/d/{mine.rating_token}/" in html
    assert mine.tracking_code in html and "已提交，等待分派" in html
    assert "别人的诉求标题" not in html and theirs.rating_token not in html
    assert "热线诉求标题" not in html and anonymous.rating_token not in html


def test_mine_needs_a_login_and_is_not_for_staff(tiny, client):
    response = client.get("/portal/mine/")
    assert response.status_code == 302 and response["Location"].startswith("/portal/login/")
    client.force_login(tiny.users["dispatcher"])
    assert client.get("/portal/mine/").status_code == 403


def test_the_submit_form_is_prefilled_for_a_logged_in_account(tiny, client):
    user = tiny.users["resident"]
    user.display_name, user.phone = "群众甲", "13700001234"
    user.save()
    client.force_login(user)
    html = client.get("/portal/submit/resident/").content.decode()
    assert 'value="群众甲"' in html and 'value="13700001234"' in html


def test_sign_up_creates_a_service_object_account_and_logs_in(tiny, client):
    response = client.post("/portal/signup/", SIGNUP)
    assert response.status_code == 302 and response["Location"] == "/portal/mine/"
    user = User.objects.get(username="zhang_qiye")
    assert (user.display_name, user.phone) == ("张老板", "13800002222")
    assert user.check_password("correct-horse-9")
    assert not user.is_staff and not user.is_superuser
    assert not Membership.objects.filter(user=user).exists()
    assert client.get("/portal/mine/").status_code == 200
    d = submitted(client)
    assert d.submitter == user


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"password2": "something-else"}, "password2"),
        ({"password1": "short", "password2": "short"}, "password1"),
        ({"phone": "0571-87654321"}, "phone"),
        ({"username": "bad name!"}, "username"),
        ({"username": "QIANGZHONG"}, "username"),
        ({"display_name": ""}, "display_name"),
    ],
)
def test_sign_up_errors_are_shown_by_the_field_and_keep_the_input(tiny, client, fields, field):
    make_user("qiangzhong")
    response = client.post("/portal/signup/", {**SIGNUP, **fields})
    assert response.status_code == 422
    html = response.content.decode()
    assert f'id="{field}-error"' in html
    if field != "display_name":
        assert 'value="张老板"' in html
    assert "correct-horse-9" not in html  # passwords are never sent back
    assert not User.objects.filter(username__iexact=SIGNUP["username"]).exists()


def test_sign_up_is_rate_limited_per_ip(tiny, client, settings):
    settings.SANFUWU_RATE_LIMITS = {"portal_signup": (1, 3600)}
    assert client.post("/portal/signup/", {**SIGNUP, "password2": "x"}).status_code == 422
    response = client.post("/portal/signup/", SIGNUP)
    assert response.status_code == 429
    assert not User.objects.filter(username="zhang_qiye").exists()


def test_portal_login_goes_to_my_demands(tiny, client):
    client.post("/portal/signup/", SIGNUP)
    client.logout()
    response = client.post(
        "/portal/login/", {"username": "zhang_qiye", "password": "correct-horse-9"}
    )
    assert response.status_code == 302 and response["Location"] == "/portal/mine/"


def test_an_enterprise_account_finds_its_enterprise_filled_in_and_linked(tiny, client):
    from sanfuwu.directory.models import Enterprise
    from sanfuwu.directory.validators import make_uscc

    user = make_user("qiye_a")
    ent = Enterprise.objects.create(name="示范新材料有限公司", uscc=make_uscc(99))
    ent.accounts.add(user)
    client.force_login(user)
    html = client.get("/portal/submit/enterprise/").content.decode()
    assert 'value="示范新材料有限公司"' in html and f'value="{ent.uscc}"' in html
    d = submitted(client, "enterprise", enterprise_name=ent.name, uscc=ent.uscc)
    assert d.enterprise == ent and d.submitter == user
