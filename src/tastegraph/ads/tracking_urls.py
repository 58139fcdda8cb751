"""Third-party measurement URLs an ad may carry: `{impression: [...], click: [...], engagement: [...]}`.

An advertiser (or a company working for it) names up to MAX_PER_EVENT URLs per event type; the platform
calls them after each counted event (measure.pixels) with the macros below expanded, and nothing else of
the person. The rules, checked when an ad is created or changed (InvalidInput naming the field, e.g.
`tracking_urls.click[1]`):

- `https://` only (plain `http://` only on the `host:port` pairs the deployment allows for tests and
  staging, TASTEGRAPH_MEASUREMENT_INSECURE_HOSTS), no user name or password, no fragment, at most
  MAX_URL_LENGTH characters;
- never on the platform's own host (a pixel there would be a request forged with the platform's name),
  never an IP address or a name that is not public (localhost, *.local, *.internal, ...): the server
  calls these URLs, and must not be pointed at its own network;
- macros only from MACROS, written `{name}`, and only in the path and query; any other `{...}`, and
  other ad servers' macro syntaxes (`%%...%%`, `${...}`, `[UPPER_CASE]`), are refused: they would be
  sent as they are, or mistaken for something we fill in;
- nothing that looks like a person's identifier in the path or query: an email address, a phone number
  in international or (NNN) NNN-NNNN form, a 32-, 40- or 64-digit hex string (an MD5/SHA-1/SHA-256 hash
  of an identifier), a UUID, or a parameter named like one (email, user_id, uid, idfa, gaid, ip, ...).
  The platform fills in no identifier of a person, and a URL must not smuggle one in.
"""

from __future__ import annotations

import ipaddress
import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal, TypedDict
from urllib.parse import parse_qsl, unquote, urlsplit

from tastegraph.kernel import InvalidInput

EVENTS: tuple[Literal["impression", "click", "engagement"], ...] = ("impression", "click", "engagement")
Event = Literal["impression", "click", "engagement"]
MAX_PER_EVENT = 3
MAX_URL_LENGTH = 2000
MACROS = frozenset({"ad_id", "ad_group_id", "campaign_id", "cachebuster", "timestamp"})
FIELD = "tracking_urls"


class TrackingUrlsJson(TypedDict):
    impression: list[str]
    click: list[str]
    engagement: list[str]


def empty() -> TrackingUrlsJson:
    return {"impression": [], "click": [], "engagement": []}


# Parameter names that carry a person's identifier (compared lower-cased, without "-", "_" and ".").
IDENTIFIER_PARAMETERS = frozenset(
    {
        "email",
        "emailaddress",
        "mail",
        "em",
        "hashedemail",
        "emailhash",
        "sha256email",
        "md5email",
        "phone",
        "phonenumber",
        "ph",
        "msisdn",
        "user",
        "userid",
        "uid",
        "username",
        "externalid",
        "customerid",
        "memberid",
        "pinnerid",
        "idfa",
        "idfv",
        "gaid",
        "aaid",
        "adid",
        "advertisingid",
        "ifa",
        "rida",
        "deviceid",
        "did",
        "ip",
        "ipaddress",
        "ipaddr",
        "clientip",
        "userip",
        "ipv4",
        "ipv6",
        "xforwardedfor",
        "useragent",
        "ua",
        "cookie",
        "cookieid",
        "browserid",
        "clickid",
        "tgclick",
        "lat",
        "lon",
        "lng",
        "latitude",
        "longitude",
    }
)

