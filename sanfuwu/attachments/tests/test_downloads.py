"""Downloads: only for who may see the demand; headers that keep a file from acting as a page."""

from __future__ import annotations

from urllib.parse import quote

import pytest
from django.test import Client

from sanfuwu.attachments.selectors import attachments_for, attachments_for_token
from sanfuwu.attachments.services import attachments_add
from sanfuwu.conftest import hotline_demand
from sanfuwu.demands import services

from . import files as f


def client_for(user) -> Client:
    c = Client()
    if user is not None:
        c.force_login(user)
    return c


@pytest.fixture
def demand_with_files(tiny, store):
    demand = hotline_demand(tiny, dispatch=True)
    photo, letter = attachments_add(
        demand=demand,
        by=tiny.users["dispatcher"],
        files=[f.upload("现场照片.jpg", f.jpeg()), f.upload("情况说明 (1).docx", f.docx())],
        purpose="submit",
    )
    return demand, photo, letter


def test_a_handler_of_the_lead_unit_downloads(tiny, demand_with_files):
    demand, photo, letter = demand_with_files
    response = client_for(tiny.users["handler"]).get(f"/files/{letter.pk}/")
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == f.docx()
    assert attachments_for(demand=demand, user=tiny.users["handler"]) == [photo, letter]


def test_a_handler_of_another_unit_gets_the_same_404_as_for_a_missing_file(tiny, demand_with_files):
    demand, photo, _ = demand_with_files
    other = client_for(tiny.users["other_handler"])
    denied = other.get(f"/files/{photo.pk}/")
    missing = other.get(f"/files/{photo.pk + 1000}/")
    assert denied.status_code == missing.status_code == 404
    assert denied.content == missing.content
    assert attachments_for(demand=demand, user=tiny.users["other_handler"]) == []


def test_anonymous_is_sent_to_the_login(tiny, demand_with_files):
    _, photo, _ = demand_with_files
    response = client_for(None).get(f"/files/{photo.pk}/")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/?next=/files/")


def test_the_secret_link_downloads_and_a_wrong_token_is_404(tiny, demand_with_files):
    demand, photo, _ = demand_with_files
    anonymous = client_for(None)
    ok = anonymous.get(f"/files/{photo.pk}/t/{demand.rating_token}/")
    assert ok.status_code == 200
    assert b"".join(ok.streaming_content) == f.jpeg()
    assert anonymous.get(f"/files/{photo.pk}/t/{demand.rating_token[:-1]}x/").status_code == 404
    assert anonymous.get(f"/files/{photo.pk}/t/wrong/").status_code == 404
    # another demand's token opens nothing of this one
    other = hotline_demand(tiny)
    assert anonymous.get(f"/files/{photo.pk}/t/{other.rating_token}/").status_code == 404
    assert attachments_for_token(demand=demand, token="wrong") == []
    assert attachments_for_token(demand=demand, token=demand.rating_token) != []


def test_only_get_is_allowed(tiny, demand_with_files):
    _, photo, _ = demand_with_files
    response = client_for(tiny.users["handler"]).post(f"/files/{photo.pk}/")
    assert response.status_code == 405


def test_headers_of_a_download(tiny, demand_with_files):
    _, photo, letter = demand_with_files
    c = client_for(tiny.users["handler"])
    response = c.get(f"/files/{letter.pk}/")
    assert response["Content-Type"] == (
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
    )
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Cache-Control"] == "private, no-store"
    assert "default-src 'none'" in response["Content-Security-Policy"]
    assert "sandbox" in response["Content-Security-Policy"]
    disposition = response["Content-Disposition"]
    assert disposition.startswith("attachment;")
    assert f"filename*=UTF-8''{quote('情况说明 (1).docx', safe='')}" in disposition
    assert 'filename="____ (1).docx"' in disposition
    assert response["Content-Length"] == str(letter.size)

    image = c.get(f"/files/{photo.pk}/")
    assert image["Content-Type"] == "image/jpeg"
    assert image["Content-Disposition"].startswith("inline;")
    assert "sandbox" in image["Content-Security-Policy"]


def test_a_pdf_is_shown_inline_without_script(tiny, store):
    demand = hotline_demand(tiny, dispatch=True)
    [att] = attachments_add(
        demand=demand,
        by=tiny.users["handler"],
        files=[f.upload("说明.pdf", f.pdf())],
        purpose="note",
    )
    response = client_for(tiny.users["handler"]).get(f"/files/{att.pk}/")
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"].startswith("inline;")
    csp = response["Content-Security-Policy"]
    assert "default-src 'none'" in csp and "script-src" not in csp


def test_the_person_sees_what_they_submitted_and_approved_replies_only(tiny, store):
    """The person served (portal account or secret link) never sees internal files."""
    resident = tiny.users["resident"]
    demand = services.demand_submit(
        by=resident, title="路灯不亮", body="小区路灯坏了。", kind="help", channel="portal"
    ).demand
    [mine] = attachments_add(
        demand=demand, by=resident, files=[f.upload("路灯.jpg", f.jpeg())], purpose="submit"
    )
    assert mine.uploaded_via == "portal"
    services.demand_dispatch(
        demand=demand, by=tiny.users["dispatcher"], lead_unit=tiny.dept, category=tiny.category
    )
    handler = tiny.users["handler"]
    services.demand_sign(demand=demand, by=handler)
    [note] = attachments_add(
        demand=demand, by=handler, files=[f.upload("内部.pdf", f.pdf())], purpose="note"
    )
    assert note.uploaded_via == "staff"
    services.demand_submit_reply(demand=demand, by=handler, text="已修复。")
    [answer] = attachments_add(
        demand=demand, by=handler, files=[f.upload("答复函.pdf", f.pdf())], purpose="reply"
    )
    demand.refresh_from_db()

    # before the unit head approves, the draft's file stays inside
    assert attachments_for(demand=demand, user=resident) == [mine]
    assert attachments_for_token(demand=demand, token=demand.rating_token) == [mine]
    person = client_for(resident)
    assert person.get(f"/files/{answer.pk}/").status_code == 404
    assert person.get(f"/files/{note.pk}/").status_code == 404

    services.demand_approve_reply(demand=demand, by=tiny.users["head"])
    assert attachments_for(demand=demand, user=resident) == [mine, answer]
    assert attachments_for_token(demand=demand, token=demand.rating_token) == [mine, answer]
    assert person.get(f"/files/{answer.pk}/").status_code == 200
    assert client_for(None).get(f"/files/{answer.pk}/t/{demand.rating_token}/").status_code == 200
    assert client_for(None).get(f"/files/{note.pk}/t/{demand.rating_token}/").status_code == 404
    # the staff see everything
    assert attachments_for(demand=demand, user=handler) == [mine, note, answer]


def test_a_missing_file_on_disk_is_a_404_not_a_crash(tiny, demand_with_files, store):
    _, photo, _ = demand_with_files
    (store / photo.stored_name).unlink()
    assert client_for(tiny.users["handler"]).get(f"/files/{photo.pk}/").status_code == 404
