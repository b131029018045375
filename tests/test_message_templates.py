"""Templates, macros and sender numbers: checked when saved, not when sent."""
import pytest

from engine import message_templates as mt, senders
from engine.errors import PermissionDenied, ValidationError
from engine.models import Macro, MessageTemplate, SenderNumber


def test_unknown_placeholder_refused_at_save_time(world):
    with pytest.raises(ValidationError) as err:
        mt.save_template(world.admin, {"name": "발송", "kind": "sms", "body": "#{수령인}님"})
    assert err.value.field == "body" and "#{수령인}" in str(err.value)
    assert MessageTemplate.select().count() == 0


def test_alimtalk_needs_code_and_at_most_five_buttons(world):
    raw = {"name": "발송안내", "kind": "alimtalk", "body": "#{수령자}님 발송되었습니다.",
           "buttons": [{"name": f"버튼{i}", "type": "DS"} for i in range(6)]}
    with pytest.raises(ValidationError) as err:
        mt.save_template(world.admin, raw)
    assert {"alimtalk_code", "buttons"} <= set(err.value.errors)
    raw.update(alimtalk_code="SHIP_001", buttons=raw["buttons"][:5])
    template = mt.save_template(world.admin, raw)
    assert len(template.buttons) == 5 and template.approval == "approved"


def test_web_link_button_needs_a_url(world):
    with pytest.raises(ValidationError) as err:
        mt.save_template(world.admin, {"name": "a", "kind": "alimtalk", "alimtalk_code": "X",
                                       "body": "안내", "buttons": [{"name": "보기", "type": "WL",
                                                                    "url": "javascript:x"}]})
    assert "buttons-0-url" in err.value.errors


def test_ad_template_needs_prefix_and_opt_out(world):
    with pytest.raises(ValidationError):
        mt.save_template(world.admin, {"name": "세일", "kind": "sms", "is_ad": "1",
                                       "body": "봄 세일"})
    mt.save_template(world.admin, {"name": "세일", "kind": "sms", "is_ad": "1",
                                   "body": "(광고) 봄 세일\n무료수신거부 080-123-4567"})


def test_email_needs_subject_and_names_are_unique(world):
    with pytest.raises(ValidationError) as err:
        mt.save_template(world.admin, {"name": "메일", "kind": "email", "body": "본문"})
    assert err.value.field == "subject"
    first = mt.save_template(world.admin, {"name": "메일", "kind": "email", "body": "본문",
                                           "subject": "[ruledesk] #{주문번호} 안내"})
    with pytest.raises(ValidationError):
        mt.save_template(world.admin, {"name": "메일", "kind": "sms", "body": "x"})
    changed = mt.save_template(world.admin, {"name": "메일", "kind": "email", "body": "새 본문",
                                             "subject": "제목"}, first.id)
    assert changed.body == "새 본문"


def test_agent_cannot_edit_templates_but_saves_macros(world):
    with pytest.raises(PermissionDenied):
        mt.save_template(world.agent, {"name": "x", "kind": "sms", "body": "x"})
    mt.save_macro(world.agent, {"name": "배송지연", "body": "배송이 지연되어 죄송합니다."})
    mt.save_macro(world.agent, {"name": "배송지연", "body": "택배사 사정으로 지연됩니다."})
    assert [m.body for m in Macro.select()] == ["택배사 사정으로 지연됩니다."]


def test_sender_numbers_follow_the_registration_rules(world):
    with pytest.raises(ValidationError):
        senders.save_sender(world.admin, {"number": "0505-123-4567"})
    sender = senders.save_sender(world.admin, {"number": "1588-1234", "label": "대표",
                                               "registered": "1"})
    assert sender.number == "15881234" and sender.registered
    with pytest.raises(ValidationError):
        senders.save_sender(world.admin, {"number": "15881234"})
    with pytest.raises(PermissionDenied):
        senders.save_sender(world.agent, {"number": "021234567"})
    senders.delete_sender(world.admin, sender.id)
    assert SenderNumber.select().count() == 0
