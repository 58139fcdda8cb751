"""The rules for ads' third-party tracking URLs (ads.tracking_urls) and their macros, and that a
production deployment refuses plain-http measurement hosts."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from tastegraph.ads import tracking_urls as t
from tastegraph.config import Settings
from tastegraph.kernel import ConfigurationError, InvalidInput

RULES = t.Rules(
    platform_host="tastegraph.example", insecure_hosts=frozenset({"localhost:9100"}), platform_port=443
)


def refused(url: str) -> str:
    with pytest.raises(InvalidInput) as caught:
        t.check({"impression": [url]}, RULES)
    assert caught.value.field == "tracking_urls.impression[0]"
    return str(caught.value)


@pytest.mark.parametrize(
    "url",
    [
        "https://ad.doubleverify.example/imp?ad={ad_id}&g={ad_group_id}&c={campaign_id}&cb={cachebuster}",
        "https://px.measure.example/v1/{campaign_id}/{ad_id}.gif?ts={timestamp}",
        "https://px.measure.example/p?placement=123456789012&site=tastegraph",  # long numbers are ids
        "https://px.measure.example/p?sig=abc123def",
        "http://localhost:9100/pixel?ad={ad_id}",  # an allowed insecure host
    ],
)
def test_good_urls_are_kept_as_given(url: str) -> None:
    assert t.check({"click": [url]}, RULES) == {"impression": [], "click": [url], "engagement": []}


@pytest.mark.parametrize(
    ("url", "words"),
    [
        ("http://px.measure.example/p", "https"),
        ("http://localhost:9101/p", "https"),  # another port than the allowed one
        ("https://tastegraph.example/p", "own host"),
        ("https://www.tastegraph.example/p", "own host"),
        ("https://cdn.tastegraph.example/p", "own host"),
        ("https://localhost:9100.evil/p", "not a valid url"),
        ("https://px.measure.example/p?id={user_id}", "unknown macro"),
        ("https://px.measure.example/p?id={AD_ID}", "unknown macro"),
        ("https://px.measure.example/p?id=${USER}", "macro"),
        ("https://px.measure.example/p?id=[IDFA]", "macro syntax"),
        ("https://px.measure.example/p?id=__EMAIL__", "macro syntax"),
        ("https://px.measure.example/p?to=a.person%2540mail.example", "email"),
        ("https://px.measure.example/a.person@mail.example/p", "email"),
        ("https://px.measure.example/p?x=(415)%20555-0123", "phone"),
        ("https://px.measure.example/p?x=" + "A" * 64, "hash"),
        ("https://px.measure.example/p?x=" + "0" * 40, "hash"),
        ("https://px.measure.example/p?gaid=x", "gaid"),
        ("https://px.measure.example/p?e-mail=x", "e-mail"),
        ("https://px.measure.example/p?client.ip=x", "client.ip"),
        ("https://169.254.169.254/latest/meta-data", "ip address"),
        ("https://[::1]/p", "ip address"),
        ("https://metadata.internal/p", "public host"),
        ("https://px.measure.example/p#frag", "fragment"),
        ("https://px.measure.example/p q", "spaces"),
        ("ftp://px.measure.example/p", "https"),
        ("//px.measure.example/p", "https"),
    ],
)
def test_bad_urls_are_refused_naming_the_field(url: str, words: str) -> None:
    assert words.lower() in refused(url).lower()


def test_counts_lengths_events_and_shapes() -> None:
    good = "https://px.measure.example/p?ad={ad_id}"
    with pytest.raises(InvalidInput) as caught:
        t.check({"click": [good + "&n=" + str(i) for i in range(4)]}, RULES)
    assert caught.value.field == "tracking_urls.click"
    with pytest.raises(InvalidInput) as caught:
        t.check({"click": [good + "&x=" + "a" * 2000]}, RULES)
    assert caught.value.field == "tracking_urls.click[0]"
    with pytest.raises(InvalidInput) as caught:
        t.check({"view": [good]}, RULES)
    assert caught.value.field == "tracking_urls.view"
    with pytest.raises(InvalidInput):
        t.check({"click": good}, RULES)
    with pytest.raises(InvalidInput):
        t.check(["x"], RULES)
    assert t.check(None, RULES) is None
    assert t.check({}, RULES) is None
    assert t.check({"click": []}, RULES) is None


def test_macros_expand_to_the_ads_ids_a_minute_and_a_random_cachebuster() -> None:
    url = "https://px.measure.example/{campaign_id}/{ad_group_id}/{ad_id}?t={timestamp}&cb={cachebuster}"
    at = datetime(2026, 6, 1, 12, 34, 56, tzinfo=UTC)
    ids = t.MacroValues(ad_id=7, ad_group_id=5, campaign_id=3)
    out = t.expand(url, ids, at)
    minute = int(datetime(2026, 6, 1, 12, 34, tzinfo=UTC).timestamp())
    assert out.startswith(f"https://px.measure.example/3/5/7?t={minute}&cb=")
    assert out.rsplit("=", 1)[1].isdigit()
    assert t.expand(url, ids, at) != out or t.expand(url, ids, at) != out  # fresh cachebusters
    assert t.expand(url, ids, at, cachebuster="1") == t.expand(url, ids, at, cachebuster="1")


def production(**over: object) -> Settings:
    values: dict[str, object] = {
        "env": "production",
        "secret_key": "s" * 40,
        "public_origin": "https://tastegraph.example",
        "cookies_always_secure": True,
        "ikea_dir": None,
    }
    values.update(over)
    return Settings(**values)  # type: ignore[arg-type]


def test_production_refuses_insecure_measurement_hosts() -> None:
    production().check()  # the rest of this configuration is fine
    with pytest.raises(ConfigurationError, match="MEASUREMENT_INSECURE_HOSTS"):
        production(measurement_insecure_hosts="localhost:9100").check()
    assert Settings(
        env="test", measurement_insecure_hosts=" LocalHost:9100 , x:1 "
    ).measurement_insecure_host_set == {
        "localhost:9100",
        "x:1",
    }