_EMAIL = re.compile(r"[a-z0-9._%+\-]+@[a-z0-9\-]+(?:\.[a-z0-9\-]+)*\.[a-z]{2,}", re.IGNORECASE)
_PHONE = re.compile(r"(?<![\w])\+\d[\d .()\-]{6,18}\d(?!\d)|\(\d{3}\)\s?\d{3}[\s.\-]\d{4}(?!\d)")
_HASH = re.compile(r"(?<![0-9a-f])(?:[0-9a-f]{64}|[0-9a-f]{40}|[0-9a-f]{32})(?![0-9a-f])", re.IGNORECASE)
_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", re.IGNORECASE)
_MACRO = re.compile(r"\{([^{}]*)\}")
_FOREIGN_MACRO = re.compile(r"%%[^%]*%%|\$\{[^}]*\}|\[[A-Z][A-Z0-9_]*\]|__[A-Z][A-Z0-9_]*__")
_NOT_PUBLIC_SUFFIXES = (".local", ".localhost", ".internal", ".lan", ".home", ".corp", ".intranet", ".arpa")
_HOST_NAME = re.compile(
    r"^(?=.{1,253}$)[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)+$"
)


@dataclass(frozen=True)
class Rules:
    """What the deployment allows: its own host (never a target), and the `host:port` pairs that may be
    plain http and not public (a local receiver in tests or staging)."""

    platform_host: str
    insecure_hosts: frozenset[str] = frozenset()
    platform_port: int | None = None


