"""The files: written only with their rows, removed when the transaction rolls back, kept
outside the static files, and audited on the demand's timeline."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.db import transaction
from django.test import Client

from sanfuwu.attachments.apps import check_attachment_root
from sanfuwu.attachments.models import Attachment
from sanfuwu.attachments.services import attachments_add
from sanfuwu.conftest import hotline_demand
from sanfuwu.demands import services
from sanfuwu.demands.models import Demand, DemandEvent

from . import files as f


class Boom(Exception):
    pass


def test_files_are_removed_when_the_callers_transaction_rolls_back(tiny, store):
    demand = hotline_demand(tiny, dispatch=True)
    with pytest.raises(Boom), transaction.atomic():
        attachments_add(
            demand=demand,
            by=tiny.users["handler"],
            files=[f.upload("a.jpg", f.jpeg()), f.upload("b.pdf", f.pdf())],
            purpose="note",
        )
        assert len(f.stored_files(store)) == 2  # written inside the transaction
        raise Boom()
    assert f.stored_files(store) == []
    assert Attachment.objects.count() == 0


def test_files_stay_when_the_transaction_commits(tiny, store, django_capture_on_commit_callbacks):
    demand = hotline_demand(tiny, dispatch=True)
    with django_capture_on_commit_callbacks(execute=True):
        [att] = attachments_add(
            demand=demand,
            by=tiny.users["handler"],
            files=[f.upload("a.jpg", f.jpeg())],
            purpose="note",
        )
    assert [p.relative_to(store).as_posix() for p in f.stored_files(store)] == [att.stored_name]


@pytest.mark.django_db(transaction=True)
def test_commit_and_rollback_with_real_transactions(tiny, store):
    """Without the test's wrapping transaction: a commit keeps the files, a rollback of the
    caller's transaction (here a portal-like submit with its files) removes them."""
    demand = hotline_demand(tiny, dispatch=True)
    [kept] = attachments_add(
        demand=demand,
        by=tiny.users["handler"],
        files=[f.upload("a.jpg", f.jpeg())],
        purpose="note",
    )
    assert (store / kept.stored_name).exists()

    with pytest.raises(Boom), transaction.atomic():
        fresh = services.demand_submit(
            by=None, title="噪音扰民", body="夜间施工。", kind="complaint", channel="portal"
        ).demand
        attachments_add(
            demand=fresh, by=None, files=[f.upload("噪音.jpg", f.jpeg())], purpose="submit"
        )
        raise Boom()
    assert [p.relative_to(store).as_posix() for p in f.stored_files(store)] == [kept.stored_name]
    assert Attachment.objects.count() == 1
    assert not Demand.objects.filter(title="噪音扰民").exists()


def test_the_upload_is_an_event_on_the_timeline_and_the_state_stays(tiny, store):
    demand = hotline_demand(tiny, dispatch=True)
    atts = attachments_add(
        demand=demand,
        by=tiny.users["handler"],
        files=[f.upload("现场.jpg", f.jpeg()), f.upload("说明.pdf", f.pdf())],
        purpose="note",
    )
    event = DemandEvent.objects.filter(demand=demand).latest("id")
    assert event.action == "attach"
    assert event.actor == tiny.users["handler"]
    assert event.from_state == event.to_state == "dispatched"
    assert event.data == {"purpose": "note", "files": ["现场.jpg", "说明.pdf"]}
    assert {a.event_id for a in atts} == {event.pk}
    demand.refresh_from_db()
    assert demand.state == "dispatched"


def test_files_of_a_transition_point_at_its_event(tiny, store):
    demand = hotline_demand(tiny, dispatch=True)
    handler = tiny.users["handler"]
    services.demand_return(
        demand=demand, by=handler, reason_code="not_our_duty", reason="不属于住建局职责"
    )
    returned = DemandEvent.objects.filter(demand=demand, action="return").get()
    [att] = attachments_add(
        demand=demand,
        by=handler,
        files=[f.upload("职责清单.pdf", f.pdf())],
        purpose="return",
        event=returned,
    )
    assert att.event == returned
    upload = DemandEvent.objects.filter(demand=demand).latest("id")
    assert upload.action == "attach" and upload.data["event_id"] == returned.pk
    other = hotline_demand(tiny)
    from sanfuwu.core.errors import InvalidInput

    with pytest.raises(InvalidInput):
        attachments_add(
            demand=other,
            by=tiny.users["dispatcher"],
            files=[f.upload("x.pdf", f.pdf())],
            purpose="return",
            event=returned,
        )


