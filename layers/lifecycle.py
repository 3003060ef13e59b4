"""Lifecycles of legal records as explicit state machines: a plan's, an auction lot's.

A status changes only by a move the machine allows, and a move that a decision makes
legal names that decision (number, date, authority). The machines are plain values so
that the API (409 with the allowed moves, the list of moves with their fields), the
tests (every pair of states, generated from the table) and the database's trigger
(the legal-workflows migration) read one table.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from itertools import pairwise
from typing import Any

from layers.base import BodyError


class MoveError(ValueError):
    """A move the machine does not allow from the current state (a 409)."""

    def __init__(self, current: str, to: str, allowed: tuple[str, ...]):
        super().__init__(f"no move from {current} to {to}; allowed: {', '.join(allowed) or 'none'}")
        self.current, self.to, self.allowed = current, to, allowed


class GroundsError(BodyError):
    """A move's grounds are missing or malformed (a 422, where a malformed feature is a
    400)."""


@dataclass(frozen=True)
class Decision:
    """A signed decision (quyết định): its authority and date are always known; its number
    may not be (the report names some decisions without one), and then ``source`` says
    where the decision is known from instead of a number being invented."""

    date: date
    authority: str
    number: str | None = None
    source: str | None = None

    def as_json(self) -> dict[str, Any]:
        return {
            "number": self.number,
            "date": self.date.isoformat(),
            "authority": self.authority,
            "source": self.source,
        }


@dataclass(frozen=True)
class Appraisal:
    """The appraisal (thẩm định) of a plan: by which body, when, its document's number (or,
    like a decision's, where it is known from instead)."""

    date: date
    body: str
    number: str | None = None
    source: str | None = None

    def as_json(self) -> dict[str, Any]:
        return {
            "date": self.date.isoformat(),
            "body": self.body,
            "number": self.number,
            "source": self.source,
        }


@dataclass(frozen=True)
class Auction:
    """The auction an announcement sets: its date (and where, when the notice says)."""

    date: date
    place: str | None = None

    def as_json(self) -> dict[str, Any]:
        return {"date": self.date.isoformat(), "place": self.place}


@dataclass(frozen=True)
class Result:
    """An auction's outcome: the winning price (when sold) and what happened, in words."""

    winning_price_vnd: int | None = None
    note: str | None = None

    def as_json(self) -> dict[str, Any]:
        return {"winning_price_vnd": self.winning_price_vnd, "note": self.note}


def _text(given: dict[str, Any], name: str, where: str, required: bool) -> str | None:
    value = given.get(name)
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            raise GroundsError(f"{where}/{name}", f"{name} is required")
        return None
    if not isinstance(value, str) or "\x00" in value or len(value) > 500:
        raise GroundsError(f"{where}/{name}", f"{name} is text (at most 500 characters)")
    return value.strip()


def _date(given: dict[str, Any], where: str) -> date:
    value = given.get("date")
    if not isinstance(value, str):
        raise GroundsError(f"{where}/date", "date is required, YYYY-MM-DD")
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise GroundsError(f"{where}/date", f"not a date (YYYY-MM-DD): {value[:40]!r}") from None


def _object(given: Any, where: str) -> dict[str, Any]:
    if not isinstance(given, dict):
        raise GroundsError(where, "a JSON object")
    return given


def parse_decision(given: Any, where: str = "/decision") -> Decision:
    given = _object(given, where)
    number = _text(given, "number", where, required=False)
    return Decision(
        date=_date(given, where),
        authority=_text(given, "authority", where, required=True) or "",
        number=number,
        source=_text(given, "source", where, required=False),
    )


def parse_appraisal(given: Any, where: str = "/appraisal") -> Appraisal:
    given = _object(given, where)
    return Appraisal(
        date=_date(given, where),
        body=_text(given, "body", where, required=True) or "",
        number=_text(given, "number", where, required=False),
        source=_text(given, "source", where, required=False),
    )


def parse_auction(given: Any, where: str = "/auction") -> Auction:
    given = _object(given, where)
    return Auction(date=_date(given, where), place=_text(given, "place", where, required=False))


def parse_result(given: Any, where: str = "/result") -> Result:
    given = _object(given, where)
    price = given.get("winning_price_vnd")
    if price is not None and not (
        isinstance(price, int) and not isinstance(price, bool) and 0 < price < 10**15
    ):
        raise GroundsError(f"{where}/winning_price_vnd", "a whole number of đồng above zero")
    return Result(winning_price_vnd=price, note=_text(given, "note", where, required=False))


