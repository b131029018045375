"""Declared data in TOML files: check, load (all or nothing) and export (round trip).

The files use the very schemas the forms and the API use (``choices`` lists,
``senders.SENDER_FIELDS``, ``message_templates.TEMPLATE_FIELDS``, ``rules.RULE_FIELDS``), so
a file, a form and an API call can express exactly the same things. Items are matched by
name: ``load`` makes every item a file names look as the file says (a form edit to that item
is overwritten, and for rules the change history keeps the old version); items that exist
only in the store are left alone. Everything is validated in one transaction, in dependency
order (lists, then templates, helpdesk teams and stages, coupon programmes, then rules and
jobs), and rolled back on any error, so ``check`` and ``load`` agree and a bad file changes
nothing.
"""
from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from pathlib import Path

import tomli_w

from engine import message_templates, rules, senders
from engine.errors import ConfigError, EngineError, ValidationError
from engine.models import (
    CancelReason, Courier, HandlingStatus, Macro, MessageTemplate, PaymentMethod,
    PaymentStatus, Rule, SenderNumber, db,
)
from engine.schema import Field, parse
from engine.text import N_

# section → (model, has colour); simple ordered name lists
LIST_SECTIONS = {
    "handling_statuses": (HandlingStatus, True),
    "couriers": (Courier, False),
    "cancel_reasons": (CancelReason, False),
    "payment_statuses": (PaymentStatus, False),
    "payment_methods": (PaymentMethod, False),
}
# dependency order: a stage names templates and teams, a team names users (who exist already:
# people are not declared data), a rule names templates, teams and stages
SECTIONS = list(LIST_SECTIONS) + ["sender_numbers", "templates", "macros", "teams", "stages",
                                  "coupon_programs", "rules", "jobs"]
COLOR = re.compile(r"^#[0-9a-fA-F]{6}$")

LIST_FIELDS = [
    Field("name", N_("Name"), required=True, max_length=60),
    Field("color", N_("Colour"), max_length=7),
    Field("order", N_("Order"), kind="int", min=0, max=100000),
    Field("active", N_("Active"), kind="bool"),
]


@dataclass
class Problem:
    file: str
    line: int
    message: str

    def __str__(self):
        return f"{self.file}:{self.line}: {self.message}"


@dataclass
class Report:
    created: int = 0
    changed: int = 0
    unchanged: int = 0


class _Rollback(Exception):
    pass


def _locate(text: str, section: str, index: int, field_name: str | None) -> int:
    """The line of item ``index`` of ``[[section]]`` (and of its ``field =`` when found)."""
    lines = text.splitlines()
    header = re.compile(r"^\s*\[\[\s*" + re.escape(section) + r"\s*\]\]\s*(#.*)?$")
    seen, start = -1, None
    for number, line in enumerate(lines, 1):
        if header.match(line):
            seen += 1
            if seen == index:
                start = number
                break
    if start is None:  # inline arrays (section = [ {...}, ... ]): the section's key line
        for number, line in enumerate(lines, 1):
            if re.match(r"^\s*" + re.escape(section) + r"\s*=", line):
                return number
        return 1
    if field_name:
        key = field_name.split("-")[0]
        for number in range(start + 1, len(lines) + 1):
            line = lines[number - 1]
            if re.match(r"^\s*\[", line):
                break
            if re.match(r"^\s*" + re.escape(key) + r"\s*=", line):
                return number
    return start


