"""The template tags other pages put in their forms and detail views."""

from __future__ import annotations

from django.template import Context, Template
from django.test import RequestFactory

from sanfuwu.attachments.services import attachments_add
from sanfuwu.conftest import hotline_demand

from . import files as f


def render(source: str, **context) -> str:
    return Template("{% load attachments %}" + source).render(Context(context))


def test_the_input_has_a_label_the_accepted_types_and_the_limits():
    html = render("{% attachment_input %}")
    assert '<label for="id_files">附件</label>' in html
    assert 'type="file" id="id_files" name="files" multiple' in html
    assert 'accept=".jpe,.jpeg,.jpg,' in html and "application/pdf" in html and "svg" not in html
    assert "每个文件不超过 10 MB，一次最多 9 个、合计不超过 30 MB" in html


def test_the_input_shows_an_error_next_to_the_field():
    html = render(
        '{% attachment_input error=message input_id="reply_files" label="答复附件" %}',
        message="文件“a.exe”的内容不是允许的类型",
    )
    assert '<label for="reply_files">答复附件</label>' in html
    assert 'aria-invalid="true"' in html
    assert 'role="alert">文件“a.exe”的内容不是允许的类型</p>' in html


def test_the_list_links_the_files_the_viewer_may_see(tiny, store):
    demand = hotline_demand(tiny, dispatch=True)
    [att] = attachments_add(
        demand=demand,
        by=tiny.users["dispatcher"],
        files=[f.upload("<i>现场.jpg", f.jpeg())],
        purpose="submit",
    )
    request = RequestFactory().get("/")
    request.user = tiny.users["handler"]
    html = render("{% attachment_list demand %}", request=request, demand=demand)
    assert f'href="/files/{att.pk}/"' in html
    assert "&lt;i&gt;现场.jpg" in html  # escaped
    assert "JPEG" in html and "提交" in html

    request.user = tiny.users["other_handler"]
    assert "<li>" not in render("{% attachment_list demand %}", request=request, demand=demand)


def test_the_public_list_uses_the_secret_link(tiny, store):
    demand = hotline_demand(tiny, dispatch=True)
    [att] = attachments_add(
        demand=demand,
        by=tiny.users["dispatcher"],
        files=[f.upload("a.pdf", f.pdf())],
        purpose="submit",
    )
    html = render(
        "{% attachment_list_public demand token %}", demand=demand, token=demand.rating_token
    )
    assert f'href="/files/{att.pk}/t/{demand.rating_token}/"' in html
    assert "<li>" not in render(
        "{% attachment_list_public demand token %}", demand=demand, token="nope"
    )


def test_the_list_is_empty_for_an_anonymous_visitor(tiny, store):
    from django.contrib.auth.models import AnonymousUser

    demand = hotline_demand(tiny, dispatch=True)
    attachments_add(
        demand=demand,
        by=tiny.users["dispatcher"],
        files=[f.upload("a.pdf", f.pdf())],
        purpose="submit",
    )
    request = RequestFactory().get("/")
    request.user = AnonymousUser()
    assert "<li>" not in render("{% attachment_list demand %}", request=request, demand=demand)
