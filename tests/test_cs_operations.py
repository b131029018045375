"""The CS operations of seed 002 beyond the basics: 합포 (combined shipments with one tracking
number), 개별취소 / 개별정상복귀 by quantity, 상품변경 / 상품추가, 주문복사 / 주문전체복사,
주문삭제, 우선순위, 회수 with expected inbound stock, 반품예정 / 교환예정, and the returns
list and statistics."""
import datetime as dt
import io

import pytest

from engine import combining, orders, pickups, priority
from engine.errors import PermissionDenied, StateError, ValidationError
from engine.models import (
    Channel, CsHistory, InboundExpectation, Order, OrderLine, Pickup, ProductOption,
)
from tests.conftest import NOW, new_order


def ctx(user, minutes=0):
    return orders.Context(user, NOW + dt.timedelta(minutes=minutes))


def perform(name, order, user, minutes=0, **raw):
    order_id = order if isinstance(order, int) else order.id
    return orders.perform(name, order_id, raw, ctx(user, minutes))


def fresh(order):
    return Order.get_by_id(order if isinstance(order, int) else order.id)


def lines(order):
    return list(OrderLine.select().where(OrderLine.order == order.id).order_by(OrderLine.id))


def history(order, operation=None):
    query = CsHistory.select().where(CsHistory.order == order.id)
    if operation:
        query = query.where(CsHistory.operation == operation)
    return list(query.order_by(CsHistory.id))


def state(order):
    """Everything an operation could change on an order, to prove a refusal changed nothing."""
    o = fresh(order)
    return (o.state, o.cs_state, o.cancel_reason, o.combine_group, o.combine_forbidden,
            o.courier, o.tracking_no, o.priority, o.deleted, o.return_expected, o.version,
            [(line.option_id, line.quantity, line.cancelled_qty, line.unit_price)
             for line in lines(o)],
            len(history(o)), Pickup.select().where(Pickup.order == o.id).count())


def refused(call, error=StateError):
    with pytest.raises(error) as err:
        call()
    return err.value


def same_recipient(world, **fields):
    """Orders of the seed's 이창희 example: same name, address and phone."""
    raw = dict(recipient_name="이창희", buyer_name="이창희", recipient_mobile="010-4139-1550",
               address="충청남도 아산시 송죽길 167 황학재", zip_code="31514")
    raw.update(fields)
    return new_order(world, **raw)


def ship(world, order, number):
    perform("invoice", order, world.agent, courier="CJ대한통운", tracking_no=number)
    return perform("ship", order, world.agent)


# --- 합포: proposals --------------------------------------------------------------------------

def test_orders_to_the_same_recipient_are_proposed_for_combining(world):
    a, b, c = same_recipient(world), same_recipient(world), same_recipient(world)
    other_phone = same_recipient(world, recipient_mobile="010-0000-0000")
    other_address = same_recipient(world, address="서울 어딘가")
    held = same_recipient(world)
    perform("hold", held, world.agent)
    forbidden = same_recipient(world)
    perform("forbid_combine", forbidden, world.agent)
    cancelled = same_recipient(world)
    perform("cancel", cancelled, world.agent, reason="취소-고객변심")
    invoiced = same_recipient(world)
    perform("invoice", invoiced, world.agent, courier="CJ대한통운", tracking_no="1")
    deleted = same_recipient(world)
    perform("delete", deleted, world.agent)

    assert [o.id for o in combining.proposals(fresh(a))] == [b.id, c.id]
    assert combining.proposals(fresh(held)) == []          # a held order proposes nothing
    assert other_phone.id not in [o.id for o in combining.proposals(fresh(b))]
    assert other_address.id not in [o.id for o in combining.proposals(fresh(b))]


def test_address_spacing_does_not_hide_a_proposal(world):
    a = same_recipient(world, address="충청남도 아산시 송죽길 167 황학재")
    b = same_recipient(world, address="충청남도  아산시 송죽길 167황학재")
    assert [o.id for o in combining.proposals(fresh(a))] == [b.id]


# --- 합포추가 / 합포제외 / 합포삭제 / 합포금지 ----------------------------------------------------

def test_combine_puts_both_in_the_group_of_the_first_order_with_history_on_each(world):
    a, b, c = same_recipient(world), same_recipient(world), same_recipient(world)
    done = perform("combine", c, world.agent, **{"with": str(a.id), "cs_text": "같은 주소"})
    assert done.combine_group == a.id and fresh(a).combine_group == a.id
    assert fresh(b).combine_group is None
    assert history(c, "combine")[0].detail == "[합포추가 : %s]" % a.id
    assert history(a, "combine")[0].detail == "[합포추가 : %s]" % c.id
    assert history(a, "combine")[0].text == "같은 주소"
    assert [o.id for o in combining.proposals(fresh(a))] == [b.id]  # not the member again
    # joining a third merges into the same group; lists of numbers are accepted
    perform("combine", b, world.agent, **{"with": f"{c.id}"})
    assert {fresh(o).combine_group for o in (a, b, c)} == {a.id}
    assert [m.id for m in combining.members(fresh(b))] == [a.id, b.id, c.id]


def test_combine_several_at_once_and_merge_two_groups(world):
    a, b, c, d = (same_recipient(world) for _ in range(4))
    perform("combine", a, world.agent, **{"with": str(b.id)})
    perform("combine", d, world.agent, **{"with": str(c.id)})
    assert fresh(d).combine_group == c.id
    perform("combine", d, world.agent, **{"with": str(b.id)})
    assert {fresh(o).combine_group for o in (a, b, c, d)} == {a.id}
    e, f = same_recipient(world), same_recipient(world)
    done = perform("combine", e, world.agent, **{"with": f"{f.id}, {a.id}"})
    assert done.combine_group == a.id and fresh(f).combine_group == a.id


