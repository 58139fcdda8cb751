"""Pin It's image fetch: only http(s), only public addresses (checked after resolving, connected to as
checked), redirects checked the same way, size, time and content-type limits. A local server plays
the other site; a refused fetch must never reach it."""

from __future__ import annotations

import ipaddress
import shutil
import ssl
import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tastegraph.catalog.media_fetch import FetchPolicy, check_url, fetch_image, is_public_address
from tastegraph.kernel import InvalidInput, PayloadTooLarge, UnsupportedMediaType
from tests.image_server import ImageServer, image_server, png_bytes


@pytest.fixture
def server() -> Iterator[ImageServer]:
    with image_server() as s:
        yield s


def allowing(server: ImageServer, **kw: object) -> FetchPolicy:
    return FetchPolicy(allow_hosts=frozenset({server.host}), **kw)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "address",
    [
        "10.0.0.1",
        "172.16.5.4",
        "192.168.1.1",
        "127.0.0.1",
        "127.255.255.254",
        "169.254.169.254",  # cloud metadata
        "100.64.0.1",  # shared address space
        "0.0.0.0",
        "224.0.0.1",
        "255.255.255.255",
        "192.0.2.10",  # documentation
        "198.18.0.1",  # benchmarking
        "::1",
        "::",
        "fe80::1",
        "fc00::1",
        "fd12:3456::1",
        "ff02::1",
        "::ffff:127.0.0.1",  # IPv4-mapped loopback
        "::ffff:10.1.2.3",
        "::ffff:169.254.169.254",
        "64:ff9b::a00:1",  # NAT64 of 10.0.0.1
        "2002:7f00:1::1",  # 6to4 of 127.0.0.1
        "2001:0:4136:e378:8000:63bf:3fff:fdd2",  # Teredo
        "2001:db8::1",  # documentation
        "::127.0.0.1",  # IPv4-compatible (deprecated)
    ],
)
def test_non_public_addresses_are_refused(address: str) -> None:
    assert not is_public_address(ipaddress.ip_address(address))


@pytest.mark.parametrize(
    "address",
    ["93.184.216.34", "8.8.8.8", "2606:4700:4700::1111", "::ffff:93.184.216.34", "64:ff9b::808:808"],
)
def test_public_addresses_are_allowed(address: str) -> None:
    assert is_public_address(ipaddress.ip_address(address))


@pytest.mark.parametrize(
    "url",
    [
        "javascript:alert(1)",
        "data:image/png;base64,iVBORw0KGgo=",
        "file:///etc/passwd",
        "ftp://example.com/a.png",
        "gopher://example.com/",
        "//example.com/a.png",
        "/relative.png",
        "",
        "http://user:secret@example.com/a.png",
        "http:///nohost.png",
        "https://example.com/" + "a" * 2100,
        "http://example.com:99999/a.png",
    ],
)
def test_only_plain_http_urls(url: str) -> None:
    with pytest.raises(InvalidInput):
        check_url(url)


def test_private_name_is_refused_before_connecting(server: ImageServer) -> None:
    server.image("/a.png")
    # A public-looking name whose DNS answer is private (or loopback, where this server is).
    for answer in (["10.0.0.7"], ["127.0.0.1"], ["93.184.216.34", "127.0.0.1"], ["::ffff:127.0.0.1"]):
        with pytest.raises(InvalidInput, match="not on the public internet"):
            fetch_image(
                f"http://pictures.example:{server.port}/a.png",
                FetchPolicy(),
                resolve=lambda _h, _p, answer=answer: answer,
            )
    assert server.requests == []


def test_loopback_literals_and_odd_spellings_are_refused(server: ImageServer) -> None:
    server.image("/a.png")
    for url in (
        f"http://127.0.0.1:{server.port}/a.png",
        f"http://[::1]:{server.port}/a.png",
        f"http://[::ffff:127.0.0.1]:{server.port}/a.png",
        f"http://2130706433:{server.port}/a.png",  # 127.0.0.1 as one number (the resolver's reading)
        f"http://0x7f.1:{server.port}/a.png",
        f"http://localhost:{server.port}/a.png",
    ):
        with pytest.raises(InvalidInput):
            fetch_image(url, FetchPolicy())
    assert server.requests == []


def test_allowed_host_is_fetched_at_the_checked_address_with_its_name(server: ImageServer) -> None:
    body = png_bytes()
    server.image("/a.png", body)
    fetched = fetch_image(f"{server.origin}/a.png?x=1", allowing(server))
    assert fetched.data == body and fetched.content_type == "image/png"
    # A name is resolved once, here, and the connection goes to that address with the name as Host.
    policy = FetchPolicy(allow_hosts=frozenset({f"shop.test:{server.port}"}))
    fetched = fetch_image(
        f"http://shop.test:{server.port}/a.png", policy, resolve=lambda _h, _p: ["127.0.0.1"]
    )
    assert fetched.data == body
    assert server.requests[-1] == ("/a.png", f"shop.test:{server.port}")


