"""Files are judged by their bytes; a refusal writes nothing, on disk or in the database."""

from __future__ import annotations

import pytest

from sanfuwu.attachments.models import Attachment
from sanfuwu.attachments.services import attachments_add
from sanfuwu.conftest import hotline_demand
from sanfuwu.core.errors import InvalidInput
from sanfuwu.demands.models import DemandEvent

from . import files as f

ACCEPTED = [
    ("现场照片.jpg", f.jpeg, "image/jpeg", "现场照片.jpg"),
    ("photo.png", f.png, "image/png", "photo.png"),
    ("动图.gif", f.gif, "image/gif", "动图.gif"),
    ("img.webp", f.webp, "image/webp", "img.webp"),
    ("IMG_0001.HEIC", f.heic, "image/heic", "IMG_0001.heic"),
    ("情况说明.pdf", f.pdf, "application/pdf", "情况说明.pdf"),
    (
        "答复函.docx",
        f.docx,
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        "答复函.docx",
    ),
    (
        "统计表.xlsx",
        f.xlsx,
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        "统计表.xlsx",
    ),
    (
        "汇报.pptx",
        f.pptx,
        "application/vnd.openxmlformats-officedocument.presentationml.presentation",
        "汇报.pptx",
    ),
    ("老文件.doc", f.doc, "application/msword", "老文件.doc"),
    ("老表格.xls", f.xls, "application/vnd.ms-excel", "老表格.xls"),
    ("老幻灯.ppt", f.ppt, "application/vnd.ms-powerpoint", "老幻灯.ppt"),
]


@pytest.mark.parametrize(("name", "make", "content_type", "shown"), ACCEPTED)
def test_every_accepted_type_is_recognised_from_its_bytes(
    tiny, store, name, make, content_type, shown
):
    demand = hotline_demand(tiny, dispatch=True)
    data = make()
    [att] = attachments_add(
        demand=demand, by=tiny.users["handler"], files=[f.upload(name, data)], purpose="note"
    )
    assert att.content_type == content_type
    assert att.original_name == shown
    assert att.size == len(data)
    import hashlib

    assert att.sha256 == hashlib.sha256(data).hexdigest()
    [path] = f.stored_files(store)
    assert path.read_bytes() == data
    # stored under a random name in a folder of the day, nothing of the original name
    assert path.relative_to(store).as_posix() == att.stored_name
    assert len(path.parts[-4:-1]) == 3 and path.name.isalnum() and len(path.name) == 32


def test_the_name_gets_the_extension_of_the_real_type(tiny, store):
    demand = hotline_demand(tiny, dispatch=True)
    atts = attachments_add(
        demand=demand,
        by=tiny.users["handler"],
        files=[
            f.upload("photo.png", f.jpeg()),  # a JPEG named .png
            f.upload("扫描件", f.pdf()),  # no extension
            f.upload("报告.v2", f.docx()),  # an unknown ending stays part of the name
        ],
        purpose="note",
    )
    assert [a.original_name for a in atts] == ["photo.jpg", "扫描件.pdf", "报告.v2.docx"]


def test_names_lose_folders_control_characters_and_excess_length(tiny, store):
    demand = hotline_demand(tiny, dispatch=True)
    long_name = "关于" + "小区电梯长期故障" * 30 + ".jpg"
    atts = attachments_add(
        demand=demand,
        by=tiny.users["handler"],
        files=[
            f.upload("../../etc/passwd.jpg", f.jpeg()),
            f.upload("C:\\Users\\张三\\桌面\\现场.jpg", f.jpeg()),
            f.upload("invoice\u202egpj.exe.jpg", f.jpeg()),
            f.upload("a\x00b\x07c\n.jpg", f.jpeg()),
            f.upload(long_name, f.jpeg()),
        ],
        purpose="note",
    )
    names = [a.original_name for a in atts]
    assert names[:4] == ["passwd.jpg", "现场.jpg", "invoicegpj.exe.jpg", "abc.jpg"]
    assert len(names[4]) <= 120 and names[4].startswith("关于小区") and names[4].endswith(".jpg")


def _refused(tiny, store, files, message_part):
    demand = hotline_demand(tiny, dispatch=True)
    events_before = DemandEvent.objects.filter(demand=demand).count()
    with pytest.raises(InvalidInput) as caught:
        attachments_add(demand=demand, by=tiny.users["handler"], files=files, purpose="note")
    assert caught.value.field == "files"
    assert message_part in caught.value.message
    assert f.stored_files(store) == []
    assert Attachment.objects.count() == 0
    assert DemandEvent.objects.filter(demand=demand).count() == events_before
    return caught.value.message


@pytest.mark.parametrize(
    ("name", "make"),
    [
        ("照片.jpg", f.exe),  # a program renamed
        ("page.pdf", f.html),
        ("logo.png", f.svg),
        ("logo.svg", f.svg),
        ("资料.zip", f.plain_zip),
        ("宏.docm", f.docm),
        ("宏.doc", f.doc_with_macros),
        ("setup.doc", f.msi_like),
        ("notes.txt", lambda: "纯文本说明".encode()),
    ],
)
def test_files_that_are_not_allowed_are_refused_with_nothing_written(tiny, store, name, make):
    message = _refused(tiny, store, [f.upload(name, make(), "image/jpeg")], name)
    assert "只接受" in message