@pytest.mark.parametrize("case", ["other address", "held", "forbidden", "invoiced", "missing",
                                  "blank", "itself", "already"])
def test_combine_refusals_change_nothing(world, case):
    a, b = same_recipient(world), same_recipient(world)
    target = b.id
    if case == "other address":
        target = same_recipient(world, address="부산 해운대구").id
    elif case == "held":
        perform("hold", b, world.agent)
    elif case == "forbidden":
        perform("forbid_combine", b, world.agent)
    elif case == "invoiced":
        perform("invoice", b, world.agent, courier="CJ대한통운", tracking_no="9")
    elif case == "missing":
        target = 99999
    elif case == "blank":
        target = ""
    elif case == "itself":
        target = a.id
    elif case == "already":
        perform("combine", a, world.agent, **{"with": str(b.id)})
    exists = isinstance(target, int) and Order.get_or_none(Order.id == target) is not None
    before, other = state(a), state(target) if exists else None
    err = refused(lambda: perform("combine", a, world.agent, **{"with": str(target)}),
                  ValidationError)
    assert err.field == "with"
    assert state(a) == before
    if other:
        assert state(target) == other


def test_combine_is_refused_for_a_held_order_itself(world):
    a, b = same_recipient(world), same_recipient(world)
    perform("hold", a, world.agent)
    err = refused(lambda: perform("combine", a, world.agent, **{"with": str(b.id)}))
    assert str(a.id) in str(err)


def test_uncombine_only_for_combined_orders_and_the_group_moves_to_the_next_order(world):
    a, b, c = same_recipient(world), same_recipient(world), same_recipient(world)
    refused(lambda: perform("uncombine", a, world.agent))
    perform("combine", a, world.agent, **{"with": f"{b.id},{c.id}"})
    done = perform("uncombine", a, world.agent)  # the lead leaves: b leads now
    assert done.combine_group is None
    assert (fresh(b).combine_group, fresh(c).combine_group) == (b.id, b.id)
    perform("uncombine", c, world.agent)  # one member left: it ships alone again
    assert fresh(b).combine_group is None
    assert history(a, "uncombine")[0].detail == "[합포제외 : 그룹 %s]" % a.id


def test_uncombine_refused_once_the_group_is_invoiced(world):
    a, b = same_recipient(world), same_recipient(world)
    perform("combine", a, world.agent, **{"with": str(b.id)})
    perform("invoice", b, world.agent, courier="CJ대한통운", tracking_no="5")
    before = state(a)
    refused(lambda: perform("uncombine", a, world.agent))
    refused(lambda: perform("delete_combine", a, world.agent))
    assert state(a) == before


def test_delete_combine_dissolves_the_whole_group_with_a_line_on_every_member(world):
    a, b, c = same_recipient(world), same_recipient(world), same_recipient(world)
    perform("combine", a, world.agent, **{"with": f"{b.id} {c.id}"})
    perform("delete_combine", b, world.agent, cs_text="따로 보냄")
    assert {fresh(o).combine_group for o in (a, b, c)} == {None}
    for o in (a, b, c):
        [line] = history(o, "delete_combine")
        assert line.detail == "[합포삭제 : 그룹 %s]" % a.id and line.text == "따로 보냄"


def test_forbid_combine_locks_the_order_out_and_can_be_lifted(world):
    a, b = same_recipient(world), same_recipient(world)
    perform("forbid_combine", a, world.agent)
    refused(lambda: perform("forbid_combine", a, world.agent))
    assert combining.proposals(fresh(a)) == [] and combining.proposals(fresh(b)) == []
    refused(lambda: perform("combine", a, world.agent, **{"with": str(b.id)}))
    err = refused(lambda: perform("combine", b, world.agent, **{"with": str(a.id)}),
                  ValidationError)
    assert err.field == "with"
    perform("allow_combine", a, world.agent)
    refused(lambda: perform("allow_combine", a, world.agent))
    assert [o.id for o in combining.proposals(fresh(b))] == [a.id]


def test_a_combined_order_cannot_be_forbidden_until_it_leaves(world):
    a, b = same_recipient(world), same_recipient(world)
    perform("combine", a, world.agent, **{"with": str(b.id)})
    refused(lambda: perform("forbid_combine", a, world.agent))


# --- one tracking number per group ------------------------------------------------------------

def test_invoicing_one_member_invoices_the_whole_group_with_one_number(world):
    a, b, c = same_recipient(world), same_recipient(world), same_recipient(world)
    alone = new_order(world)
    perform("combine", b, world.agent, **{"with": f"{a.id},{c.id}"})
    done = perform("invoice", b, world.agent, courier="CJ대한통운", tracking_no="3242-3423")
    assert done.tracking_no == "32423423"
    for o in (a, b, c):
        saved = fresh(o)
        assert (saved.state, saved.courier, saved.tracking_no) == ("송장", "CJ대한통운", "32423423")
    assert "[합포 :" in history(b, "invoice")[0].detail
    assert len(history(a, "invoice")) == 1 and len(history(c, "invoice")) == 1
    # the number stays taken for every order outside the group
    err = refused(lambda: perform("invoice", alone, world.agent, courier="CJ대한통운",
                                  tracking_no="32423423"), ValidationError)
    assert err.field == "tracking_no"
    # ship, unship and delete the invoice as one
    perform("ship", c, world.agent)
    assert {fresh(o).state for o in (a, b, c)} == {"배송"}
    perform("unship", a, world.agent)
    assert {fresh(o).state for o in (a, b, c)} == {"송장"}
    perform("delete_invoice", a, world.agent)
    assert {(fresh(o).state, fresh(o).tracking_no) for o in (a, b, c)} == {("접수", None)}
    perform("invoice", alone, world.agent, courier="CJ대한통운", tracking_no="32423423")


