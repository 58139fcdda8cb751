"""The advertiser API is documented at /openapi.json, including the event and customer-list schemas the
routes validate themselves."""

from __future__ import annotations

from fastapi.testclient import TestClient

CONTRACT = {
    "/v1/ad_accounts/{ad_account_id}/events": "post",
    "/v1/ad_accounts/{ad_account_id}/customer_lists": "post",
    "/v1/ad_accounts/{ad_account_id}/audiences": "get",
    "/v1/ad_accounts/{ad_account_id}/audiences/{audience_id}": "get",
    "/v1/tag/{tag_id}/event": "get",
}


def test_openapi_documents_the_advertiser_api(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    for path, method in CONTRACT.items():
        assert method in spec["paths"][path], path
    assert "post" in spec["paths"]["/v1/ad_accounts/{ad_account_id}/audiences"]
    schemas = spec["components"]["schemas"]
    event = schemas["ConversionEvent"]
    assert {"event_name", "action_source", "event_time", "event_id", "user_data"} <= set(event["required"])
    items = schemas["EventsBody"]["properties"]["data"]["items"]
    assert items == {"$ref": "#/components/schemas/ConversionEvent"}
    user_data = set(schemas["UserData"]["properties"])
    assert user_data >= {"em", "ph", "external_id", "client_ip_address", "click_id"}
    body = spec["paths"]["/v1/ad_accounts/{ad_account_id}/customer_lists"]["post"]["requestBody"]["content"]
    assert set(body) == {"application/json", "text/csv"}
    assert set(schemas["CustomerListBody"]["properties"]) >= {"kind", "hashed", "records"}
