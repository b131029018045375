"""Scheduled jobs (seed 000): settings, claims, missed slots, leases, rule batches, results."""
import datetime as dt
import os
import time
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from engine import jobs, rules
from engine.errors import PermissionDenied, ValidationError
from engine.models import Job, JobChange, JobRun, Message, Order, SenderNumber
from tests.conftest import NOW, new_order

TZ = jobs.clock.zone("Asia/Seoul")
EVERY_DAY = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]


def job_raw(**values):
    raw = {"name": "재오소리 배치", "kind": "rule_batch", "enabled": True, "weekdays": EVERY_DAY,
           "start": "05:00", "end": "06:00", "once_a_day": True}
    raw.update(values)
    return raw


def test_bad_settings_name_their_fields_and_nothing_is_saved(world):
    with pytest.raises(ValidationError) as err:
        jobs.save_job(world.admin, job_raw(kind="dance", start="25:00",
                                           channels=["없는몰"], missed="maybe"), now=NOW)
    assert {"kind", "start", "channels", "missed"} <= set(err.value.errors)
    assert Job.select().count() == 0


def test_only_admins_and_above_change_jobs(world):
    with pytest.raises(PermissionDenied):
        jobs.save_job(world.agent, job_raw(), now=NOW)


def test_saving_computes_the_next_run_and_keeps_the_change(world):
    job = jobs.save_job(world.admin, job_raw(), now=NOW)          # NOW = 17:00 in Seoul
    assert job.next_run_at == dt.datetime(2026, 3, 31, 20, 0)     # 05:00 KST next day
    jobs.save_job(world.general_admin, job_raw(start="04:00", end="05:00"), job.id, now=NOW)
    change = JobChange.select().order_by(JobChange.id.desc()).first()
    assert change.before["start"] == "05:00" and change.after["start"] == "04:00"
    assert change.actor_id == world.general_admin.id


def test_a_due_slot_runs_once_even_when_asked_twice(world):
    job = jobs.save_job(world.admin, job_raw(), now=NOW)
    at = job.next_run_at
    assert len(jobs.run_due(at, TZ)) == 1
    assert jobs.run_due(at, TZ) == []
    assert Job.get_by_id(job.id).next_run_at == at + dt.timedelta(days=1)


def test_downtime_runs_a_missed_slot_once_or_skips_it(world):
    once = jobs.save_job(world.admin, job_raw(), now=NOW)
    skip = jobs.save_job(world.admin, job_raw(name="건너뛰기", missed="skip"), now=NOW)
    three_days_later = once.next_run_at + dt.timedelta(days=3, hours=2)
    runs = jobs.run_due(three_days_later, TZ)
    assert [r.job_id for r in runs] == [once.id]
    assert Job.get_by_id(skip.id).next_run_at > three_days_later


def test_maintenance_pauses_every_job(world):
    job = jobs.save_job(world.admin, job_raw(), now=NOW)
    jobs.set_maintenance(world.admin, True)
    assert jobs.run_due(job.next_run_at, TZ) == []
    jobs.set_maintenance(world.admin, False)
    assert len(jobs.run_due(job.next_run_at, TZ)) == 1


def test_a_dead_run_does_not_stay_running(world):
    job = jobs.save_job(world.admin, job_raw(), now=NOW)
    JobRun.create(job=job, scheduled_for=NOW, started_at=NOW, lease_until=NOW + jobs.LEASE)
    jobs.run_due(NOW + jobs.LEASE + dt.timedelta(seconds=1), TZ)
    dead = JobRun.get(JobRun.scheduled_for == NOW)
    assert dead.status == "interrupted" and "interrupted" in dead.error


def test_one_failing_shop_account_fails_only_its_own_run(world):
    job = jobs.save_job(world.admin, job_raw(name="주문수집", kind="collect_orders",
                                             every_hours=1, once_a_day=False, start="09:00",
                                             end="18:00", channels=["11번가", "쿠팡"]), now=NOW)
    runs = jobs.run_now(world.admin, job.id, NOW)
    assert sorted(r.channel for r in runs) == ["11번가", "쿠팡"]
    assert all(r.status == "failed" and "connector" in r.error for r in runs)
    assert jobs.title(job, runs[0]) == "주문수집 (11번가)"


def test_reauthorisation_batch_of_failed_authorisations(world):
    """ecforce: failed authorisations of the last 30 days, re-authorised by a batch at 05:00."""
    rules.forget_index()
    rules.save_rule(world.admin, {"name": "再オーソリバッチ", "trigger": {"event": "batch"},
                                  "when": 'payment_status == "与信審査エラー"',
                                  "actions": [{"type": "payment_process",
                                               "process": "reauthorize"}]}, now=NOW)
    failed = [new_order(world, now=NOW - dt.timedelta(days=d)) for d in (1, 10, 40)]
    fine = new_order(world)
    for order in failed:
        Order.update(payment_status="与信審査エラー").where(Order.id == order.id).execute()
    job = jobs.save_job(world.admin, job_raw(lookback_days=30), now=NOW)
    run, = jobs.run_now(world.admin, job.id, NOW)
    assert run.status == "done" and run.counts["fired"] == 2
    statuses = [Order.get_by_id(o.id).payment_status for o in failed]
    assert statuses == ["仮売上完了", "仮売上完了", "与信審査エラー"]   # 40 days ago: outside
    assert Order.get_by_id(fine.id).payment_status is None
    rules.forget_index()