def test_the_store_refuses_a_shared_number_outside_a_group(world, database):
    """The partial unique index is the last guard: two orders alone cannot share a number."""
    from peewee import IntegrityError
    a, b = new_order(world), new_order(world)
    Order.update(courier="CJ대한통운", tracking_no="777").where(Order.id == a.id).execute()
    with pytest.raises(IntegrityError), database.atomic():
        Order.update(courier="CJ대한통운", tracking_no="777").where(Order.id == b.id).execute()
    # members of a group share it; the lead is in the index, the others are not
    Order.update(combine_group=a.id).where(Order.id.in_([a.id, b.id])).execute()
    Order.update(courier="CJ대한통운", tracking_no="777").where(Order.id == b.id).execute()
    c = new_order(world)
    with pytest.raises(IntegrityError), database.atomic():
        Order.update(courier="CJ대한통운", tracking_no="777").where(Order.id == c.id).execute()


def test_a_held_member_stops_the_group_from_being_invoiced_and_nothing_changes(world):
    a, b = same_recipient(world), same_recipient(world)
    perform("combine", a, world.agent, **{"with": str(b.id)})
    Order.update(hold=True).where(Order.id == b.id).execute()  # e.g. held by a rule since
    before_a, before_b = state(a), state(b)
    err = refused(lambda: perform("invoice", a, world.agent, courier="CJ대한통운",
                                  tracking_no="42"))
    assert str(b.id) in str(err)
    assert (state(a), state(b)) == (before_a, before_b)


def test_bulk_ship_of_two_members_of_one_group(world):
    a, b = same_recipient(world), same_recipient(world)
    perform("combine", a, world.agent, **{"with": str(b.id)})
    perform("invoice", a, world.agent, courier="CJ대한통운", tracking_no="11")
    done = orders.perform_bulk("ship", [a.id, b.id], {}, ctx(world.agent))
    assert [o.state for o in done] == ["배송", "배송"]
    assert len(history(a, "ship")) == 1 and len(history(b, "ship")) == 1


def test_auto_combine_follows_the_channel_setting(world):
    a = same_recipient(world)
    b = same_recipient(world)
    assert combining.auto_combine(b) == []  # the channel does not combine automatically
    Channel.update(auto_combine=True).where(Channel.id == world.st11.id).execute()
    c = same_recipient(world)
    assert combining.auto_combine(c, ctx(None)) == [a.id, b.id]
    assert {fresh(o).combine_group for o in (a, b, c)} == {a.id}
    assert history(c, "combine")[0].operator_id is None
    assert orders.auto_combine is combining.auto_combine


# --- 개별취소 / 개별정상복귀 ---------------------------------------------------------------------

def two_lines(world):
    return new_order(world, lines=[{"option_id": world.tee_m.id, "quantity": 3},
                                   {"option_id": world.citrus_5.id, "quantity": 1}])


def test_partial_cancel_by_quantity_recomputes_amounts_and_state(world):
    order = two_lines(world)
    tee, citrus = lines(order)
    done = perform("partial_cancel", order, world.agent, line_id=tee.id, quantity=2,
                   reason="반품-불량", cs_text="두 장 불량")
    assert (done.cs_state, done.cancel_reason) == ("부분취소", "반품-불량")
    tee = OrderLine.get_by_id(tee.id)
    assert (tee.quantity, tee.cancelled_qty, tee.active_qty, tee.amount) == (3, 2, 1, 12900)
    assert done.total == 12900 + 15900 and done.quantity == 2
    assert history(order, "partial_cancel")[0].detail == \
        "[상품코드 : 30001, 수량 : 2, 취소사유 : 반품-불량]"
    # the rest: the order is cancelled in full
    perform("partial_cancel", order, world.agent, line_id=tee.id, quantity=1, reason="반품-불량")
    done = perform("partial_cancel", order, world.agent, line_id=citrus.id, quantity=1,
                   reason="취소-분실")
    assert (done.cs_state, done.cancel_reason, done.total) == ("취소", "취소-분실", 0)


def test_partial_cancel_above_what_is_left_is_refused_on_the_quantity(world):
    order = two_lines(world)
    tee = lines(order)[0]
    perform("partial_cancel", order, world.agent, line_id=tee.id, quantity=2, reason="반품-불량")
    before = state(order)
    err = refused(lambda: perform("partial_cancel", order, world.agent, line_id=tee.id,
                                  quantity=2, reason="반품-불량"), ValidationError)
    assert err.field == "quantity" and err.params == {"n": 1}
    for raw in ({"quantity": 0}, {"quantity": "x"}, {"reason": "없는 사유"},
                {"line_id": lines(new_order(world))[0].id}, {"line_id": ""}):
        values = {"line_id": tee.id, "quantity": 1, "reason": "반품-불량", **raw}
        refused(lambda: perform("partial_cancel", order, world.agent, **values), ValidationError)
    assert state(order) == before


def test_partial_cancel_refused_while_invoiced_like_a_full_cancel(world):
    order = two_lines(world)
    perform("invoice", order, world.agent, courier="CJ대한통운", tracking_no="1")
    before = state(order)
    err = refused(lambda: perform("partial_cancel", order, world.agent,
                                  line_id=lines(order)[0].id, quantity=1, reason="반품-불량"))
    assert "delete the invoice" in err.message
    assert state(order) == before


