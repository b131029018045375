"""Rule pipeline cost: 200 rules over 20 triggers, 100,000 field-change events.

Measures, in the same run:
  (a) bare      for each event, ``rule_engine.Rule.matches`` of the pre-compiled conditions
                of exactly the rules whose trigger the event satisfies (the work that cannot
                be avoided);
  (b) pipeline  ruledesk's own path without action side effects: ``RuleIndex.candidates``
                (trigger lookup, becomes / is_set semantics, rule order) and
                ``rules.evaluate`` (compiled-condition cache, timing, non-match explanation
                is not needed for matches) for every candidate.
Prints events/s for both and the ratio (b)/(a); the goal is under 2×.

    python bench/bench_rules.py [--events N]
"""
from __future__ import annotations

import argparse
import datetime as dt
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from engine import events, rules  # noqa: E402
from engine.models import Rule  # noqa: E402

PAYMENT = ["与信審査完了", "仮売上完了", "入金待ち", "与信審査エラー", "仮売上失敗", "取引登録失敗",
           "取消完了"]
HANDLING = ["発送準備中", "発送完了", "配送完了", "決済NG", "注文確定", "返品"]
CONDITIONS = [
    "",
    "total > 30000",
    'payment_method == "代金引換" and total > 30000',
    'channel == "11번가" and quantity >= 3 and not hold',
    'channel_group == "오픈마켓" and total > 10000 and state == "접수" and cs_state == "정상" '
    'and "30001" in product_codes',
]


def triggers() -> list[tuple[str, str | None, str | None]]:
    """20 triggers: becomes for each payment status and handling status, and a few more."""
    result = [("becomes", "payment_status", v) for v in PAYMENT]
    result += [("becomes", "handling_status", v) for v in HANDLING]
    result += [("is_set", "tracking_no", None), ("is_set", "delivery_date", None),
               ("changed", "payment_method", None), ("changed", "hold", None),
               ("changed", "state", None), ("becomes", "shipping_list_exported", "true"),
               ("changed", "cs_state", None)]
    return result


def make_rules(rng) -> list[Rule]:
    out = []
    for n in range(200):
        event, field, value = triggers()[n % 20]
        out.append(Rule(id=n + 1, name=f"rule {n}", enabled=True, sequence=n, version=1,
                        trigger_record="order", trigger_event=event, trigger_field=field,
                        trigger_value=value, condition=CONDITIONS[n % len(CONDITIONS)],
                        actions=[{"type": "hold"}], stop_processing=False))
    return out


def make_records(rng, count=1000) -> list[dict]:
    records = []
    for i in range(count):
        records.append({
            "id": i + 1, "order_no": f"A{i:08d}", "channel": rng.choice(["11번가", "쿠팡", "자사몰"]),
            "channel_group": rng.choice(["오픈마켓", "자사몰"]),
            "state": rng.choice(["접수", "송장", "배송"]), "cs_state": "정상", "cancel_reason": "",
            "hold": rng.random() < 0.1, "handling_status": rng.choice(HANDLING),
            "payment_status": rng.choice(PAYMENT),
            "payment_method": rng.choice(["クレジットカード", "代金引換"]),
            "shipping_list_exported": False, "courier": "", "tracking_no": "",
            "delivery_date": "", "total": float(rng.randint(5000, 90000)),
            "shipping_fee": 0.0, "quantity": float(rng.randint(1, 9)), "line_count": 2.0,
            "product_codes": tuple(rng.sample(["30001", "30002", "30003", "30004"], 2)),
            "buyer_name": "변다사", "recipient_name": "변다사", "address": "서울", "zip_code": "06236",
            "subscription_status": "", "received_at": dt.datetime(2026, 11, 1,
                                                                   tzinfo=dt.timezone.utc),
            "days_since_received": 3.0,
        })
    return records


def make_events(rng, count: int) -> list[events.Event]:
    now = dt.datetime(2026, 11, 25)
    out = []
    for i in range(count):
        kind, field, value = rng.choice(triggers())
        if field in ("payment_status", "handling_status"):
            values = PAYMENT if field == "payment_status" else HANDLING
            new = value if rng.random() < 0.7 else rng.choice(values)
            change = (rng.choice(values), new)
        elif field == "shipping_list_exported":
            change = (False, True)
        elif kind == "is_set":
            change = (None, "123456")
        else:
            change = ("a", "b")
        out.append(events.Event("order", (i % 1000) + 1, events.CHANGED, now, None,
                                {field: change}))
    return out


def bare(event_rules, records, compiled) -> int:
    matched = 0
    for record_id, candidates in event_rules:
        record = records[record_id - 1]
        for rule_id in candidates:
            condition = compiled[rule_id]
            if condition is None or condition.matches(record):
                matched += 1
    return matched


def pipeline(index, stream, records) -> int:
    matched = 0
    for event in stream:
        record = records[event.record_id - 1]
        for rule in index.candidates(event):
            if rules.evaluate(rule, record)[0]:
                matched += 1
    return matched


def best(fn, *args, runs=3):
    times, result = [], None
    for _ in range(runs):
        started = time.perf_counter()
        result = fn(*args)
        times.append(time.perf_counter() - started)
    return min(times), result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=100_000)
    args = parser.parse_args()
    rng = random.Random(5)
    rule_list = make_rules(rng)
    records = make_records(rng)
    stream = make_events(rng, args.events)
    index = rules.RuleIndex(rule_list)
    compiled = {r.id: rules.compiled_for(r) for r in rule_list}
    # the bare loop is told the matching rules up front (computing them is our job)
    event_rules = [(e.record_id, [r.id for r in index.candidates(e)]) for e in stream]
    evaluations = sum(len(c) for _, c in event_rules)

    bare_time, bare_matched = best(bare, event_rules, records, compiled)
    ours_time, ours_matched = best(pipeline, index, stream, records)
    assert bare_matched == ours_matched, (bare_matched, ours_matched)
    ratio = ours_time / bare_time
    print(f"{len(rule_list)} rules over {len(index.by_key)} triggers, {len(stream):,} events, "
          f"{evaluations:,} condition evaluations, {ours_matched:,} matches (best of 3)")
    print(f"(a) bare      pre-selected Rule.matches  {bare_time:7.3f} s  "
          f"{len(stream) / bare_time:10,.0f} events/s")
    print(f"(b) pipeline  index + evaluate           {ours_time:7.3f} s  "
          f"{len(stream) / ours_time:10,.0f} events/s")
    print(f"(b)/(a) = {ratio:.2f}x   goal < 2x: {'met' if ratio < 2 else 'NOT met'}")


if __name__ == "__main__":
    main()
