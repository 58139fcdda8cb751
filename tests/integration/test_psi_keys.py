"""Private set intersection with the platform's points prepared ahead (identity.psi_keys): round 1 reads
them; people added or changed since are blinded on the spot; keys rotate; nothing stale ever matches."""

from __future__ import annotations

from datetime import timedelta

from fastapi.testclient import TestClient
from sqlalchemy import func, select

from tastegraph.ads import accounts, audiences
from tastegraph.bootstrap import System
from tastegraph.identity import IdentifierKind, plain_hash, psi, psi_keys
from tastegraph.identity.tables import psi_keys as keys_table
from tastegraph.identity.tables import psi_points
from tastegraph.kernel import FrozenClock
from tests.helpers import sign_in


def _email(i: int | str) -> str:
    return plain_hash(IdentifierKind.EMAIL, f"person{i}@example.com")


def _sign_up(client: TestClient, n: int, start: int = 0) -> None:
    for i in range(start, start + n):
        r = client.post("/v1/users", json={"email": f"person{i}@example.com", "password": "long enough pw"})
        assert r.status_code == 201, r.text


def _user_ids(system: System) -> dict[str, int]:
    with system.read() as conn:
        return {h: uid for uid, h in system.identity.all_hashes(conn, IdentifierKind.EMAIL)}


class Advertiser:
    def __init__(self, client: TestClient, system: System, clock: FrozenClock) -> None:
        with system.write() as conn:
            account, token = accounts.create_account(conn, "Shop", clock.now())
        self.client, self.system = client, system
        self.base = f"/v1/ad_accounts/{account.id}/customer_lists/psi"
        self.headers = {"Authorization": f"Bearer {token.token}"}

    def round1(self) -> dict[str, object]:
        r = self.client.post(self.base, json={"kind": "email"}, headers=self.headers)
        assert r.status_code == 201, r.text
        return dict(r.json())

    def upload(self, listed: list[str]) -> set[int]:
        """Both rounds; the audience's members."""
        first = self.round1()
        records, people = psi.advertiser_round(listed, psi.decode(first["points"], "points"), psi.Blinder(1))
        r = self.client.post(
            f"{self.base}/{first['session_id']}",
            json={"records": psi.encode(records), "people": psi.encode(people)},
            headers=self.headers,
        )
        assert r.status_code == 201, r.text
        with self.system.read() as conn:
            return audiences.members(conn, r.json()["audience_id"])


def _stored_points(system: System) -> int:
    with system.read() as conn:
        return int(conn.execute(select(func.count()).select_from(psi_points)).scalar_one())


def test_round1_serves_the_prepared_points(psi_client: tuple[TestClient, System], clock: FrozenClock) -> None:
    client, system = psi_client
    _sign_up(client, 5)
    result = system.prepare_psi()
    assert result["blinded"] == 5 and _stored_points(system) == 5
    with system.read() as conn:
        key = psi_keys.current_key(conn, clock.now())
    assert key is not None
    shop = Advertiser(client, system, clock)
    first = shop.round1()
    # Exactly each person's hash raised to the day's key, in some shuffled order.
    expected = set(psi.unpack(psi.Blinder(1).hashes(key.secret, [_email(i) for i in range(5)])))
    assert set(psi.unpack(psi.decode(first["points"], "points"))) == expected
    ids = _user_ids(system)
    assert shop.upload([_email(1), _email(3), _email("stranger")]) == {ids[_email(1)], ids[_email(3)]}
    # A second run of prepare has nothing left to do.
    assert system.prepare_psi()["blinded"] == 0