def test_partial_cancel_of_a_shipped_order_is_a_return(world):
    order = two_lines(world)
    ship(world, order, "1")
    done = perform("partial_cancel", order, world.agent, line_id=lines(order)[1].id,
                   quantity=1, reason="반품-오배송")
    assert (done.state, done.cs_state) == ("배송", "부분취소")


def test_partial_restore_puts_quantities_back(world):
    order = two_lines(world)
    tee = lines(order)[0]
    refused(lambda: perform("partial_restore", order, world.agent, line_id=tee.id, quantity=1))
    perform("partial_cancel", order, world.agent, line_id=tee.id, quantity=2, reason="반품-불량")
    err = refused(lambda: perform("partial_restore", order, world.agent, line_id=tee.id,
                                  quantity=3), ValidationError)
    assert err.field == "quantity" and err.params == {"n": 2}
    assert perform("partial_restore", order, world.agent, line_id=tee.id,
                   quantity=1).cs_state == "부분취소"
    done = perform("partial_restore", order, world.agent, line_id=tee.id, quantity=1)
    assert (done.cs_state, done.cancel_reason, done.total) == ("정상", None, 3 * 12900 + 15900)
    assert history(order, "partial_restore")[-1].detail == "[상품코드 : 30001, 수량 : 1]"


def test_full_cancel_and_restore_agree_with_the_line_quantities(world):
    order = two_lines(world)
    perform("partial_cancel", order, world.agent, line_id=lines(order)[0].id, quantity=1,
            reason="반품-불량")
    done = perform("cancel", order, world.agent, reason="취소-고객변심")  # the rest too
    assert (done.cs_state, done.total) == ("취소", 0)
    assert [line.cancelled_qty for line in lines(order)] == [3, 1]
    refused(lambda: perform("partial_cancel", order, world.agent, line_id=lines(order)[0].id,
                            quantity=1, reason="반품-불량"))
    done = perform("partial_restore", order, world.agent, line_id=lines(order)[1].id,
                   quantity=1)
    assert done.cs_state == "부분취소"
    done = perform("restore", order, world.agent)  # 전체정상복귀 also from 부분취소
    assert (done.cs_state, done.state, done.total) == ("정상", "접수", 3 * 12900 + 15900)
    assert [line.cancelled_qty for line in lines(order)] == [0, 0]
    refused(lambda: perform("restore", order, world.agent))


def test_a_received_combined_order_cancelled_in_full_leaves_its_group(world):
    a, b, c = same_recipient(world), same_recipient(world), same_recipient(world)
    perform("combine", a, world.agent, **{"with": f"{b.id},{c.id}"})
    done = perform("cancel", b, world.agent, reason="취소-고객변심")
    assert done.combine_group is None and "[합포제외" in history(b, "cancel")[0].detail
    assert (fresh(a).combine_group, fresh(c).combine_group) == (a.id, a.id)
    done = perform("partial_cancel", c, world.agent, line_id=lines(c)[0].id, quantity=2,
                   reason="취소-고객변심")
    assert done.combine_group is None and fresh(a).combine_group is None


# --- 상품변경 / 상품추가 -------------------------------------------------------------------------

def test_change_product_keeps_the_price_unless_given(world):
    order = new_order(world)
    line = lines(order)[0]
    perform("change_product", order, world.agent, line_id=line.id, option_id=world.tee_l.id)
    line = OrderLine.get_by_id(line.id)
    assert (line.option_id, line.option_code, line.option_name, line.unit_price) == (
        world.tee_l.id, "30002", "화이트-L", 12900)
    assert history(order, "change_product")[0].detail == \
        "[상품변경 : 30001 순면 티셔츠 화이트-M -> 30002 순면 티셔츠 화이트-L]"
    perform("change_product", order, world.agent, line_id=line.id,
            option_id=world.citrus_5.id, price=15000)
    line = OrderLine.get_by_id(line.id)
    assert (line.product_name, line.unit_price, line.quantity) == ("제주 감귤", 15000, 2)


def test_change_product_refusals(world):
    order = new_order(world)
    line = lines(order)[0]
    before = state(order)
    assert refused(lambda: perform("change_product", order, world.agent, line_id=line.id,
                                   option_id=world.tee_m.id), ValidationError).field == "option_id"
    ProductOption.update(active=False).where(ProductOption.id == world.tee_l.id).execute()
    assert refused(lambda: perform("change_product", order, world.agent, line_id=line.id,
                                   option_id=world.tee_l.id), ValidationError).field == "option_id"
    assert refused(lambda: perform("change_product", order, world.agent, line_id=line.id,
                                   option_id=99999), ValidationError).field == "option_id"
    assert state(order) == before
    perform("invoice", order, world.agent, courier="CJ대한통운", tracking_no="1")
    refused(lambda: perform("change_product", order, world.agent, line_id=line.id,
                            option_id=world.citrus_5.id))
    other = new_order(world)
    perform("cancel", other, world.agent, reason="취소-고객변심")
    refused(lambda: perform("add_product", other, world.agent, option_id=world.citrus_5.id,
                            quantity=1))


def test_add_product_takes_the_option_price(world):
    order = new_order(world)
    done = perform("add_product", order, world.agent, option_id=world.citrus_5.id, quantity=2)
    assert [(l.option_code, l.quantity, l.unit_price) for l in lines(order)] == [
        ("30001", 2, 12900), ("30003", 2, 15900)]
    assert done.total == 2 * 12900 + 2 * 15900
    perform("add_product", order, world.agent, option_id=world.tee_l.id, quantity=1, price=0)
    assert lines(order)[-1].unit_price == 0
    assert history(order, "add_product")[0].detail == "[상품추가 : 30003 제주 감귤 5kg × 2]"


