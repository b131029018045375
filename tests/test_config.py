"""Declared data in TOML files: positioned errors, all-or-nothing loads, a round trip."""
import textwrap
from pathlib import Path

import pytest

from engine import config
from engine.errors import ConfigError
from engine.models import HandlingStatus, MessageTemplate, Rule, RuleChange

PRESET = Path(__file__).resolve().parent.parent / "config" / "presets" / "ecforce.toml"


def write(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def test_ecforce_preset_checks_and_loads_every_seed_rule(world):
    assert config.check([PRESET]) == []
    report = config.load([PRESET])
    assert Rule.select().count() == 12 and report.created > 12
    assert HandlingStatus.select().where(HandlingStatus.name == "発送準備中").exists()
    assert MessageTemplate.get(MessageTemplate.name == "発送完了メール").kind == "email"
    again = config.load([PRESET])
    assert (again.created, again.changed) == (0, 0)


def test_syntax_error_names_the_line(world, tmp_path):
    path = write(tmp_path, "bad.toml", """\
        [[rules]]
        name = "x"
        trigger = { event = "created" }
        actions = [{ type = "hold" }
        """)
    problems = config.check([path])
    assert problems and problems[0].line == 4 and str(problems[0]).startswith(f"{path}:4:")
    path.write_text('[[rules]]\nname = "x\ntrigger = 1\n', encoding="utf-8")
    assert config.check([path])[0].line == 2


def test_schema_errors_name_file_line_and_change_nothing(world, tmp_path):
    path = write(tmp_path, "rules.toml", """\
        [[handling_statuses]]
        name = "새상태"
        color = "#123456"

        [[rules]]
        name = "좋은 규칙"
        trigger = { event = "created" }
        actions = [{ type = "hold" }]

        [[rules]]
        name = "나쁜 규칙"
        trigger = { event = "created" }
        when = 'totl > 3'
        actions = [{ type = "hold" }]
        """)
    problems = config.check([path])
    assert [p.line for p in problems] == [13]
    assert "totl" in problems[0].message and "total" in problems[0].message
    with pytest.raises(ConfigError):
        config.load([path])
    assert Rule.select().count() == 0
    assert not HandlingStatus.select().where(HandlingStatus.name == "새상태").exists()


def test_unknown_section_is_reported(world, tmp_path):
    path = write(tmp_path, "x.toml", """\
        [[rulez]]
        name = "x"
        """)
    assert "unknown section" in config.check([path])[0].message


HELPDESK = """\
    [[templates]]
    name = "진행 안내"
    kind = "sms"
    context = "ticket"
    body = "#{고객명}님, 문의 #{티켓번호} 처리 중입니다."

    [[templates]]
    name = "해결 메일"
    kind = "email"
    context = "ticket"
    subject = "[#{팀}] 문의가 해결되었습니다"
    body = "#{고객명}님, 문의(#{제목})가 해결되었습니다."

    [[templates]]
    name = "작업 결과"
    kind = "sms"
    context = "job"
    body = "#{작업명} #{결과} #{건수}"

    [[teams]]
    name = "고객 지원"
    description = "배송 및 상품 문의"
    visibility = "public"
    auto_assign = true
    assign_method = "open_tickets"
    members = ["agent", "agent2"]
    followers = ["admin"]
    after_sales = ["refund", "return"]
    order = 10

    [[teams]]
    name = "정산/금융"
    visibility = "private"
    members = ["agent"]
    order = 20

    [[stages]]
    name = "신규"
    teams = ["고객 지원", "정산/금융"]
    order = 10

    [[stages]]
    name = "진행 중"
    teams = ["고객 지원"]
    sms_template = "진행 안내"
    order = 20

    [[stages]]
    name = "해결"
    teams = ["고객 지원", "정산/금융"]
    folded = true
    email_template = "해결 메일"
    order = 30

    [[coupon_programs]]
    name = "사과 쿠폰"
    discount_kind = "amount"
    discount = 3000
    min_order_total = 20000
    valid_days = 30
    product_codes = ["P100"]

    [[rules]]
    name = "진행 중 → 자동 배정"
    trigger = { record = "ticket", event = "stage_entered", value = "진행 중" }
    actions = [{ type = "assign_ticket", user = "auto" }]

    [[rules]]
    name = "취소 → 티켓"
    trigger = { record = "order", event = "becomes", field = "cs_state", value = "취소" }
    actions = [{ type = "create_ticket", team = "고객 지원", subject = "취소 확인 #{주문번호}" }]
    """


def test_export_loads_back_unchanged(world, tmp_path):
    config.load([PRESET, write(tmp_path, "helpdesk.toml", HELPDESK)])
    exported = config.export()
    for section in ("[[teams]]", "[[stages]]", "[[coupon_programs]]", 'context = "job"'):
        assert section in exported
    path = write(tmp_path, "export.toml", exported)
    report = config.load([path])
    assert (report.created, report.changed) == (0, 0) and report.unchanged > 30
    assert config.export() == exported


def test_helpdesk_sections_load_teams_stages_and_programmes(world, tmp_path):
    from engine import stages, teams
    from engine.models import CouponProgram, Stage, Team
    report = config.load([write(tmp_path, "helpdesk.toml", HELPDESK)])
    assert report.created == 11
    support = Team.get(Team.name == "고객 지원")
    assert teams.team_as_data(support)["members"] == ["agent", "agent2"]
    assert support.auto_assign and support.assign_method == "open_tickets"
    assert [s.name for s in stages.for_team(support)] == ["신규", "진행 중", "해결"]
    assert Stage.get(Stage.name == "해결").folded
    assert Stage.get(Stage.name == "진행 중").sms_template.name == "진행 안내"
    assert CouponProgram.get(CouponProgram.name == "사과 쿠폰").product_codes == ["P100"]
    again = config.load([write(tmp_path, "helpdesk.toml", HELPDESK)])
    assert (again.created, again.changed) == (0, 0)
    changed = config.load([write(tmp_path, "helpdesk.toml",
                                 HELPDESK.replace('members = ["agent", "agent2"]',
                                                  'members = ["agent"]'))])
    assert changed.changed == 1
    assert teams.team_as_data(Team.get(Team.name == "고객 지원"))["members"] == ["agent"]


def test_helpdesk_errors_name_the_line_and_load_nothing(world, tmp_path):
    from engine.models import Stage, Team
    bad = (HELPDESK.replace('members = ["agent"]\n    order = 20',
                            'members = ["nobody"]\n    order = 20')
           .replace('sms_template = "진행 안내"', 'sms_template = "작업 결과"')
           .replace("discount = 3000", "discount = 0"))
    path = write(tmp_path, "helpdesk.toml", bad)
    problems = config.check([path])
    lines = path.read_text(encoding="utf-8").splitlines()
    where = {p.message.split(":")[0]: p for p in problems}
    # the unknown member fails its team, and so the stages naming that team
    assert "nobody" in where["teams[2] members"].message
    assert "stages[1] teams" in where and "stages[3] teams" in where
    for key, starts in (("teams[2] members", "members"), ("stages[2] sms_template",
                                                          "sms_template"),
                        ("coupon_programs[1] discount", "discount")):
        assert lines[where[key].line - 1].strip().startswith(starts), key
    assert "job" in where["stages[2] sms_template"].message
    with pytest.raises(ConfigError):
        config.load([path])
    assert not Team.select().exists() and not Stage.select().exists()
    assert not MessageTemplate.select().where(MessageTemplate.name == "진행 안내").exists()


def test_a_template_context_checks_its_placeholders_in_a_file(world, tmp_path):
    path = write(tmp_path, "t.toml", """\
        [[templates]]
        name = "작업 결과"
        kind = "sms"
        context = "job"
        body = "#{작업명}: #{주문번호}"
        """)
    problems = config.check([path])
    assert len(problems) == 1 and problems[0].line == 5 and "#{주문번호}" in problems[0].message


def test_a_file_wins_over_a_form_edit_and_history_keeps_it(world, tmp_path):
    config.load([PRESET])
    rule = Rule.get(Rule.name == "代金引換 → 再オーソリ")
    from engine import rules
    rules.save_rule(world.admin, {**rules.rule_as_data(rule), "enabled": False}, rule.id)
    report = config.load([PRESET])
    assert report.changed == 1 and Rule.get_by_id(rule.id).enabled
    assert [c.change for c in RuleChange.select().where(RuleChange.rule_id == rule.id)
            .order_by(RuleChange.id)] == ["create", "update", "update"]


def test_flask_config_commands(app, world, tmp_path):
    runner = app.test_cli_runner()
    result = runner.invoke(args=["config", "check", str(PRESET)])
    assert result.exit_code == 0, result.output
    result = runner.invoke(args=["config", "load", str(PRESET)])
    assert result.exit_code == 0 and "created" in result.output
    out = tmp_path / "export.toml"
    assert runner.invoke(args=["config", "export", "--out", str(out)]).exit_code == 0
    bad = write(tmp_path, "bad.toml", "[[rules]]\nname = 1\n")
    result = runner.invoke(args=["config", "load", str(bad)])
    assert result.exit_code == 1 and f"{bad}:" in result.output


def test_jobs_load_from_a_file_and_round_trip(world, tmp_path):
    from engine.models import Job
    path = write(tmp_path, "jobs.toml", """\
        [[jobs]]
        name = "주문수집"
        kind = "collect_orders"
        enabled = false
        weekdays = ["mon", "tue", "wed", "thu", "fri"]
        start = "09:00"
        end = "18:00"
        every_hours = 1
        skip_holidays = true
        blackouts = [["12:00", "13:00"]]
        channels = ["11번가", "쿠팡"]

        [[jobs]]
        name = "재오소리"
        kind = "rule_batch"
        enabled = false
        weekdays = ["mon"]
        start = "05:00"
        end = "29:00"
        once_a_day = true
        """)
    problems = config.check([path])
    assert [p.line for p in problems] == [19] and "29:00" in problems[0].message
    path.write_text(path.read_text().replace("29:00", "06:00"), encoding="utf-8")
    config.load([path])
    assert Job.get(Job.name == "주문수집").lookback_days == 14
    exported = write(tmp_path, "export.toml", config.export())
    assert config.load([exported]).changed == 0