def test_a_user_who_cannot_see_the_demand_cannot_attach(tiny, store):
    from sanfuwu.core.errors import NotFound

    demand = hotline_demand(tiny, dispatch=True)
    with pytest.raises(NotFound):
        attachments_add(
            demand=demand,
            by=tiny.users["other_handler"],
            files=[f.upload("a.jpg", f.jpeg())],
            purpose="note",
        )
    assert f.stored_files(store) == []
    assert not DemandEvent.objects.filter(action="attach").exists()


def test_the_portal_uploads_without_a_user(tiny, store):
    demand = services.demand_submit(
        by=None, title="道路积水", body="雨后积水。", kind="help", channel="portal"
    ).demand
    [att] = attachments_add(
        demand=demand, by=None, files=[f.upload("积水.jpg", f.jpeg())], purpose="submit"
    )
    assert att.uploaded_by is None and att.uploaded_via == "portal"
    event = DemandEvent.objects.filter(demand=demand, action="attach").get()
    assert event.actor is None and event.actor_label == "诉求人"


def test_the_configured_folder_is_outside_the_static_files():
    root = Path(django_settings.SANFUWU_ATTACHMENT_ROOT).resolve()
    static = Path(django_settings.STATIC_ROOT).resolve()
    assert static not in root.parents and root != static
    # the shipped default too: DATA_DIR/attachments beside DATA_DIR/static
    default = Path(django_settings.DATA_DIR) / "attachments"
    assert static not in default.resolve().parents
    assert check_attachment_root() == []


def test_the_system_check_refuses_a_folder_inside_static_root(settings):
    settings.STORAGES = {
        **settings.STORAGES,
        "attachments": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(Path(settings.STATIC_ROOT) / "uploads")},
        },
    }
    [error] = check_attachment_root()
    assert error.id == "attachments.E001"


def test_the_static_url_cannot_serve_an_attachment(tiny, store):
    demand = hotline_demand(tiny, dispatch=True)
    [att] = attachments_add(
        demand=demand,
        by=tiny.users["dispatcher"],
        files=[f.upload("a.pdf", f.pdf())],
        purpose="submit",
    )
    c = Client()
    c.force_login(tiny.users["admin"])
    for url in (
        f"/static/{att.stored_name}",
        f"/static/attachments/{att.stored_name}",
        f"/static/../attachments/{att.stored_name}",
        f"/media/{att.stored_name}",
    ):
        assert c.get(url).status_code == 404, url
    assert c.get(f"/files/{att.pk}/").status_code == 200


def test_a_failure_after_the_files_are_written_removes_them(tiny, store):
    demand = hotline_demand(tiny, dispatch=True)
    unsaved = DemandEvent(demand=demand, action="return")  # rows cannot point at it
    with pytest.raises(ValueError):
        attachments_add(
            demand=demand,
            by=tiny.users["handler"],
            files=[f.upload("a.jpg", f.jpeg()), f.upload("b.pdf", f.pdf())],
            purpose="return",
            event=unsaved,
        )
    assert f.stored_files(store) == []
    assert Attachment.objects.count() == 0
    assert not DemandEvent.objects.filter(action="attach").exists()


def test_the_sweep_deletes_only_old_files_without_a_row(tiny, store):
    import os
    import time
    from io import StringIO

    from django.core.management import call_command

    demand = hotline_demand(tiny, dispatch=True)
    [att] = attachments_add(
        demand=demand,
        by=tiny.users["handler"],
        files=[f.upload("a.jpg", f.jpeg())],
        purpose="note",
    )
    old_orphan = store / "2020" / "01" / "02" / ("a" * 32)
    new_orphan = store / "2020" / "01" / "03" / ("b" * 32)
    for path in (old_orphan, new_orphan):
        path.parent.mkdir(parents=True)
        path.write_bytes(b"left behind")
    day_ago = time.time() - 2 * 86400
    os.utime(old_orphan, (day_ago, day_ago))
    os.utime(store / att.stored_name, (day_ago, day_ago))

    out = StringIO()
    call_command("sweep_attachment_files", "--dry-run", stdout=out)
    assert "2020/01/02/" + "a" * 32 in out.getvalue() and old_orphan.exists()
    call_command("sweep_attachment_files", stdout=StringIO())
    assert not old_orphan.exists()
    assert new_orphan.exists()  # possibly an upload in flight
    assert (store / att.stored_name).exists()