# --- 주문복사 / 주문전체복사 ---------------------------------------------------------------------

def test_copy_makes_a_new_order_with_another_product_and_history_on_both(world):
    order = new_order(world, buyer_mobile="010-1234-5678", ship_memo="경비실")
    copy = perform("copy", order, world.agent, option_id=world.citrus_5.id, quantity=3,
                   cs_text="누락 재발송")
    assert copy.id != order.id and copy.order_no == "M20260331-0002"
    assert (copy.buyer_name, copy.buyer_mobile, copy.recipient_name, copy.address,
            copy.ship_memo, copy.channel_id) == (
        order.buyer_name, "010-1234-5678", order.recipient_name, order.address, "경비실",
        order.channel_id)
    assert [(l.option_code, l.quantity, l.unit_price) for l in lines(copy)] == [
        ("30003", 3, 0)]
    assert (copy.state, copy.cs_state, copy.total) == ("접수", "정상", 0)
    [new_line] = history(copy)
    assert (new_line.operation, new_line.detail, new_line.text) == (
        "copy", "[주문복사] <이전 주문 관리번호 : %s>" % order.id, "누락 재발송")
    assert history(order, "copy")[0].detail == "[주문복사] <새 주문 관리번호 : %s>" % copy.id
    # without a product: the first line's product and quantity
    again = perform("copy", order, world.agent)
    assert [(l.option_code, l.quantity) for l in lines(again)] == [("30001", 2)]


def test_copy_all_copies_the_whole_order_optionally_into_another_channel(world):
    order = new_order(world, shipping_fee="3000",
                      lines=[{"option_id": world.tee_m.id, "quantity": 2},
                             {"option_id": world.citrus_5.id, "quantity": 1, "price": 15000}])
    perform("partial_cancel", order, world.agent, line_id=lines(order)[0].id, quantity=1,
            reason="반품-불량")
    copy = perform("copy_all", order, world.agent, channel=str(world.coupang.id))
    assert copy.channel_id == world.coupang.id and copy.order_no.startswith("M20260331-")
    assert [(l.option_code, l.quantity, l.cancelled_qty, l.unit_price) for l in lines(copy)] == [
        ("30001", 2, 0, 12900), ("30003", 1, 0, 15000)]
    assert copy.total == 2 * 12900 + 15000 + 3000
    assert history(copy)[0].detail == "[주문전체복사] <이전 주문 관리번호 : %s>" % order.id
    same = perform("copy_all", order, world.agent)
    assert same.channel_id == order.channel_id
    refused(lambda: perform("copy_all", order, world.agent, channel="99999"), ValidationError)


# --- 주문삭제 ---------------------------------------------------------------------------------

def test_delete_is_soft_hides_the_order_and_refuses_everything_after(world):
    order = new_order(world)
    kept = new_order(world)
    done = perform("delete", order, world.agent, cs_text="중복 주문")
    assert done.deleted and done.deleted_at == NOW
    assert history(order, "delete")[0].detail == "[주문삭제]"
    tz = ctx(None).tz

    def ids(**raw):
        return [o.id for o in orders.search(orders.parse_search(raw, tz), tz)]
    assert ids() == [kept.id]
    assert ids(deleted="1") == [order.id]
    assert set(ids(deleted="all")) == {order.id, kept.id}
    err = refused(lambda: perform("hold", order, world.agent))
    assert "deleted" in err.message
    refused(lambda: perform("delete", order, world.agent))
    assert all(orders.refusal(op, fresh(order)) for op in orders.OPERATIONS.values())


def test_delete_only_received_orders(world):
    order = new_order(world)
    perform("invoice", order, world.agent, courier="CJ대한통운", tracking_no="1")
    before = state(order)
    refused(lambda: perform("delete", order, world.agent))
    assert state(order) == before


def test_deleting_a_combined_order_dissolves_the_group_first(world):
    a, b, c = same_recipient(world), same_recipient(world), same_recipient(world)
    perform("combine", a, world.agent, **{"with": f"{b.id},{c.id}"})
    done = perform("delete", b, world.agent)
    assert done.deleted and done.combine_group is None
    assert history(b, "delete")[0].detail == "[합포삭제 : 그룹 %s] [주문삭제]" % a.id
    assert {fresh(a).combine_group, fresh(c).combine_group} == {None}
    assert history(a, "delete_combine")[0].detail == "[합포삭제 : 그룹 %s]" % a.id


# --- 우선순위 ---------------------------------------------------------------------------------

def priorities(*made):
    return [fresh(o).priority for o in made]


def test_priority_placement_math(world):
    a, b, c, d, e = (new_order(world) for _ in range(5))
    perform("set_priority", a, world.agent, position="top")
    assert priorities(a) == [1]
    perform("set_priority", b, world.agent, position="top")
    assert priorities(a, b) == [1, 2]
    perform("set_priority", c, world.agent, position="bottom")  # still before e (none)
    assert priorities(a, b, c, e) == [2, 3, 1, 0]
    perform("set_priority", d, world.agent, position="after", after=b.id)
    assert priorities(b, d, a, c) == [4, 3, 2, 1]
    assert priority.ranking() == [b.id, d.id, a.id, c.id]
    # moving one that has a priority already
    perform("set_priority", c, world.agent, position="top")
    assert priority.ranking() == [c.id, b.id, d.id, a.id]
    perform("set_priority", c, world.agent, position="after", after=a.id)
    assert priority.ranking() == [b.id, d.id, a.id, c.id]
    done = perform("set_priority", d, world.agent, position="none")
    assert done.priority == 0 and done.priority_set_at is None
    assert priorities(b, a, c) == [3, 2, 1]
    line = history(d, "set_priority")
    assert [h.detail for h in line] == ["[우선순위 : %s 다음 (3)]" % b.id, "[우선순위 해제]"]
    assert fresh(b).priority_set_by_id == world.agent.id and fresh(b).priority_set_at == NOW


