"""Korean message rules (domain.md "Messages (Korea)"): bytes, type switch, senders, ads."""
import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from engine import messaging as m
from engine.errors import ValidationError

SEOUL = ZoneInfo("Asia/Seoul")


@pytest.mark.parametrize("text, size", [
    ("", 0),
    ("hello", 5),
    ("안녕하세요", 10),
    ("주문 ord100098 발송완료", 23),
    ("똠방각하 햏", 11),          # outside KS X 1001: euc-kr would say 23
    ("가" * 45, 90),
    ("가" * 45 + "a", 91),
    ("😀", 2),                   # unsendable, counted as 2 and flagged separately
])
def test_byte_length_counts_like_carriers(text, size):
    assert m.byte_length(text) == size


def test_exactly_90_bytes_is_sms_and_91_is_lms():
    assert m.classify("가" * 45).kind == m.SMS
    assert m.classify("가" * 45 + "a").kind == m.LMS


def test_subject_makes_lms_and_is_limited_to_40_bytes():
    assert m.classify("짧은 글", subject="안내").kind == m.LMS
    result = m.classify("본문", subject="가" * 21)
    assert result.subject_bytes == 42 and not result.ok


def test_over_2000_bytes_cannot_be_sent():
    assert m.classify("가" * 1000).ok
    result = m.classify("가" * 1000 + "a")
    assert result.kind == m.LMS and not result.ok and result.problems[0][1]["n"] == 2001


def test_image_makes_mms():
    assert m.classify("사진", has_image=True).kind == m.MMS


def test_emoji_is_flagged_before_sending():
    result = m.classify("배송 시작 🚚 감사합니다 😀🚚")
    assert not result.ok
    assert result.problems[-1][1]["chars"] == "🚚 😀"


def test_empty_message_is_a_problem():
    assert not m.classify("   ").ok


@pytest.mark.parametrize("number, expected", [
    ("010-1234-5678", "01012345678"),
    ("02-123-4567", "021234567"),
    ("1588-1234", "15881234"),
    ("1644 0000", "16440000"),
    ("07047548135", "07047548135"),
])
def test_sender_numbers_that_may_register(number, expected):
    assert m.normalise_sender(number) == expected


@pytest.mark.parametrize("number", [
    "0505-123-4567",      # 050 not allowed
    "1588-12345",         # 15YY must be exactly 8
    "158812",
    "0212345",            # 7 digits
    "010123456789",       # 12 digits
    "010-1234-abcd",
])
def test_sender_numbers_refused(number):
    with pytest.raises(ValidationError):
        m.normalise_sender(number)


def test_placeholders_are_checked_at_save_time():
    text = "#{수령자}님, 주문 #{주문번호}이 #{택배사} #{송장번호}로 발송되었습니다."
    assert m.placeholders(text) == ["수령자", "주문번호", "택배사", "송장번호"]
    m.check_placeholders(text, {"수령자", "주문번호", "택배사", "송장번호"})
    with pytest.raises(ValidationError) as err:
        m.check_placeholders("#{수령인}님 안녕하세요", {"수령자"})
    assert "#{수령인}" in str(err.value)


def test_substitute_and_alimtalk_match():
    template = "#{수령자}님, 주문하신 상품이 발송되었습니다. 송장번호: #{송장번호} (CJ대한통운)"
    text = m.substitute(template, {"수령자": "장유리", "송장번호": "21330012"})
    assert text == "장유리님, 주문하신 상품이 발송되었습니다. 송장번호: 21330012 (CJ대한통운)"
    assert m.matches_template(template, text)
    assert not m.matches_template(template, text + " 감사합니다")
    assert not m.matches_template(template, text.replace("발송", "출고"))


def test_ad_needs_prefix_and_opt_out_line():
    good = "(광고) 겨울 세일 30%\n무료수신거부 080-123-4567"
    assert m.ad_problems(good) == []
    assert len(m.ad_problems("겨울 세일 30%")) == 2
    assert len(m.ad_problems("(광고) 겨울 세일")) == 1


@pytest.mark.parametrize("clock, consent, release", [
    ((20, 59), False, None),
    ((21, 0), False, (26, 8)),
    ((23, 30), False, (26, 8)),
    ((7, 59), False, (25, 8)),
    ((8, 0), False, None),
    ((23, 30), True, None),
])
def test_ads_wait_out_the_night_without_consent(clock, consent, release):
    now = dt.datetime(2026, 11, 25, *clock, tzinfo=SEOUL)
    expected = dt.datetime(2026, 11, release[0], release[1], tzinfo=SEOUL) if release else None
    assert m.ad_release_time(now, consent) == expected


def test_substitute_keeps_literal_braces_and_blanks_missing_values():
    assert m.substitute("{쿠폰} #{수령자}님 {{x}} #{없음}!", {"수령자": "장유리"}) == \
        "{쿠폰} 장유리님 {{x}} !"
    assert m.substitute("치환 없음 {0}", {}) == "치환 없음 {0}"
