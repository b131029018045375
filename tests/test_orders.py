"""The fulfilment state machine and every CS operation (seed 002, CS 화면)."""
import datetime as dt

import pytest

from engine import history, orders
from engine.errors import ConflictError, PermissionDenied, StateError, ValidationError
from engine.models import CsHistory, Order
from tests.conftest import NOW, new_order


def ctx(user, minutes=0):
    return orders.Context(user, NOW + dt.timedelta(minutes=minutes))


def perform(name, order, user, **raw):
    return orders.perform(name, order.id, raw, ctx(user))


def invoiced(world, order, tracking="21330012"):
    return perform("invoice", order, world.agent, courier="CJ대한통운", tracking_no=tracking)


def test_invoice_moves_received_to_invoiced_and_writes_history(world, order):
    done = perform("invoice", order, world.agent, courier="CJ대한통운", tracking_no="2133-0012",
                   cs_text="송장 직접 입력")
    assert (done.state, done.courier, done.tracking_no) == ("송장", "CJ대한통운", "21330012")
    line = history.for_order(order.id).first()
    assert (line.operation, line.operator.id, line.text) == ("invoice", world.agent.id, "송장 직접 입력")
    assert line.detail == "[택배사 : CJ대한통운, 송장번호 : 21330012]"
    assert line.processed is False


def test_tracking_number_with_letters_refused_and_nothing_changed(world, order):
    with pytest.raises(ValidationError) as err:
        perform("invoice", order, world.agent, courier="CJ대한통운", tracking_no="21330O12")
    assert err.value.field == "tracking_no"
    fresh = Order.get_by_id(order.id)
    assert (fresh.state, fresh.tracking_no, fresh.version) == ("접수", None, order.version)
    assert CsHistory.select().where(CsHistory.order == order.id).count() == 1  # only "create"


def test_tracking_number_used_twice_refused(world, order):
    other = new_order(world)
    invoiced(world, order, "111222333")
    with pytest.raises(ValidationError) as err:
        invoiced(world, other, "111222333")
    assert err.value.field == "tracking_no" and str(order.id) in str(err.value)
    assert Order.get_by_id(other.id).state == "접수"


def test_unknown_courier_refused(world, order):
    with pytest.raises(ValidationError) as err:
        perform("invoice", order, world.agent, courier="없는택배", tracking_no="123")
    assert err.value.field == "courier"


def test_delete_invoice_goes_back_to_received_and_frees_number(world, order):
    invoiced(world, order, "555")
    done = perform("delete_invoice", order, world.agent)
    assert (done.state, done.tracking_no, done.courier) == ("접수", None, None)
    invoiced(world, new_order(world), "555")  # the number is free again


def test_ship_and_unship(world, order):
    invoiced(world, order)
    assert perform("ship", order, world.agent).state == "배송"
    assert perform("unship", order, world.agent).state == "송장"


def test_ship_refused_while_received(world, order):
    with pytest.raises(StateError):
        perform("ship", order, world.agent)


def test_held_order_is_never_invoiced_or_shipped(world, order):
    perform("hold", order, world.agent, alarm_at="2026-03-31T18:00")
    with pytest.raises(StateError):
        invoiced(world, order)
    perform("release", order, world.agent)
    invoiced(world, order)
    perform("hold", order, world.agent)
    with pytest.raises(StateError):
        perform("ship", order, world.agent)


def test_hold_alarm_time_is_local_and_shows_when_due(world, order):
    done = perform("hold", order, world.agent, alarm_at="2026-03-31T18:00")
    assert done.hold and done.hold_alarm_at == dt.datetime(2026, 3, 31, 9, 0)  # 18:00 KST
    assert list(Order.due_alarms(dt.datetime(2026, 3, 31, 8, 59))) == []
    assert [o.id for o in Order.due_alarms(dt.datetime(2026, 3, 31, 9, 0))] == [order.id]
    released = perform("release", order, world.agent)
    assert not released.hold and released.hold_alarm_at is None