def test_priority_after_needs_a_prioritised_order_with_the_same_product(world):
    a = new_order(world)
    citrus = new_order(world, lines=[{"option_id": world.citrus_5.id, "quantity": 1}])
    plain = new_order(world)
    perform("set_priority", citrus, world.agent, position="top")
    before = state(a)
    for after, field in ((citrus.id, "after"), (plain.id, "after"), (None, "after"),
                         (a.id, "after")):
        err = refused(lambda: perform("set_priority", a, world.agent, position="after",
                                      after=after), ValidationError)
        assert err.field == field
    assert refused(lambda: perform("set_priority", a, world.agent, position="first"),
                   ValidationError).field == "position"
    assert state(a) == before
    perform("invoice", plain, world.agent, courier="CJ대한통운", tracking_no="1")
    refused(lambda: perform("set_priority", plain, world.agent, position="top"))


def test_priority_peers_are_received_orders_with_a_shared_product(world):
    a = new_order(world)
    tee_and_citrus = new_order(world, lines=[{"option_id": world.citrus_5.id, "quantity": 1},
                                             {"option_id": world.tee_m.id, "quantity": 1}])
    citrus = new_order(world, lines=[{"option_id": world.citrus_5.id, "quantity": 1}])
    shipped = new_order(world)
    ship(world, shipped, "5")
    prioritised = new_order(world)
    perform("set_priority", prioritised, world.agent, position="top")
    assert [o.id for o in priority.peers(fresh(a))] == [prioritised.id, tee_and_citrus.id]
    assert [o.id for o in priority.peers(fresh(citrus))] == [tee_and_citrus.id]


def test_console_sorts_by_print_priority(world):
    a, b, c = (new_order(world, now=NOW - dt.timedelta(hours=h)) for h in (3, 2, 1))
    perform("set_priority", b, world.agent, position="top")
    perform("set_priority", c, world.agent, position="top")
    tz = ctx(None).tz
    found = orders.search(orders.parse_search({"sort": "priority"}, tz), tz)
    assert [o.id for o in found] == [c.id, b.id, a.id]
    assert [o.id for o in orders.search(orders.parse_search({}, tz), tz)] == [c.id, b.id, a.id]
    newest = new_order(world)
    assert [o.id for o in orders.search(orders.parse_search({"sort": "priority"}, tz), tz)
            ][-1] == newest.id
    refused(lambda: orders.parse_search({"sort": "random"}, tz), ValidationError)


def test_a_stale_save_elsewhere_never_overwrites_a_ranking(world):
    a, b = new_order(world), new_order(world)
    perform("set_priority", a, world.agent, position="top")
    stale = fresh(a)
    perform("set_priority", b, world.agent, position="top")  # re-ranks a to 1
    assert fresh(a).priority == 1
    orders.perform("hold", a.id, {}, ctx(world.agent), expected_version=stale.version)
    assert fresh(a).priority == 1 and fresh(a).hold


# --- 회수, 입고예정 ----------------------------------------------------------------------------

def shipped_order(world, number="700"):
    order = new_order(world, lines=[{"option_id": world.tee_m.id, "quantity": 3},
                                    {"option_id": world.citrus_5.id, "quantity": 1}])
    ship(world, order, number)
    return order


def test_pickup_only_for_shipped_orders(world):
    order = new_order(world)
    before = state(order)
    err = refused(lambda: perform("pickup", order, world.agent, courier="CJ대한통운",
                                  reason="반품-불량"))
    assert "shipped" in err.message and state(order) == before


def test_pickup_registers_the_returned_goods_as_expected_inbound_once(world):
    order = shipped_order(world)
    tee, citrus = lines(order)
    perform("partial_cancel", order, world.agent, line_id=tee.id, quantity=2, reason="반품-불량")
    perform("pickup", order, world.agent, courier="한진택배", return_tracking_no="555-1",
            reason="반품-불량", register_inbound=True, expected_card=25800)
    [pickup] = pickups.for_order(order.id)
    assert (pickup.status, pickup.courier, pickup.return_tracking_no, pickup.expected_card,
            pickup.requested_at, pickup.requested_by_id) == (
        "요청", "한진택배", "5551", 25800, NOW, world.agent.id)
    # only what was cancelled comes back: 2 of the 3 shirts, not the citrus
    assert [(i.product_code, i.quantity, i.order_line_id) for i in InboundExpectation.select()
            ] == [("30001", 2, tee.id)]
    assert history(order, "pickup")[0].detail == \
        "[회수요청 #%d : 한진택배 5551, 사유 : 반품-불량] [입고예정 등록]" % pickup.id

    before = state(order)
    err = refused(lambda: perform("pickup", order, world.agent, courier="한진택배",
                                  reason="반품-불량", register_inbound=True), ValidationError)
    assert err.field == "register_inbound" and err.params["id"] == pickup.id
    assert state(order) == before and InboundExpectation.select().count() == 1
    # a second pickup without registering is fine (seed: untick it)
    perform("pickup", order, world.agent, courier="한진택배", reason="단순교환")
    assert Pickup.select().count() == 2 and InboundExpectation.select().count() == 1


