"""Fetching an image another site names, once, from the platform's servers, without letting the URL
reach anything private.

The rules (docs/privacy.md, "Saving from other sites"):

- only `http://` and `https://` URLs, at most 2,048 characters, no user name or password in them;
- the host is resolved here and every address it resolves to must be public (not private, loopback,
  link-local, shared, multicast, reserved or unspecified; IPv4-mapped, NAT64 and 6to4 IPv6 addresses
  are judged by the IPv4 address inside them); the connection then goes to that checked address (the
  Host header and TLS server name keep the host name), so a second DNS answer (rebinding) is never
  asked for; no proxy from the environment is used;
- redirects are followed by hand, at most MAX_REDIRECTS, each new URL checked the same way;
- connect and read time out (5 s and 10 s), the whole fetch stops after 20 s;
- the answer must be 200 with an image content type (JPEG, PNG, GIF, WebP: never SVG, which is a
  document that can carry scripts); its body is read in chunks and the fetch stops as soon as it passes
  `max_bytes` (10 MB);
- no cookies, no Referer, no credentials of any kind are sent.

`allow_hosts` names `host:port` pairs that may resolve to non-public addresses: the demo's own
third-party sites on this machine in development (TASTEGRAPH_MEDIA_FETCH_ALLOW_HOSTS).
"""

from __future__ import annotations

import ipaddress
import socket
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from urllib.parse import urljoin, urlsplit, urlunsplit

import httpx

from tastegraph.kernel import InvalidInput, PayloadTooLarge, UnsupportedMediaType
from tastegraph.kernel.urls import MAX_URL

MAX_REDIRECTS = 3
MAX_ADDRESSES = 4  # of a name's checked addresses, tried in order when one refuses the connection
IMAGE_TYPES = frozenset({"image/jpeg", "image/pjpeg", "image/png", "image/gif", "image/webp"})
USER_AGENT = "TastegraphImageFetcher/1.0 (+saving a picture a person chose)"

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
# host, port -> the addresses it resolves to (tests give their own).
Resolver = Callable[[str, int], list[str]]

_NAT64 = ipaddress.ip_network("64:ff9b::/96")


def system_resolver(host: str, port: int) -> list[str]:
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise InvalidInput(f"the image's host {host} cannot be found", field="media") from exc
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


def is_public_address(address: IPAddress) -> bool:
    """Whether `address` is one the public internet routes to anyone (and so never one of ours)."""
    if isinstance(address, ipaddress.IPv6Address):
        mapped = address.ipv4_mapped or address.sixtofour
        if mapped is None and address in _NAT64:
            mapped = ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
        if mapped is not None:
            return is_public_address(mapped)
        if address.teredo is not None or address.scope_id:
            return False
    return bool(
        address.is_global
        and not address.is_multicast
        and not address.is_private
        and not address.is_loopback
        and not address.is_link_local
        and not address.is_reserved
        and not address.is_unspecified
    )


@dataclass(frozen=True)
class FetchPolicy:
    max_bytes: int = 10_000_000
    connect_timeout: float = 5.0
    read_timeout: float = 10.0
    total_seconds: float = 20.0
    max_redirects: int = MAX_REDIRECTS
    allow_hosts: frozenset[str] = field(default_factory=frozenset)  # "host:port", lower-case


@dataclass(frozen=True)
class Fetched:
    data: bytes
    content_type: str
    final_url: str


@dataclass(frozen=True)
class _Target:
    url: str  # as given (for redirects and messages)
    host: str
    port: int
    connect_urls: tuple[str, ...]  # the same URL with each checked address in place of the host
    host_header: str


def check_url(url: str, field: str = "media") -> tuple[str, str, int]:
    """(scheme, host, port) of an http(s) URL we may try to fetch; InvalidInput otherwise."""
    if not isinstance(url, str) or not url.strip():
        raise InvalidInput("the image URL is missing", field=field)
    if len(url) > MAX_URL:
        raise InvalidInput(f"the image URL is longer than {MAX_URL} characters", field=field)
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError as exc:
        raise InvalidInput(f"not a valid image URL: {exc}", field=field) from exc
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https") or not parts.hostname:
        raise InvalidInput("the image URL must be an absolute http:// or https:// address", field=field)
    if parts.username is not None or parts.password is not None:
        raise InvalidInput("the image URL must not carry a user name or password", field=field)
    host = parts.hostname.rstrip(".").lower()
    return scheme, host, port or (443 if scheme == "https" else 80)


