"""The demo data set a fresh install starts with (disable with RULEDESK_DEMO=0).

Deterministic (a seeded Random and a given ``now``), so tests can count on its shape:
4 channels in 2 groups (and 데모마켓, connected to the demo marketplace, with one job of each
connector kind, all off), 5 suppliers, 50 products with options and 5 price tiers, and 300
Korean orders spread over the last 30 days in every state, each with 1–5 lines of quantity
1–5, some of them on subscriptions; the shipped presets (config/presets: the ecforce rules)
are loaded and enabled. Orders are moved through their states with the real operations, so their CS history
reads exactly as if agents had worked them.
"""
from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass
from pathlib import Path
import secrets

from engine import clock, orders, users
from engine.models import (
    CancelReason, Channel, ChannelGroup, Courier, HandlingStatus, Order, OrderLine,
    PaymentMethod, PaymentStatus, Product, ProductOption, Subscription, Supplier, User, db,
)

COURIERS = ["CJ대한통운", "한진택배", "롯데택배", "우체국택배", "로젠택배", "경동택배"]
CANCEL_REASONS = ["반품-취소(환불)", "반품-불량", "반품-오배송", "취소-분실", "취소-상품품질",
                  "취소-배송지연", "취소-고객변심"]
PAYMENT_STATUSES = ["与信審査完了", "仮売上完了", "入金待ち", "与信審査エラー", "仮売上失敗",
                    "取引登録失敗", "取消完了"]
PAYMENT_METHODS = ["クレジットカード", "代金引換", "銀行振込", "後払い"]
HANDLING_STATUSES = [("발송준비중", "#2563eb"), ("발송완료", "#16a34a"), ("배송완료", "#0d9488"),
                     ("결제NG", "#dc2626"), ("주문확정", "#7c3aed"), ("반품", "#ea580c")]

GROUPS = {"오픈마켓": ["11번가", "쿠팡"], "자사·스마트스토어": ["네이버 스마트스토어", "자사몰"]}
SUPPLIERS = ["(주)한빛상사", "대성물산", "그린팜 농원", "우리리빙", "스타일온"]

FAMILIES = [  # (product name stem, options, base price)
    ("유기농 제주 감귤", ["3kg", "5kg", "10kg"], 15900),
    ("국산 햇고구마", ["2kg", "5kg"], 12900),
    ("무선 블루투스 이어폰", ["화이트", "블랙", "네이비"], 39000),
    ("순면 라운드 티셔츠", ["화이트-M", "화이트-L", "블랙-M", "블랙-L"], 12900),
    ("스테인리스 텀블러 500ml", ["실버", "로즈골드"], 18900),
    ("천연 라텍스 베개", ["기본형", "경추형"], 45000),
    ("캠핑 접이식 의자", ["카키", "베이지"], 32000),
    ("LED 무드등", ["웜화이트", "RGB"], 21900),
    ("대용량 보조배터리 20000mAh", ["블랙", "화이트"], 29900),
    ("한우 사골곰탕 500g", ["5팩", "10팩"], 19900),
]
VARIANTS = ["", " 프리미엄", " 실속형", " 선물세트", " 리뉴얼"]

SURNAMES = "김이박최정강조윤장임한오서신권황안송류홍"
GIVEN = ["민준", "서연", "도윤", "하은", "시우", "지우", "주원", "서윤", "예준", "지민",
         "현우", "수아", "건우", "지아", "우진", "채원", "선우", "다은", "연우", "은서"]
