"""Chinese identifier validators: 统一社会信用代码, 身份证号, phone numbers.

The known-valid numbers were checked by hand (sums written out beside them), so the tests do
not only check the code against itself.
"""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from django import forms
from django.core.exceptions import ValidationError

from sanfuwu.directory.validators import (
    id_check_char,
    make_id_number,
    make_uscc,
    org_code_check_char,
    uscc_check_char,
    validate_id_number,
    validate_mobile_or_phone,
    validate_uscc,
)


def rejection(validator, value, **kwargs) -> ValidationError:
    with pytest.raises(ValidationError) as exc:
        validator(value, **kwargs)
    error = exc.value
    assert "%(" not in error.messages[0], "message parameters must be filled in"
    return error


# ---------------------------------------------------------------------------------------------
# 统一社会信用代码


@pytest.mark.parametrize(
    "code",
    [
        # GB 32100's own example. 9·1+1·3+3·9+5·27+0·19+1·26+0·16+0·17+M(21)·20+0·29+0·25+0·13
        # +1·8+0·24+0·10+Y(30)·30+4·28 = 1640; 1640 mod 31 = 28; 31−28 = 3.
        # 组织机构代码 M000100Y-4: M(22)·3+1·5+Y(34)·2 = 139; 139 mod 11 = 7; 11−7 = 4.
        "91350100M000100Y43",
        # 9·1+1·3+1·9+1·27+6·20+3·8+7·24+3·10+4·30+1·28 = 538; 538 mod 31 = 11; 31−11 = 20 → L.
        # 组织机构代码 60003734-1: 6·3+3·5+7·8+3·4+4·2 = 109; 109 mod 11 = 10; 11−10 = 1.
        "91110000600037341L",
    ],
)
def test_published_credit_codes_are_valid(code):
    assert validate_uscc(code) == code


def test_credit_code_is_returned_stripped_and_upper_cased():
    assert validate_uscc(" 91350100m000100y43 ") == "91350100M000100Y43"
    assert validate_uscc("９１３５０１００Ｍ０００１００Ｙ４３") == "91350100M000100Y43"


@pytest.mark.parametrize("code", ["91350100M000100Y4", "91350100M000100Y433", ""])
def test_credit_code_of_the_wrong_length_is_rejected_with_its_length(code):
    error = rejection(validate_uscc, code)
    assert error.code == "invalid_uscc"
    assert error.params["reason"] == "length"
    assert "18 位" in error.messages[0]
    assert f"当前 {len(code)} 位" in error.messages[0]


@pytest.mark.parametrize("letter", ["I", "O", "Z", "S", "V"])
def test_credit_code_with_a_letter_outside_the_gb32100_charset_is_rejected(letter):
    code = "91350100" + letter + "000100Y43"
    error = rejection(validate_uscc, code)
    assert error.code == "invalid_uscc"
    assert error.params["reason"] == "character"
    assert f"第 9 位含非法字符“{letter}”" in error.messages[0]


def test_credit_code_with_punctuation_names_the_position():
    error = rejection(validate_uscc, "9135010#M000100Y43")
    assert error.params == {"reason": "character", "position": 8, "char": "#"}


def test_credit_code_with_letters_in_the_region_code_is_rejected():
    code = "9135A100M000100Y4"
    error = rejection(validate_uscc, code + uscc_check_char(code))
    assert error.params["reason"] == "region"
    assert "第 3–8 位" in error.messages[0]


@pytest.mark.parametrize("last", ["4", "0", "Y", "L"])
def test_credit_code_with_a_wrong_check_character_is_rejected(last):
    error = rejection(validate_uscc, "91350100M000100Y4" + last)
    assert error.code == "invalid_uscc"
    assert error.params["reason"] == "check_char"
    assert "校验位" in error.messages[0]


def test_credit_code_with_a_swapped_pair_of_characters_is_rejected():
    assert rejection(validate_uscc, "91530100M000100Y43").params["reason"] == "check_char"


def test_credit_code_with_a_wrong_organisation_code_check_digit_is_rejected():
    # the 18th character is right for the first 17, but M000100Y's own check digit is 4, not 5
    code = "91350100M000100Y5" + uscc_check_char("91350100M000100Y5")
    assert code == "91350100M000100Y56"
    error = rejection(validate_uscc, code)
    assert error.params["reason"] == "org_check_char"
    assert "组织机构代码校验位" in error.messages[0]


