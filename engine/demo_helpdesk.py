"""Demo data of the helpdesk (seed 004, seed 003): teams, stages, a coupon programme, a portal
customer, a leave and a few weeks of tickets, some on demo orders.

Everything goes through the helpdesk's own operations (``teams.save_team``,
``stages.save_stage``, ``tickets.create_ticket`` / ``move_stage`` / ``add_message``…), dated
in the past, so the kanban, the lists, the history of each ticket and the outbox read as if
agents had worked them. Deterministic (one seeded random) and loaded once: each team, stage,
template and programme only when missing, the tickets only into an empty ticket store.
"""
from __future__ import annotations

import datetime as dt
import random
import secrets

from engine import clock, demo, leaves, message_templates, stages, teams, tickets, users
from engine.errors import EngineError
from engine.models import (
    CouponProgram, Leave, MessageTemplate, Order, Stage, Team, Ticket, User, db, utcnow,
)
from engine.order_core import SHIPPED, Context

SUPPORT, FINANCE = "고객 지원", "정산/금융"
PORTAL_USER = ("customer@example.com", "김민지")

TEMPLATES = [
    {"name": "상담 진행 안내 (SMS)", "kind": "sms", "context": "ticket",
     "body": "[고객센터] #{고객명}님, 문의하신 내용(#{티켓번호})을 #{담당자} 상담원이 확인하고 "
             "있습니다."},
    {"name": "상담 완료 안내 (메일)", "kind": "email", "context": "ticket",
     "subject": "[#{팀}] 문의 #{티켓번호} 처리가 완료되었습니다",
     "body": "#{고객명}님, 안녕하세요.\n\n문의하신 \"#{제목}\" 건의 처리가 완료되었습니다.\n"
             "추가로 궁금한 점이 있으시면 이 메일에 회신해 주세요.\n\n감사합니다."},
]

STAGES = [
    {"name": "신규", "order": 10, "description": "새로 들어온 문의"},
    {"name": "진행 중", "order": 20, "description": "상담원이 처리 중인 문의",
     "sms_template": "상담 진행 안내 (SMS)"},
    {"name": "고객 회신 대기", "order": 30, "description": "고객의 답변을 기다리는 중"},
    {"name": "해결", "order": 40, "folded": True, "description": "처리 완료",
     "email_template": "상담 완료 안내 (메일)"},
]

SUBJECTS = [
    "배송이 아직 안 왔어요", "송장번호 조회가 안 됩니다", "주소 변경 요청", "상품이 파손되어 왔어요",
    "다른 상품이 배송되었습니다", "교환 가능한가요?", "반품 접수 문의", "사이즈 교환 요청",
    "부분 취소하고 싶어요", "재입고 일정 문의", "선물 포장 가능한가요", "배송 전 연락 부탁드립니다",
]
FINANCE_SUBJECTS = ["환불 계좌 변경", "세금계산서 발행 요청", "이중 결제 확인 부탁드립니다",
                    "카드 취소가 안 됐어요"]
REPLIES = [
    "안녕하세요, 고객님. 확인 후 바로 안내드리겠습니다.",
    "택배사에 확인해 보니 내일 중 배송될 예정입니다.",
    "불편을 드려 죄송합니다. 회수 접수 도와드리겠습니다.",
    "요청하신 내용으로 변경 처리해 드렸습니다.",
]
NOTES = ["택배사 통화함: 지역 물량 많아 하루 지연", "고객 재문의, 우선 처리 필요",
         "창고에 재고 확인 요청함"]
CUSTOMER_LINES = ["네, 확인 부탁드려요.", "언제쯤 받을 수 있을까요?", "감사합니다!"]
# where a ticket ends up (weights): every stage shows up on the kanban
PATHS = [(8, []), (10, ["진행 중"]), (6, ["진행 중", "고객 회신 대기"]),
         (12, ["진행 중", "해결"])]