ADDRESSES = [
    ("06236", "서울특별시 강남구 테헤란로 152 (역삼동, 강남파이낸스센터) %d층"),
    ("04524", "서울특별시 중구 세종대로 110 (태평로1가) %d호"),
    ("13529", "경기도 성남시 분당구 판교역로 235 (삼평동, 에이치스퀘어) %d동"),
    ("50969", "경상남도 김해시 장유로 320 월산마을주공7단지아파트 707동 %d호"),
    ("48058", "부산광역시 해운대구 센텀중앙로 79 %d호"),
    ("61945", "광주광역시 서구 내방로 111 (치평동) %d호"),
    ("34126", "대전광역시 유성구 대학로 99 (궁동) %d호"),
    ("24341", "강원특별자치도 춘천시 중앙로 1 (봉의동) %d호"),
    ("63122", "제주특별자치도 제주시 문연로 6 (연동) %d호"),
    ("42100", "대구광역시 수성구 달구벌대로 2450 (범어동) %d호"),
    ("35208", "대전광역시 서구 둔산로 100 (둔산동) %d호"),
    ("16514", "경기도 수원시 영통구 광교중앙로 145 (하동) %d동 %d호"),
]
MEMOS = ["", "", "", "부재 시 경비실에 맡겨 주세요", "문 앞에 놓아 주세요", "배송 전 연락 바랍니다"]


@dataclass(frozen=True)
class CatalogItem:
    product_code: str
    product_name: str
    option_code: str
    option_name: str
    price: int
    supplier_index: int


def catalog() -> list[CatalogItem]:
    """The demo products and options (codes P1000…, 30001…): the demo data set and the demo
    marketplace (engine/connectors/demo_market.py) sell the same goods, so collected orders
    resolve to options."""
    items, code = [], 30001
    for v, variant in enumerate(VARIANTS):
        for f, (stem, option_names, base) in enumerate(FAMILIES):
            for option_name in option_names:
                items.append(CatalogItem(f"P{1000 + v * 10 + f}", stem + variant, str(code),
                                         option_name, base + v * 1000, f + v))
                code += 1
    return items


def _name(rng):
    return rng.choice(SURNAMES) + rng.choice(GIVEN)


def _mobile(rng):
    return "010-%04d-%04d" % (rng.randint(2000, 9999), rng.randint(0, 9999))


def _address(rng):
    zip_code, pattern = rng.choice(ADDRESSES)
    numbers = tuple(rng.randint(101, 1999) for _ in range(pattern.count("%d")))
    return zip_code, pattern % numbers


def load_choice_lists() -> None:
    """Couriers, cancel reasons and handling statuses: needed even without demo orders."""
    with db.atomic():
        if not Courier.select().exists():
            for i, name in enumerate(COURIERS):
                Courier.create(name=name, sort_order=i)
        if not CancelReason.select().exists():
            for i, name in enumerate(CANCEL_REASONS):
                CancelReason.create(name=name, sort_order=i)
        if not HandlingStatus.select().exists():
            for i, (name, color) in enumerate(HANDLING_STATUSES):
                HandlingStatus.create(name=name, color=color, sort_order=i)
        if not PaymentStatus.select().exists():
            for i, name in enumerate(PAYMENT_STATUSES):
                PaymentStatus.create(name=name, sort_order=i)
        if not PaymentMethod.select().exists():
            for i, name in enumerate(PAYMENT_METHODS):
                PaymentMethod.create(name=name, sort_order=i)


DEMO_AGENTS = [("jang", "장유리"), ("ham", "함정리"), ("choi", "최성훈")]


def _demo_agents(actor: User | None) -> list[User]:
    """Three agents who "worked" the demo orders, so the CS history has several operators.

    They get random passwords nobody knows: the master sets one on the users page to use them.
    """
    agents = []
    for username, name in DEMO_AGENTS:
        user = User.get_or_none(User.username == username)
        if user is None:
            user = User.create(username=username, display_name=name, role="agent",
                               password_hash=users.hash_password(secrets.token_urlsafe(16)))
        agents.append(user)
    return agents + ([actor] if actor else [])