def test_organisation_code_letters_take_their_gb11714_values_not_uscc_positions():
    # MA2J0001: M=22, A=10, J=19 over the full alphabet:
    # 22·3+10·7+2·9+19·10+1·2 = 346; 346 mod 11 = 5; 11−5 = 6.
    # (Positions in the USCC charset, where J is 18, would give 8.)
    assert org_code_check_char("MA2J0001") == "6"
    # 9+3+27+81+26+34+M(21)·20+A(10)·29+2·25+J(18)·13+1·30+6·28 = 1372; mod 31 = 8; 31−8 = 23 → P
    assert validate_uscc("91330102MA2J00016P") == "91330102MA2J00016P"
    with pytest.raises(ValidationError):
        validate_uscc("91330102MA2J00018" + uscc_check_char("91330102MA2J00018"))


def test_organisation_check_digit_ten_is_x_and_eleven_is_zero():
    assert org_code_check_char("00000006") == "X"  # 6·2 = 12; 12 mod 11 = 1; 11−1 = 10 → X
    assert org_code_check_char("00000000") == "0"  # 0 mod 11 = 0; 11−0 = 11 → 0
    assert org_code_check_char("00000005") == "1"  # 5·2 = 10; 11−10 = 1


def test_credit_code_check_of_thirty_one_is_zero():
    # sum 0 → 31 − 0 = 31 → 0; a single 1 at weight 1 → sum 1 → 31 − 1 = 30 → Y
    assert uscc_check_char("00000000000000000") == "0"
    assert uscc_check_char("10000000000000000") == "Y"


def test_check_character_helpers_refuse_malformed_input():
    for bad in ("9135010", "91350100M000100YI", "91350100M000100Y43"):
        with pytest.raises(ValueError):
            uscc_check_char(bad)
    for bad in ("1101051949123100", "1101051949123100X"):
        with pytest.raises(ValueError):
            id_check_char(bad)


def test_generated_credit_codes_are_valid_distinct_and_deterministic():
    codes = [make_uscc(seed) for seed in range(300)]
    assert len(set(codes)) == 300
    assert all(validate_uscc(code) == code for code in codes)
    assert make_uscc(42) == make_uscc(42) == "913301020000004225"
    assert validate_uscc(make_uscc(10**8 + 42)) == make_uscc(42)
    assert validate_uscc(make_uscc(-1))


# ---------------------------------------------------------------------------------------------
# 身份证号


def test_published_id_number_is_valid():
    # GB 11643's example. 1·7+1·9+0·10+1·5+0·8+5·4+1·2+9·1+4·6+9·3+1·7+2·9+3·10+1·5+0·8+0·4
    # +2·2 = 167; 167 mod 11 = 2; "10X98765432"[2] = X.
    assert id_check_char("11010519491231002") == "X"
    assert validate_id_number("11010519491231002X") == "11010519491231002X"


def test_lower_case_x_is_normalised_to_upper_case():
    assert validate_id_number(" 11010519491231002x ") == "11010519491231002X"


def test_legacy_fifteen_digit_number_is_accepted_unchanged():
    assert validate_id_number("110105491231002") == "110105491231002"


def test_legacy_fifteen_digit_number_with_an_impossible_birth_date_is_rejected():
    error = rejection(validate_id_number, "110105490230002")
    assert error.code == "invalid_id_number"
    assert error.params["reason"] == "birth_date"


@pytest.mark.parametrize(
    "number", ["1101051949123100", "11010519491231002X1", "11010549123100", ""]
)
def test_id_number_of_the_wrong_length_is_rejected(number):
    error = rejection(validate_id_number, number)
    assert error.code == "invalid_id_number"
    assert error.params["reason"] == "length"
    assert "18 位" in error.messages[0]


@pytest.mark.parametrize(
    "number", ["11010519491231002Y", "1101051949123100X2", "A10105194912310020"]
)
def test_id_number_with_letters_other_than_a_final_x_is_rejected(number):
    error = rejection(validate_id_number, number)
    assert error.params["reason"] == "character"


@pytest.mark.parametrize("last", ["0", "1", "9"])
def test_id_number_with_a_wrong_check_character_is_rejected(last):
    error = rejection(validate_id_number, "11010519491231002" + last)
    assert error.code == "invalid_id_number"
    assert error.params["reason"] == "check_char"
    assert "校验位" in error.messages[0]


