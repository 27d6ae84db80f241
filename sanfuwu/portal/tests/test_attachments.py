"""Attachments on the portal: written with the demand in one transaction, or nothing is."""

from __future__ import annotations

import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from sanfuwu.attachments.models import Attachment
from sanfuwu.demands.models import Demand

from .helpers import RESIDENT_FORM, nonce, post_form

pytestmark = pytest.mark.django_db

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


@pytest.fixture(autouse=True)
def _files_in_tmp(settings, tmp_path):
    settings.STORAGES = {
        **settings.STORAGES,
        "attachments": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(tmp_path)},
        },
    }


def test_a_photo_is_kept_with_the_demand_and_listed_on_the_personal_page(tiny, client):
    photo = SimpleUploadedFile("路灯.png", PNG, content_type="image/png")
    data = {**RESIDENT_FORM, "nonce": nonce(), "files": [photo]}
    response = post_form(client, "resident", data)
    assert response.status_code == 302
    d = Demand.objects.get()
    att = Attachment.objects.get()
    assert att.demand == d and att.purpose == "submit"
    html = client.get(response["Location"]).content.decode()
    assert "路灯.png" in html


def test_a_bad_file_writes_nothing_and_keeps_the_typed_text(tiny, client):
    bad = SimpleUploadedFile("照片.png", b"MZ\x90\x00 not an image", content_type="image/png")
    data = {**RESIDENT_FORM, "nonce": nonce(), "files": [bad]}
    response = post_form(client, "resident", data)
    assert response.status_code == 422
    html = response.content.decode()
    assert re.search(r'id="id_files_error"[^>]*>[^<]*照片', html)
    assert RESIDENT_FORM["body"] in html and f'value="{RESIDENT_FORM["title"]}"' in html
    assert Demand.objects.count() == 0 and Attachment.objects.count() == 0


def test_a_resubmitted_form_does_not_attach_the_files_twice(tiny, client):
    key = nonce()
    for _ in range(2):
        photo = SimpleUploadedFile("a.png", PNG, content_type="image/png")
        response = post_form(client, "resident", {**RESIDENT_FORM, "nonce": key, "files": [photo]})
        assert response.status_code == 302
    assert Demand.objects.count() == 1 and Attachment.objects.count() == 1