def load(now: dt.datetime, actor: User | None = None, seed: int = 20260331,
         order_count: int = 300, market_url: str | None = None) -> None:
    """Load the demo data set unless the store already has orders."""
    if Order.select().exists():
        return
    rng = random.Random(seed)
    load_choice_lists()
    operators = _demo_agents(actor)
    with db.atomic():
        channels = []
        for group_name, names in GROUPS.items():
            group = ChannelGroup.create(name=group_name)
            channels += [Channel.create(name=n, group=group) for n in names]
        suppliers = [Supplier.create(name=n, phone="02-%03d-%04d" % (rng.randint(200, 999),
                                                                       rng.randint(0, 9999)))
                     for n in SUPPLIERS]
        options = []
        products = {}
        for item in catalog():
            product = products.get(item.product_code)
            if product is None:
                product = products[item.product_code] = Product.create(
                    code=item.product_code, name=item.product_name,
                    supplier=suppliers[item.supplier_index % len(suppliers)])
            price = item.price
            options.append(ProductOption.create(
                product=product, code=item.option_code, name=item.option_name,
                price_a=price, price_b=price + 750, price_c=price + 1500,
                price_d=price + 2250, price_e=price + 3000, stock=rng.randint(0, 300)))
    _load_orders(rng, now, operators, channels, options, order_count)
    load_presets()
    load_connector_demo(now, market_url)


DEMO_CHANNEL = "데모마켓"
DEMO_JOBS = [  # (name, kind, options): one job of each connector kind, all off
    ("데모마켓 주문수집", "collect_orders", {"confirm": True}),
    ("데모마켓 클레임 동기화", "sync_claims", {}),
    ("데모마켓 운송장 전송", "send_invoices", {}),
    ("데모마켓 문의 수집", "collect_inquiries", {"types": ["qna", "urgent", "review"]}),
    ("데모마켓 문의답변 전송", "send_answers", {}),
]


def load_connector_demo(now: dt.datetime, market_url: str | None = None) -> None:
    """The 데모마켓 channel, connected to the demo marketplace with its key, and one job of
    each connector kind (plus a rule batch), all switched off: a newcomer turns one on and
    watches it work."""
    import logging

    from engine import credentials, jobs
    from engine.connectors import demo_market
    from engine.errors import ConfigError
    from engine.models import Job

    if not Channel.select().where(Channel.name == DEMO_CHANNEL).exists():
        try:
            secret = credentials.encrypt({"api_key": demo_market.DEMO_KEY})
        except ConfigError:   # no key configured (engine-only scripts): connect it by hand
            logging.getLogger("ruledesk.demo").warning("demo channel saved without its key")
            secret = ""
        group = ChannelGroup.get_or_none(ChannelGroup.name == "오픈마켓")
        Channel.create(name=DEMO_CHANNEL, group=group, connector="demo", credentials=secret,
                       connector_settings={"base_url": market_url or demo_market.base_url()})
    every_hour = {"enabled": False, "weekdays": ["mon", "tue", "wed", "thu", "fri", "sat",
                                                 "sun"],
                  "start": "00:00", "end": "24:00", "every_hours": 1,
                  "channels": [DEMO_CHANNEL]}
    for name, kind, options in DEMO_JOBS:
        if not Job.select().where(Job.name == name).exists():
            jobs.save_job(None, {"name": name, "kind": kind, "options": options, **every_hour},
                          now=now)
    if not Job.select().where(Job.kind == "rule_batch").exists():
        jobs.save_job(None, {"name": "규칙 배치 (매일 05:00)", "kind": "rule_batch",
                             "enabled": False, "weekdays": ["mon", "tue", "wed", "thu", "fri"],
                             "start": "05:00", "end": "06:00", "once_a_day": True}, now=now)


PRESETS = Path(__file__).resolve().parent.parent / "config" / "presets"


def load_presets() -> None:
    """Turn on the shipped presets (the ecforce rules), so a newcomer sees them work."""
    from engine import config
    config.load(sorted(PRESETS.glob("*.toml")))


