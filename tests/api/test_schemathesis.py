"""Every operation of the OpenAPI document, fuzzed by schemathesis against a real server
(uvicorn over a database of its own, migrated and loaded with the demo): no server
error, no status code, media type or body that the document does not declare.
The writes (OGC API Features Part 4) are fuzzed again with an admin's bearer token, on a
database of their own, so that the bodies reach the checks and the database's rules.
Settings (seed, examples per operation) are in schemathesis.toml."""

from __future__ import annotations

import schemathesis

schema = schemathesis.pytest.from_fixture("fuzzed_api_schema")
writes = schemathesis.pytest.from_fixture("fuzzed_writes_schema")


@schema.parametrize()
def test_every_operation_keeps_its_contract(case, fuzz_session):
    case.call_and_validate(session=fuzz_session)


@writes.parametrize()
def test_every_write_keeps_its_contract_for_staff(case, fuzz_session, fuzzed_staff):
    _, credentials = fuzzed_staff
    case.call_and_validate(session=fuzz_session, headers=credentials)