def load_helpdesk_demo(now: dt.datetime | None = None, actor: User | None = None,
                       seed: int = 20260331, count: int = 36) -> None:
    """Teams, stages, templates, a coupon programme, a portal customer and a leave (each only
    when missing); ``count`` tickets over the last weeks when there are none yet."""
    now = now or utcnow()
    rng = random.Random(seed)
    agents = [u for u in demo._demo_agents(None)]          # 장유리, 함정리, 최성훈
    with db.atomic():
        for raw in TEMPLATES:
            if not MessageTemplate.select().where(MessageTemplate.name == raw["name"]).exists():
                message_templates.save_template(None, {"active": True, **raw}, now=now)
        if not Team.select().where(Team.name == SUPPORT).exists():
            teams.save_team(None, {
                "name": SUPPORT, "visibility": "public", "order": 10,
                "description": "주문, 배송, 교환·반품 문의를 받습니다. 주문번호를 적어 주시면 "
                               "더 빨리 도와드릴 수 있어요.",
                "auto_assign": True, "assign_method": "open_tickets",
                "members": [agents[0].username, agents[1].username],
                "after_sales": ["refund", "coupon", "return", "repair", "field_service"]})
        if not Team.select().where(Team.name == FINANCE).exists():
            teams.save_team(None, {
                "name": FINANCE, "visibility": "private", "order": 20,
                "description": "환불, 결제, 세금계산서 문의", "members": [agents[2].username],
                "after_sales": ["refund"]})
        for raw in STAGES:
            if not Stage.select().where(Stage.name == raw["name"]).exists():
                stages.save_stage(None, {**raw, "teams": [SUPPORT, FINANCE]})
        _coupon_programme()
        portal = _portal_user()
        if not Leave.select().where(Leave.user == agents[1].id).exists():
            today = clock.to_local(now, clock.zone()).date()
            leaves.add_leave(None, {"user": str(agents[1].id),
                                    "start": today - dt.timedelta(days=1),
                                    "end": today + dt.timedelta(days=4), "note": "연차"})
    if not Ticket.select().exists():
        _load_tickets(rng, now, agents, portal, count)


def _coupon_programme() -> None:
    try:
        from engine import aftersales
    except ImportError:   # the after-sales module is not there: no programme to show
        return
    if not CouponProgram.select().where(CouponProgram.name == "사과 쿠폰 3,000원").exists():
        aftersales.save_program(None, {"name": "사과 쿠폰 3,000원", "discount_kind": "amount",
                                       "discount": 3000, "min_order_total": 20000,
                                       "valid_days": 30})


def _portal_user() -> User:
    """A customer who logs in to the portal. Like the demo agents, a random password nobody
    knows: the master sets one on the users page to try the portal."""
    username, name = PORTAL_USER
    user = User.get_or_none(User.username == username)
    if user is None:
        user = User.create(username=username, display_name=name, role="portal",
                           password_hash=users.hash_password(secrets.token_urlsafe(16)))
    return user


def _load_tickets(rng, now, agents, portal, count) -> None:
    support = Team.get(Team.name == SUPPORT)
    finance = Team.get(Team.name == FINANCE)
    stage_ids = {s.name: s.id for s in Stage.select()}
    shipped = list(Order.select().where((Order.state == SHIPPED) & (Order.cs_state == "정상"))
                   .order_by(Order.id))
    others = list(Order.select().where(Order.state != SHIPPED).order_by(Order.id))
    for n in range(count):
        at = now - dt.timedelta(days=21 * (count - n) / count, minutes=rng.randint(0, 600))
        at = at.replace(microsecond=0)
        in_finance = rng.random() < 0.2
        team = finance if in_finance else support
        author = rng.choice(agents[2:] if in_finance else agents)
        raw = {"team_id": str(team.id),
               "subject": rng.choice(FINANCE_SUBJECTS if in_finance else SUBJECTS)}
        pick = rng.random()
        if pick < 0.35 and shipped:        # after-sales can be tried on these
            raw["order_id"] = rng.choice(shipped).id
        elif pick < 0.6 and others:
            raw["order_id"] = rng.choice(others).id
        else:
            raw.update(customer_name=demo._name(rng), customer_phone=demo._mobile(rng))
        if not in_finance and n % 6 == 0:   # the portal customer's own tickets
            raw.update(customer_name=portal.display_name, customer_email=portal.username,
                       customer_phone=demo._mobile(rng))
        path = rng.choices([p for _, p in PATHS], weights=[w for w, _ in PATHS])[0]
        try:
            _work_ticket(rng, at, now, raw, author, portal, path, stage_ids)
        except EngineError:   # a demo ticket that does not fit is simply left out
            continue


def _work_ticket(rng, at, now, raw, author, portal, path, stage_ids) -> None:
    source = "order" if raw.get("order_id") else rng.choice(["app", "app", "form"])
    ticket = tickets.create_ticket(Context(author, at), raw, source=source)
    if not ticket.assignee_id and rng.random() < 0.7:   # a team without auto-assignment
        ticket = tickets.assign(Context(author, at), ticket.id, author.id)
    for stage_name in path:
        at = min(at + dt.timedelta(minutes=rng.randint(30, 60 * 30)), now)
        worker = ticket.assignee if ticket.assignee_id else author
        if stage_name != "해결" and rng.random() < 0.7:
            tickets.add_message(Context(worker, at), ticket.id,
                                {"body": rng.choice(REPLIES), "kind": "reply"})
            if rng.random() < 0.3:
                tickets.add_message(Context(worker, at), ticket.id,
                                    {"body": rng.choice(NOTES), "kind": "note"})
        if ticket.customer_email == portal.username and rng.random() < 0.6:
            tickets.add_message(Context(portal, at + dt.timedelta(minutes=5)), ticket.id,
                                {"body": rng.choice(CUSTOMER_LINES)})
        ticket = tickets.move_stage(Context(worker, at), ticket.id, stage_ids[stage_name])
