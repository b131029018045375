"""Render, validate and enqueue 10,000 personalised messages (goal: < 3x a bare loop, < 2 s).

Run from the project root:  python bench/bench_messages.py [--n 10000] [--runs 3] [--profile]

Measures, best of ``--runs`` each, over the same 10,000 recipients (Korean names, order
numbers, couriers, tracking numbers):

  (a) baseline  ``fmt.format(**vars)`` + ``.encode("cp949")`` + ``len`` per recipient
  (b) compose   ``sending.compose`` (substitute #{…}, classify SMS/LMS, CP949 bytes, checks)
  (c) pipeline  ``sending.compose`` + ``sending.enqueue`` into a throwaway SQLite store

and prints seconds and µs/message for each, the ratios (b)/(a) and (c)/(a), and whether each
goal is met. ``--profile`` adds a cProfile of one compose and one enqueue run (top functions by own
time).

The store lives in a temporary directory and is deleted at the end. Recipients point at
orders bulk-inserted before timing starts (``compose`` only accepts ``#{…}`` placeholders
when the recipients have orders); their variables are the in-memory dicts, so nothing is
read from the orders while timing.
"""
from __future__ import annotations

import argparse
import cProfile
import datetime as dt
import io
import pstats
import random
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from engine import clock, sending, store  # noqa: E402
from engine.models import Channel, Order, SenderNumber, db  # noqa: E402
from engine.schema import parse  # noqa: E402

NOW = dt.datetime(2026, 3, 31, 8, 0, 0)   # naive UTC, 17:00 in Seoul
TZ = clock.zone("Asia/Seoul")
SENDER = "15881234"
TEMPLATE = ("[#{택배사}] #{수령자}님, 주문하신 상품이 발송되었습니다.\n"
            "주문번호: #{주문번호}\n송장번호: #{송장번호}\n"
            "배송조회는 택배사 홈페이지에서 가능합니다. 감사합니다.")
BASELINE = TEMPLATE.replace("#{", "{")    # the same text, str.format style
GOAL_RATIO, GOAL_SECONDS = 3.0, 2.0

FAMILY = "김이박최정강조윤장임한오서신권황안송류홍"
GIVEN = "민서지현우준영수진하은도윤예린채원시우주아유리다사건호"
COURIERS = ["CJ대한통운", "롯데택배", "한진택배", "우체국택배", "로젠택배"]


def people(n: int, seed: int = 7) -> list[dict]:
    rnd = random.Random(seed)
    rows = []
    for i in range(n):
        length = rnd.choice((1, 2, 2, 3))
        name = rnd.choice(FAMILY) + "".join(rnd.choice(GIVEN) for _ in range(length))
        rows.append({
            "to": "010%08d" % (10_000_000 + i),
            "수령자": name,
            "주문번호": "M20260331-%05d" % (i + 1),
            "택배사": COURIERS[i % len(COURIERS)],
            "송장번호": "%012d" % (600_000_000_000 + i),
        })
    return rows


def setup_store(directory: str, rows: list[dict]) -> list[sending.Recipient]:
    database = store.open_store("sqlite:///%s" % Path(directory, "bench.db"))
    database.connect(reuse_if_open=True)
    SenderNumber.create(number=SENDER, label="대표번호")
    channel = Channel.create(name="벤치몰")
    with db.atomic():
        for start in range(0, len(rows), 500):
            Order.insert_many([
                {"channel": channel.id, "order_no": r["주문번호"], "received_at": NOW,
                 "buyer_name": r["수령자"], "recipient_name": r["수령자"],
                 "recipient_mobile": r["to"], "address": "서울 중구 세종대로 110",
                 "courier": r["택배사"], "tracking_no": r["송장번호"]}
                for r in rows[start:start + 500]]).execute()
    orders = list(Order.select().order_by(Order.id))
    return [sending.Recipient(r["to"], order, {k: v for k, v in r.items() if k != "to"})
            for r, order in zip(rows, orders)]


# --- the three measures -------------------------------------------------------------------

def baseline(rows: list[dict]) -> int:
    total = 0
    fmt = BASELINE
    for r in rows:
        total += len(fmt.format(**r).encode("cp949"))
    return total


def compose(values, recipients):
    drafts = sending.compose(values, recipients, NOW, TZ)
    assert all(d.ok for d in drafts), next(d.problems for d in drafts if not d.ok)
    return drafts


def pipeline(values, recipients, batch: str):
    drafts = compose(values, recipients)
    result = sending.enqueue(drafts, batch, None, NOW, sender=SENDER)
    assert len(result.stored) == len(recipients) and not result.duplicates
    return result


def best_of(runs: int, fn, *args_for_run) -> float:
    best = float("inf")
    for run in range(runs):
        args = args_for_run[0](run) if args_for_run else ()
        started = time.perf_counter()
        fn(*args)
        best = min(best, time.perf_counter() - started)
    return best


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--profile", action="store_true",
                        help="also print a cProfile of one compose run")
    args = parser.parse_args(argv)
    n = args.n
    rows = people(n)
    with tempfile.TemporaryDirectory(prefix="ruledesk-bench-") as directory:
        recipients = setup_store(directory, rows)
        values = parse(sending.SEND_FIELDS, {"channel": "sms", "sender": SENDER,
                                             "text": TEMPLATE})
        # same data, same text: the bare loop and compose agree on every byte count
        drafts = compose(values, recipients)
        bare = [len(BASELINE.format(**r).encode("cp949")) for r in rows]
        assert [d.bytes for d in drafts] == bare, "compose and the baseline disagree"
        kinds = {}
        for d in drafts:
            kinds[d.kind] = kinds.get(d.kind, 0) + 1

        a = best_of(args.runs, baseline, lambda run: (rows,))
        b = best_of(args.runs, compose, lambda run: (values, recipients))
        c = best_of(args.runs, pipeline, lambda run: (values, recipients, f"bench-{run}"))

        print(f"{n:,} messages ({', '.join(f'{k} {v:,}' for k, v in sorted(kinds.items()))}),"
              f" best of {args.runs}, Python {sys.version.split()[0]}, SQLite store")
        for label, seconds in (("(a) baseline  str.format + encode('cp949')", a),
                               ("(b) compose   render + validate", b),
                               ("(c) pipeline  compose + enqueue (SQLite)", c)):
            print(f"{label:44s} {seconds:8.3f} s  {seconds / n * 1e6:8.1f} µs/message")
        for label, seconds in (("(b)/(a)", b), ("(c)/(a)", c)):
            ratio = seconds / a
            print(f"{label} = {ratio:6.1f}x   goal < {GOAL_RATIO:g}x: "
                  f"{'met' if ratio < GOAL_RATIO else 'NOT met'};   "
                  f"goal < {GOAL_SECONDS:g} s: "
                  f"{'met' if seconds < GOAL_SECONDS else 'NOT met'} ({seconds:.2f} s)")

        if args.profile:
            drafts = compose(values, recipients)
            for label, fn, fn_args in (
                    ("compose", compose, (values, recipients)),
                    ("enqueue", sending.enqueue, (drafts, "bench-profile", None, NOW, SENDER))):
                profiler = cProfile.Profile()
                profiler.enable()
                fn(*fn_args)
                profiler.disable()
                out = io.StringIO()
                pstats.Stats(profiler, stream=out).sort_stats("tottime").print_stats(10)
                print(f"--- cProfile of one {label} run (own time) ---")
                print("\n".join(line for line in out.getvalue().splitlines()
                                if line.strip() and "Ordered by" not in line
                                and "List reduced" not in line))
        db.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
