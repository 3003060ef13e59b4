"""The lifecycles' tables: every pair of states is either a move with its grounds or a
refusal naming the moves allowed (generated from the tables, not listed by hand)."""

from __future__ import annotations

from datetime import date
from itertools import product

import pytest

from layers import lifecycle
from layers.lifecycle import LOT, PLAN, GroundsError, Lifecycle, MoveError

MACHINES = (PLAN, LOT)
DECISION = {"number": "12/QĐ-UBND", "date": "2024-05-20", "authority": "UBND tỉnh Cao Bằng"}
APPRAISAL = {"date": "2024-05-20", "body": "Sở Xây dựng", "number": "45/SXD-QH", "source": None}
AUCTION = {"date": "2027-01-15", "place": "Trung tâm phát triển quỹ đất"}
RESULT = {"winning_price_vnd": 1_250_000_000, "note": "Trúng đấu giá"}
GROUNDS = {"decision": DECISION, "appraisal": APPRAISAL, "auction": AUCTION, "result": RESULT}


def _cases(machine: Lifecycle):
    return [(machine, a, b) for a, b in product(machine.states, repeat=2)]


@pytest.mark.parametrize(("machine", "current", "to"), [c for m in MACHINES for c in _cases(m)])
def test_every_pair_of_states_is_a_move_or_a_refusal(machine, current, to):
    body = {name: GROUNDS[name] for name in machine.required(to)}
    if to in machine.allowed(current):
        found = machine.check(current, to, body)
        assert set(found) == set(machine.required(to))
    else:
        with pytest.raises(MoveError) as refused:
            machine.check(current, to, body)
        assert refused.value.allowed == machine.allowed(current)


@pytest.mark.parametrize(
    ("machine", "current", "to"), [(m, a, b) for m in MACHINES for a, b in m.pairs()]
)
def test_a_move_without_its_grounds_is_refused_naming_them(machine, current, to):
    for name in machine.required(to):
        body = {n: GROUNDS[n] for n in machine.required(to) if n != name}
        with pytest.raises(GroundsError) as refused:
            machine.check(current, to, body)
        assert refused.value.where == f"/{name}"


def test_the_plan_lifecycle_is_the_law_s_road():
    road = [PLAN.allowed(s)[0] for s in lifecycle.PLAN_ORDER[:-1]]
    assert road == list(lifecycle.PLAN_ORDER[1:])
    assert "preparation" in PLAN.allowed("appraisal")  # returned for revision
    assert all("cancelled" in PLAN.allowed(s) for s in lifecycle.PLAN_ORDER)
    assert PLAN.allowed("cancelled") == ()
    assert "adjustment_pending" not in PLAN.states  # an adjustment is a change request


def test_a_cancelled_or_sold_lot_moves_no_more():
    assert LOT.allowed("sold") == () and LOT.allowed("cancelled") == ()
    with pytest.raises(MoveError):
        LOT.check("planned", "sold", {"decision": DECISION})  # out of order


def test_a_decision_needs_its_authority_and_date_but_not_its_number():
    found = lifecycle.parse_decision({"date": "2017-06-01", "authority": "UBND tỉnh"})
    assert found.number is None and found.date == date(2017, 6, 1)
    with pytest.raises(GroundsError) as no_authority:
        lifecycle.parse_decision({"date": "2017-06-01", "number": "1/QĐ"})
    assert no_authority.value.where == "/decision/authority"
    with pytest.raises(GroundsError) as bad_date:
        lifecycle.parse_decision({"date": "01/06/2017", "authority": "UBND tỉnh"})
    assert bad_date.value.where == "/decision/date"
    with pytest.raises(GroundsError) as not_object:
        lifecycle.parse_decision("2218/QĐ-UBND")
    assert not_object.value.where == "/decision"


def test_an_auction_and_its_result_are_read_with_their_pointers():
    assert lifecycle.parse_auction(AUCTION).date == date(2027, 1, 15)
    assert lifecycle.parse_result({}).winning_price_vnd is None
    assert lifecycle.parse_result(RESULT).as_json() == RESULT
    for price in (0, -5, 1.5, True, "1000", 10**16):
        with pytest.raises(GroundsError) as refused:
            lifecycle.parse_result({"winning_price_vnd": price})
        assert refused.value.where == "/result/winning_price_vnd"
    with pytest.raises(GroundsError) as undated:
        lifecycle.parse_auction({"place": "x"})
    assert undated.value.where == "/auction/date"


def test_every_ground_a_lifecycle_reads_has_its_fields_described():
    for machine in MACHINES:
        for name in machine.grounds:
            assert name in lifecycle.FIELDS and name in lifecycle.GROUNDS
        for to, needed in machine.needs.items():
            assert to in machine.states and set(needed) <= set(machine.grounds)


def test_given_grounds_are_read_even_where_not_required():
    found = PLAN.check("task_preparation", "task_approved", {**GROUNDS})
    assert found["appraisal"].body == "Sở Xây dựng"
    assert found["decision"].as_json()["number"] == "12/QĐ-UBND"