def read_files(paths: list[Path]) -> tuple[list[tuple[str, str, dict]], list[Problem]]:
    """Parse TOML files; syntax errors become positioned problems."""
    documents, problems = [], []
    for path in paths:
        name = str(path)
        try:
            text = Path(path).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            problems.append(Problem(name, 1, f"cannot read: {exc}"))
            continue
        try:
            data = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            found = re.search(r"line (\d+)", str(exc))
            line = int(found.group(1)) if found else max(1, len(text.rstrip().splitlines()))
            problems.append(Problem(name, line, str(exc)))
            continue
        for key, value in data.items():
            if key not in SECTIONS:
                problems.append(Problem(name, _locate(text, key, 0, None),
                                        f"unknown section {key!r}; known: {', '.join(SECTIONS)}"))
            elif not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
                problems.append(Problem(name, _locate(text, key, 0, None),
                                        f"{key} must be an array of tables ([[{key}]])"))
        documents.append((name, text, data))
    return documents, problems


def _same(model_values: dict, stored) -> bool:
    return all(getattr(stored, k) == v for k, v in model_values.items())


def _apply_list(section: str, item: dict, report: Report) -> None:
    model, has_color = LIST_SECTIONS[section]
    values = parse(LIST_FIELDS, {**item, "active": item.get("active", True)})
    row = {"name": values["name"], "active": values["active"]}
    if values.get("order") is not None:
        row["sort_order"] = values["order"]
    if has_color:
        color = values.get("color") or "#6b7280"
        if not COLOR.match(color):
            raise ValidationError(N_("The colour must look like #2563eb (# and six hex digits)."),
                                  "color")
        row["color"] = color.lower()
    elif values.get("color"):
        raise ValidationError(N_("This list has no colours."), "color")
    existing = model.get_or_none(model.name == row["name"])
    if existing is None:
        if "sort_order" not in row:
            row["sort_order"] = (model.select().count())
        model.create(**row)
        report.created += 1
    elif _same(row, existing):
        report.unchanged += 1
    else:
        model.update(**row).where(model.id == existing.id).execute()
        report.changed += 1


def _apply_sender(item: dict, report: Report) -> None:
    number = item.get("number")
    existing = None
    if isinstance(number, str):
        try:
            from engine.messaging import normalise_sender
            existing = SenderNumber.get_or_none(SenderNumber.number == normalise_sender(number))
        except ValidationError:
            existing = None
    raw = {"registered": True, **item}
    if existing is not None:
        values = parse(senders.SENDER_FIELDS, raw)
        if existing.label == (values.get("label") or "") and existing.registered == \
                values["registered"]:
            report.unchanged += 1
            return
        senders.save_sender(None, raw, existing.id)
        report.changed += 1
    else:
        senders.save_sender(None, raw)
        report.created += 1


def _apply_template(item: dict, report: Report) -> None:
    raw = {"active": True, **item}
    values = message_templates.validate_template(raw)
    existing = MessageTemplate.get_or_none(MessageTemplate.name == values["name"])
    if existing is not None and _same(values, existing):
        report.unchanged += 1
        return
    message_templates.save_template(None, raw, existing.id if existing else None)
    if existing is None:
        report.created += 1
    else:
        report.changed += 1


def _apply_macro(item: dict, report: Report) -> None:
    values = parse(message_templates.MACRO_FIELDS, item)
    existing = Macro.get_or_none(Macro.name == values["name"])
    if existing is None:
        Macro.create(**values)
        report.created += 1
    elif existing.body == values["body"]:
        report.unchanged += 1
    else:
        Macro.update(body=values["body"]).where(Macro.id == existing.id).execute()
        report.changed += 1


def _apply_rule(item: dict, report: Report) -> None:
    values = rules.validate_rule(item)
    existing = Rule.get_or_none(Rule.name == values["name"])
    if existing is not None and rules.rule_as_data(existing) == rules.rule_as_data(
            Rule(**values)):
        report.unchanged += 1
        return
    rules.save_rule(None, item, existing.id if existing else None, change=None)
    if existing is None:
        report.created += 1
    else:
        report.changed += 1


