"""CS history (CS내역조회): every filter, the "+" of a row, complete selected / all matching,
a new CS line for the selected lines — engine and HTTP."""
from __future__ import annotations

import datetime as dt

import pytest

from engine import cs_history, history, orders
from engine.errors import PermissionDenied, ValidationError
from engine.models import CsHistory, Product, Supplier
from tests.conftest import NOW, new_order

HX = {"HX-Request": "true"}


def ctx(user, now=NOW):
    return orders.Context(user, now)


@pytest.fixture
def lines(world):
    """A small history: orders in two channels, worked by two agents on two days."""
    w = world
    other_supplier = Supplier.create(name="대성물산")
    Product.update(supplier=other_supplier).where(Product.id == w.citrus.id).execute()
    day1, day2 = NOW - dt.timedelta(days=1), NOW
    a = new_order(w, order_no="ORD-A", actor=w.agent, now=day1, recipient_name="장유리")
    b = new_order(w, channel=w.coupang, order_no="ORD-B", actor=w.agent2, now=day1,
                  lines=[{"option_id": w.citrus_5.id, "quantity": 1}])
    c = new_order(w, channel=w.mall, order_no="ORD-C", actor=w.agent, now=day2,
                  recipient_name="함정리")
    orders.perform("cancel", a.id, {"reason": "반품-불량", "cs_text": "불량 접수"},
                   ctx(w.agent, day2))
    orders.perform("hold", b.id, {"cs_text": "고객 요청으로 보류 (단순교환 문의)"},
                   ctx(w.agent2, day2))
    orders.perform("invoice", c.id, {"courier": "CJ대한통운", "tracking_no": "777"},
                   ctx(w.agent, day2))
    return a, b, c


def search(**raw):
    tz = orders.Context(None, NOW).tz
    return list(cs_history.search(cs_history.parse_search(raw, tz), tz))


def ops(rows):
    return sorted((h.order.order_no, h.operation) for h in rows)


def test_every_filter(world, lines):
    a, b, c = lines
    assert len(search()) == 6
    # the dates are local (Seoul) days: NOW is 2026-03-31 17:00 there
    assert ops(search(date_from="2026-03-31")) == [("ORD-A", "cancel"), ("ORD-B", "hold"),
                                                   ("ORD-C", "create"), ("ORD-C", "invoice")]
    assert ops(search(date_to="2026-03-30")) == [("ORD-A", "create"), ("ORD-B", "create")]
    assert ops(search(operator=str(world.agent2.id))) == [("ORD-B", "create"), ("ORD-B", "hold")]
    assert {h.order_id for h in search(group=str(world.st11.group_id))} == {a.id, b.id}
    assert {h.order_id for h in search(channel=str(world.mall.id))} == {c.id}
    assert {h.order_id for h in search(supplier=str(world.supplier.id))} == {a.id, c.id}
    assert {h.order_id for h in search(state="송장")} == {c.id}
    assert {h.order_id for h in search(cs_state="취소")} == {a.id}
    assert ops(search(operation="invoice")) == [("ORD-C", "invoice")]
    assert ops(search(cancel_type="반품-불량")) == [("ORD-A", "cancel")]
    assert search(cancel_type="반품-오배송") == []
    assert ops(search(exchange_type="단순교환")) == [("ORD-B", "hold")]
    assert ops(search(q="ORD-C")) == [("ORD-C", "create"), ("ORD-C", "invoice")]
    assert {h.order_id for h in search(q=str(b.id))} == {b.id}           # 관리번호
    assert {h.order_id for h in search(q="함정리")} == {c.id}            # recipient
    assert ops(search(q="불량 접수")) == [("ORD-A", "cancel")]             # the CS text
    assert ops(search(q="777")) == [("ORD-C", "invoice")]                 # the recorded detail
    with pytest.raises(ValidationError) as err:
        cs_history.parse_search({"operation": "nope", "date_from": "yesterday"},
                                orders.Context(None, NOW).tz)
    assert set(err.value.errors) == {"operation", "date_from"}


def test_operation_choices_follow_the_registered_operations(world):
    codes = [code for code, _ in cs_history.SEARCH_FIELDS[9].choice_list()]
    assert codes == list(history.OPERATION_LABELS)


def test_complete_selected_and_all_matching(world, lines):
    a, b, c = lines
    tz = orders.Context(None, NOW).tz
    first = search(operation="cancel")[0]
    later = ctx(world.agent2, NOW + dt.timedelta(minutes=3))
    assert cs_history.complete([first.id], later) == 1
    assert cs_history.complete([first.id], later) == 0
    done = CsHistory.get_by_id(first.id)
    assert (done.processed, done.processed_at, done.processed_by_id) == (
        True, NOW + dt.timedelta(minutes=3), world.agent2.id)
    with pytest.raises(ValidationError):
        cs_history.complete([], later)
    with pytest.raises(PermissionDenied):
        cs_history.complete([first.id], ctx(world.viewer))
    matching = cs_history.parse_search({"channel": str(world.st11.id)}, tz)
    assert cs_history.count_open(matching, tz) == 1
    assert cs_history.complete_matching(matching, later) == 1
    assert cs_history.count_open(matching, tz) == 0
    assert {h.order_id for h in search(processed="0")} == {b.id, c.id}
    assert len(search(processed="1")) == 2