def test_macros_are_named_as_the_reason(tiny, store):
    message = _refused(tiny, store, [f.upload("年报.docm", f.docm())], "含有宏")
    assert message.startswith("文件“年报.docm”含有宏")


def test_one_bad_file_refuses_the_whole_batch(tiny, store):
    files = [f.upload("a.jpg", f.jpeg()), f.upload("b.pdf", f.pdf()), f.upload("c.jpg", f.exe())]
    _refused(tiny, store, files, "文件“c.jpg”的内容不是允许的类型")


def test_an_empty_file_is_refused(tiny, store):
    _refused(tiny, store, [f.upload("空.pdf", b"")], "文件“空.pdf”是空文件")


def test_a_file_over_the_size_limit_is_refused(tiny, store, settings):
    settings.SANFUWU_ATTACHMENT_MAX_BYTES = 1024
    big = f.pdf() + b"%" * 1024
    _refused(tiny, store, [f.upload("大文件.pdf", big)], "文件“大文件.pdf”超过 1 KB 的上限")


def test_the_default_size_limit_is_ten_megabytes(tiny, store):
    big = f.pdf() + b"0" * (10 * 1024 * 1024)
    _refused(tiny, store, [f.upload("大文件.pdf", big)], "超过 10 MB 的上限")


def test_too_many_files_are_refused(tiny, store):
    files = [f.upload(f"{i}.jpg", f.jpeg()) for i in range(10)]
    _refused(tiny, store, files, "一次最多上传 9 个文件（本次 10 个）")


def test_the_total_of_one_action_is_limited(tiny, store, settings):
    settings.SANFUWU_ATTACHMENT_MAX_BYTES = 1000
    settings.SANFUWU_ATTACHMENT_MAX_TOTAL_BYTES = 1500
    files = [f.upload(f"{i}.pdf", f.pdf() + b"%" * 700) for i in range(2)]
    _refused(tiny, store, files, "一次上传的文件合计不能超过 1.5 KB")


def test_an_unknown_purpose_is_refused(tiny, store):
    demand = hotline_demand(tiny, dispatch=True)
    with pytest.raises(InvalidInput) as caught:
        attachments_add(
            demand=demand,
            by=tiny.users["handler"],
            files=[f.upload("a.jpg", f.jpeg())],
            purpose="selfie",
        )
    assert caught.value.field == "purpose"
    assert f.stored_files(store) == []


def test_no_files_is_no_upload(tiny, store):
    demand = hotline_demand(tiny, dispatch=True)
    assert attachments_add(demand=demand, by=tiny.users["handler"], files=[], purpose="note") == []
    assert not DemandEvent.objects.filter(demand=demand, action="attach").exists()


def _parsed_upload(files: list[tuple[str, bytes]], **fields):
    """request.FILES of a real multipart POST, parsed by the configured upload handlers."""
    from django.test import RequestFactory

    request = RequestFactory().post(
        "/", {**fields, "files": [f.upload(name, data) for name, data in files]}
    )
    return request


def test_an_oversized_upload_is_not_kept_and_is_refused_next_to_the_field(tiny, store, settings):
    settings.SANFUWU_ATTACHMENT_MAX_BYTES = 64 * 1024
    big = f.pdf() + b"%" * (200 * 1024)
    request = _parsed_upload([("small.jpg", f.jpeg()), ("大文件.pdf", big)], title="保留的标题")
    uploads = request.FILES.getlist("files")
    assert request.POST["title"] == "保留的标题"  # the rest of the form survives
    assert uploads[0].read() == f.jpeg()
    assert uploads[1].size == len(big) and uploads[1].read() == b""  # no bytes kept
    _refused(tiny, store, uploads, "文件“大文件.pdf”超过 64 KB 的上限（200.1 KB）")


def test_uploads_past_the_total_are_not_kept(tiny, store, settings):
    settings.SANFUWU_ATTACHMENT_MAX_TOTAL_BYTES = 100 * 1024
    part = f.pdf() + b"%" * (60 * 1024)
    request = _parsed_upload([("1.pdf", part), ("2.pdf", part)])
    uploads = request.FILES.getlist("files")
    assert uploads[0].read() == part and uploads[1].read() == b""
    _refused(tiny, store, uploads, "一次上传的文件合计不能超过 100 KB")


def test_a_normal_upload_passes_the_handler_untouched(tiny, store):
    request = _parsed_upload([("a.pdf", f.pdf()), ("b.jpg", f.jpeg())])
    demand = hotline_demand(tiny, dispatch=True)
    atts = attachments_add(
        demand=demand,
        by=tiny.users["handler"],
        files=request.FILES.getlist("files"),
        purpose="note",
    )
    assert [a.content_type for a in atts] == ["application/pdf", "image/jpeg"]


@pytest.mark.parametrize(
    ("name", "data"),
    [
        ("坏.doc", f.doc()[:600]),  # cut inside the FAT
        ("坏.xls", f.OLE_LOOP),  # a directory chain that points at itself
        ("坏.docx", f.docx()[:200]),  # a zip without its directory
        ("坏.png", b"\x89PNG"),  # too short to be anything
    ],
)
def test_damaged_files_are_refused_not_crashed_on(tiny, store, name, data):
    _refused(tiny, store, [f.upload(name, data)], name)
