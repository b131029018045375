"""Order import cost: a 50,000-row marketplace xlsx, read bare vs. imported by ruledesk.

Builds the file with openpyxl ``write_only`` in a temporary directory (12 columns as a
channel sends them: order no., date, buyer, mobiles, zip, address, memo, option code,
quantity, price; every fifth order has a second line, all phones distinct), then measures in
the same run:
  (a) bare     openpyxl ``read_only`` + ``values_only``: iterate every row, nothing else
               (the cheapest way the project's stack reads an xlsx);
  (b) import   ``engine.imports.run_import``: ruledesk's own streaming reader, validation of
               every cell (phones, codes, numbers, dates), grouping of lines into orders,
               duplicate check, and the write of every order, line, CS history line and
               ``created`` event into a throwaway SQLite store, in one transaction, the
               events then handed to the rule engine (no rules in the store).
Prints both, the ratio (b)/(a) and whether the goal (under 2×) is met. Nothing touches the
app's store or the network; the temporary directory is deleted afterwards.

    python bench/bench_import.py [--rows N]
"""
from __future__ import annotations

import argparse
import datetime as dt
import platform
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from engine import excel, imports, orders, rules, store  # noqa: E402
from engine.models import Channel, Order, OrderLine, Product, ProductOption, User  # noqa: E402

HEADER = ["주문번호", "주문일시", "구매자", "구매자휴대폰", "수령자", "수령자휴대폰", "우편번호",
          "주소", "배송메모", "옵션코드", "수량", "판매가"]
CODES = ["30001", "30002", "30003", "30004"]


def build(path: Path, rows: int) -> int:
    """Write ``rows`` data rows; return the number of orders they make."""
    from openpyxl import Workbook

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("주문")
    sheet.append(HEADER)
    start = dt.datetime(2026, 3, 1, 9, 0)
    order, written = 0, 0
    while written < rows:
        order += 1
        lines = 2 if order % 5 == 0 else 1
        for line in range(min(lines, rows - written)):
            n = written
            sheet.append([f"ORD{order:08d}", start + dt.timedelta(minutes=order), "김구매",
                          "010-%04d-%04d" % (2000 + n // 10000, n % 10000), "이수령",
                          "010-%04d-%04d" % (5000 + n // 10000, n % 10000), "06236",
                          "서울특별시 강남구 테헤란로 %d길 %d, %d동 %d호"
                          % (n % 100, n % 50, 101 + n % 30, 101 + n % 900),
                          "문 앞에 놓아 주세요" if n % 3 else "", CODES[(order + line) % 4],
                          1 + n % 3, 12900 + 1000 * (n % 4)])
            written += 1
    workbook.save(path)
    return order


def bare_read(path: Path) -> int:
    from openpyxl import load_workbook

    workbook = load_workbook(path, read_only=True)
    count = 0
    for _ in workbook.worksheets[0].iter_rows(values_only=True):
        count += 1
    workbook.close()
    return count


def our_import(path: Path, directory: Path) -> tuple[dict, float]:
    database = store.open_store(f"sqlite:///{directory / 'bench.db'}")
    rules.install()  # the created events go to the rule engine, as in the app
    with database.connection_context():
        channel = Channel.create(name="11번가")
        product = Product.create(code="P100", name="순면 티셔츠")
        for n, code in enumerate(CODES):
            ProductOption.create(product=product, code=code, name=f"옵션 {n}", price_a=12900)
        actor = User.create(username="agent", display_name="장유리", role="agent",
                            password_hash="-")
        now = dt.datetime(2026, 3, 31, 8, 0)
        ctx = orders.Context(actor, now)
        admin = User.create(username="admin", display_name="관리자", role="admin",
                            password_hash="-")
        imports.save_format(channel.id, {**imports.DEFAULTS, "header_row": "1"},
                            orders.Context(admin, now))
        started = time.perf_counter()
        result = imports.run_import(path, channel.id, ctx, path.name)
        elapsed = time.perf_counter() - started
        assert Order.select().count() == result["imported"] == result["good_orders"]
        assert OrderLine.select().count() == result["good_rows"]
    database.close()
    return result, elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=50_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="ruledesk-bench-") as tmp:
        directory = Path(tmp)
        path = directory / "orders.xlsx"
        started = time.perf_counter()
        order_count = build(path, args.rows)
        built = time.perf_counter() - started
        size = path.stat().st_size / 1e6
        print(f"{args.rows:,} rows ({order_count:,} orders) × {len(HEADER)} columns, "
              f"{size:.1f} MB, written in {built:.1f} s (openpyxl write_only); "
              f"Python {platform.python_version()}, SQLite store")

        started = time.perf_counter()
        read = bare_read(path)
        bare = time.perf_counter() - started
        assert read == args.rows + 1

        started = time.perf_counter()
        streamed = sum(1 for _ in excel.open_sheet(path).rows())
        reader = time.perf_counter() - started
        assert streamed == args.rows + 1

        result, ours = our_import(path, directory)
        assert result["good_rows"] == args.rows and result["problem_total"] == 0

        ratio = ours / bare
        print(f"(a) bare    openpyxl read_only + values_only     {bare:7.2f} s "
              f"{args.rows / bare:10,.0f} rows/s")
        print(f"    (info)  ruledesk streaming reader alone        {reader:7.2f} s "
              f"{args.rows / reader:10,.0f} rows/s")
        print(f"(b) import  read + validate + write ({result['imported']:,} orders) "
              f"{ours:7.2f} s {args.rows / ours:10,.0f} rows/s")
        print(f"(b)/(a) = {ratio:.2f}x   goal < 2x: {'met' if ratio < 2 else 'NOT met'}")


if __name__ == "__main__":
    main()