def test_hold_twice_and_release_unheld_refused(world, order):
    with pytest.raises(StateError):
        perform("release", order, world.agent)
    perform("hold", order, world.agent)
    with pytest.raises(StateError):
        perform("hold", order, world.agent)


def test_cancel_refused_while_invoiced(world, order):
    invoiced(world, order)
    with pytest.raises(StateError) as err:
        perform("cancel", order, world.agent, reason="취소-고객변심")
    assert "invoice" in err.value.message
    assert Order.get_by_id(order.id).cs_state == "정상"


def test_cancel_needs_a_listed_reason(world, order):
    with pytest.raises(ValidationError) as err:
        perform("cancel", order, world.agent)
    assert err.value.field == "reason"
    with pytest.raises(ValidationError):
        perform("cancel", order, world.agent, reason="아무 이유")


def test_cancel_and_restore_returns_to_received(world, order):
    invoiced(world, order)
    perform("ship", order, world.agent)
    cancelled = perform("cancel", order, world.agent, reason="반품-불량")
    assert (cancelled.cs_state, cancelled.cancel_reason) == ("취소", "반품-불량")
    with pytest.raises(StateError):
        perform("cancel", order, world.agent, reason="반품-불량")
    restored = perform("restore", order, world.agent)
    assert (restored.state, restored.cs_state, restored.tracking_no) == ("접수", "정상", None)


def test_restore_refused_for_normal_order(world, order):
    with pytest.raises(StateError):
        perform("restore", order, world.agent)


def test_cancelled_order_cannot_be_invoiced(world, order):
    perform("cancel", order, world.agent, reason="취소-고객변심")
    with pytest.raises(StateError):
        invoiced(world, order)


def test_change_shipping_records_what_changed(world, order):
    done = perform("change_shipping", order, world.agent, recipient_name="장유리",
                   recipient_mobile="070-4481-8840", zip_code="621-785",
                   address="경남 김해시 장유면 부곡리 707동 403호")
    assert (done.recipient_mobile, done.zip_code) == ("070-4481-8840", "621785")
    line = history.for_order(order.id).first()
    assert "[핸드폰 변경 : 010-8985-6279 -> 070-4481-8840]" in line.detail


def test_change_shipping_refused_once_shipped(world, order):
    invoiced(world, order)
    perform("ship", order, world.agent)
    with pytest.raises(StateError):
        perform("change_shipping", order, world.agent, recipient_name="x", address="y")


def test_change_shipping_rejects_bad_phone_naming_the_field(world, order):
    with pytest.raises(ValidationError) as err:
        perform("change_shipping", order, world.agent, recipient_name="x", address="y",
                recipient_mobile="전화없음")
    assert "recipient_mobile" in err.value.errors


def test_handling_status_change_and_clear(world, order):
    from engine.models import HandlingStatus
    status = HandlingStatus.get(HandlingStatus.name == "발송준비중")
    assert perform("set_handling_status", order, world.agent,
                   handling_status=str(status.id)).handling_status_id == status.id
    assert perform("set_handling_status", order, world.agent,
                   handling_status="").handling_status_id is None


def test_second_save_on_stale_version_is_refused(world, order):
    """Two agents open the same order; the second save says who changed it and when."""
    orders.perform("hold", order.id, {}, ctx(world.agent), expected_version=order.version)
    with pytest.raises(ConflictError) as err:
        orders.perform("change_shipping", order.id,
                       {"recipient_name": "다른이름", "address": "다른주소"},
                       ctx(world.agent2, 1), expected_version=order.version)
    assert "장유리" in str(err.value) and "2026-03-31 17:00:00" in str(err.value)
    assert Order.get_by_id(order.id).recipient_name == "변다사"


def test_viewer_cannot_operate(world, order):
    with pytest.raises(PermissionDenied):
        perform("hold", order, world.viewer)


def test_bulk_hold_all_or_nothing(world, order):
    second, third = new_order(world), new_order(world)
    perform("hold", third, world.agent)
    with pytest.raises(StateError) as err:
        orders.perform_bulk("hold", [order.id, second.id, third.id], {}, ctx(world.agent))
    assert [i for i, _ in err.value.details] == [third.id]
    assert not Order.get_by_id(order.id).hold and not Order.get_by_id(second.id).hold
    done = orders.perform_bulk("hold", [order.id, second.id], {"cs_text": "일괄 보류"},
                               ctx(world.agent))
    assert all(o.hold for o in done)
    assert CsHistory.select().where(CsHistory.operation == "hold").count() == 3