def _target(url: str, policy: FetchPolicy, resolve: Resolver) -> _Target:
    scheme, host, port = check_url(url)
    allowed_private = f"{host}:{port}" in policy.allow_hosts
    try:
        literal: IPAddress | None = ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        literal = None
    found = [str(literal)] if literal is not None else resolve(host, port)
    if not found:
        raise InvalidInput(f"the image's host {host} cannot be found", field="media")
    addresses: list[IPAddress] = []
    for text in found:
        try:
            addresses.append(ipaddress.ip_address(text.split("%", 1)[0]))
        except ValueError as exc:
            raise InvalidInput(f"the image's host {host} cannot be found", field="media") from exc
    # Every address must be public: a name that answers with one public and one private address could
    # otherwise be tried on the private one.
    if not allowed_private and not all(is_public_address(a) for a in addresses):
        raise InvalidInput(
            "the image's address is not on the public internet; it cannot be fetched", field="media"
        )
    parts = urlsplit(url.strip())
    connect = tuple(
        urlunsplit((scheme, f"{_bracketed(str(a))}:{port}", parts.path or "/", parts.query, ""))
        for a in addresses[:MAX_ADDRESSES]
    )
    default_port = port == (443 if scheme == "https" else 80)
    host_name = _bracketed(host)
    return _Target(url, host, port, connect, host_name if default_port else f"{host_name}:{port}")


def _bracketed(host: str) -> str:
    return f"[{host}]" if ":" in host else host


def fetch_image(
    url: str,
    policy: FetchPolicy,
    *,
    resolve: Resolver = system_resolver,
    transport: httpx.BaseTransport | None = None,
) -> Fetched:
    """The bytes of the image at `url` under the rules above. Raises InvalidInput (422: a URL that is
    not http(s), a host that is not public or cannot be reached, a failed answer, too many redirects),
    UnsupportedMediaType (415: not an image content type) or PayloadTooLarge (413: over max_bytes)."""
    deadline = time.monotonic() + policy.total_seconds
    timeout = httpx.Timeout(
        connect=policy.connect_timeout, read=policy.read_timeout, write=policy.read_timeout, pool=1.0
    )
    with httpx.Client(
        timeout=timeout,
        follow_redirects=False,
        trust_env=False,  # never a proxy from the environment: it would connect where we did not check
        # No connection reuse across hops: one opened (and TLS-verified) for one host name must not
        # carry a redirect's request for another name at the same address.
        limits=httpx.Limits(max_keepalive_connections=0),
        transport=transport,
        headers={"User-Agent": USER_AGENT, "Accept": "image/jpeg,image/png,image/gif,image/webp"},
    ) as client:
        current = url.strip()
        for _hop in range(policy.max_redirects + 1):
            outcome = _get(client, _target(current, policy, resolve), policy, deadline)
            if isinstance(outcome, Fetched):
                return replace(outcome, final_url=current)
            current = urljoin(current, outcome)  # a redirect: checked like the first URL
        raise InvalidInput(f"the image URL redirects more than {policy.max_redirects} times", field="media")


def _get(client: httpx.Client, target: _Target, policy: FetchPolicy, deadline: float) -> Fetched | str:
    """One request to the target's checked addresses in turn (the next only when one refuses the
    connection): the image, or a redirect's Location."""
    refused: httpx.ConnectError | None = None
    for connect_url in target.connect_urls:
        try:
            with client.stream(
                "GET",
                connect_url,
                headers={"Host": target.host_header},
                extensions={"sni_hostname": target.host},
            ) as response:
                return _answer(response, policy, deadline)
        except httpx.ConnectError as exc:
            refused = exc
        except httpx.TimeoutException as exc:
            raise InvalidInput("the image's site did not answer in time", field="media") from exc
        except httpx.InvalidURL as exc:  # e.g. a Location httpx cannot even parse
            raise InvalidInput("the image's site answered with a URL that is not http(s)", "media") from exc
        except httpx.HTTPError as exc:
            raise InvalidInput("the image could not be fetched from its site", field="media") from exc
    raise InvalidInput("the image could not be fetched from its site", field="media") from refused


def _answer(response: httpx.Response, policy: FetchPolicy, deadline: float) -> Fetched | str:
    if response.status_code in (301, 302, 303, 307, 308):
        location = response.headers.get("location")
        if not location:
            raise InvalidInput("the image's site answered with a broken redirect", field="media")
        return str(location)
    if response.status_code != 200:
        raise InvalidInput(f"the image's site answered {response.status_code}, not the image", field="media")
    content_type = _content_type(response.headers.get("content-type", ""))
    declared = response.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > policy.max_bytes:
        raise PayloadTooLarge(_too_large(policy), field="media")
    data = _read_capped(response.iter_bytes(64 * 1024), policy, deadline)
    return Fetched(data, content_type, str(response.request.url))


def _content_type(header: str) -> str:
    kind = header.split(";", 1)[0].strip().lower()
    if kind not in IMAGE_TYPES:
        shown = kind or "no content type"
        raise UnsupportedMediaType(
            f"the URL gives {shown}, not a JPEG, PNG, GIF or WebP image", field="media"
        )
    return kind


def _too_large(policy: FetchPolicy) -> str:
    return f"the image is larger than {policy.max_bytes // 1_000_000} MB"


def _read_capped(chunks: Iterable[bytes], policy: FetchPolicy, deadline: float) -> bytes:
    buffer = bytearray()
    for chunk in chunks:
        buffer.extend(chunk)
        if len(buffer) > policy.max_bytes:
            raise PayloadTooLarge(_too_large(policy), field="media")
        if time.monotonic() > deadline:
            raise InvalidInput("the image's site sent it too slowly", field="media")
    return bytes(buffer)