def _load_orders(rng, now, operators, channels, options, count) -> None:
    subscriptions = [Subscription.create(customer_name=_name(rng), customer_phone=_mobile(rng),
                                         product_name=rng.choice(options).product.name,
                                         created_at=now - dt.timedelta(days=90))
                     for _ in range(12)]
    couriers = [c.name for c in Courier.ordered()]
    reasons = [r.name for r in CancelReason.ordered()]
    statuses = list(HandlingStatus.ordered())
    used_tracking = set()
    # Fixed mix so every state shows up: (weight, path through the operations)
    paths = [(30, []), (18, ["invoice"]), (30, ["invoice", "ship"]), (6, ["cancel"]),
             (4, ["invoice", "ship", "cancel"]), (6, ["hold"]), (3, ["invoice", "hold"]),
             (3, ["cancel", "restore"])]
    for n in range(count):
        received = now - dt.timedelta(days=30 * (count - n) / count,
                                      minutes=rng.randint(0, 600))
        received = received.replace(microsecond=0)
        buyer = _name(rng)
        recipient = buyer if rng.random() < 0.7 else _name(rng)
        zip_code, address = _address(rng)
        mobile = _mobile(rng)
        with db.atomic():
            order = Order.create(
                channel=rng.choice(channels), order_no="%s%08d" % (rng.choice("ABCDEF"), 10_000_000 + n * 37),
                received_at=received, created_at=received, updated_at=received,
                buyer_name=buyer, buyer_mobile=mobile, recipient_name=recipient,
                recipient_mobile=mobile if recipient == buyer else _mobile(rng),
                recipient_phone="" if rng.random() < 0.8 else "02-%03d-%04d" % (
                    rng.randint(200, 999), rng.randint(0, 9999)),
                zip_code=zip_code, address=address, ship_memo=rng.choice(MEMOS),
                shipping_fee=rng.choice([0, 0, 3000]),
                buyer_email=f"buyer{n:03d}@example.com",
                payment_method="代金引換" if rng.random() < 0.15 else "クレジットカード",
                payment_status=rng.choice(["与信審査完了", "与信審査完了", "仮売上完了"]),
                subscription=rng.choice(subscriptions) if rng.random() < 0.2 else None)
            for option in rng.sample(options, rng.randint(1, 5)):
                OrderLine.create(order=order, option=option, product_code=option.product.code,
                                 product_name=option.product.name, option_code=option.code,
                                 option_name=option.name, quantity=rng.randint(1, 5),
                                 unit_price=option.price_a)
            orders.history.record(order, "create", None, received, "[주문수집]")
        path = rng.choices([p for _, p in paths], weights=[w for w, _ in paths])[0]
        actor = rng.choice(operators)
        at = received
        for step in path:
            at = min(at + dt.timedelta(minutes=rng.randint(20, 30 * 60)), now)
            ctx = orders.Context(actor, at)
            raw = {}
            if step == "invoice":
                tracking = None
                while tracking is None or tracking in used_tracking:
                    tracking = "%012d" % rng.randint(10**11, 10**12 - 1)
                used_tracking.add(tracking)
                raw = {"courier": rng.choice(couriers), "tracking_no": tracking}
            elif step == "cancel":
                raw = {"reason": rng.choice(reasons), "cs_text": "고객 요청으로 취소"}
            elif step == "hold":
                raw = {"cs_text": "주소 확인 필요, 고객 연락 대기"}
                if rng.random() < 0.5:
                    alarm = at + dt.timedelta(hours=rng.randint(-48, 48))
                    raw["alarm_at"] = clock.to_local(alarm, clock.zone()).isoformat()
            orders.perform(step, order.id, raw, ctx)
        if statuses and rng.random() < 0.5:
            status = statuses[min(len(statuses) - 1, {0: 0, 1: 1, 2: 2}.get(
                len([s for s in path if s in ("invoice", "ship")]), 0))]
            orders.perform("set_handling_status", order.id,
                           {"handling_status": str(status.id)}, orders.Context(actor, at))
