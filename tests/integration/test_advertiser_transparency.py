"""The privacy center names every advertiser whose customer list matched a person, even when their
settings kept them out of its audience; export has it; deletion removes it."""

from __future__ import annotations

from fastapi.testclient import TestClient

from tastegraph.ads import accounts
from tastegraph.bootstrap import System
from tastegraph.identity import IdentifierKind, plain_hash
from tests.helpers import sign_in

PASSWORD = "long enough pw"


def test_a_list_match_is_shown_even_when_it_cannot_be_used(client: TestClient, system: System) -> None:
    for email in ("kept@example.com", "out@example.com"):
        assert client.post("/v1/users", json={"email": email, "password": PASSWORD}).status_code == 201
    client.cookies.clear()
    sign_in(client, "out@example.com", PASSWORD)
    client.patch("/v1/me/settings", json={"ads_advertiser_data": False})
    with system.write() as conn:
        account, token = accounts.create_account(conn, "Lantern Books", system.clock.now())
    records = [plain_hash(IdentifierKind.EMAIL, e) for e in ("kept@example.com", "out@example.com")]
    r = client.post(
        f"/v1/ad_accounts/{account.id}/customer_lists",
        json={"kind": "email", "hashed": True, "records": records},
        headers={"Authorization": f"Bearer {token.token}"},
    )
    assert r.status_code == 201 and r.json()["matched"] == 2

    for email, in_audience in (("out@example.com", False), ("kept@example.com", True)):
        client.cookies.clear()
        sign_in(client, email, PASSWORD)
        (shop,) = client.get("/v1/me/advertisers").json()["advertisers"]
        assert shop["name"] == "Lantern Books" and shop["customer_lists"] == 1
        assert bool(shop["audiences"]) is in_audience
        export = client.get("/v1/me/export").json()
        assert [m["ad_account_id"] for m in export["customer_lists_that_matched"]] == [account.id]
        page = client.get("/settings").text
        assert "Lantern Books" in page and "was on 1 of its customer list" in page

    assert client.delete("/v1/me").status_code == 204
    client.cookies.clear()
    sign_in(client, "out@example.com", PASSWORD)
    assert client.get("/v1/me/advertisers").json()["advertisers"][0]["customer_lists"] == 1
