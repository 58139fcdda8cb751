"""Pin It's image copies: decoded and re-encoded (metadata gone, size limits from the header), stored
under their content's hash; and the one way a page's link is written (normalized_link)."""

from __future__ import annotations

import io
import os
import time
from pathlib import Path

import pytest
from PIL import Image

from tastegraph.catalog.media import (
    MAX_SIDE,
    LocalMediaStore,
    key_of_url,
    reencode,
    served_url,
    valid_key,
)
from tastegraph.kernel import InvalidInput
from tastegraph.kernel.urls import clean_link, normalized_link


def encoded(img: Image.Image, fmt: str, **kw: object) -> bytes:
    out = io.BytesIO()
    img.save(out, format=fmt, **kw)
    return out.getvalue()


@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "GIF", "WEBP"])
def test_pictures_are_reencoded(fmt: str) -> None:
    source = Image.new("RGB", (120, 80), (10, 120, 200))
    copy = reencode(encoded(source, fmt))
    assert (copy.width, copy.height) == (120, 80)
    again = Image.open(io.BytesIO(copy.data))
    assert again.format == ("JPEG" if copy.extension == "jpg" else "PNG")
    assert copy.content_type in ("image/jpeg", "image/png")


def test_metadata_is_left_behind_and_orientation_applied() -> None:
    source = Image.new("RGB", (60, 30), (200, 30, 30))
    exif = Image.Exif()
    exif[0x0112] = 6  # rotated: shown 90 degrees clockwise
    exif[0x8825] = {2: (51.0, 30.0, 0.0)}  # GPS latitude
    exif[0x010F] = "Camera maker"
    data = encoded(source, "JPEG", exif=exif.tobytes(), icc_profile=b"\0" * 128, comment=b"hello")
    assert b"Camera maker" in data
    copy = reencode(data)
    assert (copy.width, copy.height) == (30, 60)  # upright
    out = Image.open(io.BytesIO(copy.data))
    assert not out.getexif() and "icc_profile" not in out.info and "comment" not in out.info
    assert b"Camera maker" not in copy.data and b"hello" not in copy.data
    png = Image.new("RGBA", (10, 10), (0, 0, 0, 0))
    data = encoded(png, "PNG", pnginfo=_text_chunk("Author", "someone@example.com"))
    copy = reencode(data)
    assert copy.extension == "png"  # transparency kept, so PNG
    assert b"someone@example.com" not in copy.data


def _text_chunk(key: str, value: str) -> object:
    from PIL.PngImagePlugin import PngInfo

    info = PngInfo()
    info.add_text(key, value)
    return info


@pytest.mark.parametrize(
    "data",
    [
        b"<html><body>not a picture</body></html>",
        b"<svg xmlns='http://www.w3.org/2000/svg'><script>alert(1)</script></svg>",
        b"",
        b"\x89PNG\r\n\x1a\n" + b"\0" * 40,  # a PNG signature and nothing sensible
    ],
)
def test_not_an_image_is_422(data: bytes) -> None:
    with pytest.raises(InvalidInput):
        reencode(data)


def test_other_formats_and_truncated_files_are_refused() -> None:
    with pytest.raises(InvalidInput, match="JPEG, PNG, GIF or WebP"):
        reencode(encoded(Image.new("RGB", (10, 10)), "BMP"))
    whole = encoded(Image.effect_noise((200, 200), 64).convert("RGB"), "JPEG")
    with pytest.raises(InvalidInput):
        reencode(whole[: len(whole) // 3])


def test_huge_dimensions_and_bombs_are_refused_from_the_header() -> None:
    wide = encoded(Image.new("L", (MAX_SIDE + 1, 1)), "PNG")
    with pytest.raises(InvalidInput, match="a side"):
        reencode(wide)
    # 8,000 x 8,000 of nothing: tiny compressed, 64 megapixels decoded.
    bomb = encoded(Image.new("1", (8000, 8000)), "PNG")
    assert len(bomb) < 200_000
    started = time.monotonic()
    with pytest.raises(InvalidInput, match="pixels"):
        reencode(bomb)
    assert time.monotonic() - started < 1.0  # refused before decoding


def test_store_is_content_addressed(tmp_path: Path) -> None:
    store = LocalMediaStore(tmp_path / "media")
    copy = reencode(encoded(Image.new("RGB", (20, 20), (1, 2, 3)), "PNG"))
    key = store.put(copy)
    assert valid_key(key) and key.endswith(".jpg")
    assert store.put(copy) == key  # stored once
    stored = store.get(key)
    assert stored is not None and stored.data == copy.data and stored.content_type == "image/jpeg"
    assert key_of_url(served_url(key)) == key
    for bad in ("../../etc/passwd", key.upper(), key + ".png", "x.jpg", ""):
        assert store.get(bad) is None and not store.exists(bad)
    # Unused files go once old enough; used ones stay.
    other = store.put(reencode(encoded(Image.new("RGB", (20, 20), (9, 9, 9)), "PNG")))
    assert store.sweep_unused({key}, older_than_seconds=3600) == 0
    old = time.time() - 7200
    for k in (key, other):
        path = tmp_path / "media" / k[:2] / k[2:4] / k
        os.utime(path, (old, old))
    assert store.sweep_unused({key}, older_than_seconds=3600) == 1
    assert store.exists(key) and not store.exists(other)


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("https://trailpeak-gear.com/tents/ul2", "http://www.TrailPeak-Gear.com/tents/ul2/"),
        ("https://shop.example/p?id=3&c=red", "https://shop.example/p?c=red&id=3#reviews"),
        (
            "https://shop.example/p?id=3",
            "https://shop.example:443/p?id=3&utm_source=pin&fbclid=x&tg_click=abc",
        ),
    ],
)
def test_same_page_one_link(a: str, b: str) -> None:
    assert normalized_link(a) == normalized_link(b)


def test_different_pages_stay_apart_and_links_are_cleaned() -> None:
    assert normalized_link("https://shop.example/p?id=3") != normalized_link("https://shop.example/p?id=4")
    assert normalized_link("https://shop.example:8443/p") != normalized_link("https://shop.example/p")
    assert clean_link("HTTP://Shop.Example/p?utm_medium=x&id=3#top") == "http://shop.example/p?id=3"
    for bad in ("javascript:alert(1)", "data:text/html,hi", "ftp://x.example/"):
        with pytest.raises(InvalidInput):
            normalized_link(bad)
