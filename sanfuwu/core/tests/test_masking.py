"""Masking of phones, 身份证号 and names for viewers who may not see them in full."""

from __future__ import annotations

import pytest

from sanfuwu.core.masking import mask_id_number, mask_name, mask_phone


def test_mobile_keeps_the_first_three_and_last_four_digits():
    assert mask_phone("13812341234") == "138****1234"


def test_mobile_written_with_spaces_or_dashes_is_masked_as_eleven_digits():
    assert mask_phone("138 1234 1234") == "138****1234"
    assert mask_phone("138-1234-1234") == "138****1234"


def test_landline_keeps_the_area_code_and_last_four_digits():
    assert mask_phone("0571-87654321") == "0571-****4321"
    assert mask_phone("010-62751234") == "010-****1234"
    assert mask_phone("0574-8765432") == "0574-***5432"
    assert mask_phone("(0574)8765432") == "0574-***5432"


def test_landline_extension_is_kept_after_the_masked_number():
    assert mask_phone("0571-87654321-802") == "0571-****4321-802"


def test_landline_with_a_short_local_part_keeps_only_its_last_two_digits():
    assert mask_phone("0571-12345") == "0571-***45"


def test_service_hotline_keeps_its_last_two_digits():
    assert mask_phone("12345") == "***45"
    assert mask_phone("961890") == "****90"


@pytest.mark.parametrize("value", [None, "", "   "])
def test_empty_phone_is_empty(value):
    assert mask_phone(value) == ""


@pytest.mark.parametrize(("value", "masked"), [("1", "*"), ("12", "**"), ("1234", "****")])
def test_short_phone_becomes_all_stars(value, masked):
    assert mask_phone(value) == masked


def test_id_number_keeps_the_region_and_the_last_four_of_eighteen():
    assert mask_id_number("11010519491231002X") == "110105********002X"
    assert mask_id_number("330102198002290074") == "330102********0074"


def test_legacy_id_number_keeps_the_region_and_the_last_three_of_fifteen():
    assert mask_id_number("110105491231002") == "110105******002"


@pytest.mark.parametrize(("value", "masked"), [("abc", "***"), ("1101051949", "**********")])
def test_id_number_of_another_length_becomes_all_stars(value, masked):
    assert mask_id_number(value) == masked


@pytest.mark.parametrize("value", [None, "", " "])
def test_empty_id_number_is_empty(value):
    assert mask_id_number(value) == ""


def test_name_keeps_only_its_first_character():
    assert mask_name("张三") == "张*"
    assert mask_name("王小明") == "王**"
    assert mask_name("欧阳修文") == "欧***"


def test_one_character_name_still_hides_behind_a_star():
    assert mask_name("李") == "李*"


@pytest.mark.parametrize("value", [None, "", "  "])
def test_empty_name_is_empty(value):
    assert mask_name(value) == ""


@pytest.mark.parametrize("value", [13812341234, 3.5, b"\xff", object(), ["138"], "\x00\n"])
def test_odd_input_never_raises(value):
    for mask in (mask_phone, mask_id_number, mask_name):
        assert isinstance(mask(value), str)


def test_masks_never_show_a_whole_value():
    for value in ("13812341234", "0571-87654321", "12345", "11010519491231002X", "李"):
        for mask in (mask_phone, mask_id_number, mask_name):
            assert mask(value) != value
