"""JSON has one number type: an integer field takes 5 or 5.0 (as JSON Schema says), never 5.5, "5" or
true."""

from __future__ import annotations

from fastapi.testclient import TestClient

from tastegraph.bootstrap import System
from tests.helpers import mini_world, sign_up_in
from tests.integration.ads_support import ad_account, event, send, statuses


def test_whole_numbers_written_with_a_decimal_point_are_integers(client: TestClient, system: System) -> None:
    world = mini_world(system)
    sign_up_in(client)
    pin = world.pins_by_domain["trailpeak-gear.com"][0]
    r = client.post("/v1/engagement", json={"events": [{"kind": "click", "pin_id": float(pin)}]})
    assert r.status_code == 200, r.text
    for bad in (pin + 0.5, str(pin), True):
        r = client.post("/v1/engagement", json={"events": [{"kind": "click", "pin_id": bad}]})
        assert r.status_code == 422, (bad, r.text)
        assert r.json()["error"]["field"] == "events[0].pin_id"
    acct = ad_account(system)
    r = client.post(
        f"/v1/ad_accounts/{acct.id}/audiences",
        json={"kind": "visitor", "retention_days": 30.0},
        headers=acct.auth,
    )
    assert r.status_code == 201, r.text
    assert r.json()["spec"]["retention_days"] == 30
    now = int(system.clock.now().timestamp())
    result = send(
        client,
        acct,
        [
            event(system, "whole-0001", event_time=float(now)),
            event(system, "half-0002", event_time=now + 0.5),
        ],
    )
    assert statuses(result) == ["processed", "failed"]