def test_result_sms_waits_out_do_not_disturb(world):
    SenderNumber.create(number="15881234")
    job = jobs.save_job(world.admin, job_raw(
        notify={"kind": "sms", "phone": "010-1111-2222", "dnd": ["22:00", "08:00"]}), now=NOW)
    night = dt.datetime(2026, 3, 31, 14, 0)                          # 23:00 in Seoul
    jobs.run_now(world.admin, job.id, night)
    message = Message.get()
    assert message.to == "01011112222" and message.body.startswith("[스케줄러] 재오소리 배치")
    assert message.send_after == dt.datetime(2026, 3, 31, 23, 0)     # 08:00 KST


def test_preview_lists_the_next_ten_runs(world):
    runs = jobs.preview(job_raw(every_hours=4, once_a_day=False, start="09:00", end="18:00",
                                weekdays=["mon"]), dt.datetime(2026, 11, 23, 0, 0, tzinfo=TZ), 10)
    assert [r.strftime("%m-%d %H:%M") for r in runs[:4]] == [
        "11-23 09:00", "11-23 13:00", "11-23 17:00", "11-30 09:00"]
    assert len(runs) == 10


def test_two_processes_never_run_one_slot_twice(world, database_url, tmp_path):
    """Two real processes tick the same due jobs at the same moments."""
    for n in range(6):
        jobs.save_job(world.admin, job_raw(name=f"job {n}"), now=NOW)
    due = Job.select().first().next_run_at
    script = tmp_path / "tick.py"
    script.write_text(textwrap.dedent(f"""
        import datetime as dt, sys
        sys.path.insert(0, {str(Path(__file__).resolve().parent.parent)!r})
        from engine import jobs, store
        database = store.open_store({database_url!r})
        start = dt.datetime.fromisoformat({due.isoformat()!r})
        with database.connection_context():
            for step in range(20):
                jobs.run_due(start + dt.timedelta(days=step // 4))
    """))
    procs = [subprocess.Popen([sys.executable, str(script)]) for _ in range(2)]
    assert [p.wait(120) for p in procs] == [0, 0]
    per_slot = {}
    for run in JobRun.select():
        per_slot[(run.job_id, run.scheduled_for)] = per_slot.get(
            (run.job_id, run.scheduled_for), 0) + 1
    assert len(per_slot) == 6 * 5 and set(per_slot.values()) == {1}


def test_flask_scheduler_run_ticks_in_its_own_process(world, database_url, tmp_path):
    """`flask scheduler run` (web process started with RULEDESK_SCHEDULER=0): its own process
    delivers a queued message and gives a ticket waiting for an assignee to someone back."""
    from engine import sending
    from engine.models import Team, TeamMember, Ticket
    SenderNumber.create(number="15881234")
    drafts = sending.compose({"channel": "sms", "sender": "15881234", "text": "안녕하세요"},
                             [sending.Recipient("01011112222")], NOW, TZ)
    sending.enqueue(drafts, "cli-test", None, NOW - dt.timedelta(days=1), sender="15881234")
    Message.update(send_after=dt.datetime(2000, 1, 1)).execute()
    team = Team.create(name="지원", auto_assign=True)
    TeamMember.create(team=team, user=world.agent)
    ticket = Ticket.create(team=team, subject="대기", needs_assignment=True)
    env = {**os.environ, "DATABASE_URL": database_url, "RULEDESK_DEMO": "0",
           "RULEDESK_DEMO_MARKET": "off", "RULEDESK_MASTER_PASSWORD": "x" * 12,
           "RULEDESK_SECRET_KEY": "test", "RULEDESK_CREDENTIALS_KEY": Fernet.generate_key().decode()}
    root = Path(__file__).resolve().parent.parent
    proc = subprocess.Popen([sys.executable, "-m", "flask", "--app", "app", "scheduler", "run"],
                            cwd=root, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        for _ in range(150):
            message, ticket_now = Message.get(), Ticket.get_by_id(ticket.id)
            if message.status == "sent" and ticket_now.assignee_id:
                break
            time.sleep(0.1 if _ < 20 else 0.5)
        assert (message.status, ticket_now.assignee_id) == ("sent", world.agent.id), \
            proc.stdout.read1().decode(errors="replace") if proc.poll() is not None else ""
    finally:
        proc.terminate()
        proc.wait(20)