def _apply_job(item: dict, report: Report) -> None:
    from engine import jobs
    from engine.models import Job

    values = jobs.validate_job(item)
    existing = Job.get_or_none(Job.name == values["name"])
    if existing is not None and jobs.job_as_data(existing) == jobs.job_as_data(Job(**values)):
        report.unchanged += 1
        return
    jobs.save_job(None, item, existing.id if existing else None)
    if existing is None:
        report.created += 1
    else:
        report.changed += 1


def _count(existing, same: bool, save, report: Report) -> None:
    """Save an item unless it is already as declared, and count what happened."""
    if existing is not None and same:
        report.unchanged += 1
        return
    save()
    if existing is None:
        report.created += 1
    else:
        report.changed += 1


def _apply_team(item: dict, report: Report) -> None:
    from engine import teams
    from engine.models import Team

    parsed = teams.validate_team(item)
    columns = parsed["columns"]
    existing = Team.get_or_none(Team.name == columns["name"])
    declared = {"name": columns["name"], "description": columns["description"],
                "visibility": columns["visibility"], "auto_assign": columns["auto_assign"],
                "assign_method": columns["assign_method"], "order": columns["sort_order"],
                "active": columns["active"], "after_sales": columns["after_sales"],
                "members": sorted(u.username for u in parsed["members"]),
                "followers": sorted(u.username for u in parsed["followers"])}
    _count(existing, existing is not None and teams.team_as_data(existing) == declared,
           lambda: teams.save_team(None, item, existing.id if existing else None), report)


def _apply_stage(item: dict, report: Report) -> None:
    from engine import stages
    from engine.models import Stage

    parsed = stages.validate_stage(item)
    columns = parsed["columns"]
    existing = Stage.get_or_none(Stage.name == columns["name"])
    same = False
    if existing is not None:
        stored = stages.stage_as_data(existing)
        declared = {
            "name": columns["name"], "description": columns["description"],
            "order": columns.get("sort_order", existing.sort_order),
            "folded": columns["folded"],
            "email_template": columns["email_template"].name if columns["email_template"]
            else "",
            "sms_template": columns["sms_template"].name if columns["sms_template"] else ""}
        same = ({k: v for k, v in stored.items() if k != "teams"} == declared
                and set(stored["teams"]) == {t.name for t in parsed["teams"]})
    _count(existing, same,
           lambda: stages.save_stage(None, item, existing.id if existing else None), report)


def _apply_coupon_program(item: dict, report: Report) -> None:
    from engine import aftersales
    from engine.models import CouponProgram

    columns = aftersales.validate_program(item)
    existing = CouponProgram.get_or_none(CouponProgram.name == columns["name"])
    _count(existing, existing is not None and aftersales.program_as_data(existing) == columns,
           lambda: aftersales.save_program(None, item, existing.id if existing else None),
           report)


def _apply(section: str, item: dict, report: Report) -> None:
    if section in LIST_SECTIONS:
        _apply_list(section, item, report)
    elif section == "sender_numbers":
        _apply_sender(item, report)
    elif section == "templates":
        _apply_template(item, report)
    elif section == "macros":
        _apply_macro(item, report)
    elif section == "teams":
        _apply_team(item, report)
    elif section == "stages":
        _apply_stage(item, report)
    elif section == "coupon_programs":
        _apply_coupon_program(item, report)
    elif section == "rules":
        _apply_rule(item, report)
    elif section == "jobs":
        _apply_job(item, report)


def _run(paths: list[Path], commit: bool) -> tuple[Report, list[Problem]]:
    documents, problems = read_files(paths)
    report = Report()
    if problems:
        return report, problems
    try:
        with db.atomic():
            for section in SECTIONS:  # dependency order: lists, senders, templates, rules
                for name, text, data in documents:
                    for index, item in enumerate(data.get(section, [])):
                        try:
                            with db.atomic():
                                _apply(section, item, report)
                        except EngineError as exc:
                            errors = getattr(exc, "errors", None) or {exc.field: exc}
                            for field_name, err in errors.items():
                                problems.append(Problem(
                                    name, _locate(text, section, index, field_name),
                                    f"{section}[{index + 1}]"
                                    + (f" {field_name}" if field_name else "")
                                    + f": {err.render()}"))
            if problems or not commit:
                raise _Rollback()
    except _Rollback:
        pass
    rules.forget_index()
    return report, sorted(problems, key=lambda p: (p.file, p.line))


