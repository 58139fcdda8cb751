"""URL checks shared by Pins and off-site visits."""

from __future__ import annotations

import re
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from tastegraph.kernel.errors import InvalidInput

MAX_URL = 2048


def domain_of(url: str, field: str = "url") -> str:
    """The host of an http(s) URL, lower-cased, without a leading "www.".

    We group by host rather than by registrable domain (eTLD+1): doing the latter right needs the Public
    Suffix List, and host-level grouping is what people recognise in "because you visited ...".
    """
    if len(url) > MAX_URL:
        raise InvalidInput(f"the URL is longer than {MAX_URL} characters", field=field)
    try:
        parts = urlsplit(url.strip())
        host = parts.hostname
    except ValueError as exc:
        raise InvalidInput(f"not a valid URL: {exc}", field=field) from exc
    if parts.scheme not in ("http", "https") or not host:
        raise InvalidInput("the URL must be an absolute http:// or https:// address", field=field)
    host = host.rstrip(".").lower()
    return host[4:] if host.startswith("www.") and len(host) > 4 else host


LOOPBACK_HOSTS = frozenset({"localhost", "127.0.0.1", "::1"})
_HOSTNAME = re.compile(
    r"^(?=.{1,253}$)([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)(\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)+$"
)


def is_loopback(domain: str) -> bool:
    return domain in LOOPBACK_HOSTS


def site_name(value: str, field: str = "site") -> str:
    """A bare host name such as "trailpeak-gear.com", lower-cased, without "www."."""
    host = value.strip().rstrip(".").lower()
    if not _HOSTNAME.match(host):
        raise InvalidInput("the site must be a host name like example.com", field=field)
    return host[4:] if host.startswith("www.") else host


# --- Pin It: one Pin per page, however the page's address is written ----------------------------------

# Query parameters that say how someone arrived, not which page it is: dropped from a normalized link.
TRACKING_PARAMS = frozenset(
    {"fbclid", "gclid", "dclid", "msclkid", "mc_cid", "mc_eid", "igshid", "yclid", "_ga", "ref_src"}
)
TRACKING_PREFIXES = ("utm_", "tg_")  # campaign tags; tg_*: our own click identifiers on outbound links


def _kept_query(query: str) -> list[tuple[str, str]]:
    return [
        (k, v)
        for k, v in parse_qsl(query, keep_blank_values=True)
        if k.lower() not in TRACKING_PARAMS and not k.lower().startswith(TRACKING_PREFIXES)
    ]


def _netloc(url: str, field: str) -> tuple[str, str]:
    """(host as domain_of gives it, host[:port] without a default port)."""
    host = domain_of(url, field)
    try:
        port = urlsplit(url.strip()).port
    except ValueError as exc:
        raise InvalidInput(f"not a valid URL: {exc}", field=field) from exc
    shown = f"[{host}]" if ":" in host else host
    return host, shown if port in (None, 80, 443) else f"{shown}:{port}"


def clean_link(url: str, field: str = "url") -> str:
    """An http(s) URL as a Pin keeps it: the scheme and host lower-cased, no fragment, no tracking
    parameters (a click identifier in a saved link would be shown to everyone who sees the Pin)."""
    _, netloc = _netloc(url, field)
    parts = urlsplit(url.strip())
    query = _kept_query(parts.query)
    www = "www." if (parts.hostname or "").lower().startswith("www.") else ""
    return urlunsplit((parts.scheme.lower(), www + netloc, parts.path or "/", urlencode(query), ""))


def normalized_link(url: str, field: str = "url") -> str:
    """The page an http(s) URL names, written one way: http and https alike (as https), the host
    lower-cased without "www." or a default port, no fragment, no tracking parameters, the other
    parameters sorted, no trailing slash. Two links with the same normalized form are one Pin."""
    _, netloc = _netloc(url, field)
    parts = urlsplit(url.strip())
    query = sorted(_kept_query(parts.query))
    path = parts.path.rstrip("/")
    return f"https://{netloc}{path}" + (f"?{urlencode(query)}" if query else "")
