"""Helpdesk stages (seed 004): ordered columns of a team's pipeline, shared between teams.

A stage names its teams, an email template and an SMS (or AlimTalk) template sent to the
customer when a ticket enters it, and whether it is *folded*: a ticket in a folded stage is
closed. (Folding a kanban column for a moment is a view setting and closes nothing.) One
schema (``STAGE_FIELDS`` + ``validate_stage``) serves the form, the TOML file and the API;
teams and templates are named, not numbered, so a config file reads like the screen.
"""
from __future__ import annotations

from engine.errors import NotFound, StateError, ValidationError
from engine.models import MessageTemplate, Stage, StageTeam, Team, Ticket, User, db
from engine.schema import Field, parse
from engine.text import N_
from engine.users import require


def _email_templates():
    return [(t.name, t.name) for t in MessageTemplate.select()
            .where(MessageTemplate.kind == "email").order_by(MessageTemplate.name)]


def _sms_templates():
    return [(t.name, t.name) for t in MessageTemplate.select()
            .where(MessageTemplate.kind.in_(["sms", "alimtalk"])).order_by(MessageTemplate.name)]


STAGE_FIELDS = [
    Field("name", N_("Stage name"), required=True, max_length=60),
    Field("description", N_("Description"), kind="textarea", max_length=2000),
    Field("order", N_("Order"), kind="int", min=0, max=100000),
    Field("folded", N_("Folded in kanban (a ticket here is closed)"), kind="bool"),
    Field("email_template", N_("Email template"), kind="choice", choices=_email_templates),
    Field("sms_template", N_("SMS template"), kind="choice", choices=_sms_templates),
]


def validate_stage(raw: dict) -> dict:
    """Parse a stage into columns plus its ``teams`` (Team rows)."""
    errors: dict = {}
    values = {}
    try:
        values = parse(STAGE_FIELDS, raw)
    except ValidationError as exc:
        errors.update(exc.errors)
    names = raw.get("teams") or []
    if isinstance(names, str):
        names = [n.strip() for n in names.split(",") if n.strip()]
    teams = []
    if not isinstance(names, (list, tuple)) or not all(isinstance(n, str) for n in names):
        errors["teams"] = ValidationError(N_("%(label)s must be a list of names."), "teams",
                                          label=N_("Teams"))
    else:
        found = {t.name: t for t in Team.select().where(Team.name.in_(list(names) or [""]))}
        missing = [n for n in names if n not in found]
        if missing:
            errors["teams"] = ValidationError(N_("Unknown team %(name)s."), "teams",
                                              name=missing[0])
        teams = [found[n] for n in dict.fromkeys(names) if n in found]
    templates = {}
    for key, kinds in (("email_template", ("email",)), ("sms_template", ("sms", "alimtalk"))):
        name = values.get(key) if values else None
        if not name:
            templates[key] = None
            continue
        template = MessageTemplate.get_or_none(MessageTemplate.name == name)
        if template is None or template.kind not in kinds:
            errors[key] = ValidationError(N_("Unknown template %(name)s."), key, name=name)
        elif template.context not in ("ticket", "order"):
            errors[key] = ValidationError(
                N_("The template %(name)s is written for job results, not tickets."), key,
                name=name)
        templates[key] = template
    if errors:
        first = next(iter(errors.values()))
        raise ValidationError(first.message, first.field, errors=errors, **first.params)
    columns = {
        "name": values["name"], "description": values.get("description") or "",
        "folded": bool(values.get("folded")),
        "email_template": templates["email_template"], "sms_template": templates["sms_template"],
    }
    if values.get("order") is not None:
        columns["sort_order"] = values["order"]
    return {"columns": columns, "teams": teams}


