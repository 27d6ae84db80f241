"""Filing a person served on the spot, and searching the files, as staff do at intake."""

from __future__ import annotations

from datetime import date

import pytest

from sanfuwu.core.errors import Forbidden, InvalidInput
from sanfuwu.directory.models import Enterprise, Resident
from sanfuwu.directory.selectors import directory_search
from sanfuwu.directory.services import enterprise_get_or_create, resident_get_or_create
from sanfuwu.directory.validators import make_id_number, make_uscc

pytestmark = pytest.mark.django_db

USCC = make_uscc(12345)
ID_NUMBER = make_id_number(birth=date(1980, 5, 17), seq=123)


def test_filing_an_enterprise_twice_by_its_credit_code_returns_the_first(tiny):
    grid = tiny.users["grid_worker"]
    first = enterprise_get_or_create(by=grid, name="示范机械有限公司", uscc=USCC)
    assert first.created and first.record.uscc == USCC
    again = enterprise_get_or_create(by=grid, name="示范机械", uscc=USCC.lower())
    assert not again.created and again.record.pk == first.record.pk
    assert again.record.name == "示范机械有限公司"  # the file is not overwritten
    assert Enterprise.objects.count() == 1


def test_an_enterprise_needs_a_name_and_a_valid_credit_code(tiny):
    grid = tiny.users["grid_worker"]
    with pytest.raises(InvalidInput) as exc:
        enterprise_get_or_create(by=grid, name="  ", uscc=USCC)
    assert exc.value.field == "name" and "企业名称不能为空" in exc.value.message
    bad = USCC[:-1] + ("0" if USCC[-1] != "0" else "1")
    with pytest.raises(InvalidInput) as exc:
        enterprise_get_or_create(by=grid, name="示范机械有限公司", uscc=bad)
    assert exc.value.field == "uscc" and "校验位" in exc.value.message
    assert Enterprise.objects.count() == 0


def test_filing_a_resident_twice_by_id_number_returns_the_first(tiny):
    visitor = tiny.users["visitor"]
    first = resident_get_or_create(
        by=visitor, name="王五", phone="13900001111", id_number=ID_NUMBER
    )
    again = resident_get_or_create(
        by=visitor, name="王 五", phone="13900002222", id_number=ID_NUMBER
    )
    assert first.created and not again.created and again.record.pk == first.record.pk
    assert Resident.objects.get().phone == "13900001111"


def test_a_resident_without_id_number_is_the_same_by_name_and_phone(tiny):
    grid = tiny.users["grid_worker"]
    first = resident_get_or_create(by=grid, name="李四", phone="139 0000 1111")
    again = resident_get_or_create(by=grid, name="李四", phone="+8613900001111")
    other = resident_get_or_create(by=grid, name="李四", phone="13900002222")
    assert first.created and not again.created and again.record.pk == first.record.pk
    assert other.created and other.record.pk != first.record.pk
    assert first.record.phone == "13900001111" and first.record.id_number is None


def test_a_resident_needs_a_name_a_valid_phone_and_a_valid_id_number(tiny):
    grid = tiny.users["grid_worker"]
    with pytest.raises(InvalidInput) as exc:
        resident_get_or_create(by=grid, name="李四", phone="")
    assert exc.value.field == "phone"
    with pytest.raises(InvalidInput) as exc:
        resident_get_or_create(by=grid, name="李四", phone="12345678901")
    assert exc.value.field == "phone" and "格式不正确" in exc.value.message
    with pytest.raises(InvalidInput) as exc:
        resident_get_or_create(by=grid, name="李四", phone="13900001111", id_number="3301")
    assert exc.value.field == "id_number" and "18 位" in exc.value.message
    assert Resident.objects.count() == 0


def test_only_intake_staff_may_file_or_search(tiny):
    for name in ("resident", "stranger", "leader"):
        with pytest.raises(Forbidden):
            enterprise_get_or_create(by=tiny.users[name], name="示范机械", uscc=USCC)
        with pytest.raises(Forbidden):
            directory_search(user=tiny.users[name], q="示范", kind="enterprise")
    assert Enterprise.objects.count() == 0


@pytest.fixture
def files(tiny):
    ent = Enterprise.objects.create(
        name="杭州示范机械有限公司", uscc=USCC, contact_phone="13700001234"
    )
    Enterprise.objects.create(name="示范食品厂", uscc=make_uscc(999))
    res = Resident.objects.create(name="欧阳修文", phone="13900001111", id_number=ID_NUMBER)
    Resident.objects.create(name="张三", phone="0571-87654321")
    return ent, res


def test_search_finds_enterprises_by_chinese_substring_and_credit_code(tiny, files):
    ent, _res = files
    grid = tiny.users["grid_worker"]
    hits = directory_search(user=grid, q="机械", kind="enterprise")
    assert [h.name for h in hits] == ["杭州示范机械有限公司"]
    assert [h.name for h in directory_search(user=grid, q="示范", kind="enterprise")] == [
        "杭州示范机械有限公司",
        "示范食品厂",
    ]
    by_code = directory_search(user=grid, q=USCC[:14].lower(), kind="enterprise")
    assert [h.ref for h in by_code] == [f"enterprise:{ent.pk}"]
    assert by_code[0].code == USCC  # a credit code is public


def test_search_finds_residents_by_name_and_phone(tiny, files):
    _ent, res = files
    dispatcher = tiny.users["dispatcher"]
    assert [h.pk for h in directory_search(user=dispatcher, q="阳修", kind="resident")] == [res.pk]
    assert [
        h.pk for h in directory_search(user=dispatcher, q="139 0000 1111", kind="resident")
    ] == [res.pk]
    # dispatchers may also search by part of a number
    assert [h.pk for h in directory_search(user=dispatcher, q="0000111", kind="resident")] == [
        res.pk
    ]
    assert directory_search(user=dispatcher, q="", kind="resident") == []
    with pytest.raises(InvalidInput):
        directory_search(user=dispatcher, q="张", kind="household")


def test_search_masks_numbers_for_roles_that_may_not_see_them(tiny, files):
    dispatcher = directory_search(user=tiny.users["dispatcher"], q="欧阳", kind="resident")[0]
    assert dispatcher.phone == "13900001111" and dispatcher.code == ID_NUMBER
    for name in ("grid_worker", "visitor", "handler"):
        hit = directory_search(user=tiny.users[name], q="欧阳", kind="resident")[0]
        assert hit.phone == "139****1111"
        assert hit.code == ID_NUMBER[:6] + "********" + ID_NUMBER[-4:]
        ent = directory_search(user=tiny.users[name], q="机械", kind="enterprise")[0]
        assert ent.phone == "137****1234"


def test_masked_viewers_find_a_resident_by_phone_only_with_the_whole_number(tiny, files):
    _ent, res = files
    grid = tiny.users["grid_worker"]
    assert [h.pk for h in directory_search(user=grid, q="13900001111", kind="resident")] == [res.pk]
    assert directory_search(user=grid, q="0000111", kind="resident") == []
