"""Template contexts (issue #4 leftovers): a template is written for an order, a ticket or a job
result; its placeholders are checked at save time against that context, the live preview fills
it with that context's sample, and a job's result notification can be composed from a
job-context template (through the one message path: DND and idempotency as before)."""
from __future__ import annotations

import datetime as dt

import pytest

from engine import jobs, message_templates, stages, teams
from engine.errors import ValidationError
from engine.models import Job, Message, MessageTemplate, SenderNumber
from tests.conftest import NOW

EVERY_DAY = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]


def template(**raw):
    return message_templates.save_template(None, {"kind": "sms", "active": True, **raw})


def job_raw(**values):
    raw = {"name": "재오소리 배치", "kind": "rule_batch", "enabled": True, "weekdays": EVERY_DAY,
           "start": "05:00", "end": "06:00", "once_a_day": True}
    raw.update(values)
    return raw


# --- placeholders by context ---------------------------------------------------------------------

def test_each_context_accepts_only_its_placeholders(world):
    assert template(name="주문", body="#{주문번호} 발송").context == "order"
    assert template(name="티켓", context="ticket",
                    body="#{고객명}님 문의 #{티켓번호} (주문 #{주문번호})").context == "ticket"
    assert template(name="작업", context="job",
                    body="#{작업명} #{결과}\n#{상세}\n#{건수} #{실행시각}").context == "job"
    with pytest.raises(ValidationError) as caught:
        template(name="주문2", body="#{티켓번호}")
    assert caught.value.field == "body" and "#{티켓번호}" in caught.value.render()
    with pytest.raises(ValidationError) as caught:
        template(name="작업2", context="job", body="#{작업명} #{주문번호}")
    assert "#{주문번호}" in caught.value.render() and "#{작업명}" in caught.value.render()
    with pytest.raises(ValidationError) as caught:
        template(name="x", context="invoice", body="안녕")
    assert caught.value.field == "context"


def test_job_placeholders_have_japanese_names(world):
    saved = template(name="ジョブ結果", context="job", body="#{ジョブ名}: #{結果} #{件数}")
    assert saved.context == "job"


def test_a_job_result_is_not_sent_by_email(world):
    with pytest.raises(ValidationError) as caught:
        template(name="작업 메일", kind="email", context="job", subject="#{작업명}",
                 body="#{결과}")
    assert caught.value.field == "context"


def test_a_template_in_use_keeps_the_context_its_users_need(world):
    SenderNumber.create(number="15881234")
    template(name="작업 결과", context="job", body="#{작업명} #{결과}")
    job = jobs.save_job(world.admin, job_raw(notify={"kind": "sms", "phone": "010-1111-2222",
                                                     "template": "작업 결과"}), now=NOW)
    stored = MessageTemplate.get(MessageTemplate.name == "작업 결과")
    with pytest.raises(ValidationError) as caught:
        message_templates.save_template(None, {"name": "작업 결과", "kind": "sms",
                                               "context": "order", "body": "안내"}, stored.id)
    assert job.name in caught.value.render()
    sms = template(name="진행 안내", context="ticket", body="#{고객명}님")
    teams.save_team(None, {"name": "고객 지원"})
    stages.save_stage(None, {"name": "진행 중", "teams": ["고객 지원"],
                             "sms_template": "진행 안내"})
    with pytest.raises(ValidationError) as caught:
        message_templates.save_template(None, {"name": "진행 안내", "kind": "sms",
                                               "context": "job", "body": "안내"}, sms.id)
    assert "진행 중" in caught.value.render()


# --- the template form ---------------------------------------------------------------------------

def test_the_form_saves_the_context_and_previews_its_sample(app, world, login):
    admin = login("admin")
    page = admin.get("/messages/templates/new").get_data(as_text=True)
    assert 'name="context"' in page and "#{주문번호}" in page and "#{작업명}" not in page
    preview = admin.post("/messages/templates/preview", data={
        "name": "x", "kind": "sms", "context": "job",
        "body": "[스케줄러] #{작업명} #{결과} #{건수}"}).get_data(as_text=True)
    assert "[스케줄러] 주문수집 완료 collected 15" in preview
    assert 'id="tpl-placeholders"' in preview and "#{작업명}" in preview \
        and "#{주문번호}" not in preview.split('id="tpl-placeholders"')[1]
    ticket_preview = admin.post("/messages/templates/preview", data={
        "name": "x", "kind": "sms", "context": "ticket",
        "body": "#{고객명}님 #{티켓번호}"}).get_data(as_text=True)
    assert "서승원님 42" in ticket_preview
    response = admin.post("/messages/templates/new", data={
        "name": "작업 결과", "kind": "sms", "context": "job", "active": "1",
        "body": "#{작업명} #{결과}"})
    assert response.status_code == 302, response.get_data(as_text=True)
    assert MessageTemplate.get(MessageTemplate.name == "작업 결과").context == "job"
    refused = admin.post("/messages/templates/new", data={
        "name": "작업 결과2", "kind": "sms", "context": "job", "active": "1",
        "body": "#{주문번호}"})
    assert refused.status_code == 422 and "#{주문번호}" in refused.get_data(as_text=True)
    assert not MessageTemplate.select().where(MessageTemplate.name == "작업 결과2").exists()


