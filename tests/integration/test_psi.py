"""Customer lists by private set intersection: the protocol's algebra, and both rounds through the API
with the advertiser's helper function; what crosses the wire never contains a plain or hashed id."""

from __future__ import annotations

from datetime import timedelta

import pytest
from fastapi.testclient import TestClient

from tastegraph.ads import accounts, audiences
from tastegraph.bootstrap import System
from tastegraph.identity import IdentifierKind, plain_hash, psi
from tastegraph.kernel import FrozenClock
from tests.helpers import sign_in


def test_protocol_finds_exactly_the_intersection() -> None:
    people = [plain_hash(IdentifierKind.EMAIL, f"p{i}@example.com") for i in range(40)]
    listed = [plain_hash(IdentifierKind.EMAIL, f"p{i}@example.com") for i in range(30, 60)]
    blinder = psi.Blinder(1)
    b = psi.new_secret()
    round1 = blinder.hashes(b, people)
    records, people_points = psi.advertiser_round(listed, round1, blinder)
    positions = psi.platform_matches(b, records, people_points, blinder)
    assert sorted(positions) == list(range(30, 40))
    # Nothing the platform receives equals a hash, or a point it could make without the advertiser's secret.
    unblinded = set(psi.unpack(round1))
    assert not unblinded & set(psi.unpack(records))
    assert all(bytes.fromhex(h) not in records for h in listed)


def test_two_processes_give_the_same_points() -> None:
    digests = [plain_hash(IdentifierKind.EMAIL, f"q{i}@example.com") for i in range(50)]
    secret = psi.new_secret()
    in_two = psi.Blinder(2, in_process_below=0)
    assert in_two.hashes(secret, digests) == psi.Blinder(1).hashes(secret, digests)
    with in_two:  # one pool for both batches
        packed = in_two.hashes(secret, digests)
        assert in_two.points(secret, packed) == psi.Blinder(1).points(secret, packed)


def test_bad_points_are_refused() -> None:
    with pytest.raises(Exception, match=r"ristretto255|32-byte"):
        psi.Blinder(1).points(psi.new_secret(), b"\xff" * 32)
    with pytest.raises(Exception, match="32-byte"):
        psi.decode(psi.encode(b"\x01" * 33), "records")


def test_both_rounds_through_the_api(psi_client: tuple[TestClient, System], clock: FrozenClock) -> None:
    client, system = psi_client
    with system.write() as conn:
        account, token = accounts.create_account(conn, "Shop", clock.now())
    for i in range(6):
        r = client.post("/v1/users", json={"email": f"Person{i}@Example.com", "password": "long enough pw"})
        assert r.status_code == 201
    # Person 2 turned advertiser data off: matched, but not in the audience.
    sign_in(client, "person2@example.com", "long enough pw")
    client.patch("/v1/me/settings", json={"ads_advertiser_data": False})
    client.delete("/v1/sessions")

    headers = {"Authorization": f"Bearer {token.token}"}
    base = f"/v1/ad_accounts/{account.id}/customer_lists/psi"
    r = client.post(base, json={"kind": "email", "name": "VIPs"}, headers=headers)
    assert r.status_code == 201, r.text
    first = r.json()
    assert first["count"] == 6
    listed = [plain_hash(IdentifierKind.EMAIL, f"person{i}@example.com") for i in (1, 2, 3)] + [
        plain_hash(IdentifierKind.EMAIL, "stranger@example.com")
    ]
    records, people = psi.advertiser_round(listed, psi.decode(first["points"], "points"), psi.Blinder(1))
    body = {"records": psi.encode(records), "people": psi.encode(people)}

    # Another account's token cannot finish this session; a wrong number of points is refused.
    with system.write() as conn:
        _, other = accounts.create_account(conn, "Other", clock.now())
    r = client.post(
        f"{base}/{first['session_id']}", json=body, headers={"Authorization": f"Bearer {other.token}"}
    )
    assert r.status_code == 403
    short = {"records": body["records"], "people": psi.encode(people[:-32])}
    r = client.post(f"{base}/{first['session_id']}", json=short, headers=headers)
    assert r.status_code == 422 and r.json()["error"]["field"] == "people"

    r = client.post(f"{base}/{first['session_id']}", json=body, headers=headers)
    assert r.status_code == 201, r.text
    result = r.json()
    assert (result["uploaded"], result["matched"]) == (4, 3)
    with system.read() as conn:
        members = audiences.members(conn, result["audience_id"])
        emails = {plain_hash(IdentifierKind.EMAIL, f"person{i}@example.com"): i for i in range(6)}
        matched_ids = system.identity.match_hashes(conn, IdentifierKind.EMAIL, emails)
    by_person = {emails[h]: uid for h, uid in matched_ids.items()}
    assert members == {by_person[1], by_person[3]}
    # The session is gone: it cannot be replayed.
    r = client.post(f"{base}/{first['session_id']}", json=body, headers=headers)
    assert r.status_code == 404


def test_sessions_expire(psi_client: tuple[TestClient, System], clock: FrozenClock) -> None:
    client, system = psi_client
    with system.write() as conn:
        account, token = accounts.create_account(conn, "Shop", clock.now())
    client.post("/v1/users", json={"email": "a@example.com", "password": "long enough pw"})
    headers = {"Authorization": f"Bearer {token.token}"}
    base = f"/v1/ad_accounts/{account.id}/customer_lists/psi"
    first = client.post(base, json={"kind": "email"}, headers=headers).json()
    records, people = psi.advertiser_round(
        [plain_hash(IdentifierKind.EMAIL, "a@example.com")],
        psi.decode(first["points"], "points"),
        psi.Blinder(1),
    )
    clock.advance(timedelta(hours=1, seconds=1))
    r = client.post(
        f"{base}/{first['session_id']}",
        json={"records": psi.encode(records), "people": psi.encode(people)},
        headers=headers,
    )
    assert r.status_code == 404
    assert system.sweep()["psi_sessions"] == 1