def test_redirects_are_checked_like_the_first_url(server: ImageServer) -> None:
    server.image("/final.png")
    server.redirect("/ok", "/final.png")
    assert fetch_image(f"{server.origin}/ok", allowing(server)).final_url.endswith("/final.png")

    with image_server() as other:  # another loopback port, not allowed
        other.image("/secret.png")
        server.redirect("/to-private", f"{other.origin}/secret.png")
        with pytest.raises(InvalidInput, match="not on the public internet"):
            fetch_image(f"{server.origin}/to-private", allowing(server))
        assert other.requests == []
    server.redirect("/to-metadata", "http://169.254.169.254/latest/meta-data/")
    with pytest.raises(InvalidInput, match="not on the public internet"):
        fetch_image(f"{server.origin}/to-metadata", allowing(server))
    server.redirect("/to-js", "javascript:alert(1)")
    with pytest.raises(InvalidInput, match="http"):
        fetch_image(f"{server.origin}/to-js", allowing(server))
    server.redirect("/loop", "/loop")
    with pytest.raises(InvalidInput, match="redirects more than"):
        fetch_image(f"{server.origin}/loop", allowing(server))
    assert server.paths().count("/loop") == 4  # the first request and three redirects


def test_size_limits_stop_early(server: ImageServer) -> None:
    server.endless("/declared.png", declare_length=50_000_000)
    with pytest.raises(PayloadTooLarge):
        fetch_image(f"{server.origin}/declared.png", allowing(server, max_bytes=1_000_000))
    server.endless("/chunked.png")
    with pytest.raises(PayloadTooLarge):
        fetch_image(f"{server.origin}/chunked.png", allowing(server, max_bytes=1_000_000))
    # The read stopped soon after the limit, not at the end of the 64 MB body.
    assert server.bytes_sent < 40_000_000


@pytest.mark.parametrize("content_type", ["text/html", "image/svg+xml", "application/octet-stream", ""])
def test_only_image_content_types(server: ImageServer, content_type: str) -> None:
    server.image("/x", b"<svg xmlns='http://www.w3.org/2000/svg'/>", content_type=content_type)
    with pytest.raises(UnsupportedMediaType):
        fetch_image(f"{server.origin}/x", allowing(server))


def test_failed_answers_and_timeouts(server: ImageServer) -> None:
    with pytest.raises(InvalidInput, match="404"):
        fetch_image(f"{server.origin}/missing.png", allowing(server))
    server.slow("/slow.png", 1.5)
    with pytest.raises(InvalidInput, match="in time"):
        fetch_image(f"{server.origin}/slow.png", allowing(server, read_timeout=0.3))


def _certificates(folder: Path) -> tuple[Path, Path, Path]:
    """A throwaway CA and a certificate for shop.test signed by it (openssl on the PATH)."""
    ca_key, ca, key, csr, cert = (folder / n for n in ("ca.key", "ca.pem", "srv.key", "srv.csr", "srv.pem"))
    ext = folder / "ext.cnf"
    ext.write_text("subjectAltName=DNS:shop.test\n")

    def openssl(*args: object) -> None:
        subprocess.run(["openssl", *map(str, args)], check=True, capture_output=True)

    openssl(
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-keyout",
        ca_key,
        "-out",
        ca,
        "-days",
        "1",
        "-subj",
        "/CN=Pin It test CA",
    )
    openssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", csr, "-subj", "/CN=shop.test")
    openssl(
        "x509",
        "-req",
        "-in",
        csr,
        "-CA",
        ca,
        "-CAkey",
        ca_key,
        "-CAcreateserial",
        "-out",
        cert,
        "-days",
        "1",
        "-extfile",
        ext,
    )
    return ca, cert, key


@pytest.mark.skipif(shutil.which("openssl") is None, reason="needs the openssl command")
def test_https_is_verified_for_the_name_while_connecting_to_the_checked_address(tmp_path: Path) -> None:
    ca, cert, key = _certificates(tmp_path)
    server_side = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_side.load_cert_chain(cert, key)
    trusting = httpx.HTTPTransport(verify=ssl.create_default_context(cafile=str(ca)))
    with image_server(tls=server_side) as server:
        body = png_bytes()
        server.image("/a.png", body)
        resolve = lambda _h, _p: ["127.0.0.1"]  # noqa: E731
        names = frozenset({f"shop.test:{server.port}", f"other.test:{server.port}"})
        fetched = fetch_image(
            f"https://shop.test:{server.port}/a.png",
            FetchPolicy(allow_hosts=names),
            resolve=resolve,
            transport=trusting,
        )
        assert fetched.data == body
        assert server.requests == [("/a.png", f"shop.test:{server.port}")]
        # The certificate is checked against the name asked for, not the address connected to.
        with pytest.raises(InvalidInput, match="could not be fetched"):
            fetch_image(
                f"https://other.test:{server.port}/a.png",
                FetchPolicy(allow_hosts=names),
                resolve=resolve,
                transport=trusting,
            )
        assert len(server.requests) == 1


def test_the_next_checked_address_when_one_refuses(server: ImageServer) -> None:
    server.image("/a.png")
    policy = FetchPolicy(allow_hosts=frozenset({f"shop.test:{server.port}"}))
    # Nothing listens on 127.0.0.2 (the server is bound to 127.0.0.1): refused, then the next address.
    fetched = fetch_image(
        f"http://shop.test:{server.port}/a.png", policy, resolve=lambda _h, _p: ["127.0.0.2", "127.0.0.1"]
    )
    assert fetched.final_url == f"http://shop.test:{server.port}/a.png"
    assert server.requests == [("/a.png", f"shop.test:{server.port}")]
