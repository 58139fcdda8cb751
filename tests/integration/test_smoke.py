from fastapi.testclient import TestClient


def test_sign_up_sign_in_settings(client: TestClient) -> None:
    r = client.post("/v1/users", json={"email": "Ann@Example.com", "password": "correct horse"})
    assert r.status_code == 201, r.text
    r = client.post("/v1/sessions", json={"email": "ann@example.com", "password": "correct horse"})
    assert r.status_code == 200, r.text
    r = client.get("/v1/me/settings")
    assert r.json()["personalization"] is True