def stage_as_data(stage: Stage) -> dict:
    return {
        "name": stage.name, "description": stage.description, "order": stage.sort_order,
        "folded": stage.folded,
        "email_template": stage.email_template.name if stage.email_template_id else "",
        "sms_template": stage.sms_template.name if stage.sms_template_id else "",
        "teams": [link.team.name for link in
                  StageTeam.select(StageTeam, Team).join(Team).where(StageTeam.stage == stage.id)
                  .order_by(Team.sort_order, Team.name)],
    }


def get(stage_id) -> Stage:
    try:
        stage = Stage.get_or_none(Stage.id == int(stage_id))
    except (TypeError, ValueError):
        stage = None
    if stage is None:
        raise NotFound(N_("Stage %(id)s does not exist."), id=stage_id)
    return stage


def save_stage(actor: User | None, raw: dict, stage_id: int | None = None) -> Stage:
    if actor is not None:
        require(actor, "settings")
    parsed = validate_stage(raw)
    columns = parsed["columns"]
    with db.atomic():
        clash = Stage.select().where(Stage.name == columns["name"])
        if stage_id is not None:
            clash = clash.where(Stage.id != int(stage_id))
        if clash.exists():
            raise ValidationError(N_("A stage named %(name)s exists already."), "name",
                                  name=columns["name"])
        if stage_id is None:
            if "sort_order" not in columns:
                last = Stage.select(Stage.sort_order).order_by(Stage.sort_order.desc()).first()
                columns["sort_order"] = (last.sort_order + 10) if last else 10
            stage = Stage.create(**columns)
        else:
            stage = get(stage_id)
            for key, value in columns.items():
                setattr(stage, key, value)
            stage.version += 1
            stage.save()
        wanted = {t.id for t in parsed["teams"]}
        StageTeam.delete().where((StageTeam.stage == stage.id)
                                 & StageTeam.team.not_in(wanted or [0])).execute()
        have = {link.team_id for link in StageTeam.select().where(StageTeam.stage == stage.id)}
        for team_id in sorted(wanted - have):
            StageTeam.create(stage=stage.id, team=team_id)
        # a stage folded or unfolded closes or reopens the tickets already in it
        (Ticket.update(closed=stage.folded)
         .where((Ticket.stage == stage.id) & Ticket.merged_into.is_null()).execute())
    return stage


def delete_stage(actor: User | None, stage_id) -> None:
    if actor is not None:
        require(actor, "settings")
    with db.atomic():
        stage = get(stage_id)
        if Ticket.select().where(Ticket.stage == stage.id).exists():
            raise StateError(N_("Tickets are in the stage %(name)s; move them first."),
                             name=stage.name)
        stage.delete_instance(recursive=True)


def reorder(actor: User | None, stage_ids: list) -> None:
    """Drag to reorder (list and kanban): the given ids take 10, 20, 30… in that order."""
    if actor is not None:
        require(actor, "settings")
    try:
        ids = [int(i) for i in stage_ids]
    except (TypeError, ValueError):
        raise ValidationError(N_("The new order is not a list of stages."), "stages")
    with db.atomic():
        known = {s.id for s in Stage.select(Stage.id).where(Stage.id.in_(ids or [0]))}
        if len(known) != len(set(ids)) or len(ids) != len(set(ids)):
            raise ValidationError(N_("The new order is not a list of stages."), "stages")
        for position, stage_id in enumerate(ids, start=1):
            Stage.update(sort_order=position * 10).where(Stage.id == stage_id).execute()


def for_team(team: Team | int) -> list[Stage]:
    """The team's pipeline, in order."""
    team_id = team.id if isinstance(team, Team) else int(team)
    return list(Stage.select().join(StageTeam).where(StageTeam.team == team_id)
                .order_by(Stage.sort_order, Stage.id))


def first_open(team: Team | int) -> Stage | None:
    """Where a new ticket starts: the team's first unfolded stage."""
    return next((s for s in for_team(team) if not s.folded), None)


def ordered():
    return Stage.select().order_by(Stage.sort_order, Stage.id)