def test_pickup_of_an_order_without_cancels_brings_back_every_line(world):
    order = shipped_order(world)
    perform("pickup", order, world.agent, courier="CJ대한통운", reason="불량교환",
            register_inbound="1")
    assert sorted((i.product_code, i.quantity) for i in InboundExpectation.select()) == [
        ("30001", 3), ("30003", 1)]


def test_pickup_goes_requested_accepted_completed_with_amounts(world):
    order = shipped_order(world)
    refused(lambda: perform("pickup_receive", order, world.agent))
    refused(lambda: perform("pickup_complete", order, world.agent))
    perform("pickup", order, world.agent, courier="CJ대한통운", reason="반품-취소(환불)",
            register_inbound=True, expected_site=10000, expected_bank=5000)
    pickup = pickups.for_order(order.id)[0]
    perform("pickup_receive", order, world.agent, minutes=5, return_tracking_no="123")
    pickup = Pickup.get_by_id(pickup.id)
    assert (pickup.status, pickup.received_at, pickup.return_tracking_no) == (
        "접수", NOW + dt.timedelta(minutes=5), "123")
    refused(lambda: perform("pickup_receive", order, world.agent))
    perform("pickup_complete", order, world.agent, minutes=9, arrived_site=10000,
            arrived_bank=3000, expected_card=0)
    pickup = Pickup.get_by_id(pickup.id)
    assert (pickup.status, pickup.expected_total, pickup.arrived_total, pickup.outstanding) == (
        "완료", 15000, 13000, 2000)
    assert all(i.arrived_at == NOW + dt.timedelta(minutes=9) for i in pickup.inbound)
    refused(lambda: perform("pickup_complete", order, world.agent))
    assert history(order, "pickup_complete")[0].detail == \
        "[회수완료 #%d : 예정 15,000, 도착 13,000, 미수 2,000]" % pickup.id


def test_pickup_id_must_be_an_open_pickup_of_the_order(world):
    order, other = shipped_order(world, "1"), shipped_order(world, "2")
    perform("pickup", order, world.agent, courier="CJ대한통운", reason="반품-불량")
    perform("pickup", other, world.agent, courier="CJ대한통운", reason="반품-불량")
    theirs = pickups.for_order(other.id)[0]
    err = refused(lambda: perform("pickup_complete", order, world.agent, pickup_id=theirs.id),
                  ValidationError)
    assert err.field == "pickup_id"
    assert refused(lambda: perform("pickup", order, world.agent, courier="CJ대한통운",
                                   reason="없는 사유"), ValidationError).field == "reason"
    assert refused(lambda: perform("pickup_complete", order, world.agent, arrived_card=-1),
                   ValidationError).field == "arrived_card"


def test_complete_selected_pickups_is_all_or_nothing(world):
    a, b = shipped_order(world, "1"), shipped_order(world, "2")
    perform("pickup", a, world.agent, courier="CJ대한통운", reason="반품-불량")
    perform("pickup", b, world.agent, courier="CJ대한통운", reason="반품-불량")
    pa, pb = pickups.for_order(a.id)[0], pickups.for_order(b.id)[0]
    perform("pickup_complete", b, world.agent)
    with pytest.raises(ValidationError):
        pickups.complete_selected([pa.id, pb.id], ctx(world.agent))
    assert Pickup.get_by_id(pa.id).status == "요청"
    with pytest.raises(PermissionDenied):
        pickups.complete_selected([pa.id], ctx(world.viewer))
    done = pickups.complete_selected([str(pa.id)], ctx(world.agent))
    assert [p.status for p in done] == ["완료"]
    with pytest.raises(ValidationError):
        pickups.complete_selected([], ctx(world.agent))


# --- 반품예정 / 교환예정 -----------------------------------------------------------------------

def test_return_and_exchange_marks_and_their_filters(world):
    a, b, c = new_order(world), new_order(world), new_order(world)
    orders.perform_bulk("mark_return_expected", [a.id, b.id], {}, ctx(world.agent))
    refused(lambda: perform("mark_return_expected", a, world.agent))
    perform("mark_exchange_expected", b, world.agent, exchange_type="불량교환")
    assert refused(lambda: perform("mark_exchange_expected", c, world.agent),
                   ValidationError).field == "exchange_type"
    tz = ctx(None).tz

    def ids(**raw):
        return sorted(o.id for o in orders.search(orders.parse_search(raw, tz), tz))
    assert ids(return_expected="1") == [a.id, b.id]
    assert ids(return_expected="0") == [c.id]
    assert ids(exchange_expected="1") == [b.id]
    assert (fresh(b).exchange_type, history(b, "mark_exchange_expected")[0].detail) == (
        "불량교환", "[교환예정 : 불량교환]")
    perform("unmark_exchange_expected", b, world.agent)
    perform("unmark_return_expected", a, world.agent)
    refused(lambda: perform("unmark_return_expected", a, world.agent))
    assert ids(exchange_expected="1") == [] and ids(return_expected="1") == [b.id]
    assert fresh(b).exchange_type is None


def test_combined_filter(world):
    a, b, c = same_recipient(world), same_recipient(world), new_order(world)
    perform("combine", a, world.agent, **{"with": str(b.id)})
    tz = ctx(None).tz
    found = orders.search(orders.parse_search({"combined": "1"}, tz), tz)
    assert sorted(o.id for o in found) == [a.id, b.id]
    assert [o.id for o in orders.search(orders.parse_search({"combined": "0"}, tz), tz)
            ] == [c.id]


# --- the returns list and statistics -----------------------------------------------------------

