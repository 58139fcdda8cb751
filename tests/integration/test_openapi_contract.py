"""/openapi.json says what the service does: the real id ranges, and every error answer with its body."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

MAX_ID = 2**63 - 1


def _walk(node: Any) -> Any:
    if isinstance(node, dict):
        yield node
        for value in node.values():
            yield from _walk(value)
    elif isinstance(node, list):
        for value in node:
            yield from _walk(value)


def test_ids_are_64_bit_everywhere(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    for path, operations in spec["paths"].items():
        for method, operation in operations.items():
            for param in operation.get("parameters", []):
                if param["in"] == "path" and param["schema"].get("type") == "integer":
                    bounds = (param["schema"].get("minimum"), param["schema"].get("maximum"))
                    assert bounds == (1, MAX_ID), (method, path, param)
    for name in ("pin_id", "board_id", "target_user_id"):
        prop = spec["components"]["schemas"]["EngagementEvent"]["properties"][name]
        assert {"type": "integer", "minimum": 1, "maximum": MAX_ID}.items() <= prop["anyOf"][0].items()
    # Constraints are JSON Schema keywords, never pydantic's names for them.
    assert not [n for n in _walk(spec) if {"ge", "le", "gt", "lt"} & set(n) and "type" in n]


def test_every_operation_documents_its_errors(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    assert set(spec["components"]["schemas"]["ErrorBody"]["properties"]) == {"error"}
    for path, operations in spec["paths"].items():
        for method, operation in operations.items():
            errors = {code: r for code, r in operation["responses"].items() if code.startswith("4")}
            assert "422" in errors, (method, path)
            for code, response in errors.items():
                schema = response["content"]["application/json"]["schema"]
                assert schema == {"$ref": "#/components/schemas/ErrorBody"}, (method, path, code)
    me = spec["paths"]["/v1/me"]["get"]["responses"]
    assert {"401", "422", "429"} <= set(me)
    visits = spec["paths"]["/v1/offsite/visits"]["post"]["responses"]
    assert {"400", "413", "415", "422", "429"} <= set(visits)
    events = spec["paths"]["/v1/ad_accounts/{ad_account_id}/events"]["post"]["responses"]
    assert {"400", "401", "403", "404", "413", "415", "422", "429"} <= set(events)
