from sanfuwu.core.masking import mask_id_number, mask_name, mask_phone
from sanfuwu.directory.validators import (
    id_check_char,
    make_id_number,
    make_uscc,
    uscc_check_char,
    validate_id_number,
    validate_mobile_or_phone,
    validate_uscc,
)


def test_mobile_numbers_keep_the_first_three_and_last_four_digits():
    assert mask_phone("13812341234") == "138****1234"
    assert mask_phone("") == "" and mask_phone(None) == ""


def test_landlines_and_short_numbers_never_show_in_full():
    assert mask_phone("0571-87654321") == "0571-****4321"
    assert mask_phone("12345") == "***45"
    assert mask_phone("8765432") == "*****32"
    assert mask_phone("057187654321") == "057*****4321"


def test_id_numbers_keep_region_and_last_four():
    assert mask_id_number("11010519491231002X") == "110105********002X"
    assert mask_id_number("110105491231002") == "110105******002"
    assert mask_id_number("abc") == "***"


def test_names_keep_the_surname_character():
    assert mask_name("张三") == "张*"
    assert mask_name("欧阳修文") == "欧***"
    assert mask_name("李") == "李*"


def test_check_characters_match_published_examples():
    # GB 11643 example 11010519491231002X; GB 32100 example 91350100M000100Y43
    assert id_check_char("11010519491231002") == "X"
    assert uscc_check_char("91350100M000100Y4") == "3"


def test_generated_identifiers_are_valid():
    for seed in (1, 42, 99999):
        assert validate_uscc(make_uscc(seed)) == make_uscc(seed)
    from datetime import date

    number = make_id_number(birth=date(1980, 2, 29), seq=7)
    assert validate_id_number(number) == number


def test_phone_validation_accepts_mobiles_landlines_and_hotlines():
    assert validate_mobile_or_phone(" 138 1234 1234 ") == "13812341234"
    assert validate_mobile_or_phone("0571-87654321") == "0571-87654321"
    assert validate_mobile_or_phone("12345") == "12345"