# --- job result notifications ---------------------------------------------------------------------

def test_a_job_notification_is_composed_from_its_template(world):
    SenderNumber.create(number="15881234")
    saved = template(name="작업 결과", context="job",
                     body="#{작업명}: #{결과} (#{실행시각})\n#{건수}")
    job = jobs.save_job(world.admin, job_raw(notify={
        "kind": "sms", "phone": "010-1111-2222", "template": "작업 결과"}), now=NOW)
    assert jobs.job_as_data(job)["notify"]["template"] == "작업 결과"
    runs = jobs.run_now(world.admin, job.id, NOW)
    message = Message.get()
    assert message.to == "01011112222" and message.template_id == saved.id
    assert message.body == "재오소리 배치: 완료 (2026-03-31 17:00)\norders 0, fired 0, failed 0"
    # the same slot notified again (a retry) stores nothing twice
    jobs.notify(Job.get_by_id(job.id), runs, NOW, jobs.clock.zone("Asia/Seoul"))
    assert Message.select().count() == 1


def test_a_template_notification_waits_out_do_not_disturb(world):
    SenderNumber.create(number="15881234")
    template(name="작업 결과", context="job", body="#{작업명} #{결과}")
    job = jobs.save_job(world.admin, job_raw(notify={
        "kind": "sms", "phone": "010-1111-2222", "dnd": ["22:00", "08:00"],
        "template": "작업 결과"}), now=NOW)
    jobs.run_now(world.admin, job.id, dt.datetime(2026, 3, 31, 14, 0))   # 23:00 in Seoul
    message = Message.get()
    assert message.body == "재오소리 배치 완료"
    assert message.send_after == dt.datetime(2026, 3, 31, 23, 0)           # 08:00 KST


def test_without_a_template_the_built_in_text_is_sent(world):
    SenderNumber.create(number="15881234")
    job = jobs.save_job(world.admin, job_raw(notify={"kind": "sms", "phone": "010-1111-2222"}),
                        now=NOW)
    jobs.run_now(world.admin, job.id, NOW)
    assert Message.get().body.startswith("[스케줄러] 재오소리 배치 완료\n재오소리 배치 orders 0")


@pytest.mark.parametrize("name, problem", [
    ("없는 템플릿", "Unknown template"),
    ("주문 안내", "not written for job results"),
    ("작업 알림톡", "not a sms template"),
])
def test_the_notification_template_must_be_a_job_template_of_its_kind(world, name, problem):
    template(name="주문 안내", body="#{주문번호}")
    template(name="작업 알림톡", kind="alimtalk", context="job", alimtalk_code="JOB_1",
             body="#{작업명} #{결과}")
    with pytest.raises(ValidationError) as caught:
        jobs.save_job(world.admin, job_raw(notify={"kind": "sms", "phone": "010-1111-2222",
                                                   "template": name}), now=NOW)
    assert caught.value.field == "notify_template" and problem in caught.value.render()


def test_the_job_form_offers_job_templates(app, world, login):
    SenderNumber.create(number="15881234")
    template(name="작업 결과", context="job", body="#{작업명} #{결과}")
    template(name="주문 안내", body="#{주문번호}")
    from engine import notify_phone
    notify_phone.set_master_phone(world.master, "010-1111-2222")
    admin = login("admin")
    page = admin.get("/jobs/new").get_data(as_text=True)
    assert 'name="notify_template"' in page and "작업 결과" in page
    assert 'value="주문 안내"' not in page
    from tests.test_jobs_views import form
    response = admin.post("/jobs/new", data=form(notify_kind="sms",
                                                 notify_phone="010-1111-2222",
                                                 notify_template="작업 결과"))
    assert response.status_code == 302, response.get_data(as_text=True)
    assert Job.get().notify == {"kind": "sms", "phone": "010-1111-2222",
                                "template": "작업 결과"}
    bad = admin.post("/jobs/new", data=form(name="다른 작업", notify_kind="sms",
                                            notify_phone="010-1111-2222",
                                            notify_template="주문 안내"))
    assert bad.status_code == 422 and 'data-error="notify_template"' in bad.get_data(
        as_text=True)