def check(paths: list[Path]) -> list[Problem]:
    """Every problem of the files, as ``file:line: message``; the store is not changed."""
    return _run(paths, commit=False)[1]


def load(paths: list[Path]) -> Report:
    """Apply the files all or nothing; raise ConfigError listing the problems."""
    report, problems = _run(paths, commit=True)
    if problems:
        raise ConfigError(N_("Nothing was loaded:\n%(problems)s"),
                          problems="\n".join(str(p) for p in problems))
    return report


def export() -> str:
    """The store's declared data as TOML that ``load`` reads back unchanged."""
    data: dict = {}
    for section, (model, has_color) in LIST_SECTIONS.items():
        entries = []
        for row in model.ordered():
            entry = {"name": row.name, "order": row.sort_order}
            if has_color:
                entry["color"] = row.color
            if not row.active:
                entry["active"] = False
            entries.append(entry)
        if entries:
            data[section] = entries
    senders_ = [{"number": s.number, **({"label": s.label} if s.label else {}),
                 "registered": s.registered} for s in SenderNumber.select().order_by(
                     SenderNumber.id)]
    if senders_:
        data["sender_numbers"] = senders_
    templates = []
    for t in MessageTemplate.select().order_by(MessageTemplate.id):
        entry = {"name": t.name, "kind": t.kind, "body": t.body}
        if t.context != "order":
            entry["context"] = t.context
        for key in ("subject", "html_body", "fallback_text", "alimtalk_code"):
            if getattr(t, key):
                entry[key] = getattr(t, key)
        if t.kind == "alimtalk":
            entry["approval"] = t.approval
        if t.is_ad:
            entry["is_ad"] = True
        if not t.active:
            entry["active"] = False
        if t.buttons:
            entry["buttons"] = t.buttons
        templates.append(entry)
    if templates:
        data["templates"] = templates
    macros = [{"name": m.name, "body": m.body} for m in Macro.select().order_by(Macro.id)]
    if macros:
        data["macros"] = macros
    data.update(_helpdesk_export())
    rule_list = [rules.rule_as_data(r) for r in Rule.select().order_by(Rule.sequence, Rule.id)]
    if rule_list:
        data["rules"] = rule_list
    from engine import jobs
    from engine.models import Job
    job_list = [jobs.job_as_data(j) for j in Job.select().order_by(Job.id)]
    if job_list:
        data["jobs"] = job_list
    return tomli_w.dumps(data, multiline_strings=True)


def _compact(entry: dict, keep: tuple = ()) -> dict:
    """Leave out empty texts and lists (they load back as the same defaults)."""
    return {k: v for k, v in entry.items() if k in keep or v not in ("", [], None)}


def _helpdesk_export() -> dict:
    from engine import aftersales, stages, teams
    from engine.models import CouponProgram, Team

    data = {}
    team_list = [_compact(teams.team_as_data(t)) for t in
                 Team.select().order_by(Team.sort_order, Team.name)]
    if team_list:
        data["teams"] = team_list
    stage_list = [_compact(stages.stage_as_data(s)) for s in stages.ordered()]
    if stage_list:
        data["stages"] = stage_list
    programs = [_compact(aftersales.program_as_data(p)) for p in
                CouponProgram.select().order_by(CouponProgram.name)]
    if programs:
        data["coupon_programs"] = programs
    return data


def default_paths(config_dir: Path) -> list[Path]:
    """The files ``load`` and ``check`` read when none are named: config/*.toml."""
    return sorted(Path(config_dir).glob("*.toml"))
