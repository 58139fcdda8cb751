"""The advertiser pages: create an advertiser (its first token shown once), use the token on the API,
create and revoke tokens; nobody else can touch the account from the pages."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient

from tests.helpers import csrf_token, page_sign_up

_TOKEN = re.compile(r'<code class="token">(tgad_[^<]+)</code>')


def _new_token(html: str) -> str:
    match = _TOKEN.search(html)
    assert match, "no token on the page"
    return match.group(1)


def test_create_use_and_revoke_tokens_from_the_pages(client: TestClient) -> None:
    r = client.get("/advertisers", follow_redirects=False)
    assert r.headers["location"] == "/signin?next=/advertisers"
    page_sign_up(client)
    token = csrf_token(client, "/advertisers")
    r = client.post("/advertisers", data={"name": "  ", "csrf_token": token})
    assert r.status_code == 422 and "give a name" in r.text
    form = {"name": "Fern & Co", "website": "fern.example", "csrf_token": token}
    r = client.post("/advertisers", data=form)
    assert r.status_code == 200
    first = _new_token(r.text)
    account_id = int(re.search(r'id="account-(\d+)"', r.text).group(1))  # type: ignore[union-attr]
    assert "fern.example" in r.text and 'tastegraph("load", "' in r.text

    api = f"/v1/ad_accounts/{account_id}"
    assert client.get(api, headers={"Authorization": f"Bearer {first}"}).status_code == 200

    r = client.post(f"/advertisers/{account_id}/tokens", data={"label": "orders", "csrf_token": token})
    second = _new_token(r.text)
    assert second != first and "orders" in r.text
    listed = client.get(f"{api}/tokens", headers={"Authorization": f"Bearer {second}"}).json()["tokens"]
    assert [t["label"] for t in listed] == ["first token", "orders"]
    assert all(first not in str(t) and second not in str(t) for t in listed)  # values are never shown again

    revoke = f"/advertisers/{account_id}/tokens/{listed[0]['id']}/revoke"
    r = client.post(revoke, data={"csrf_token": token}, follow_redirects=False)
    assert r.status_code == 303
    assert client.get(api, headers={"Authorization": f"Bearer {first}"}).status_code == 401
    assert client.get(api, headers={"Authorization": f"Bearer {second}"}).status_code == 200

    # Someone else, signed in, cannot revoke or mint tokens for this account.
    client.cookies.clear()
    page_sign_up(client, email="other@example.com")
    token = csrf_token(client, "/advertisers")
    r = client.post(f"/advertisers/{account_id}/tokens/{listed[1]['id']}/revoke", data={"csrf_token": token})
    assert r.status_code == 404
    r = client.post(f"/advertisers/{account_id}/tokens", data={"csrf_token": token})
    assert r.status_code == 404
    assert client.get(api, headers={"Authorization": f"Bearer {second}"}).status_code == 200
    assert "Fern &amp; Co" not in client.get("/advertisers").text
