"""Every operation of the OpenAPI document, fuzzed by schemathesis against a real server
(uvicorn over a database of its own, migrated and loaded with the demo): no server
error, no status code, media type or body that the document does not declare.
Settings (seed, examples per operation) are in schemathesis.toml."""

from __future__ import annotations

import schemathesis

schema = schemathesis.pytest.from_fixture("fuzzed_api_schema")


@schema.parametrize()
def test_every_operation_keeps_its_contract(case, fuzz_session):
    case.call_and_validate(session=fuzz_session)