def test_bulk_ship(world, order):
    second = new_order(world)
    invoiced(world, order, "1")
    invoiced(world, second, "2")
    orders.perform_bulk("ship", [order.id, second.id], {}, ctx(world.agent))
    assert {o.state for o in Order.select()} == {"배송"}


def test_create_order_generates_order_number_and_prices(world):
    order = new_order(world, lines=[{"option_id": world.tee_m.id, "quantity": "3"},
                                    {"option_id": world.citrus_5.id, "quantity": 1,
                                     "price": "15000"}], shipping_fee="3,000")
    assert order.order_no == "M20260331-0001"
    assert [(l.quantity, l.unit_price) for l in order.lines] == [(3, 12900), (1, 15000)]
    assert order.total == 3 * 12900 + 15000 + 3000
    assert new_order(world).order_no == "M20260331-0002"


def test_create_order_rejects_unknown_product_and_missing_buyer(world):
    with pytest.raises(ValidationError) as err:
        new_order(world, buyer_name="", lines=[{"option_id": 99999, "quantity": 1}])
    assert {"buyer_name", "lines-0-option_id"} <= set(err.value.errors)
    assert Order.select().count() == 0


def test_create_order_refuses_duplicate_order_number(world):
    new_order(world, order_no="ord100098")
    with pytest.raises(ValidationError) as err:
        new_order(world, order_no="ord100098")
    assert err.value.field == "order_no"
    new_order(world, channel=world.coupang, order_no="ord100098")  # other channel: fine


def test_search_filters(world):
    a = new_order(world, recipient_name="장유리", recipient_mobile="010-1111-2222")
    b = new_order(world, channel=world.mall, now=NOW - dt.timedelta(days=3))
    invoiced(world, a)
    tz = orders.Context(None, NOW).tz

    def ids(**raw):
        return [o.id for o in orders.search(orders.parse_search(raw, tz), tz)]
    assert ids() == [a.id, b.id]
    assert ids(state="송장") == [a.id]
    assert ids(group=str(world.mall.group_id)) == [b.id]
    assert ids(q="01011112222") == [a.id]
    assert ids(q="장유리") == [a.id]
    assert ids(q=str(b.id))[0] == b.id  # 관리번호 first, then phones containing it
    assert ids(date_from="2026-03-31") == [a.id]
    assert ids(date_to="2026-03-28") == [b.id]
    with pytest.raises(ValidationError):
        orders.parse_search({"state": "없음"}, tz)


def test_operations_raise_events_after_commit_only(world, order):
    from engine import events
    seen = []
    events.listen(seen.extend)
    try:
        perform("invoice", order, world.agent, courier="CJ대한통운", tracking_no="777")
        with pytest.raises(StateError):
            perform("ship", new_order(world), world.agent)       # refused: nothing raised
        orders.perform_bulk("hold", [order.id], {}, ctx(world.agent))
    finally:
        events.unlisten(seen.extend)
    kinds = [(e.kind, sorted(e.changes)) for e in seen]
    assert kinds[0] == ("changed", ["courier", "invoiced_at", "state", "tracking_no"])
    assert seen[0].changes["state"] == ("접수", "송장")
    assert kinds[1] == ("created", [])                            # the new_order above
    assert kinds[2] == ("changed", ["hold"])
    assert len(seen) == 3


def test_handling_status_events_speak_names(world, order):
    from engine import events
    from engine.models import HandlingStatus
    seen = []
    events.listen(seen.extend)
    try:
        status = HandlingStatus.get(HandlingStatus.name == "반품")
        perform("set_handling_status", order, world.agent, handling_status=str(status.id))
    finally:
        events.unlisten(seen.extend)
    assert seen[-1].changes["handling_status"] == (None, "반품")
