"""Staff accounts for tests: one per role (and a planner limited to one unit), each with a
bearer token, made through the same functions the CLI uses."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import URL

from layers import accounts
from layers.editing import context

PASSWORD = "a long staff password"
ROLES = ("planner", "cadastral", "land_fund", "admin")
#: Thục Phán (01273 since the 2025 reform): the city's north and centre.
LIMITED_UNIT = "01273"


#: A value for each path parameter of the app's routes that names something real in the
#: demo (a parcel, a city-centre tile, …), to fill route templates with.
PATH_EXAMPLES = {
    "feature_id": "1",
    "z": "15",
    "x": "26056",
    "y": "14264",
    "unit": "01273",
    "sheet": "17",
    "number": "32",
    "code": "AAAA-AAAA-AAAA",
    "job_id": "0123456789abcdef",
    "change_id": "999999",
    "lot_code": "DG-NONE-00",
    "request_id": "999999",
}


@dataclass(frozen=True)
class Staff:
    tokens: dict[str, str]

    def headers(self, name: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[name]}"} if name in self.tokens else {}


def parcels_in_and_out(engine: Engine) -> tuple[int, int]:
    """A parcel inside :data:`LIMITED_UNIT` and one outside it: Sông Hiến (01267) was
    merged into Thục Phán (01273) by the reform, Sông Bằng (01270) was not."""
    with engine.connect() as conn:
        found = [
            conn.execute(
                text("SELECT min(id) FROM parcels WHERE unit_code = :u"), {"u": code}
            ).scalar_one()
            for code in ("01267", "01270")
        ]
    return found[0], found[1]


def make_staff(url: URL, prefix: str = "") -> Staff:
    """Accounts ``<prefix><role>``, and ``<prefix>planner-north`` and
    ``<prefix>cadastral-north`` limited to 01273."""
    engine = create_engine(url)
    tokens = {}
    with engine.begin() as conn:
        conn.execute(context(accounts.CLI_ACTOR, "cli", "test accounts"))
        for role in ROLES:
            accounts.add_account(conn, f"{prefix}{role}", role, PASSWORD)
            tokens[role] = accounts.create_token(conn, f"{prefix}{role}", timedelta(days=1))[1]
        for role in ("planner", "cadastral"):
            name = f"{prefix}{role}-north"
            accounts.add_account(conn, name, role, PASSWORD, [LIMITED_UNIT])
            tokens[f"{role}-north"] = accounts.create_token(conn, name, timedelta(days=1))[1]
    engine.dispose()
    return Staff(tokens)