def test_people_added_or_changed_after_preparing(
    psi_client: tuple[TestClient, System], clock: FrozenClock
) -> None:
    client, system = psi_client
    _sign_up(client, 3)
    system.prepare_psi()
    _sign_up(client, 1, start=3)  # not prepared: blinded on the spot
    ids = _user_ids(system)
    person0 = ids[_email(0)]
    with system.write() as conn:  # person 0 changes their email: their prepared point is dropped
        system.identity.set_identifiers(conn, person0, clock.now(), email="renamed@example.com")
    assert _stored_points(system) == 2
    shop = Advertiser(client, system, clock)
    renamed = plain_hash(IdentifierKind.EMAIL, "renamed@example.com")
    members = shop.upload([_email(0), _email(3), renamed])
    assert members == {ids[_email(3)], person0}
    # The old address no longer names anyone, even if a stale point had survived.
    assert shop.upload([_email(0), _email(1)]) == {ids[_email(1)]}


def test_a_stale_point_never_matches(psi_client: tuple[TestClient, System], clock: FrozenClock) -> None:
    """A point made from a hash that has since changed (e.g. written by a preparation that raced an
    email change) is ignored: the person is blinded again from their current hash."""
    client, system = psi_client
    _sign_up(client, 2)
    system.prepare_psi()
    ids = _user_ids(system)
    person0 = ids[_email(0)]
    with system.write() as conn:
        conn.execute(psi_points.update().where(psi_points.c.user_id == person0).values(hash=_email("old")))
    shop = Advertiser(client, system, clock)
    assert shop.upload([_email(0)]) == {person0}


def test_keys_rotate_and_old_points_go(psi_client: tuple[TestClient, System], clock: FrozenClock) -> None:
    client, system = psi_client
    _sign_up(client, 3)
    first = system.prepare_psi()
    clock.advance(timedelta(hours=23))
    assert system.prepare_psi() == {"key_id": first["key_id"], "blinded": 0, "retired_keys": 0}
    shop = Advertiser(client, system, clock)
    day1 = set(psi.unpack(psi.decode(shop.round1()["points"], "points")))
    clock.advance(timedelta(hours=2))
    second = system.prepare_psi()
    assert second["key_id"] != first["key_id"] and second["blinded"] == 3 and second["retired_keys"] == 1
    with system.read() as conn:
        assert conn.execute(select(func.count()).select_from(keys_table)).scalar_one() == 1
    assert _stored_points(system) == 3
    day2 = set(psi.unpack(psi.decode(shop.round1()["points"], "points")))
    assert not day1 & day2, "a new key gives every person a new point"
    ids = _user_ids(system)
    assert shop.upload([_email(2)]) == {ids[_email(2)]}


def test_without_a_fresh_key_each_session_has_its_own_secret(
    psi_client: tuple[TestClient, System], clock: FrozenClock
) -> None:
    client, system = psi_client
    _sign_up(client, 3)
    shop = Advertiser(client, system, clock)
    # Never prepared: two sessions, two secrets.
    a = set(psi.unpack(psi.decode(shop.round1()["points"], "points")))
    b = set(psi.unpack(psi.decode(shop.round1()["points"], "points")))
    assert not a & b
    # A key older than twice the rotation period is no longer used.
    system.prepare_psi()
    prepared = set(psi.unpack(psi.decode(shop.round1()["points"], "points")))
    assert prepared == set(psi.unpack(psi.decode(shop.round1()["points"], "points")))
    clock.advance(psi_keys.USABLE_FOR + timedelta(seconds=1))
    late = set(psi.unpack(psi.decode(shop.round1()["points"], "points")))
    assert not late & prepared
    ids = _user_ids(system)
    assert shop.upload([_email(0)]) == {ids[_email(0)]}


def test_deleting_the_account_deletes_the_points(
    psi_client: tuple[TestClient, System], clock: FrozenClock
) -> None:
    client, system = psi_client
    _sign_up(client, 2)
    system.prepare_psi()
    sign_in(client, "person0@example.com", "long enough pw")
    assert client.delete("/v1/me").status_code == 204
    assert _stored_points(system) == 1


def test_prepare_reports_progress(psi_client: tuple[TestClient, System]) -> None:
    client, system = psi_client
    _sign_up(client, 2)
    progress: list[tuple[int, int]] = []
    assert system.prepare_psi(lambda done, total: progress.append((done, total)))["blinded"] == 2
    assert progress == [(2, 2)]