#: The grounds a move may need, and how each is read from a request's body.
GROUNDS = {
    "decision": parse_decision,
    "appraisal": parse_appraisal,
    "auction": parse_auction,
    "result": parse_result,
}
#: Each ground's fields, whether required (what ``GET …/transitions`` tells a client).
FIELDS = {
    "decision": {"number": False, "date": True, "authority": True, "source": False},
    "appraisal": {"date": True, "body": True, "number": False, "source": False},
    "auction": {"date": True, "place": False},
    "result": {"winning_price_vnd": False, "note": False},
}


@dataclass(frozen=True)
class Lifecycle:
    """States, the moves between them, and the grounds each target state needs."""

    name: str
    states: tuple[str, ...]
    moves: dict[str, tuple[str, ...]]
    needs: dict[str, tuple[str, ...]] = field(default_factory=dict)
    #: The grounds a body may give for a move of this lifecycle.
    grounds: tuple[str, ...] = ("decision",)

    def allowed(self, current: str) -> tuple[str, ...]:
        return self.moves.get(current, ())

    def required(self, to: str) -> tuple[str, ...]:
        return self.needs.get(to, ())

    def pairs(self) -> list[tuple[str, str]]:
        """Every allowed (from, to): what the database's trigger is made from."""
        return [(a, b) for a in self.states for b in self.allowed(a)]

    def check(self, current: str, to: str, body: dict[str, Any]) -> dict[str, Any]:
        """The grounds of the move ``current`` → ``to`` read from ``body``; MoveError
        when the move is not allowed (checked first: a refused move's grounds do not
        matter), GroundsError when a needed ground is missing or malformed."""
        if to not in self.allowed(current):
            raise MoveError(current, to, self.allowed(current))
        found: dict[str, Any] = {}
        for name in self.grounds:
            parse = GROUNDS[name]
            given = body.get(name)
            if given is None:
                if name in self.required(to):
                    raise GroundsError(f"/{name}", f"moving to {to} needs a {name}")
                continue
            found[name] = parse(given, f"/{name}")
        return found


def _chain(states: tuple[str, ...]) -> dict[str, list[str]]:
    return {a: [b] for a, b in pairwise(states)}


PLAN_ORDER = (
    "task_preparation",  # planning task (nhiệm vụ) being drafted or reviewed
    "task_approved",  # task decision issued
    "contractor_selection",  # selecting the survey / planning consultant
    "preparation",  # consultant preparing the plan, public comments
    "appraisal",  # submitted to the appraising body (Sở Xây dựng)
    "appraised",  # appraisal done, awaiting approval
    "approved",  # approval decision issued
)


def _plan_moves() -> dict[str, tuple[str, ...]]:
    moves = _chain(PLAN_ORDER)
    moves["appraisal"].append("preparation")  # returned for revision
    for state in PLAN_ORDER:  # any state may be cancelled, by a decision
        moves.setdefault(state, []).append("cancelled")
    return {state: tuple(to) for state, to in moves.items()}


#: A plan's lifecycle (Law 47/2024/QH15). An adjustment (điều chỉnh) is no state: the
#: approved plan stays approved and public while a change request of kind adjustment
#: waits for its decision.
PLAN = Lifecycle(
    name="plan",
    states=(*PLAN_ORDER, "cancelled"),
    moves=_plan_moves(),
    needs={
        "task_approved": ("decision",),
        "approved": ("decision",),
        "cancelled": ("decision",),
        "appraised": ("appraisal",),
    },
    grounds=("decision", "appraisal"),
)

#: An auction lot's steps (land fund): announced by a decision, auctioned, then sold (the
#: result recognised by a decision) or cancelled at any step before the sale.
LOT = Lifecycle(
    name="auction lot",
    states=("planned", "announced", "auctioned", "sold", "cancelled"),
    moves={
        "planned": ("announced", "cancelled"),
        "announced": ("auctioned", "cancelled"),
        "auctioned": ("sold", "cancelled"),
    },
    needs={
        "announced": ("decision", "auction"),
        "sold": ("decision", "result"),
        "cancelled": ("decision",),
    },
    grounds=("decision", "auction", "result"),
)
