"""URL checks shared by Pins and off-site visits."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

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