def host_port(url: str) -> tuple[str, str, int]:
    """(scheme, host, port) of a URL (lower-cased host, default port filled in)."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").rstrip(".").lower()
    return scheme, host, parts.port or (443 if scheme == "https" else 80)


def _bare(host: str) -> str:
    return host[4:] if host.startswith("www.") else host


def _same_host(a: str, b: str) -> bool:
    """`a` is `b`, with or without www., or one of its subdomains."""
    return _bare(a) == _bare(b) or a.endswith("." + _bare(b))


def _identifier_in(text: str) -> str | None:
    if _EMAIL.search(text):
        return "an email address"
    if _UUID.search(text):
        return "a UUID"
    if _HASH.search(text):
        return "a hash (32, 40 or 64 hex digits)"
    if _PHONE.search(text):
        return "a phone number"
    return None


def check_url(given: Any, rules: Rules, field: str) -> str:
    """The URL (trimmed) if it follows the rules above; InvalidInput on `field` otherwise."""
    if not isinstance(given, str) or not given.strip():
        raise InvalidInput("give a URL", field=field)
    url: str = given.strip()
    if len(url) > MAX_URL_LENGTH:
        raise InvalidInput(f"a tracking URL is at most {MAX_URL_LENGTH} characters", field=field)
    if not url.isascii() or any(c.isspace() or ord(c) < 32 or ord(c) == 127 for c in url):
        raise InvalidInput("a tracking URL is ASCII without spaces (percent-encode the rest)", field=field)
    try:
        parts = urlsplit(url)
        scheme, host, port = host_port(url)
    except ValueError as exc:
        raise InvalidInput(f"not a valid URL: {exc}", field=field) from None
    if not host or scheme not in ("http", "https"):
        raise InvalidInput("a tracking URL is an absolute https:// address", field=field)
    insecure_ok = f"{host}:{port}" in rules.insecure_hosts
    if scheme != "https" and not insecure_ok:
        raise InvalidInput("a tracking URL must use https://", field=field)
    if parts.username is not None or parts.password is not None:
        raise InvalidInput("a tracking URL must not carry a user name or password", field=field)
    if parts.fragment:
        raise InvalidInput("a tracking URL has no #fragment (it is never sent)", field=field)
    if "{" in parts.netloc or "}" in parts.netloc:
        raise InvalidInput("macros go in the path or query, not the host", field=field)
    # An allowed insecure host:port (a test receiver next to the platform) is the operator's choice,
    # unless it is the platform's own port too.
    own = bool(rules.platform_host) and _same_host(host, rules.platform_host)
    if own and (not insecure_ok or port == rules.platform_port):
        raise InvalidInput("a tracking URL must not be on this platform's own host", field=field)
    if not insecure_ok:
        try:
            ipaddress.ip_address(host.strip("[]"))
            raise InvalidInput("a tracking URL names a host, not an IP address", field=field)
        except ValueError:
            pass
        if not _HOST_NAME.match(host) or host.endswith(_NOT_PUBLIC_SUFFIXES) or host == "localhost":
            raise InvalidInput("a tracking URL's host must be a public host name", field=field)
    rest = url[len(f"{parts.scheme}://{parts.netloc}") :]
    for name in _MACRO.findall(rest):
        if name not in MACROS:
            known = ", ".join("{" + m + "}" for m in sorted(MACROS))
            raise InvalidInput(f"unknown macro {{{name}}}; the macros are {known}", field=field)
    stripped = _MACRO.sub("", rest)
    if "{" in stripped or "}" in stripped:
        raise InvalidInput("an unclosed { or } (macros are written {name})", field=field)
    if _FOREIGN_MACRO.search(stripped) or _FOREIGN_MACRO.search(unquote(stripped)):
        raise InvalidInput(
            "another ad server's macro syntax; the macros here are written {name}", field=field
        )
    decoded = unquote(unquote(stripped))
    found = _identifier_in(decoded)
    if found:
        raise InvalidInput(f"the URL carries what looks like {found}: no identifier of a person", field=field)
    for name, _value in parse_qsl(parts.query, keep_blank_values=True):
        key = re.sub(r"[-_.\[\]]", "", name.lower())
        if key in IDENTIFIER_PARAMETERS:
            raise InvalidInput(f"the parameter {name!r} names a person's identifier", field=field)
    return url


def check(value: Any, rules: Rules) -> TrackingUrlsJson | None:
    """`tracking_urls` as given to an ad (None or {} clears them): the checked URLs per event, or None
    when there are none; InvalidInput naming the first bad field otherwise."""
    if value is None:
        return None
    if not isinstance(value, Mapping):
        raise InvalidInput(
            "tracking_urls is an object {impression: [...], click: [...], engagement: [...]}", FIELD
        )
    unknown = sorted(set(value) - set(EVENTS))
    if unknown:
        raise InvalidInput("the event types are impression, click and engagement", f"{FIELD}.{unknown[0]}")
    out = empty()
    for event in EVENTS:
        urls = value.get(event) or []
        field = f"{FIELD}.{event}"
        if not isinstance(urls, list):
            raise InvalidInput("a list of URLs", field=field)
        if len(urls) > MAX_PER_EVENT:
            raise InvalidInput(f"at most {MAX_PER_EVENT} URLs per event type", field=field)
        checked = [check_url(u, rules, f"{field}[{i}]") for i, u in enumerate(urls)]
        if len(set(checked)) != len(checked):
            raise InvalidInput("the same URL twice", field=field)
        out[event] = checked
    return out if any(out.values()) else None


def stored(value: Any) -> TrackingUrlsJson:
    """The URLs as stored in ads.tracking_urls (every event present, lists of strings)."""
    out = empty()
    if isinstance(value, Mapping):
        for event in EVENTS:
            out[event] = [str(u) for u in value.get(event) or []]
    return out


@dataclass(frozen=True)
class MacroValues:
    ad_id: int
    ad_group_id: int
    campaign_id: int


def expand(url: str, ids: MacroValues, at: datetime, cachebuster: str | None = None) -> str:
    """The URL with its macros filled in: the ad's ids, a fresh random cachebuster, and the event's time
    in Unix seconds rounded down to the minute (nothing finer: a precise time could single a person out
    when joined with other data)."""
    values = {
        "ad_id": str(ids.ad_id),
        "ad_group_id": str(ids.ad_group_id),
        "campaign_id": str(ids.campaign_id),
        "cachebuster": cachebuster or str(secrets.randbelow(10**12)),
        "timestamp": str(int(at.timestamp()) // 60 * 60),
    }

    def fill(match: re.Match[str]) -> str:
        return values.get(match.group(1), match.group(0))

    return _MACRO.sub(fill, url)