def test_new_cs_line_for_the_orders_of_the_selected_lines(world, lines):
    a, b, c = lines
    picked = [h.id for h in search(channel=str(world.st11.id))] + [search(q="ORD-B")[0].id]
    with pytest.raises(ValidationError) as err:
        cs_history.add_note(picked, {"text": " "}, ctx(world.agent))
    assert err.value.field == "text"
    touched = cs_history.add_note(picked, {"text": "고객 재문의: 회신 예정"}, ctx(world.agent))
    assert touched == sorted([a.id, b.id])            # one line per order, not per line
    notes = list(CsHistory.select().where(CsHistory.operation == "note"))
    assert sorted(n.order_id for n in notes) == sorted([a.id, b.id])
    assert all(n.text == "고객 재문의: 회신 예정" and not n.processed
               and n.operator_id == world.agent.id for n in notes)


# --- HTTP ---------------------------------------------------------------------------------------

def test_page_lists_filters_and_expands_an_order(app, world, lines, login):
    a, b, c = lines
    viewer = login("viewer")
    page = viewer.get("/cs/?channel=%d" % world.st11.id)
    body = page.get_data(as_text=True)
    assert page.status_code == 200 and "ORD-A" in body and "ORD-C" not in body
    assert 'name="operation"' in body and "Complete selected" not in body  # a viewer reads
    fragment = viewer.get("/cs/?operation=invoice", headers=HX).get_data(as_text=True)
    assert fragment.lstrip().startswith('<section id="results"') and "ORD-C" in fragment
    bad = viewer.get("/cs/?date_from=nope")
    assert bad.status_code == 200 and "has-error" in bad.get_data(as_text=True)
    line = search(q="ORD-C", operation="invoice")[0]
    more = viewer.get(f"/cs/order/{c.id}/lines?row={line.id}", headers=HX).get_data(as_text=True)
    assert f'id="cs-more-{line.id}"' in more and more.count("<li") == 2   # create + invoice
    closed = viewer.get(f"/cs/order/{c.id}/lines?row={line.id}&close=1", headers=HX)
    assert "hidden" in closed.get_data(as_text=True) and "<li" not in closed.get_data(as_text=True)


def test_complete_and_note_over_http(app, world, lines, login):
    a, b, c = lines
    agent = login("agent")
    body = agent.get("/cs/").get_data(as_text=True)
    assert "Complete selected" in body or "data-action=\"complete\"" in body
    line = search(q="ORD-A", operation="cancel")[0]
    response = agent.post("/cs/complete", data={"ids": [line.id]}, headers=HX)
    assert response.status_code == 200
    trigger = response.headers["HX-Trigger"]
    assert trigger.isascii() and trigger.index("csChanged") < trigger.index("closeDialog")
    assert CsHistory.get_by_id(line.id).processed
    refused = agent.post("/cs/complete", data={}, headers=HX)
    assert refused.status_code == 422 and "toast" in refused.headers["HX-Trigger"]
    response = agent.post("/cs/complete-all", data={"channel": str(world.mall.id)}, headers=HX)
    assert response.status_code == 200
    assert {h.order_id for h in search(processed="1")} == {a.id, c.id}
    dialog = agent.get("/cs/note?ids=%d" % line.id, headers=HX).get_data(as_text=True)
    assert 'name="text"' in dialog and 'value="%d"' % line.id in dialog
    empty = agent.post("/cs/note", data={"ids": [line.id], "text": ""}, headers=HX)
    assert empty.status_code == 200 and "has-error" in empty.get_data(as_text=True)
    saved = agent.post("/cs/note", data={"ids": [line.id], "text": "재확인 필요"}, headers=HX)
    assert "closeDialog" in saved.headers["HX-Trigger"]
    assert CsHistory.get(CsHistory.operation == "note").text == "재확인 필요"


def test_viewer_gets_403_on_every_cs_post(app, world, lines, login):
    viewer = login("viewer")
    line = search()[0]
    for url, data in [("/cs/complete", {"ids": [line.id]}), ("/cs/complete-all", {}),
                      ("/cs/note", {"ids": [line.id], "text": "x"})]:
        assert viewer.post(url, data=data, headers=HX).status_code == 403, url
    assert viewer.get(f"/cs/note?ids={line.id}", headers=HX).status_code == 403
    assert CsHistory.select().where(CsHistory.processed == True).count() == 0  # noqa: E712
    assert CsHistory.select().where(CsHistory.operation == "note").count() == 0