def test_returns_search_filters_and_totals(world):
    from engine.models import Product, Supplier
    other_supplier = Supplier.create(name="공급처 2")
    Product.update(supplier=other_supplier).where(Product.id == world.citrus.id).execute()
    a = shipped_order(world, "1")
    b = new_order(world, channel=world.mall, recipient_name="함정리",
                  lines=[{"option_id": world.citrus_5.id, "quantity": 1}])
    ship(world, b, "2")
    perform("pickup", a, world.agent, courier="CJ대한통운", reason="반품-불량",
            expected_card=10000)
    perform("pickup", b, world.agent, minutes=60 * 24 * 2, courier="CJ대한통운",
            reason="단순교환", expected_site=3000)
    perform("pickup_complete", b, world.agent, arrived_site=1000)
    tz = ctx(None).tz

    def ids(**raw):
        return [p.order_id for p in pickups.search(pickups.parse_search(raw, tz), tz)]
    assert ids() == [b.id, a.id]
    assert ids(status="완료") == [b.id] and ids(status="요청") == [a.id]
    assert ids(channel=str(world.mall.id)) == [b.id]
    assert ids(group=str(world.st11.group_id)) == [a.id]
    assert ids(q="함정리") == [b.id] and a.id in ids(q=str(a.id))
    assert ids(q="8985-6279") == [b.id, a.id] and ids(q="없는사람") == []
    assert ids(supplier=str(world.supplier.id)) == [a.id]        # a has the shirt
    assert ids(supplier=str(other_supplier.id)) == [a.id, b.id][::-1]
    assert ids(date_from="2026-04-02") == [b.id] and ids(date_to="2026-03-31") == [a.id]
    sums = pickups.totals(pickups.search({}, tz))
    assert (sums["expected_card"], sums["expected_site"], sums["arrived_site"],
            sums["outstanding"]) == (10000, 3000, 1000, 12000)
    with pytest.raises(ValidationError):
        pickups.parse_search({"status": "없음"}, tz)


def test_return_statistics_per_day_and_reason(world):
    a, b = shipped_order(world, "1"), shipped_order(world, "2")
    perform("pickup", a, world.agent, courier="CJ대한통운", reason="반품-불량")
    perform("pickup", b, world.agent, courier="CJ대한통운", reason="반품-불량")
    perform("pickup", b, world.agent, minutes=60 * 24, courier="CJ대한통운", reason="단순교환")
    tz = ctx(None).tz
    data = pickups.stats(dt.date(2026, 3, 30), dt.date(2026, 4, 1), tz)
    assert data["days"] == [dt.date(2026, 3, 30), dt.date(2026, 3, 31), dt.date(2026, 4, 1)]
    assert data["reasons"][:2] == ["반품-취소(환불)", "반품-불량"]
    assert data["reasons"][-5:] == pickups.EXCHANGE_TYPES
    assert data["counts"] == {(dt.date(2026, 3, 31), "반품-불량"): 2,
                              (dt.date(2026, 4, 1), "단순교환"): 1}
    assert data["per_day"][dt.date(2026, 3, 30)] == 0 and data["total"] == 3
    assert data["per_reason"]["반품-불량"] == 2


def test_returns_download_is_an_xlsx_with_a_row_per_pickup(world):
    from openpyxl import load_workbook
    order = shipped_order(world)
    perform("pickup", order, world.agent, courier="CJ대한통운", reason="반품-불량",
            expected_card=25800)
    tz = ctx(None).tz
    body = pickups.xlsx(pickups.search({}, tz), tz, ["h%d" % i for i in range(20)],
                        lambda s: s)
    sheet = load_workbook(io.BytesIO(body)).active
    rows = list(sheet.values)
    assert len(rows) == 2 and rows[0][0] == "h0"
    assert rows[1][1] == order.id and rows[1][6] == "변다사" and rows[1][7] == "순면 티셔츠"
    assert rows[1][15] == 25800 and rows[1][19] == 25800


# --- the registry ------------------------------------------------------------------------------

def test_every_operation_has_a_history_label_and_a_known_group():
    from engine import history as history_module
    assert sorted(set(orders.OPERATIONS) - set(history_module.OPERATION_LABELS)) == []
    assert {op.group for op in orders.OPERATIONS.values()} <= dict(orders.GROUPS).keys()


def test_viewer_cannot_run_the_new_operations(world):
    order = new_order(world)
    with pytest.raises(PermissionDenied):
        perform("combine", order, world.viewer, **{"with": "1"})
    with pytest.raises(PermissionDenied):
        perform("partial_cancel", order, world.viewer, line_id=lines(order)[0].id, quantity=1,
                reason="반품-불량")
    assert state(order)[-2] == 1


def test_restoring_a_returned_lead_leaves_the_group_and_the_number_with_the_rest(world):
    a, b = same_recipient(world), same_recipient(world)
    perform("combine", a, world.agent, **{"with": str(b.id)})
    ship(world, a, "880")
    perform("cancel", a, world.agent, reason="반품-취소(환불)")  # a return: stays combined
    assert fresh(a).combine_group == a.id
    done = perform("restore", a, world.agent)
    assert (done.state, done.tracking_no, done.combine_group) == ("접수", None, None)
    kept = fresh(b)
    assert (kept.state, kept.tracking_no, kept.combine_group) == ("배송", "880", None)


@pytest.mark.parametrize("name, raw", [
    ("partial_cancel", {"line_id": 2**40, "quantity": 1, "reason": "반품-불량"}),
    ("change_product", {"line_id": 1, "option_id": 2**40}),
    ("set_priority", {"position": "after", "after": 2**40}),
    ("copy", {"option_id": 2**40}),
])
def test_huge_ids_are_a_validation_error_on_every_store(world, name, raw):
    order = new_order(world)
    refused(lambda: perform(name, order, world.agent, **raw), ValidationError)