def test_id_number_with_an_impossible_birth_date_is_rejected_even_with_a_right_check_char():
    first17 = "33010219990230001"  # 1999-02-30
    error = rejection(validate_id_number, first17 + id_check_char(first17))
    assert error.params["reason"] == "birth_date"
    assert "19990230" in error.messages[0]


def test_id_number_born_in_the_future_is_rejected():
    first17 = "33010220991231001"
    error = rejection(validate_id_number, first17 + id_check_char(first17))
    assert error.params["reason"] == "birth_date"
    assert "晚于今天" in error.messages[0]


def test_id_number_born_today_is_accepted_and_tomorrow_is_not():
    today = date(2024, 5, 20)
    born_today = make_id_number(birth=today, seq=1)
    assert validate_id_number(born_today, today=today) == born_today
    born_tomorrow = make_id_number(birth=today + timedelta(days=1), seq=1)
    assert (
        rejection(validate_id_number, born_tomorrow, today=today).params["reason"] == "birth_date"
    )


def test_id_number_born_before_1900_is_rejected():
    error = rejection(validate_id_number, make_id_number(birth=date(1899, 12, 31), seq=1))
    assert "1900" in error.messages[0]
    number = make_id_number(birth=date(1900, 1, 1), seq=1)
    assert validate_id_number(number) == number


def test_generated_id_numbers_are_valid_and_carry_birth_date_and_region():
    number = make_id_number(birth=date(1980, 2, 29), region="110105", seq=1007)
    assert number[:17] == "11010519800229007"
    assert validate_id_number(number) == number
    assert make_id_number(birth=date(1949, 12, 31), region="110105", seq=2) == "11010519491231002X"
    with pytest.raises(ValueError):
        make_id_number(birth=date(1980, 1, 1), region="3301", seq=1)


# ---------------------------------------------------------------------------------------------
# phone numbers


@pytest.mark.parametrize(
    ("raw", "normalised"),
    [
        ("13812341234", "13812341234"),
        (" 138 1234 1234 ", "13812341234"),
        ("138-1234-1234", "13812341234"),
        ("+86 138 1234 1234", "13812341234"),
        ("19912341234", "19912341234"),
    ],
)
def test_mainland_mobiles_are_accepted_as_eleven_digits(raw, normalised):
    assert validate_mobile_or_phone(raw) == normalised


@pytest.mark.parametrize(
    ("raw", "normalised"),
    [
        ("0571-87654321", "0571-87654321"),
        ("057187654321", "0571-87654321"),
        ("010-62751234", "010-62751234"),
        ("01062751234", "010-62751234"),
        ("(0574)8765432", "0574-8765432"),
        ("0571-87654321-802", "0571-87654321-802"),
        ("0571-87654321转802", "0571-87654321-802"),
    ],
)
def test_landlines_with_area_code_are_accepted_as_area_dash_number(raw, normalised):
    assert validate_mobile_or_phone(raw) == normalised


@pytest.mark.parametrize("number", ["12345", "81890", "95588", "961890"])
def test_five_and_six_digit_service_hotlines_are_accepted(number):
    assert validate_mobile_or_phone(number) == number


@pytest.mark.parametrize(
    "raw",
    [
        "",
        "12812341234",  # no 12x mobiles
        "1381234123",  # ten digits
        "138123412345",  # twelve digits
        "87654321",  # no area code
        "0571-0765432",  # local numbers do not start with 0 or 1
        "0571-876543210",  # nine-digit local number
        "1234",
        "02345",
        "电话",
    ],
)
def test_anything_else_is_not_a_phone_number(raw):
    error = rejection(validate_mobile_or_phone, raw)
    assert error.code == "invalid_phone"
    assert "电话号码" in error.messages[0]


# ---------------------------------------------------------------------------------------------
# use as Django field validators


def test_validators_work_as_django_field_validators():
    with pytest.raises(ValidationError) as exc:
        forms.CharField(validators=[validate_uscc]).clean("91350100M000100Y44")
    assert exc.value.error_list[0].code == "invalid_uscc"
    assert "校验位" in exc.value.messages[0]
    forms.CharField(validators=[validate_id_number]).clean("11010519491231002X")
    forms.CharField(validators=[validate_mobile_or_phone]).clean("13812341234")
